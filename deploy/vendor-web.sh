#!/usr/bin/env bash
# Vendors NHS.UK frontend's compiled CSS and the images it refers to into
# services/oversight/web/nhsuk-frontend/, from npm (needs npm; run by hand when upgrading, the
# build does not run it). The @font-face rules are taken out: they fetch the Frutiger web font from
# assets.nhs.uk, and the pages fetch nothing at run time, so text falls back to Arial as NHS.UK's
# own font stack says.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-10.6.1}"
out=services/oversight/web/nhsuk-frontend
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "nhsuk-frontend@$version" >/dev/null && tar xzf nhsuk-frontend-*.tgz)
dist="$work/package/dist/nhsuk"
rm -rf "$out" && mkdir -p "$out/images"
python3 - "$dist/nhsuk-frontend.min.css" "$out/nhsuk-frontend.min.css" <<'PY'
import re, sys
css = open(sys.argv[1]).read()
css = re.sub(r'@font-face\{[^}]*\}', '', css)
assert 'https://' not in css, 'the CSS still fetches from elsewhere'
open(sys.argv[2], 'w').write(css)
PY
for image in $(grep -o 'url(/assets/images/[^)]*)' "$out/nhsuk-frontend.min.css" | sed 's|url(/assets/images/||; s|)||' | sort -u) favicon.ico favicon.svg; do
  cp "$dist/assets/images/$image" "$out/images/"
done
cat > "$out/README.md" <<TXT
# NHS.UK frontend $version (vendored)

From the npm package \`nhsuk-frontend@$version\` (https://github.com/nhsuk/nhsuk-frontend),
\`dist/nhsuk/nhsuk-frontend.min.css\` with its \`@font-face\` rules removed (they load the
Frutiger font from assets.nhs.uk; the pages fetch nothing at run time), and the images that CSS
refers to plus the favicons. Re-vendor with \`bash deploy/vendor-web.sh VERSION\`.

Licence: MIT (the code, below); the documentation is © NHS England under the Open Government
Licence v3.0.

TXT
sed -n '/^## License/,$p;/^## Licence/,$p' "$work/package/README.md" >> "$out/README.md"
ls -la "$out" "$out/images"
