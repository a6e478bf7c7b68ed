#!/usr/bin/env bash
# A local Kubernetes control plane for the tests and the demo: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok (which
# plays the kubelet of a fake node), all listening on 127.0.0.1 only; and
# a real node next to it (hack/k8s/node.sh: containerd, kubelet, kube-proxy,
# kube-router, CoreDNS, Traefik) in a network namespace of its own, unless
# WSGI_OPERATOR_REAL_NODE=0.
#
# Usage: hack/k8s/cluster.sh COMMAND
#   up          build if needed, start everything, wait until usable
#   down        stop the processes `up` started (by PID) and remove the state
#   status      show each component and the API's health (exit 3 if not up)
#   env         print shell exports (KUBECONFIG, PATH with our kubectl first)
#   kubeconfig  print the path of the admin kubeconfig
#   bin-dir     print the directory holding kubectl, helm and the rest
#   which NAME  print the path of one binary (honours KUBEBUILDER_ASSETS)
#   logs [COMPONENT]  print the tail of the component logs
#   load-image IMAGE...  copy images from the Docker engine into the node
#   ingress-port         print the 127.0.0.1 port of the node's ingress
#   node-exec CMD...     run CMD in the node's network namespace (it reaches
#                        pod and Service addresses)
#
# Environment (all optional):
#   WSGI_OPERATOR_CACHE   cache root (default ~/.cache/wsgi-operator)
#   WSGI_OPERATOR_STATE   state dir: certs, kubeconfigs, logs, pid files
#                         (default $WSGI_OPERATOR_CACHE/cluster)
#   WSGI_OPERATOR_APISERVER_PORT (26443), WSGI_OPERATOR_ETCD_PORT (22379),
#   WSGI_OPERATOR_ETCD_PEER_PORT (22380),
#   WSGI_OPERATOR_CONTROLLER_MANAGER_PORT (20257),
#   WSGI_OPERATOR_SCHEDULER_PORT (20259), WSGI_OPERATOR_KWOK_PORT (20247)
#   WSGI_OPERATOR_UP_TIMEOUT   seconds to wait for readiness (default 120)
#   WSGI_OPERATOR_REAL_NODE    0: no real node (default 1: start it)
#   WSGI_OPERATOR_NODE_NET     the node's networks 10.250.N.0/30 and
#                              10.251.N.0/24 (N: 0-255, default 0)
#   WSGI_OPERATOR_INGRESS_PORT  127.0.0.1 port of the ingress (28080)
#   KUBEBUILDER_ASSETS    envtest binaries to use instead of building them
set -euo pipefail

# hack/k8s/lib.sh: versions, paths, k8s::bin (and, through hack/lib.sh, log
# and die); hack/k8s/pki.sh: the keys and certificates.
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=pki.sh
source "${K8S_HACK_DIR}/pki.sh"

# Unusual fixed ports, so a cluster started by this script does not collide
# with a real kind/minikube/kubeadm one on the standard ports.
APISERVER_PORT="${WSGI_OPERATOR_APISERVER_PORT:-26443}"
ETCD_PORT="${WSGI_OPERATOR_ETCD_PORT:-22379}"
ETCD_PEER_PORT="${WSGI_OPERATOR_ETCD_PEER_PORT:-22380}"
KCM_PORT="${WSGI_OPERATOR_CONTROLLER_MANAGER_PORT:-20257}"
SCHEDULER_PORT="${WSGI_OPERATOR_SCHEDULER_PORT:-20259}"
KWOK_PORT="${WSGI_OPERATOR_KWOK_PORT:-20247}"
UP_TIMEOUT="${WSGI_OPERATOR_UP_TIMEOUT:-120}"

# The addresses below are never dialled: the service range only gives the
# `kubernetes` Service its ClusterIP, and the pod range is what kwok writes
# into pod status. No kube-proxy or CNI exists, so no packet goes there.
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
POD_CIDR=10.244.0.0/16
NODE_NAME=kwok-node-0

STATE="${K8S_STATE_DIR}"
PKI="${STATE}/pki"
PIDS="${STATE}/pids"
LOGS="${STATE}/logs"
KUBECONFIG_PATH="${STATE}/admin.kubeconfig"
# etcd's data lives on tmpfs under a name derived from the state dir: a
# fixed name per state dir cannot leak when `up` is interrupted, and two
# state dirs (two clusters on other ports) never share it.
ETCD_TMPFS="/dev/shm/wsgi-operator-etcd-$(printf '%s' "${STATE}" | sha256sum | cut -c1-12)"
# Start order; `down` stops them in reverse.
CONTROL_PLANE=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# shellcheck source=node.sh
source "${K8S_HACK_DIR}/node.sh"

# Every component `up` starts (the node's after the control plane's).
COMPONENTS=("${CONTROL_PLANE[@]}")
if k8s::node_enabled; then
  COMPONENTS+=("${NODE_COMPONENTS[@]}")
fi

kubectl_() {
  "$(k8s::bin kubectl)" --kubeconfig="${KUBECONFIG_PATH}" "$@"
}

# ------------------------------------------------------------------ processes

# Prints the PID recorded for COMPONENT if that process is still alive and
# is really ours: its command line must mention our state dir, so a PID
# recycled by an unrelated process after a crash is never signalled.
live_pid() {
  local pidfile="${PIDS}/$1.pid" pid
  [[ -f "${pidfile}" ]] || return 1
  pid="$(<"${pidfile}")"
  [[ "${pid}" =~ ^[0-9]+$ && -r "/proc/${pid}/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "${STATE}/" || return 1
  printf '%s\n' "${pid}"
}

show_log() {
  local name="$1"
  if [[ -f "${LOGS}/${name}.log" ]]; then
    log "last lines of ${LOGS}/${name}.log:"
    tail -n 40 "${LOGS}/${name}.log" >&2
  fi
}

fail() {
  # fail COMPONENT MESSAGE: show the relevant log, then give up.
  show_log "$1"
  die "$2 (logs in ${LOGS}; stop with: $0 down)"
}

# start COMPONENT ARGS...: runs the component's binary (k8s::bin) with ARGS.
start() {
  local name="$1"
  shift
  start_cmd "${name}" "$(k8s::bin "${name}")" "$@"
}

# start_cmd COMPONENT COMMAND...: runs COMMAND detached from our session
# (setsid) so that a Ctrl-C meant for the test runner does not kill the
# cluster under the teardown, and records its PID as COMPONENT's. The
# command line must name a path under the state dir (see live_pid).
start_cmd() {
  local name="$1" pid
  shift
  # 8>&-: the component must not inherit the `up` lock (fd 8), or the lock
  # would be held for as long as the component runs.
  setsid "$@" </dev/null >>"${LOGS}/${name}.log" 2>&1 8>&- &
  pid=$!
  printf '%s\n' "${pid}" >"${PIDS}/${name}.pid"
  # Until the forked shell has exec'd, its command line lacks our state dir
  # and live_pid would call the component dead: wait for the exec (this is
  # instant unless the machine is very loaded).
  local tries=0
  until live_pid "${name}" >/dev/null; do
    if ((tries++ >= 50)) || ! kill -0 "${pid}" 2>/dev/null; then
      fail "${name}" "${name} exited right after starting"
    fi
    sleep 0.1
  done
  log "started ${name} (pid ${pid})"
}

# stop_component COMPONENT: SIGTERM to its recorded process (if alive and
# ours), waited for; SIGKILL after 20 s, because `down` must always finish.
# The process group goes too: setsid made the component its leader, and
# socat's per-connection children live in it.
stop_component() {
  local name="$1" pid waited=0
  pid="$(live_pid "${name}")" || return 0
  log "stopping ${name} (pid ${pid})"
  kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true
  while kill -0 "${pid}" 2>/dev/null && ((waited < 200)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "${pid}" 2>/dev/null; then
    log "${name} (pid ${pid}) ignored SIGTERM for 20s; sending SIGKILL"
    kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
  fi
}

# Stops the node (whether or not it is enabled now: a node an earlier `up`
# started is cleaned up all the same), then the control plane.
stop_all() {
  local i
  node::down
  # One at a time, in reverse start order, each waited for: an API server
  # whose etcd is already gone hangs in its shutdown on storage calls, and
  # etcd's graceful stop waits for the API server's watch streams.
  for ((i = ${#CONTROL_PLANE[@]} - 1; i >= 0; i--)); do
    stop_component "${CONTROL_PLANE[i]}"
  done
}

remove_state() {
  local target=""
  # Follow the etcd-data link too, in case it points elsewhere under
  # /dev/shm (state left by an older version of this script).
  if [[ -L "${STATE}/etcd-data" ]]; then
    target="$(readlink "${STATE}/etcd-data")"
    [[ "${target}" == /dev/shm/wsgi-operator-etcd* ]] || target=""
  fi
  # --one-file-system: should a mount under the state dir have survived
  # node::down, never delete through it.
  rm -rf --one-file-system -- "${ETCD_TMPFS}" ${target:+"${target}"} "${STATE}"
}

# ------------------------------------------------------------------ health

api_ready() {
  [[ -f "${KUBECONFIG_PATH}" ]] \
    && [[ "$(kubectl_ get --raw /readyz 2>/dev/null)" == "ok" ]]
}

all_running() {
  local name
  for name in "${COMPONENTS[@]}"; do
    live_pid "${name}" >/dev/null || return 1
  done
}

control_plane_running() {
  local name
  for name in "${CONTROL_PLANE[@]}"; do
    live_pid "${name}" >/dev/null || return 1
  done
}

# wait_for COMPONENT DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
# Fails early, with that component's log, as soon as any component started
# so far has died (a dead etcd shows up as an API server that never gets
# ready: its log, not the API server's, says why); on timeout shows the log
# of COMPONENT, the one expected to make COMMAND succeed.
wait_for() {
  local name="$1" what="$2" deadline=$((SECONDS + UP_TIMEOUT)) other
  shift 2
  until "$@" >/dev/null 2>&1; do
    for other in "${COMPONENTS[@]}"; do
      if [[ -f "${PIDS}/${other}.pid" ]] && ! live_pid "${other}" >/dev/null; then
        fail "${other}" "${other} exited while waiting for ${what}"
      fi
    done
    ((SECONDS < deadline)) || fail "${name}" "timed out after ${UP_TIMEOUT}s waiting for ${what}"
    sleep 0.5
  done
}

port_free() {
  # Succeeds when nothing accepts connections on 127.0.0.1:PORT.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ------------------------------------------------------------------ kubeconfigs

# write_kubeconfig FILE CERTNAME USER [SERVER [TLS_SERVER_NAME]]: a
# kubeconfig for the API server (SERVER, default https://127.0.0.1:<port>)
# with the CA and the client cert PKI/CERTNAME embedded; TLS_SERVER_NAME is
# the name the serving certificate is checked against when SERVER's address
# is not one it covers. The one place that writes a kubeconfig.
write_kubeconfig() {
  local file="$1" certname="$2" user="$3" server="${4:-https://127.0.0.1:${APISERVER_PORT}}" tls_name="${5:-}"
  (
    umask 077
    cat >"${file}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: wsgi-operator-local
  cluster:
    server: ${server}
    certificate-authority-data: $(base64 -w0 <"${PKI}/ca.crt")${tls_name:+
    tls-server-name: ${tls_name}}
users:
- name: ${user}
  user:
    client-certificate-data: $(base64 -w0 <"${PKI}/${certname}.crt")
    client-key-data: $(base64 -w0 <"${PKI}/${certname}.key")
contexts:
- name: wsgi-operator-local
  context:
    cluster: wsgi-operator-local
    user: ${user}
    namespace: default
current-context: wsgi-operator-local
EOF
  )
}

# The admin's and one per client component (kube-apiserver and etcd read
# their certs from PKI directly).
write_kubeconfigs() {
  write_kubeconfig "${KUBECONFIG_PATH}" admin wsgi-operator-admin
  write_kubeconfig "${STATE}/kube-controller-manager.kubeconfig" kube-controller-manager system:kube-controller-manager
  write_kubeconfig "${STATE}/kube-scheduler.kubeconfig" kube-scheduler system:kube-scheduler
  write_kubeconfig "${STATE}/kwok.kubeconfig" kwok kwok
}

# ------------------------------------------------------------------ components
# One function per component, called by cmd_up in COMPONENTS order.

start_etcd() {
  # etcd on tmpfs: fsync-heavy etcd on disk is the slowest part of a test
  # run, and the data is thrown away by `down` anyway.
  if [[ -d /dev/shm && -w /dev/shm ]]; then
    rm -rf -- "${ETCD_TMPFS}"
    mkdir -m 0700 "${ETCD_TMPFS}"
    ln -s "${ETCD_TMPFS}" "${STATE}/etcd-data"
  else
    mkdir -p "${STATE}/etcd-data"
  fi

  start etcd \
    --name=wsgi-operator \
    --data-dir="${STATE}/etcd-data/data" \
    --listen-client-urls="https://127.0.0.1:${ETCD_PORT}" \
    --advertise-client-urls="https://127.0.0.1:${ETCD_PORT}" \
    --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster="wsgi-operator=http://127.0.0.1:${ETCD_PEER_PORT}" \
    --cert-file="${PKI}/etcd-server.crt" --key-file="${PKI}/etcd-server.key" \
    --trusted-ca-file="${PKI}/ca.crt" --client-cert-auth \
    --unsafe-no-fsync \
    --log-level=warn
}

start_apiserver() {
  start kube-apiserver \
    --advertise-address=127.0.0.1 \
    --bind-address=127.0.0.1 \
    --secure-port="${APISERVER_PORT}" \
    --cert-dir="${PKI}" \
    --tls-cert-file="${PKI}/kube-apiserver.crt" \
    --tls-private-key-file="${PKI}/kube-apiserver.key" \
    --client-ca-file="${PKI}/ca.crt" \
    --etcd-servers="https://127.0.0.1:${ETCD_PORT}" \
    --etcd-cafile="${PKI}/ca.crt" \
    --etcd-certfile="${PKI}/apiserver-etcd-client.crt" \
    --etcd-keyfile="${PKI}/apiserver-etcd-client.key" \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="${PKI}/sa.pub" \
    --service-account-signing-key-file="${PKI}/sa.key" \
    --requestheader-client-ca-file="${PKI}/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="${PKI}/front-proxy-client.crt" \
    --proxy-client-key-file="${PKI}/front-proxy-client.key" \
    --endpoint-reconciler-type=none \
    --kubelet-client-certificate="${PKI}/apiserver-kubelet-client.crt" \
    --kubelet-client-key="${PKI}/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="${PKI}/ca.crt" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --profiling=false \
    --v=1
  # Why these flags:
  # - PodSecurity, ServiceAccount, NamespaceLifecycle, ... are in the default
  #   admission plugin set of 1.35; NodeRestriction is the only one added.
  # - --allow-privileged lets Pod Security Admission, not this global
  #   switch, be what rejects privileged pods in a restricted namespace.
  # - --endpoint-reconciler-type=none: the API server would publish its
  #   advertise address as the `kubernetes` Endpoints, but 127.0.0.1 is not
  #   a valid endpoint IP, and it would log that every 10 s. The real node
  #   (node.sh) publishes its own endpoint for the Service's in-cluster
  #   clients.
  # - --kubelet-*: the real node's kubelet (logs, exec, port-forward):
  #   the API server proves who it is with a client cert, checks the
  #   kubelet's serving cert against our CA, and dials its InternalIP.
}

start_controller_manager() {
  start kube-controller-manager \
    --kubeconfig="${STATE}/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="${STATE}/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="${STATE}/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="${KCM_PORT}" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="${PKI}/sa.key" \
    --root-ca-file="${PKI}/ca.crt" \
    --cluster-signing-cert-file="${PKI}/ca.crt" \
    --cluster-signing-key-file="${PKI}/ca.key" \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --kube-api-qps=100 \
    --kube-api-burst=200 \
    --profiling=false \
    --v=1
}

start_scheduler() {
  start kube-scheduler \
    --kubeconfig="${STATE}/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="${STATE}/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="${STATE}/kube-scheduler.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="${SCHEDULER_PORT}" \
    --leader-elect=false \
    --kube-api-qps=100 \
    --kube-api-burst=200 \
    --profiling=false \
    --v=1
}

start_kwok() {
  # kwok manages only nodes carrying its annotation, so any real node added
  # by hand is left alone; its Stages (copied from the kwok module by
  # build.sh) make the node Ready, heartbeat it through a Lease, and walk
  # pods on it to Running/Ready.
  start kwok \
    --kubeconfig="${STATE}/kwok.kubeconfig" \
    --config="${K8S_STAGES_DIR}/node-fast.yaml" \
    --config="${K8S_STAGES_DIR}/pod-fast.yaml" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 \
    --cidr="${POD_CIDR}" \
    --node-ip=127.0.0.1 \
    --server-address="127.0.0.1:${KWOK_PORT}"
}

# The fake node kwok plays the kubelet of (it needs the API server up).
create_kwok_node() {
  # No taint on the node, so any Deployment schedules onto it without a
  # toleration. Capacity is generous so tests never hit scheduling limits.
  kubectl_ apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: ${NODE_NAME}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: ${NODE_NAME}
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
}

# ------------------------------------------------------------------ commands

cmd_up() {
  local t0=${SECONDS} name port
  "${K8S_HACK_DIR}/build.sh"

  if all_running && api_ready; then
    log "already up: export KUBECONFIG=${KUBECONFIG_PATH}"
    return 0
  fi
  if k8s::node_enabled && control_plane_running && api_ready; then
    # The control plane is up and only the node is missing (it was started
    # without one, or the node died): the control plane, which others may
    # be using, is left alone and the node is started next to it.
    if ! node::apiserver_ready_for_node; then
      log "warning: the running control plane was started by an older cluster.sh (its API server cannot call a kubelet); not adding a real node to it. For one: $0 down; $0 up"
      return 0
    fi
    log "control plane already up; starting the real node"
    node::down
    node::up
    return 0
  fi
  if [[ -d "${STATE}" ]]; then
    # A previous run crashed or was half started: stop whatever of it is
    # still alive (only our own PIDs) and start from a clean slate.
    log "found stale state in ${STATE}; cleaning it up"
    stop_all
    remove_state
  fi

  for port in "${APISERVER_PORT}" "${ETCD_PORT}" "${ETCD_PEER_PORT}" "${KCM_PORT}" "${SCHEDULER_PORT}" "${KWOK_PORT}"; do
    port_free "${port}" || die "port 127.0.0.1:${port} is in use by another process (see hack/k8s/cluster.sh header for the variables that move it)"
  done

  mkdir -p "${PIDS}" "${LOGS}"
  pki::generate "${PKI}" "${SERVICE_IP}"
  write_kubeconfigs

  start_etcd
  start_apiserver
  wait_for kube-apiserver "the API server's /readyz" api_ready
  start_controller_manager
  start_scheduler
  start_kwok

  # The `default` ServiceAccount is created by the controller manager's
  # serviceaccount controller: waiting for it proves the controller manager
  # authenticates and is running its controllers.
  wait_for kube-controller-manager "ServiceAccount default/default" \
    kubectl_ get serviceaccount default --namespace default

  create_kwok_node
  wait_for kwok "node ${NODE_NAME} to be Ready" \
    kubectl_ wait --for=condition=Ready "node/${NODE_NAME}" --timeout=5s
  log "control plane up in $((SECONDS - t0))s"

  if k8s::node_enabled; then
    node::up
  fi

  for name in "${COMPONENTS[@]}"; do
    live_pid "${name}" >/dev/null || fail "${name}" "${name} exited during startup"
  done
  log "cluster up in $((SECONDS - t0))s: export KUBECONFIG=${KUBECONFIG_PATH}"
}

cmd_down() {
  if [[ ! -d "${STATE}" ]]; then
    log "not running (no state in ${STATE})"
    return 0
  fi
  stop_all
  remove_state
  log "stopped, state removed"
}

# Exit status: 0 when everything `up` starts is up, 3 when the control
# plane is not, 4 when only the (enabled) real node is not.
cmd_status() {
  local name pid rc=0
  for name in "${COMPONENTS[@]}"; do
    if pid="$(live_pid "${name}")"; then
      printf '%-24s running (pid %s)\n' "${name}" "${pid}"
    else
      printf '%-24s not running\n' "${name}"
      if [[ " ${CONTROL_PLANE[*]} " == *" ${name} "* ]]; then
        rc=3
      elif ((rc == 0)); then
        rc=4
      fi
    fi
  done
  if api_ready; then
    printf '%-24s ok (https://127.0.0.1:%s)\n' "api /readyz" "${APISERVER_PORT}"
    kubectl_ get nodes --no-headers 2>/dev/null | sed 's/^/node                     /'
    if k8s::node_enabled && ((rc == 0)) && ! node::ready; then
      rc=4
    fi
  else
    printf '%-24s not ready\n' "api /readyz"
    rc=3
  fi
  printf '%-24s %s\n' kubeconfig "${KUBECONFIG_PATH}"
  if k8s::node_enabled; then
    printf '%-24s http://127.0.0.1:%s\n' ingress "${INGRESS_PORT}"
    if ((rc == 4)) && ! node::apiserver_ready_for_node; then
      # The test fixtures read this line.
      printf '%-24s %s\n' "real node" "not started: the control plane predates it (for one: $0 down; $0 up)"
    fi
  fi
  return "${rc}"
}

cmd_logs() {
  local name
  if (($# > 0)); then
    show_log "$1"
  else
    for name in "${COMPONENTS[@]}"; do show_log "${name}"; done
  fi
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd="${1:-}"
  (($# > 0)) && shift
  case "${cmd}" in
    up | down)
      # One `up`/`down` at a time per state dir (parallel test workers may
      # all call `up`): the lock lives next to the state dir, which `down`
      # deletes.
      mkdir -p "$(dirname "${STATE}")"
      exec 8>"${STATE}.lock"
      flock 8
      "cmd_${cmd}"
      ;;
    status) cmd_status ;;
    env)
      printf 'export KUBECONFIG=%q\n' "${KUBECONFIG_PATH}"
      # Our kubectl first: a kubectl elsewhere on PATH may be another minor
      # (or, on some machines, a cloud SDK dispatcher).
      # shellcheck disable=SC2016 # ${PATH} is for the shell that evals this
      printf 'export PATH=%q:"${PATH}"\n' "${K8S_BIN_DIR}"
      ;;
    kubeconfig)
      [[ -f "${KUBECONFIG_PATH}" ]] || log "warning: ${KUBECONFIG_PATH} does not exist; run: $0 up"
      printf '%s\n' "${KUBECONFIG_PATH}"
      ;;
    bin-dir) printf '%s\n' "${K8S_BIN_DIR}" ;;
    which)
      (($# == 1)) || usage
      k8s::bin "$1"
      ;;
    logs) cmd_logs "$@" ;;
    load-image)
      (($# > 0)) || usage
      live_pid containerd >/dev/null || die "the real node is not running ($0 up starts it)"
      node::load_images "$@"
      ;;
    ingress-port) printf '%s\n' "${INGRESS_PORT}" ;;
    node-exec)
      (($# > 0)) || usage
      [[ -e "${NETNS_PATH}" ]] || die "the real node is not running"
      exec nsenter --net="${NETNS_PATH}" -- "$@"
      ;;
    *) usage ;;
  esac
}

main "$@"
