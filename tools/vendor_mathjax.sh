#!/usr/bin/env bash
# Vendors MathJax 3 into book/_static/mathjax so the site typesets math with no network.
# Source: the `mathjax` package on npm (Apache-2.0). Only what the site loads is kept:
# the all-in-one TeX→CHTML component (every TeX extension built in, so nothing is
# fetched on demand) and its web fonts. Run it again to change the version.
set -euo pipefail
version="${1:-3.2.2}"
cd "$(dirname "$0")/.."
dest=book/_static/mathjax
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$version" >/dev/null && tar xzf "mathjax-$version.tgz")
rm -rf "$dest" && mkdir -p "$dest/output/chtml/fonts"
cp "$tmp/package/es5/tex-chtml-full.js" "$dest/"
cp -r "$tmp/package/es5/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "mathjax $version (npm), es5/tex-chtml-full.js and its woff-v2 fonts" > "$dest/VERSION"
echo "MathJax $version vendored into $dest ($(du -sh "$dest" | cut -f1))"
