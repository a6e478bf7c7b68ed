#!/usr/bin/env bash
# The Argo CD layer on top of hack/lib.sh: the pinned version and where
# hack/argocd/build.sh puts things (`build.sh --root` prints it for the tests).
# Source it; it defines variables and functions only and runs nothing.

ARGOCD_HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$(dirname "${ARGOCD_HACK_DIR}")/lib.sh"

# Argo CD v3.6.1: the first v3 release that builds from the Go module proxy
# (v3.2, v3.3 and v3.5 do not). Its go.mod says go 1.27.0, newer than the
# machine's Go, so its build (and only its build) runs with this toolchain,
# which the go command fetches from the module proxy itself.
ARGOCD_VERSION=3.6.1
# shellcheck disable=SC2034 # used by build.sh
ARGOCD_GOTOOLCHAIN=go1.27.3
# shellcheck disable=SC2034 # used by build.sh
ARGOCD_MODULE=github.com/argoproj/argo-cd/v3

# Under WSGI_OPERATOR_CACHE (hack/lib.sh), keyed on the version.
ARGOCD_ROOT="${WSGI_OPERATOR_CACHE}/argocd-v${ARGOCD_VERSION}"
# argocd (one binary for every component: ARGOCD_BINARY_NAME picks one) and
# git-verify-wrapper.sh, which the repo-server runs from PATH.
ARGOCD_BIN_DIR="${ARGOCD_ROOT}/bin"
# The module's manifests/crds and manifests/base/config, for the tests.
ARGOCD_MANIFESTS_DIR="${ARGOCD_ROOT}/manifests"

# True when the build has nothing left to do.
argocd::all_present() {
  [[ -x "${ARGOCD_BIN_DIR}/argocd" \
    && -x "${ARGOCD_BIN_DIR}/git-verify-wrapper.sh" \
    && -d "${ARGOCD_MANIFESTS_DIR}/crds" \
    && -d "${ARGOCD_MANIFESTS_DIR}/base/config" ]] \
    && command -v redis-server >/dev/null
}
