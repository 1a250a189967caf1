#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer via libfuzzer-sys, stable toolchain) and runs them.
#
#   fuzz/run.sh build                       build only
#   fuzz/run.sh time SECONDS [TARGET...]    each target for SECONDS (CI: 20)
#   fuzz/run.sh runs N [TARGET...]          each target for N executions (the long runs: 1000000;
#                                           FUZZ_MAX_TIME=S caps each at S seconds)
#
# No TARGET: all of them. Bounds on every run: 1 s per input (-timeout=1), 2048 MB resident
# (-rss_limit_mb=2048), 256 MiB per allocation (the targets' allocator,
# EMBEDSCOPE_FUZZ_MALLOC_LIMIT_MB; -malloc_limit_mb=256 is passed too but needs a sanitizer's
# hooks to act), inputs up to 64 KiB (-max_len=65536).
# Outside the repository: the build in $FUZZ_TARGET_DIR (default ~/.cache/fuzz-target), the
# corpora libFuzzer grows in $FUZZ_WORK/corpus/TARGET, seeds in $FUZZ_WORK/seeds, logs in
# $FUZZ_WORK/logs, crashing inputs in $FUZZ_WORK/artifacts/TARGET (FUZZ_WORK default
# ~/.cache/embedscope-fuzz). Exits non-zero, naming the target and its input, when a target
# crashes, panics, times out or runs out of memory, or when a panic message was printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

TARGETS=(vectors_text projector arrays table native corpus model_folder session word_lists expressions)
target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/fuzz-target}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bins="$target_dir/$triple/release"
work="${FUZZ_WORK:-$HOME/.cache/embedscope-fuzz}"
malloc_mb="${EMBEDSCOPE_FUZZ_MALLOC_LIMIT_MB:-256}"

build() {
    # The coverage flags go only to the crates that parse input, built for the target
    # (rustc-wrap.sh; hence --target: host code, proc macros, stays plain); --target-dir wins
    # over a CARGO_TARGET_DIR set by the caller.
    RUSTC_WRAPPER="$here/rustc-wrap.sh" cargo build --release --locked \
        --manifest-path "$here/Cargo.toml" --target-dir "$target_dir" --target "$triple" --bins
}

seeds() {
    rm -rf "$work/seeds"
    python3 "$here/seeds.py" "$work/seeds" >/dev/null
    # The native target writes the seeds only embedscope can make (native file, cache entry,
    # index) when asked, on its first input.
    mkdir -p "$work/seeds/native" "$work/tmp"
    printf '\x01' >"$work/tmp/native-first"
    EMBEDSCOPE_FUZZ_TMP="$work/tmp" EMBEDSCOPE_FUZZ_WRITE_SEEDS="$work/seeds/native" \
        "$bins/native" "$work/tmp/native-first" >/dev/null 2>&1 || true
}

run_one() {
    local t="$1" how="$2" n="$3"
    local bin="$bins/$t" corpus="$work/corpus/$t" art="$work/artifacts/$t"
    local log="$work/logs/$t.log"
    mkdir -p "$corpus" "$art" "$work/logs" "$work/tmp"
    local limit
    if [ "$how" = time ]; then limit="-max_total_time=$n"; else limit="-runs=$n"; fi
    # FUZZ_MAX_TIME caps a `runs` run in seconds (the count reached is what the line shows).
    local cap=()
    [ -n "${FUZZ_MAX_TIME:-}" ] && cap=("-max_total_time=$FUZZ_MAX_TIME")
    local start=$SECONDS rc=0
    EMBEDSCOPE_FUZZ_TMP="$work/tmp" EMBEDSCOPE_FUZZ_MALLOC_LIMIT_MB="$malloc_mb" \
        "$bin" "$limit" "${cap[@]}" -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb="$malloc_mb" \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$art/" \
        "$corpus" "$work/seeds/$t" >"$log" 2>&1 || rc=$?
    local secs=$((SECONDS - start))
    local execs cov ft
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')"
    ft="$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')"
    printf '%-13s %10s execs %6d s  cov %6s  ft %6s  corpus %5d  exit %d\n' \
        "$t" "${execs:-?}" "$secs" "${cov:-?}" "${ft:-?}" "$(ls "$corpus" | wc -l)" "$rc"
    if [ "$rc" -ne 0 ] || grep -q 'panicked at' "$log"; then
        printf '\nFUZZ FAILURE in %s (exit %d); the last lines of %s:\n' "$t" "$rc" "$log" >&2
        tail -n 40 "$log" >&2
        ls -1 "$art" >&2 || true
        return 1
    fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
    build)
        build
        ;;
    time | runs)
        n="${1:?give the seconds or the executions}"
        shift
        [ "$#" -gt 0 ] && TARGETS=("$@")
        build
        seeds
        failed=()
        for t in "${TARGETS[@]}"; do
            run_one "$t" "$cmd" "$n" || failed+=("$t")
        done
        if [ "${#failed[@]}" -gt 0 ]; then
            printf 'fuzz targets that failed: %s\n' "${failed[*]}" >&2
            exit 1
        fi
        ;;
    *)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
