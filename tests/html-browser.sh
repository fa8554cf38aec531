#!/bin/bash
# The HTML report at work in a real browser: headless Chromium driven by
# Selenium (Debian 12: chromium, chromium-driver, python3-selenium;
# tools/install-deps.sh installs them). tests/html_browser.py does the
# checking and prints TAP; its screenshot of samples/demo.pcap's page, every
# ladder open, is left in the build directory as html-report.png.
# Skips when the browser, its driver or Selenium is missing.
# Env: TCPLENS (the binary), SRCDIR (the source tree), BUILDDIR.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
[ "${TL_SLOW_TESTS:-run}" = run ] || skip "slow test, run once in another build (TL_SLOW_TESTS=skip)"

chromium=${CHROMIUM:-}
for c in chromium chromium-browser google-chrome; do
    [ -n "$chromium" ] && break
    chromium=$(command -v "$c" 2>/dev/null) || chromium=
done
[ -n "$chromium" ] || skip "no chromium (apt-get install chromium)"
driver=${CHROMEDRIVER:-$(command -v chromedriver 2>/dev/null)}
[ -n "$driver" ] || skip "no chromedriver (apt-get install chromium-driver)"
# Debian's python3-selenium is in the system Python, which need not be the
# first python3 on PATH.
python=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import selenium' 2>/dev/null; then
        python=$p
        break
    fi
done
[ -n "$python" ] || skip "no Selenium for Python (apt-get install python3-selenium)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-html-browser.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$python" "$srcdir/tests/html_browser.py" --tcplens "$tcplens" --srcdir "$srcdir" \
    --tmp "$tmp" --chromium "$chromium" --driver "$driver" \
    --screenshot "$builddir/html-report.png"
