#!/usr/bin/env bash
# Prints a directory holding a `go` new enough to build the local control
# plane (hack/k8s/), fetching one if the machine has none. Fresh Debian 12
# ships Go 1.19, too old for Kubernetes 1.35 (go 1.25); the Go toolchain
# itself is published as a module (golang.org/toolchain) on the Go module
# proxy, the one place besides the package registries this project may
# download from. Cached under ${WSGI_OPERATOR_CACHE:-~/.cache/wsgi-operator}/go-<version>.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

need_minor=25                    # Kubernetes 1.35's go.mod says go 1.25.0
fetch_version=1.25.5
proxy="${GOPROXY:-https://proxy.golang.org}"
proxy="${proxy%%,*}"

usable() {
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1   # e.g. go1.26.8
  v="${v#go}"
  [ "${v%%.*}" -gt 1 ] || [ "$(echo "$v" | cut -d. -f2)" -ge "$need_minor" ]
}

if command -v go >/dev/null && usable "$(command -v go)"; then
  dirname "$(command -v go)"
  exit 0
fi
dir="${WSGI_OPERATOR_CACHE}/go-${fetch_version}"
if [ ! -x "${dir}/bin/go" ]; then
  log "fetching Go ${fetch_version} from the Go module proxy"
  mkdir -p "${WSGI_OPERATOR_CACHE}"
  tmp="$(mktemp -d "${WSGI_OPERATOR_CACHE}/.go.XXXXXX")"
  trap 'rm -rf "${tmp}"' EXIT
  curl -fsSL -o "${tmp}/go.zip" \
    "${proxy}/golang.org/toolchain/@v/v0.0.1-go${fetch_version}.linux-amd64.zip"
  unzip -q "${tmp}/go.zip" -d "${tmp}/x"
  # The module zip nests the tree under golang.org/toolchain@<version>/.
  rm -rf "${dir}"
  mv "${tmp}"/x/golang.org/toolchain@*/ "${dir}"
  chmod +x "${dir}"/bin/* "${dir}"/pkg/tool/*/* 2>/dev/null || true
fi
usable "${dir}/bin/go" || die "${dir}/bin/go does not run"
echo "${dir}/bin"
