#!/usr/bin/env bash
# Takes the README screenshot: the release app under Xvfb on the demo set, "king" searched and
# selected with its neighbours. Needs xvfb, xauth, imagemagick (import) and xdotool.
# Usage: docs/screenshot.sh [OUT.png]   (default docs/screenshot.png)
# docs/compare.png (the compare screen) is rendered by the UI test instead:
#   EMBEDSCOPE_SCREENSHOT_DIR=docs cargo test --test ui compare
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot.png}"
for tool in Xvfb import xdotool; do
    command -v "$tool" >/dev/null || { echo "docs/screenshot.sh: $tool is not installed" >&2; exit 1; }
done
bin="${EMBEDSCOPE_BIN:-target/release/embedscope}"
[ -x "$bin" ] || { echo "docs/screenshot.sh: build $bin first (cargo build --release)" >&2; exit 1; }
display=":97"
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
cfg="$(mktemp -d)"
trap 'kill "$app" "$xvfb" 2>/dev/null || true; rm -rf "$cfg"' EXIT
sleep 1
export DISPLAY="$display" EMBEDSCOPE_CONFIG_DIR="$cfg" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$cfg}"
"$bin" &
app=$!
# Wait for the window, then for the demo map.
for _ in $(seq 1 100); do
    xdotool search --name '^embedscope$' >/dev/null 2>&1 && break
    sleep 0.2
done
win="$(xdotool search --name '^embedscope$' | head -n 1)"
sleep "${SHOT_WAIT:-6}"
# Without a window manager, give the window the keyboard, then Ctrl+F focuses the search box.
xdotool windowfocus --sync "$win" 2>/dev/null || true
# Click into the "Find token" field (top of the right panel).
xdotool mousemove --window "$win" "${FIND_X:-1015}" "${FIND_Y:-61}" click 1
sleep 0.5
xdotool type --delay 60 king
xdotool key Return
sleep 1
# Hover a point near the middle of the map for the tooltip.
xdotool mousemove --window "$win" 700 430
sleep "${SHOT_SETTLE:-3}"
import -window root "$out"
echo "wrote $out"
