#!/usr/bin/env bash
# The real-browser UI test (tests/browser): FacePop's panels on a gradio 3.41.2 page (as in A1111),
# driven by Playwright in Debian's headless Chromium.
#   bash tools/browser_test.sh            # the test
#   bash tools/browser_test.sh -k preview # pytest arguments pass through
#   FACEPOP_UI_SCREENSHOT=docs/ui_facepop.png bash tools/browser_test.sh -k preview   # + screenshot
# It keeps its own venv, .venv-ui (gradio 3.41 must not go into .venv), refreshed when
# requirements*.txt change, and installs Debian's chromium with apt-get when /usr/bin/chromium is
# missing (needs root). Playwright only drives that browser: never run `playwright install`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${FACEPOP_UI_VENV:-$here/.venv-ui}"
chromium="${FACEPOP_CHROMIUM:-/usr/bin/chromium}"

# shellcheck source=tools/venv.sh
. "$here/tools/venv.sh"

ensure_chromium() {
  if [ -x "$chromium" ]; then
    return 0
  fi
  if [ "$chromium" != /usr/bin/chromium ]; then
    echo "[facepop] FACEPOP_CHROMIUM=$chromium does not exist" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "[facepop] the browser test needs Debian's Chromium at /usr/bin/chromium; install it as root:" >&2
    echo "          apt-get update && apt-get install -y --no-install-recommends chromium" >&2
    echo "          (or set FACEPOP_CHROMIUM to another Chromium binary)" >&2
    return 1
  fi
  echo "[facepop] installing Debian's chromium (apt-get)" >&2
  local log; log="$(mktemp)"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "[facepop] could not install chromium with apt-get (output above)" >&2
    return 1
  fi
  rm -f "$log"
  [ -x /usr/bin/chromium ]
}

start=$SECONDS
ensure_chromium
echo "[facepop] $("$chromium" --version 2>/dev/null | head -1) ready after $((SECONDS - start)) s" >&2
ensure_venv "$venv" requirements-ui.txt
echo "[facepop] $venv ready after $((SECONDS - start)) s" >&2
FACEPOP_CHROMIUM="$chromium" "$venv/bin/python" -m pytest -q -W ignore::PendingDeprecationWarning tests/browser "$@"
