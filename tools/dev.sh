#!/usr/bin/env bash
# One entry point for a fresh machine: creates (or refreshes) .venv from the repo's
# requirement files, then runs what was asked.
#   bash tools/dev.sh demo   # FacePop outside the WebUI on the bundled sample -> out/
#   bash tools/dev.sh test   # the test suite, then the browser UI test (tools/browser_test.sh)
#   bash tools/dev.sh py ARGS  # python inside the venv (e.g. benchmarks)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${FACEPOP_VENV:-$here/.venv}"

pick_python() {
  for c in "${PYTHON:-}" python3.11 python3.12 python3.10 python3; do
    [ -n "$c" ] || continue
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  echo "FacePop needs Python 3.10-3.12 (mediapipe's legacy models have no wheels for newer Pythons)." >&2
  return 1
}

ensure_venv() {
  local stamp="$venv/.facepop-requirements"
  local want
  want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  local py; py="$(pick_python)"
  if [ ! -x "$venv/bin/python" ]; then
    echo "[facepop] creating $venv with $py" >&2
    "$py" -m venv "$venv"
  fi
  echo "[facepop] installing requirements-dev.txt into $venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt >&2
  echo "$want" > "$stamp"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  demo)
    ensure_venv
    "$venv/bin/python" -m lib_facepop run --sample --out out --renderer preview --debug --faces "$@"
    ;;
  test)
    ensure_venv
    status=0
    # first the real-browser UI test in its own venv (.venv-ui, gradio 3.41 + Chromium), then the
    # main suite, whose summary closes the output; each runs even when the other failed, so CI
    # reports both. FACEPOP_BROWSER_TEST=0 leaves the browser test out locally.
    if [ "${FACEPOP_BROWSER_TEST:-1}" != 0 ]; then
      bash tools/browser_test.sh || status=$?
    fi
    "$venv/bin/python" -m pytest -q tests "$@" || status=$?
    exit "$status"
    ;;
  py)
    ensure_venv
    "$venv/bin/python" "$@"
    ;;
  *)
    echo "usage: bash tools/dev.sh demo|test|py ARGS" >&2; exit 2;;
esac
