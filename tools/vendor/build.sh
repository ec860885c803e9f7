#!/usr/bin/env bash
# Refresh the JavaScript that circfin's HTML pages inline (report/assets/), from the
# versions pinned in package.json + package-lock.json. The copied files are committed,
# so installing circfin needs no node; run this only to change a pinned version:
#   edit package.json, `npm install --package-lock-only`, then ./tools/vendor/build.sh
# and update report/assets/README.md (the tests check its version and sha256).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
ASSETS=../../report/assets
mkdir -p "$ASSETS"
version=$(node -p "require('./node_modules/cytoscape/package.json').version")
src=node_modules/cytoscape/dist/cytoscape.min.js
# The file is inlined in a <script> element: it must not be able to close that element.
if grep -qiE '</script|<!--' "$src"; then
  echo "build.sh: $src contains </script or <!--; it cannot be inlined" >&2
  exit 1
fi
cp "$src" "$ASSETS/cytoscape.min.js"
cp node_modules/cytoscape/LICENSE "$ASSETS/cytoscape.LICENSE"
echo "cytoscape $version -> $ASSETS/cytoscape.min.js"
sha256sum "$ASSETS/cytoscape.min.js"
