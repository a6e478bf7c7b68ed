#!/usr/bin/env bash
# Makes a fresh Debian machine able to build and test the project: the system
# packages the Makefile needs, then the project's virtualenv (.venv, ignored
# by git). Idempotent: a second run only checks.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${root}/.venv"

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
command -v git >/dev/null || need_apt+=(git)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
command -v unzip >/dev/null || need_apt+=(unzip)
command -v npm >/dev/null || need_apt+=(npm)
if ((${#need_apt[@]})); then
  echo "bootstrap: installing ${need_apt[*]} from Debian"
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python3 - <<'PY' || { echo "bootstrap: Python >= 3.11 is required" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

stamp="${venv}/.installed"
# Reinstall when pyproject.toml changes; otherwise the venv is reused as is.
if [ ! -x "${venv}/bin/python" ] || [ "${root}/pyproject.toml" -nt "${stamp}" ]; then
  echo "bootstrap: creating ${venv}"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install -q --upgrade pip
  "${venv}/bin/pip" install -q -e "${root}[dev]"
  touch "${stamp}"
fi
