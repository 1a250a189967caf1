#!/bin/sh
# RUSTC_WRAPPER for the fuzz build: adds libFuzzer's coverage instrumentation (SanitizerCoverage:
# inline 8-bit counters, PC table, comparison tracing; the flags cargo-fuzz passes) and
# `--cfg fuzzing` to the crates that parse fuzzed bytes only: embedscope, the fuzz targets and
# the parsers they call (Parquet, Arrow, CSV, JSON, safetensors, tokenizers, float parsing).
# The GPU and tensor stack (burn, wgpu, cubecl, gemm...) is built plainly: it never sees the
# input, and instrumenting it would only slow the build. Only code built for the target is
# instrumented (`--target` given, as run.sh does): build scripts and proc macros (and their
# dependencies, memchr included) run inside cargo and rustc, where the coverage symbols of
# libFuzzer do not exist.
rustc="$1"
shift
name=""
target=""
prev=""
for a in "$@"; do
    case "$prev" in
        --crate-name) name="$a" ;;
        --target) target="$a" ;;
    esac
    prev="$a"
done
[ -n "$target" ] || exec "$rustc" "$@"
case "$name" in
    embedscope | embedscope_fuzz | vectors_text | projector | arrays | table | native | corpus | \
    model_folder | session | word_lists | expressions | \
    parquet | arrow | arrow_* | csv | csv_core | serde_json | safetensors | tokenizers | \
    fast_float2 | half | memchr | snap | lz4_flex | zstd | zstd_safe | thrift)
        exec "$rustc" "$@" \
            -Cpasses=sancov-module \
            -Cllvm-args=-sanitizer-coverage-level=4 \
            -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
            -Cllvm-args=-sanitizer-coverage-pc-table \
            -Cllvm-args=-sanitizer-coverage-trace-compares \
            --cfg fuzzing
        ;;
    *)
        exec "$rustc" "$@"
        ;;
esac
