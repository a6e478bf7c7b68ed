#!/usr/bin/env bash
# The Kubernetes layer on top of hack/lib.sh, shared by hack/k8s/build.sh and
# hack/k8s/cluster.sh: pinned versions, cache paths, where each binary is.
# Source it; it defines variables and functions only and runs nothing.

K8S_HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$(dirname "${K8S_HACK_DIR}")/lib.sh"
# shellcheck source=versions.env
source "${K8S_HACK_DIR}/versions.env"

# Under WSGI_OPERATOR_CACHE (hack/lib.sh), keyed on the Kubernetes version so
# that a version bump builds into a fresh directory.
K8S_ROOT="${WSGI_OPERATOR_CACHE}/k8s-v${KUBERNETES_VERSION}"
K8S_BIN_DIR="${K8S_ROOT}/bin"
K8S_STAGES_DIR="${K8S_ROOT}/kwok-stages"
# shellcheck disable=SC2034 # used by cluster.sh
K8S_STATE_DIR="${WSGI_OPERATOR_STATE:-${WSGI_OPERATOR_CACHE}/cluster}"

# Binaries the control plane needs, and the ones an envtest-style
# KUBEBUILDER_ASSETS directory may provide instead of our build.
K8S_BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl helm)
K8S_ASSET_BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler)

# True when KUBEBUILDER_ASSETS points at a usable envtest directory. Only a
# directory holding both kube-apiserver and etcd counts: with only one of
# them we would mix versions for no gain.
k8s::assets_usable() {
  [[ -n "${KUBEBUILDER_ASSETS:-}" \
    && -x "${KUBEBUILDER_ASSETS}/kube-apiserver" \
    && -x "${KUBEBUILDER_ASSETS}/etcd" ]]
}

# Prints the path of binary NAME: KUBEBUILDER_ASSETS wins for the control
# plane binaries it contains, everything else comes from our cache.
k8s::bin() {
  local name="$1" asset
  if k8s::assets_usable; then
    for asset in "${K8S_ASSET_BINARIES[@]}"; do
      if [[ "${asset}" == "${name}" && -x "${KUBEBUILDER_ASSETS}/${name}" ]]; then
        printf '%s\n' "${KUBEBUILDER_ASSETS}/${name}"
        return 0
      fi
    done
  fi
  printf '%s\n' "${K8S_BIN_DIR}/${name}"
}

# True when every binary and the kwok stages are in place (and, with the
# real node enabled, everything the node needs).
k8s::all_present() {
  local name
  for name in "${K8S_BINARIES[@]}"; do
    [[ -x "$(k8s::bin "${name}")" ]] || return 1
  done
  [[ -f "${K8S_STAGES_DIR}/node-fast.yaml" && -f "${K8S_STAGES_DIR}/pod-fast.yaml" ]] || return 1
  ! k8s::node_enabled || k8s::node_present
}

# ------------------------------------------------------------------ real node
# A real kubelet next to the kwok node (hack/k8s/node.sh, docs/real-node.md).
# WSGI_OPERATOR_REAL_NODE=0 leaves it out: no build, no start.
K8S_REAL_NODE="${WSGI_OPERATOR_REAL_NODE:-1}"
# What build.sh makes for it, under the version's cache dir: the CNI plugins,
# the static binaries that go into images, the image archives that `up`
# imports into the node's containerd, and the Gateway API CRDs.
K8S_NODE_DIR="${K8S_ROOT}/node"
K8S_CNI_BIN_DIR="${K8S_NODE_DIR}/cni-bin"
K8S_IMAGES_DIR="${K8S_NODE_DIR}/images"
K8S_GATEWAY_CRDS="${K8S_NODE_DIR}/gateway-api-crds.yaml"
# Host processes of the node (in bin/, next to the control plane's).
K8S_NODE_BINARIES=(kubelet kube-proxy kube-router)
K8S_CNI_PLUGINS=(bridge host-local loopback portmap)
# Image archives (docker-archive format) named after their image.
K8S_NODE_IMAGES=(pause coredns traefik)
# Debian packages the node runs, as command:package. containerd 1.6 (and
# its ctr, and runc) are the ones docker.io brings; kube-proxy, kube-router
# and portmap call iptables; kube-router calls ipset; socat links the
# node's network namespace to 127.0.0.1.
# shellcheck disable=SC2034 # used by build.sh
K8S_NODE_PACKAGES=(containerd:containerd ctr:containerd runc:runc iptables:iptables ipset:ipset socat:socat nsenter:util-linux)

k8s::node_enabled() {
  [[ "${K8S_REAL_NODE}" == 1 ]]
}

# True when everything build.sh makes for the node is in place.
k8s::node_present() {
  local name
  for name in "${K8S_NODE_BINARIES[@]}"; do
    [[ -x "${K8S_BIN_DIR}/${name}" ]] || return 1
  done
  for name in "${K8S_CNI_PLUGINS[@]}"; do
    [[ -x "${K8S_CNI_BIN_DIR}/${name}" ]] || return 1
  done
  for name in "${K8S_NODE_IMAGES[@]}"; do
    [[ -f "${K8S_IMAGES_DIR}/${name}.tar" ]] || return 1
  done
  [[ -f "${K8S_GATEWAY_CRDS}" ]]
}
