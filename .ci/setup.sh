#!/usr/bin/env bash
# Sets up everything the project needs on a Debian machine with Python 3.11+:
# system packages, a virtual environment in .venv, the package with its dev extra.
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages. tesseract-ocr and poppler-utils serve the printed-text path and the
# pdf2image backend; python3-venv is what Debian needs for `python3 -m venv`.
APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng poppler-utils python3-venv fonts-dejavu-core)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# torch is pinned through the constraints file (a CPU build); the rest resolves normally.
.venv/bin/python -m pip install -q --disable-pip-version-check \
  -c .ci/constraints.txt -e '.[dev]' 2> >(grep -v "^WARNING: Location" >&2)
.venv/bin/python -c "import trocr_plugin, torch, transformers; print('setup: trocr-plugin', trocr_plugin.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)" >&2
