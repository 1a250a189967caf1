#!/usr/bin/env bash
# Builds the Debian package of embedscope: release binary, desktop entry, AppStream metadata and
# icons, as listed in the [package.metadata.deb] table of Cargo.toml. Prints the path of the .deb on the last line of its output.
#
# Usage: packaging/build-deb.sh [extra cargo-deb options, e.g. --deb-revision=""]
#
# Each step stops the script with a message naming the step when it fails.
set -eu
set -o pipefail

app_id=io.github.embedscope.Embedscope
desktop_file=packaging/embedscope.desktop
metainfo_file=packaging/$app_id.metainfo.xml

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nbuild-deb.sh: error: %s\n' "$*" >&2; exit 1; }

cd "$(dirname "$0")/.." || die "cannot enter the repository root"
[ -f Cargo.toml ] || die "no Cargo.toml in $(pwd): run the script from an embedscope checkout"

step "checking the packaging files"
command -v cargo >/dev/null 2>&1 \
    || die "cargo is not on PATH: install a Rust toolchain (https://rustup.rs) first"
grep -q '^\[package\.metadata\.deb\]' Cargo.toml \
    || die "Cargo.toml has no [package.metadata.deb] table"
for f in "$desktop_file" "$metainfo_file" packaging/icons/embedscope.svg README.md; do
    [ -f "$f" ] || die "missing $f"
done
for n in 16 32 48 64 128 256 512; do
    f="packaging/icons/hicolor/${n}x${n}/apps/$app_id.png"
    [ -f "$f" ] || die "missing $f"
done

step "validating the desktop entry and the AppStream metadata"
if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$desktop_file" \
        || die "desktop-file-validate rejected $desktop_file (see above)"
    echo "$desktop_file: valid"
else
    echo "desktop-file-validate not installed (Debian/Ubuntu: desktop-file-utils): skipped"
fi
if command -v appstreamcli >/dev/null 2>&1; then
    appstreamcli validate --no-net "$metainfo_file" \
        || die "appstreamcli validate rejected $metainfo_file (see above)"
elif command -v appstream-util >/dev/null 2>&1; then
    appstream-util validate-relax --nonet "$metainfo_file" \
        || die "appstream-util validate-relax rejected $metainfo_file (see above)"
else
    echo "appstreamcli not installed (Debian/Ubuntu: appstream): skipped"
fi

step "checking for cargo-deb"
if ! cargo deb --version >/dev/null 2>&1; then
    echo "cargo-deb is not installed; installing it with: cargo install cargo-deb --locked"
    cargo install cargo-deb --locked \
        || die "cargo install cargo-deb --locked failed (see above)"
    cargo deb --version >/dev/null 2>&1 \
        || die "cargo-deb was installed but 'cargo deb' does not run: is ~/.cargo/bin on PATH?"
fi
cargo deb --version

step "building the release binary (cargo build --release --locked)"
cargo build --release --locked \
    || die "cargo build --release --locked failed (see above)"
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')" \
    || die "cargo metadata failed: cannot locate the target directory"
[ -n "$target_dir" ] || target_dir=target
bin="$target_dir/release/embedscope"
[ -x "$bin" ] || die "the build succeeded but $bin is missing"
"$bin" --version || die "$bin does not run"

step "packaging (cargo deb --no-build)"
# The release profile keeps line tables for backtraces; the packaged binary is stripped.
strip_flag=()
deb_help="$(cargo deb --help 2>/dev/null || true)"
if grep -qE '(^|[[:space:]])--strip([[:space:],]|$)' <<<"${deb_help}"; then
    strip_flag=(--strip)
fi
deb_output="$(cargo deb --no-build ${strip_flag[@]+"${strip_flag[@]}"} "$@" | tee /dev/stderr)" \
    || die "cargo deb --no-build failed (see above)"
deb="$(printf '%s\n' "$deb_output" | grep '\.deb$' | tail -n 1 || true)"
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    die "cargo deb finished but printed no .deb path (output above)"
fi

step "checking the package contents"
if command -v dpkg-deb >/dev/null 2>&1; then
    contents="$(dpkg-deb --contents "$deb")" || die "dpkg-deb cannot read $deb"
    for path in ./usr/bin/embedscope \
        "./usr/share/applications/$(basename "$desktop_file")" \
        "./usr/share/metainfo/$app_id.metainfo.xml" \
        "./usr/share/icons/hicolor/scalable/apps/$app_id.svg" \
        "./usr/share/icons/hicolor/256x256/apps/$app_id.png"; do
        grep -qF " $path" <<<"$contents" \
            || die "$deb does not contain $path: check the assets list in Cargo.toml"
    done
    dpkg-deb --field "$deb" Package Version Architecture Depends Recommends
else
    echo "dpkg-deb not installed: contents not checked"
fi

shown="${deb#"$(pwd)"/}"
case "$shown" in /*) ;; *) shown="./$shown" ;; esac
printf '\nBuilt %s\nInstall it with: sudo apt install %s\n' "$deb" "$shown" >&2
printf '%s\n' "$deb"
