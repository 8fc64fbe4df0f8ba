# Shared by tools/dev.sh and tools/browser_test.sh (source it): pick a Python mediapipe supports and
# create or refresh a virtual environment from a requirements file. The venv is reinstalled only
# when requirements*.txt change (a sha256 stamp inside it), so repeated runs cost nothing.

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

# ensure_venv VENV_DIR REQUIREMENTS_FILE
ensure_venv() {
  local venv="$1" reqs="$2"
  local stamp="$venv/.facepop-requirements"
  local want
  want="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  local py; py="$(pick_python)"
  if [ ! -x "$venv/bin/python" ]; then
    echo "[facepop] creating $venv with $py" >&2
    "$py" -m venv "$venv"
  fi
  echo "[facepop] installing $reqs into $venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$reqs" >&2
  echo "$want" > "$stamp"
}
