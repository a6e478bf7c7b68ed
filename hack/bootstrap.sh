#!/usr/bin/env bash
# Makes a fresh Debian machine able to build and test the project: the system
# packages the Makefile needs, then the project's virtualenv (.venv, ignored
# by git). Idempotent: a second run only checks.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

venv="${REPO_ROOT}/.venv"

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
command -v git >/dev/null || need_apt+=(git)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
command -v unzip >/dev/null || need_apt+=(unzip)
command -v npm >/dev/null || need_apt+=(npm)
# `make lint` checks the scripts in hack/ with shellcheck.
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
if ((${#need_apt[@]})); then
  apt_install "${need_apt[@]}"
fi

python3 - <<'PY' || die "Python >= 3.11 is required"
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

stamp="${venv}/.installed"
# Reinstall when pyproject.toml changes; otherwise the venv is reused as is.
if [ ! -x "${venv}/bin/python" ] || [ "${REPO_ROOT}/pyproject.toml" -nt "${stamp}" ]; then
  log "creating ${venv}"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install -q --upgrade pip
  "${venv}/bin/pip" install -q -e "${REPO_ROOT}[dev]"
  touch "${stamp}"
fi
