#!/usr/bin/env bash
# Builds (or reuses) the independent manifest scanners the unit tests run on
# rendered output (tests/unit/test_manifests.py), from the Go module proxy:
#   kube-score   github.com/zegl/kube-score v1.20.0
# kube-linter (golang.stackrox.io/kube-linter) is not served by the module
# proxy these machines reach, so it is not built (docs/hardening.md).
# Everything goes to ${WSGI_OPERATOR_CACHE:-~/.cache/wsgi-operator}/scanners/,
# outside the repo; what is there already is not rebuilt. Cold: about 2
# minutes on 2 cores.
#
# Usage: hack/scanners/build.sh           # build what is missing
#        hack/scanners/build.sh --path    # print kube-score's path; builds nothing
set -euo pipefail

# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

KUBE_SCORE_VERSION=v1.20.0
BIN_DIR="${WSGI_OPERATOR_CACHE}/scanners/kube-score-${KUBE_SCORE_VERSION}"
KUBE_SCORE="${BIN_DIR}/kube-score"

case "${1:-}" in
  --path) printf '%s\n' "${KUBE_SCORE}"; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (usage: $0 [--path])" ;;
esac

[[ -x "${KUBE_SCORE}" ]] && exit 0
command -v go >/dev/null || die "go is not on PATH (make scanners puts hack/ensure-go.sh's on it)"
mkdir -p "${BIN_DIR}"
exec 9>"${BIN_DIR}/.build.lock"
flock 9
[[ -x "${KUBE_SCORE}" ]] && exit 0
log "building kube-score ${KUBE_SCORE_VERSION} into ${BIN_DIR}"
# Into a temporary GOBIN first: a build killed halfway leaves no binary that
# looks complete.
tmp="$(mktemp -d "${BIN_DIR}/.gobin.XXXXXX")"
trap 'rm -rf "${tmp}"' EXIT
GOBIN="${tmp}" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install "github.com/zegl/kube-score/cmd/kube-score@${KUBE_SCORE_VERSION}"
mv "${tmp}/kube-score" "${KUBE_SCORE}"
log "kube-score ${KUBE_SCORE_VERSION} built"
