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

# The venv installs exactly the lock files (`make lock`, docs/development.md),
# every file checked against its sha256: the operator's runtime pins (the
# ones images/operator ships) and the dev tools. Then the project itself,
# without dependencies: pip builds it in an isolated environment that can
# only take the build backend of requirements/build.txt, downloaded and
# hash-checked first (no index, only those files).
locks=(requirements/operator.txt requirements/dev.txt requirements/build.txt)
stamp="${venv}/.installed"
# Rebuilt from scratch when a lock, pyproject.toml or the machine's python3
# changes (the stamp holds the sha256 of them all); otherwise reused as is.
want="$(cd "${REPO_ROOT}" && { python3 -c 'import sys; print(sys.version)'; sha256sum pyproject.toml "${locks[@]}"; } | sha256sum | cut -d' ' -f1)"
if [ ! -x "${venv}/bin/python" ] || [ "$(cat "${stamp}" 2>/dev/null || true)" != "${want}" ]; then
  log "creating ${venv} from ${locks[*]}"
  python3 -m venv --clear "${venv}"
  pip=("${venv}/bin/pip" --disable-pip-version-check -q)
  (cd "${REPO_ROOT}" && "${pip[@]}" install --require-hashes -r requirements/operator.txt -r requirements/dev.txt)
  build_wheels="$(mktemp -d)"
  trap 'rm -rf "${build_wheels}"' EXIT
  "${pip[@]}" download --require-hashes --only-binary=:all: --no-deps -d "${build_wheels}" -r "${REPO_ROOT}/requirements/build.txt"
  PIP_NO_INDEX=1 PIP_FIND_LINKS="${build_wheels}" "${pip[@]}" install --no-deps -e "${REPO_ROOT}"
  rm -rf "${build_wheels}"
  echo "${want}" >"${stamp}"
fi
