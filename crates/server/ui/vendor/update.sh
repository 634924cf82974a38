#!/usr/bin/env bash
# Re-fetches the dashboard's vendored libraries from npm at the pinned versions and checks them
# against the recorded checksums (cargo build never needs Node: the files are checked in).
# Usage: crates/server/ui/vendor/update.sh            (verify the checked-in files)
#        UPDATE=1 crates/server/ui/vendor/update.sh   (replace them, then print new checksums)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
UPLOT=1.6.32
GRAPHQL_WS=6.0.6
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "uplot@$UPLOT" "graphql-ws@$GRAPHQL_WS" >/dev/null
mkdir uplot graphql-ws
tar xzf "uplot-$UPLOT.tgz" -C uplot
tar xzf "graphql-ws-$GRAPHQL_WS.tgz" -C graphql-ws
declare -A from=(
  [uPlot.iife.min.js]=uplot/package/dist/uPlot.iife.min.js
  [uPlot.min.css]=uplot/package/dist/uPlot.min.css
  [LICENSE-uPlot]=uplot/package/LICENSE
  [graphql-ws.min.js]=graphql-ws/package/umd/graphql-ws.min.js
  [LICENSE-graphql-ws.md]=graphql-ws/package/LICENSE.md
)
status=0
for name in "${!from[@]}"; do
  if [[ "${UPDATE:-}" == 1 ]]; then
    cp "${from[$name]}" "$here/$name"
  elif ! cmp -s "${from[$name]}" "$here/$name"; then
    echo "differs from npm: $name" >&2
    status=1
  fi
done
[[ "${UPDATE:-}" == 1 ]] && (cd "$here" && sha256sum uPlot.iife.min.js uPlot.min.css graphql-ws.min.js)
[[ $status == 0 ]] && echo "vendored files match uplot@$UPLOT and graphql-ws@$GRAPHQL_WS"
exit $status
