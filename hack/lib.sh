#!/usr/bin/env bash
# The shared definitions of hack/: every script sources this file (the k8s
# scripts through hack/k8s/lib.sh, which adds the Kubernetes layer). It
# defines variables and functions only and runs nothing; each script sets
# its own shell options (set -euo pipefail).

# shellcheck disable=SC2034 # HACK_DIR and REPO_ROOT are for the sourcing scripts
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034
REPO_ROOT="$(dirname "${HACK_DIR}")"

# Everything built or downloaded lives outside the repo so that `git clean`
# never throws away a build that took tens of minutes: the control plane
# binaries and state, the Go toolchain, the debootstrap root, build logs.
WSGI_OPERATOR_CACHE="${WSGI_OPERATOR_CACHE:-${HOME}/.cache/wsgi-operator}"

# Debian's Docker client (docker.io: 20.10, BuildKit built in), always by
# full path: the first `docker` on PATH may be another client (on some
# machines /usr/local/bin/docker), which must not be used.
# shellcheck disable=SC2034 # used by hack/docker/*.sh
DOCKER=/usr/bin/docker

# Log lines are prefixed with the name of the script that was run (the
# outermost file of the source stack), not with this file's name.
SCRIPT_NAME="$(basename "${BASH_SOURCE[-1]}")"

# log MESSAGE...: one timestamped line on stderr. stdout is reserved for what
# a script prints for $(...), such as ensure-go.sh's directory or
# `cluster.sh kubeconfig`.
log() {
  printf '[%s %(%H:%M:%S)T] %s\n' "${SCRIPT_NAME}" -1 "$*" >&2
}

# die MESSAGE...: log the error and exit 1.
die() {
  log "ERROR: $*"
  exit 1
}

# apt_install PACKAGE...: installs Debian packages (needs root). Callers
# first check what is missing, so a machine that has everything never runs
# apt-get.
apt_install() {
  [[ "$(id -u)" == 0 ]] || die "need root to apt-get install $*"
  log "installing $* from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# crds_established KUBECTL... -- CRD...: succeeds when every named
# CustomResourceDefinition is Established; KUBECTL is the command (with its
# flags) that reaches the cluster. For a polling loop, rather than `kubectl
# wait --for=condition=Established`, which fails at once (".status.conditions
# accessor error: <nil>") when it reads a CRD created a moment before, whose
# conditions are still null: every fresh cluster.
crds_established() {
  local -a kubectl=()
  while [[ "$1" != -- ]]; do
    kubectl+=("$1")
    shift
  done
  shift
  local crd
  for crd in "$@"; do
    [[ "$("${kubectl[@]}" get "crd/${crd}" \
      -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" == True ]] || return 1
  done
}
