#!/bin/sh
# Renders docs/report.png: an HTML report of the demo vectors against the 26k GoogleNews vectors,
# drawn by headless Chromium (Debian: apt-get install chromium). Run from the repository root
# after `cargo build`; the GoogleNews file is fetched into the cache when missing.
set -eu
root=$(pwd)
out=$(mktemp -d)
gn=$(sh tests/fixtures/gen/fetch_googlenews26k.sh | tail -n 1)
cp "$gn" "$out/googlenews26k.bin"
(cd "$out" && "$root/target/debug/embedscope" report demo googlenews26k.bin \
    --probes weat2,weat7,weat8 --sections maps,bias,datasets \
    --title "GloVe 6B 50d (demo) vs word2vec GoogleNews 300d" --map-points 1500 \
    --out readme.html)
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,2400 \
    --screenshot="$out/full.png" "file://$out/readme.html" >/dev/null 2>&1
convert "$out/full.png" -crop 1100x1900+0+0 -resize 85% docs/report.png
rm -rf "$out"
echo docs/report.png
