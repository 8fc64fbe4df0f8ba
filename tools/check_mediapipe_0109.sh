#!/usr/bin/env bash
# Proves the other supported pair: mediapipe 0.10.9 with protobuf 3.20 (A1111 1.10 pins 3.20.0).
# CI runs 0.10.21 + protobuf 4.25 (requirements-dev.txt); this runs the same suite in a second
# virtual environment, .venv-mp0109/, built from the same requirement files with two pins changed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="$here/.venv-mp0109"
py="${PYTHON:-python3}"
"$py" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 11) else 1)' || {
  echo "mediapipe 0.10.9 has wheels for Python 3.8-3.11 only" >&2; exit 2; }
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
cons="$(mktemp)"
trap 'rm -f "$cons"' EXIT
printf 'mediapipe==0.10.9\nprotobuf==3.20.3\n' > "$cons"
# requirements-dev.txt pins 0.10.21 / protobuf 4.25; drop those two lines and pin 0.10.9 / 3.20 instead
grep -vE '^(mediapipe|protobuf)' requirements-dev.txt > "$venv/requirements-0109.txt"
sed -i 's#^-r requirements.txt#-r '"$here"'/requirements.txt#' "$venv/requirements-0109.txt"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -c "$cons" mediapipe==0.10.9 protobuf==3.20.3 \
  -r "$venv/requirements-0109.txt"
"$venv/bin/python" - <<'PY'
import google.protobuf, mediapipe
print(f"mediapipe {mediapipe.__version__}, protobuf {google.protobuf.__version__}")
assert mediapipe.__version__ == "0.10.9" and google.protobuf.__version__.startswith("3.20")
PY
"$venv/bin/python" -m pytest -q tests "$@"
