#!/usr/bin/env bash
# Builds (or reuses) a real Argo CD for the GitOps tests (tests/cluster/test_argocd.py):
#   argocd                  v3.6.1's single binary (CLI, repo-server,
#                           application-controller, ...), built from the Go
#                           module proxy through a wrapper module;
#   git-verify-wrapper.sh   the repo-server runs it from PATH (copied from the
#                           module, next to the binary);
#   manifests/              the module's manifests/crds and manifests/base/config;
#   redis-server            Debian's, installed with apt-get when missing.
# Everything goes to ${WSGI_OPERATOR_CACHE:-~/.cache/wsgi-operator}/argocd-v<ver>/,
# outside the repo; what is there already is not rebuilt. A cold build takes
# about 4 minutes on an idle 2-core machine (13 measured while other builds
# shared the CPU), ~3 GB of memory and ~5 GB of Go caches.
#
# Usage: hack/argocd/build.sh            # build what is missing
#        hack/argocd/build.sh --check    # exit 0 if nothing is missing
#        hack/argocd/build.sh --root     # print the cache directory (bin/, manifests/); builds nothing
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

case "${1:-}" in
  --check) argocd::all_present; exit ;;
  --root) printf '%s\n' "${ARGOCD_ROOT}"; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (usage: $0 [--check|--root])" ;;
esac

# Fast path before taking the lock: a warm cache costs nothing.
if argocd::all_present; then
  exit 0
fi

if ! command -v redis-server >/dev/null; then
  apt_install redis-server
  # Where an init system runs, the package also starts a system redis on
  # 127.0.0.1:6379 (not here: no systemd); the tests start their own on a
  # free port and never use it.
fi

mkdir -p "${ARGOCD_BIN_DIR}"
exec 9>"${ARGOCD_ROOT}/.build.lock"
if ! flock -n 9; then
  log "another build holds ${ARGOCD_ROOT}/.build.lock; waiting for it"
  flock 9
fi
if argocd::all_present; then
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH (make argocd-binaries puts hack/ensure-go.sh's on it)"
# GOTOOLCHAIN makes the go command fetch Go ${ARGOCD_GOTOOLCHAIN#go} from the
# module proxy for this build only; the rest of the project keeps its Go.
export GOTOOLCHAIN="${ARGOCD_GOTOOLCHAIN}" CGO_ENABLED=0 GOFLAGS=-buildvcs=false
BUILD_START=${SECONDS}

SRC_DIR="${ARGOCD_ROOT}/src"
rm -rf "${SRC_DIR}"
mkdir -p "${SRC_DIR}"
# Outside any module: the caller may sit in a repo with its own go.mod.
cd "${SRC_DIR}"

log "downloading ${ARGOCD_MODULE}@v${ARGOCD_VERSION} (and Go ${ARGOCD_GOTOOLCHAIN#go} on first use)"
info="$(go mod download -json "${ARGOCD_MODULE}@v${ARGOCD_VERSION}")"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)" <<<"${info}"; }
upstream_mod="$(json '["GoMod"]')"
module_dir="$(json '["Dir"]')"
# The commit is known only when the proxy reports the module's origin.
git_commit="$(json '.get("Origin", {}).get("Hash", "")')"
build_date="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Time"])' "$(json '["Info"]')")"

# Upstream's replace block, except local paths (./gitops-engine: the wrapper
# takes gitops-engine/v3 at the same version from the proxy instead).
# Generated from the downloaded go.mod, never typed by hand.
mapfile -t replaces < <(go mod edit -json "${upstream_mod}" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    new = r["New"]
    if new["Path"].startswith(("./", "../", "/")):
        continue
    old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
    print("-replace=%s=%s@%s" % (old, new["Path"], new["Version"]))
')
log "wrapper module: ${#replaces[@]} replace lines copied from upstream's go.mod"

go mod init wsgi-operator.local/argocd >/dev/null 2>&1
go mod edit "-require=${ARGOCD_MODULE}@v${ARGOCD_VERSION}" "${replaces[@]}"
# A tool directive keeps the main package's requirements through `go mod tidy`.
log "resolving the module graph (downloads several hundred modules on a cold cache)"
go get -tool "${ARGOCD_MODULE}/cmd@v${ARGOCD_VERSION}"
go mod tidy

# Upstream's Makefile sets these; without them `argocd version` says
# v99.99.99 (and without a commit, v3.6.1+unknown).
pkg="${ARGOCD_MODULE}/common"
ldflags="-s -w -X ${pkg}.version=${ARGOCD_VERSION} -X ${pkg}.buildDate=${build_date}"
if [[ -n "${git_commit}" ]]; then
  ldflags+=" -X ${pkg}.gitCommit=${git_commit} -X ${pkg}.gitTreeState=clean -X ${pkg}.gitTag=v${ARGOCD_VERSION}"
fi
total="$(go list -deps "${ARGOCD_MODULE}/cmd" | wc -l)"
log "building ${ARGOCD_MODULE}/cmd (${total} packages in the graph)"
tmp="$(mktemp -d "${ARGOCD_ROOT}/.out.XXXXXX")"
go build -p "$(nproc)" -trimpath -ldflags "${ldflags}" -o "${tmp}/argocd" "${ARGOCD_MODULE}/cmd"

# Module cache files are read-only and not executable: copy, then chmod.
install -m 0755 "${module_dir}/hack/git-verify-wrapper.sh" "${tmp}/git-verify-wrapper.sh"
mkdir -p "${tmp}/manifests/base"
cp -R "${module_dir}/manifests/crds" "${tmp}/manifests/crds"
cp -R "${module_dir}/manifests/base/config" "${tmp}/manifests/base/config"
chmod -R u+w "${tmp}/manifests"

# Moved into place only when complete: an interrupted build leaves nothing
# that looks like a hit.
rm -rf "${ARGOCD_MANIFESTS_DIR}"
mv "${tmp}/manifests" "${ARGOCD_MANIFESTS_DIR}"
mv -f "${tmp}/git-verify-wrapper.sh" "${ARGOCD_BIN_DIR}/"
mv -f "${tmp}/argocd" "${ARGOCD_BIN_DIR}/argocd"
rmdir "${tmp}"

argocd::all_present || die "build finished but something is missing in ${ARGOCD_ROOT}"
log "done: $("${ARGOCD_BIN_DIR}/argocd" version --client --short 2>/dev/null) in ${ARGOCD_BIN_DIR} (took $((SECONDS - BUILD_START))s)"
