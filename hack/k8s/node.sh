#!/usr/bin/env bash
# The real node of the local cluster: containerd, kubelet, kube-proxy and
# kube-router, with CoreDNS and Traefik as pods. Sourced by
# hack/k8s/cluster.sh after its own definitions (STATE, PKI, LOGS, PIDS,
# ports, start/stop helpers); it defines variables and functions only.
# docs/real-node.md explains the design; in short:
#
# - The node has its own network namespace, `wsgi-operator-<id>` (id: a
#   hash of the state dir). containerd, the kubelet, kube-proxy and
#   kube-router run in it (nsenter --net, so they share the host's mount
#   namespace, where the kubelet mounts volumes), and so do the CNI bridge
#   (cni0), the pods' veths and every iptables rule and ipset they make.
#   The host's own firewall (Docker's included) is never touched, two
#   clusters (other state dirs) can each have a node, and `down` removes
#   all of it by deleting the namespace.
# - A veth pair links it to the host: host side 10.250.<net>.1, node side
#   (eth0, the node's InternalIP) 10.250.<net>.2; the host routes the pod
#   range 10.251.<net>.0/24 through it. The node has no default route: no
#   packet from a pod or from containerd can leave the machine.
# - The API server listens on 127.0.0.1 only; socat on the host side of
#   the link forwards 10.250.<net>.1:<API port> there (api-link). The
#   node's components and in-cluster clients (through the `kubernetes`
#   Service) use that address; the certificate's name is checked as
#   `kubernetes`.
# - Traefik's host port 80 is forwarded from 127.0.0.1:<ingress port> by a
#   second socat (ingress-link).
# - Pods live in cgroups under /wsgi-operator-<id> (the kubelet's
#   cgroupRoot) in every cgroup hierarchy, so a crash never leaves a
#   container that `down` cannot find.
#
# The node is tainted wsgi-operator.io/real-node=true:NoSchedule and
# labelled wsgi-operator.io/real-node=true: pods land on it only when they
# select and tolerate it; everything else goes to the kwok node.

REAL_NODE_NAME=real-node-0
REAL_NODE_LABEL=wsgi-operator.io/real-node
# N of the node's networks, 10.250.N.0/30 and 10.251.N.0/24 (0-255); give
# a second cluster on the same machine its own.
NODE_NET="${WSGI_OPERATOR_NODE_NET:-0}"
INGRESS_PORT="${WSGI_OPERATOR_INGRESS_PORT:-28080}"
LINK_HOST_IP="10.250.${NODE_NET}.1"
NODE_IP="10.250.${NODE_NET}.2"
NODE_POD_CIDR="10.251.${NODE_NET}.0/24"
# In the service range (cluster.sh's SERVICE_CIDR).
CLUSTER_DNS_IP=10.96.0.10

NODE_ID="$(printf '%s' "${STATE}" | sha256sum | cut -c1-12)"
NETNS="wsgi-operator-${NODE_ID}"
NETNS_PATH="/run/netns/${NETNS}"
HOST_VETH="wsgiop${NODE_ID:0:8}"
CGROUP_ROOT="/wsgi-operator-${NODE_ID}"
CNI_NETWORK="wsgi-operator-${NODE_ID}"

NODE_STATE="${STATE}/node"
CONTAINERD_SOCK="${NODE_STATE}/containerd.sock"
KUBELET_DIR="${NODE_STATE}/kubelet"
NODE_COMPONENTS=(api-link containerd kubelet kube-proxy kube-router ingress-link)
# Where the kubelet links container logs: a fixed host path (not
# configurable); `down` removes our links (their targets are in NODE_STATE).
CONTAINER_LOG_LINKS=/var/log/containers
# libcni caches results here (containerd 1.6 does not let us move it); the
# files carry our network's name.
CNI_CACHE_DIR=/var/lib/cni/results
# containerd 1.6's shims listen here whatever the state dir (named after
# containerd's socket and the task), and keep their tasks' state under this
# path of containerd's state dir.
SHIM_SOCKET_DIR=/run/containerd/s
SHIM_TASKS=io.containerd.runtime.v2.task/k8s.io

ctr_() {
  ctr --address "${CONTAINERD_SOCK}" --namespace k8s.io "$@"
}

# in_node CMD...: CMD in the node's network namespace (and the host's
# mount namespace: `ip netns exec` would give it a private one, hiding the
# kubelet's volume mounts from containerd).
in_node() {
  nsenter --net="${NETNS_PATH}" -- "$@"
}

# ------------------------------------------------------------------ checks

node::check_host() {
  [[ "$(id -u)" == 0 ]] || die "the real node needs root (WSGI_OPERATOR_REAL_NODE=0 leaves it out)"
  if ! [[ "${NODE_NET}" =~ ^[0-9]+$ ]] || ((NODE_NET > 255)); then
    die "WSGI_OPERATOR_NODE_NET=${NODE_NET} is not a number from 0 to 255"
  fi
  local cmd
  for cmd in containerd ctr runc iptables ipset socat nsenter ip curl; do
    command -v "${cmd}" >/dev/null || die "${cmd} is not installed (hack/k8s/build.sh installs the node's packages)"
  done
  [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/cpu ]] \
    || die "no cgroup v1 hierarchies under /sys/fs/cgroup (the node is written for this machine's cgroup v1)"
  # Our link and pod addresses must be free on the host (another cluster
  # on the same machine needs another WSGI_OPERATOR_NODE_NET).
  if ip -o -4 addr show | grep -vE "^[0-9]+: ${HOST_VETH}[ @]" | grep -qE "inet 10\.250\.${NODE_NET}\.[0-9]+/"; then
    die "10.250.${NODE_NET}.0/30 is in use on this host (another cluster?): set WSGI_OPERATOR_NODE_NET"
  fi
  if ip -o route show "${NODE_POD_CIDR}" | grep -vE " dev ${HOST_VETH}( |$)" | grep -q .; then
    die "${NODE_POD_CIDR} is already routed on this host: set WSGI_OPERATOR_NODE_NET"
  fi
  port_free "${INGRESS_PORT}" || die "port 127.0.0.1:${INGRESS_PORT} is in use (set WSGI_OPERATOR_INGRESS_PORT)"
}

# True when the running API server can call kubelets (a control plane
# started by an older cluster.sh cannot: exec and logs would fail).
node::apiserver_ready_for_node() {
  local pid
  pid="$(live_pid kube-apiserver)" || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "--kubelet-client-certificate="
}

# ------------------------------------------------------------------ network

node::network_up() {
  ip netns add "${NETNS}"
  ip link add "${HOST_VETH}" type veth peer name eth0 netns "${NETNS}"
  ip addr add "${LINK_HOST_IP}/30" dev "${HOST_VETH}"
  ip link set "${HOST_VETH}" up
  ip -n "${NETNS}" link set lo up
  ip -n "${NETNS}" addr add "${NODE_IP}/30" dev eth0
  ip -n "${NETNS}" link set eth0 up
  ip route add "${NODE_POD_CIDR}" via "${NODE_IP}" dev "${HOST_VETH}"
  # In the node's namespace only: route between the link and the pods, and
  # let iptables see bridged pod-to-pod traffic (kube-proxy's hairpin,
  # kube-router's policies).
  in_node sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
    net.ipv4.conf.all.rp_filter=0 >/dev/null
  log "node network: ${NETNS} (node ${NODE_IP}, pods ${NODE_POD_CIDR}, host side ${HOST_VETH} ${LINK_HOST_IP})"
}

node::network_down() {
  if [[ -e "${NETNS_PATH}" ]]; then
    ip netns delete "${NETNS}" 2>/dev/null || umount -l "${NETNS_PATH}" 2>/dev/null || true
    rm -f "${NETNS_PATH}"
  fi
  # Deleting the namespace deletes the veth pair (and the host route with
  # it); a half-made pair is removed here.
  if ip link show "${HOST_VETH}" >/dev/null 2>&1; then
    ip link delete "${HOST_VETH}"
  fi
}

# ------------------------------------------------------------------ cgroups

# The cgroup v1 hierarchies (and the v2 one of a hybrid host) to make the
# node's cgroup root in; runc creates pod cgroups in each of them.
node::cgroup_hierarchies() {
  local dir
  for dir in /sys/fs/cgroup/*/; do
    [[ -f "${dir}cgroup.procs" ]] && printf '%s\n' "${dir%/}"
  done
}

node::cgroups_up() {
  local h
  while IFS= read -r h; do
    mkdir -p "${h}${CGROUP_ROOT}"
    # A new cpuset cgroup has no CPUs and no memory nodes until given them.
    if [[ -f "${h}/cpuset.cpus" ]]; then
      cat "${h}/cpuset.cpus" >"${h}${CGROUP_ROOT}/cpuset.cpus"
      cat "${h}/cpuset.mems" >"${h}${CGROUP_ROOT}/cpuset.mems"
    fi
  done < <(node::cgroup_hierarchies)
}

# PIDs of every process in the node's cgroups (the pods' containers).
node::cgroup_pids() {
  local h
  while IFS= read -r h; do
    [[ -d "${h}${CGROUP_ROOT}" ]] || continue
    find "${h}${CGROUP_ROOT}" -name cgroup.procs -exec cat {} + 2>/dev/null
  done < <(node::cgroup_hierarchies) | sort -un
}

# Kills what runs in the node's cgroups, then removes them, deepest first.
node::cgroups_down() {
  local h pids tries=0
  while pids="$(node::cgroup_pids)" && [[ -n "${pids}" ]]; do
    if ((tries++ == 0)); then
      log "killing $(wc -l <<<"${pids}") container processes left in ${CGROUP_ROOT}"
    fi
    # shellcheck disable=SC2086 # one PID per word
    kill -KILL ${pids} 2>/dev/null || true
    ((tries < 100)) || {
      log "warning: processes still in ${CGROUP_ROOT} after 10s: ${pids//$'\n'/ }"
      break
    }
    sleep 0.1
  done
  while IFS= read -r h; do
    [[ -d "${h}${CGROUP_ROOT}" ]] || continue
    find "${h}${CGROUP_ROOT}" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ ! -d "${h}${CGROUP_ROOT}" ]] || log "warning: could not remove ${h}${CGROUP_ROOT}"
  done < <(node::cgroup_hierarchies)
}

# ------------------------------------------------------------------ files

# node::render FILE: an addon manifest with its @PLACEHOLDERS@ filled in.
node::render() {
  sed -e "s|@NODE_LABEL@|${REAL_NODE_LABEL}|g" \
    -e "s|@LINK_HOST_IP@|${LINK_HOST_IP}|g" \
    -e "s|@APISERVER_PORT@|${APISERVER_PORT}|g" \
    -e "s|@CLUSTER_DNS_IP@|${CLUSTER_DNS_IP}|g" \
    -e "s|@COREDNS_IMAGE@|${COREDNS_IMAGE}|g" \
    -e "s|@TRAEFIK_IMAGE@|${TRAEFIK_IMAGE}|g" \
    "${K8S_HACK_DIR}/addons/$1"
}

node::write_configs() {
  mkdir -p "${NODE_STATE}"/{containerd/root,containerd/state,containerd/opt,runc,cni/net.d,cni/ipam,pod-logs,volume-plugins} "${KUBELET_DIR}"
  pki::node "${PKI}" "${REAL_NODE_NAME}" "${NODE_IP}"
  # The node's clients reach the API server through api-link; the serving
  # certificate is checked against the name `kubernetes`, which it covers.
  local server="https://${LINK_HOST_IP}:${APISERVER_PORT}"
  write_kubeconfig "${NODE_STATE}/kubelet.kubeconfig" kubelet "system:node:${REAL_NODE_NAME}" "${server}" kubernetes
  write_kubeconfig "${NODE_STATE}/kube-proxy.kubeconfig" kube-proxy system:kube-proxy "${server}" kubernetes
  write_kubeconfig "${NODE_STATE}/kube-router.kubeconfig" kube-router system:kube-router "${server}" kubernetes

  # containerd 1.6 from Debian, its own instance: everything under
  # NODE_STATE, so it never meets Docker's containerd.
  cat >"${NODE_STATE}/containerd.toml" <<EOF
version = 2
root = "${NODE_STATE}/containerd/root"
state = "${NODE_STATE}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${CONTAINERD_SOCK}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${NODE_STATE}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # No process here holds CAP_SYS_RESOURCE: without this, runc fails every
  # sandbox writing /proc/self/oom_score_adj.
  restrict_oom_score_adj = true
  # Pods bind ports below 1024 (CoreDNS on 53) without capabilities.
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  # Pod network namespaces under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${K8S_CNI_BIN_DIR}"
    conf_dir = "${NODE_STATE}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "${NODE_STATE}/runc"
        SystemdCgroup = false
EOF

  # The pod network: one bridge in the node's namespace, addresses from the
  # node's /24, host ports through portmap (Traefik's port 80). No
  # masquerade: pod traffic never leaves the node anyway.
  cat >"${NODE_STATE}/cni/net.d/10-wsgi-operator.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "${CNI_NETWORK}",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "${NODE_STATE}/cni/ipam",
        "ranges": [[{"subnet": "${NODE_POD_CIDR}"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

  # Pods get the cluster DNS and nothing of the host's resolv.conf.
  : >"${NODE_STATE}/resolv.conf"

  cat >"${NODE_STATE}/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host is cgroup v1 with no systemd: 1.35 refuses v1 unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: ${CGROUP_ROOT}
failSwapOn: false
containerRuntimeEndpoint: unix://${CONTAINERD_SOCK}
address: ${NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: ${PKI}/kubelet-serving.crt
tlsPrivateKeyFile: ${PKI}/kubelet-serving.key
# kubectl exec/logs: the API server authenticates with its client cert,
# and the kubelet asks the API server whether that user may.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${PKI}/ca.crt}
authorization:
  mode: Webhook
clusterDomain: cluster.local
clusterDNS: [${CLUSTER_DNS_IP}]
resolvConf: ${NODE_STATE}/resolv.conf
podLogsDir: ${NODE_STATE}/pod-logs
volumePluginDir: ${NODE_STATE}/volume-plugins
registerWithTaints:
  - {key: ${REAL_NODE_LABEL}, value: "true", effect: NoSchedule}
# A shared build machine: never evict a test's pod for the disk or memory
# other jobs use, and never garbage-collect images (none can be pulled).
evictionHard: {memory.available: 50Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
shutdownGracePeriod: 0s
EOF

  cat >"${NODE_STATE}/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${NODE_STATE}/kube-proxy.kubeconfig
mode: iptables
hostnameOverride: ${REAL_NODE_NAME}
clusterCIDR: ${NODE_POD_CIDR}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# The conntrack table size is the host's, not this namespace's: leave it.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}

# ------------------------------------------------------------------ processes

node::start_api_link() {
  # One socat, forking per connection; its log option puts our state dir in
  # its command line, which is how live_pid knows it is ours.
  start_cmd api-link socat -lf "${LOGS}/api-link.socat.log" \
    "TCP-LISTEN:${APISERVER_PORT},bind=${LINK_HOST_IP},reuseaddr,fork" \
    "TCP:127.0.0.1:${APISERVER_PORT}"
}

node::start_containerd() {
  start_cmd containerd nsenter --net="${NETNS_PATH}" -- \
    containerd --config "${NODE_STATE}/containerd.toml" --log-level warn
  wait_for containerd "containerd's socket" ctr_ version
}

# Imports the node's own images (pause, CoreDNS, Traefik) from build.sh's
# archives.
node::import_images() {
  local name
  for name in "${K8S_NODE_IMAGES[@]}"; do
    ctr_ images import "${K8S_IMAGES_DIR}/${name}.tar" >/dev/null \
      || fail containerd "could not import ${K8S_IMAGES_DIR}/${name}.tar"
  done
  log "imported ${K8S_NODE_IMAGES[*]} into the node"
}

node::start_kubelet() {
  start_cmd kubelet nsenter --net="${NETNS_PATH}" -- \
    "${K8S_BIN_DIR}/kubelet" \
    --config="${NODE_STATE}/kubelet.yaml" \
    --kubeconfig="${NODE_STATE}/kubelet.kubeconfig" \
    --root-dir="${KUBELET_DIR}" \
    --cert-dir="${KUBELET_DIR}/pki" \
    --hostname-override="${REAL_NODE_NAME}" \
    --node-ip="${NODE_IP}" \
    --node-labels="${REAL_NODE_LABEL}=true" \
    --v=1
}

node::start_kube_proxy() {
  start_cmd kube-proxy nsenter --net="${NETNS_PATH}" -- \
    "${K8S_BIN_DIR}/kube-proxy" --config="${NODE_STATE}/kube-proxy.yaml" --v=1
}

node::start_kube_router() {
  # Firewall only: NetworkPolicies become iptables rules and ipsets in the
  # node's namespace. Routing and the service proxy are not its job here.
  start_cmd kube-router nsenter --net="${NETNS_PATH}" -- \
    "${K8S_BIN_DIR}/kube-router" \
    --kubeconfig="${NODE_STATE}/kube-router.kubeconfig" \
    --hostname-override="${REAL_NODE_NAME}" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --metrics-port=0 \
    --v=1
}

node::start_ingress_link() {
  start_cmd ingress-link socat -lf "${LOGS}/ingress-link.socat.log" \
    "TCP-LISTEN:${INGRESS_PORT},bind=127.0.0.1,reuseaddr,fork" \
    "TCP:${NODE_IP}:80"
}

# ------------------------------------------------------------------ up

node::ready() {
  [[ "$(kubectl_ get node "${REAL_NODE_NAME}" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

node::addons_available() {
  kubectl_ -n kube-system wait --for=condition=Available deployment/coredns --timeout=2s \
    && kubectl_ -n traefik wait --for=condition=Available deployment/traefik --timeout=2s
}

node::ingress_answers() {
  # Traefik answers 404 for a host no route claims: that proves the whole
  # path 127.0.0.1 -> socat -> host port -> pod.
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    -H 'Host: wsgi-operator-up-check.invalid' "http://127.0.0.1:${INGRESS_PORT}/")" == 404 ]]
}

node::up() {
  local t0=${SECONDS}
  node::check_host
  node::write_configs
  node::network_up
  node::cgroups_up
  node::start_api_link

  # Cluster objects the node's pods need; pods stay Pending until the
  # kubelet registers.
  {
    node::render apiserver-endpoints.yaml
    printf -- '---\n'
    node::render kube-router.yaml
    printf -- '---\n'
    node::render coredns.yaml
  } | kubectl_ apply --server-side --force-conflicts -f - >/dev/null
  kubectl_ apply --server-side --force-conflicts -f "${K8S_GATEWAY_CRDS}" >/dev/null
  wait_for kube-apiserver "the Gateway API CRDs to be Established" crds_established kubectl_ -- \
    gatewayclasses.gateway.networking.k8s.io gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io
  node::render traefik.yaml | kubectl_ apply --server-side --force-conflicts -f - >/dev/null

  node::start_containerd
  node::import_images
  node::start_kubelet
  wait_for kubelet "node ${REAL_NODE_NAME} to be Ready" node::ready
  node::start_kube_proxy
  node::start_kube_router
  wait_for kubelet "CoreDNS and Traefik to be available" node::addons_available
  node::start_ingress_link
  wait_for ingress-link "Traefik to answer on 127.0.0.1:${INGRESS_PORT}" node::ingress_answers
  log "real node ${REAL_NODE_NAME} up in $((SECONDS - t0))s (ingress: http://127.0.0.1:${INGRESS_PORT})"
}

# ------------------------------------------------------------------ down

# PIDs of the node's processes, found by what their command lines name
# rather than by pid file: containerd, its shims (which outlive it by
# design), the kubelet, kube-proxy, kube-router and socat, each only when
# its arguments name a path under the node's state dir or a socat link's
# log file. This finds them when their pid files are gone (a `down` by a
# cluster.sh that predates the node removes the state dir under a running
# node). The ownership rule is live_pid's: our state dir, never a name.
node::own_pids() {
  local dir cmdline program
  for dir in /proc/[0-9]*; do
    cmdline="$(tr '\0' ' ' <"${dir}/cmdline" 2>/dev/null)" || continue
    program="${cmdline%% *}"
    case "${program##*/}" in
      containerd | containerd-shim-runc-v2 | kubelet | kube-proxy | kube-router | socat) ;;
      *) continue ;;
    esac
    if [[ "${cmdline}" == *" ${NODE_STATE}/"* || "${cmdline}" == *"=${NODE_STATE}/"* \
      || "${cmdline}" == *" ${LOGS}/api-link."* || "${cmdline}" == *" ${LOGS}/ingress-link."* ]]; then
      printf '%s\n' "${dir#/proc/}"
    fi
  done
}

# Ends what node::own_pids finds: SIGTERM, 5 s, then SIGKILL.
node::stop_leftovers() {
  local pids waited=0
  pids="$(node::own_pids)"
  [[ -n "${pids}" ]] || return 0
  log "stopping the node's leftover processes: ${pids//$'\n'/ }"
  # shellcheck disable=SC2086 # one PID per word
  kill -TERM ${pids} 2>/dev/null || true
  while pids="$(node::own_pids)" && [[ -n "${pids}" ]] && ((waited++ < 50)); do
    sleep 0.1
  done
  # shellcheck disable=SC2086 # one PID per word
  [[ -z "${pids}" ]] || kill -KILL ${pids} 2>/dev/null || true
}

# Unmounts everything mounted under the node's state: the kubelet's volume
# mounts (tmpfs for Secrets, tokens, memory emptyDirs), containerd's rootfs
# overlays, sandbox /dev/shm, pod network namespaces. Deepest first.
node::unmount_all() {
  local mnt mounts
  mapfile -t mounts < <(awk -v root="${NODE_STATE}/" 'index($5, root) == 1 {print $5}' /proc/self/mountinfo \
    | awk '{print length($0) " " $0}' | sort -rn | cut -d' ' -f2-)
  for mnt in "${mounts[@]}"; do
    # mountinfo escapes spaces as \040; our paths have none.
    umount "${mnt}" 2>/dev/null || umount -l "${mnt}" 2>/dev/null || log "warning: could not unmount ${mnt}"
  done
}

# Stops every process of the node, then removes what the node made outside
# its state dir. Idempotent: a crashed or half-started node is cleaned the
# same way, and a node that never started costs nothing.
node::down() {
  local i name link sandbox tasks=()
  # The tasks containerd runs (pod sandboxes): their shims' sockets are
  # files outside the state dir, named after them (see below).
  if [[ -d "${NODE_STATE}/containerd/state/${SHIM_TASKS}" ]]; then
    mapfile -t tasks < <(ls "${NODE_STATE}/containerd/state/${SHIM_TASKS}")
  fi
  for ((i = ${#NODE_COMPONENTS[@]} - 1; i >= 0; i--)); do
    name="${NODE_COMPONENTS[i]}"
    stop_component "${name}"
    # shellcheck disable=SC2153 # PIDS: cluster.sh's pid file dir
    rm -f "${PIDS}/${name}.pid"
    if [[ "${name}" == kubelet ]]; then
      # With the kubelet gone nothing restarts a container: end them all.
      node::cgroups_down
    fi
  done
  # containerd's shims (they outlive it), and whatever a crash left without
  # a pid file.
  node::stop_leftovers
  node::cgroups_down
  if [[ -d "${NODE_STATE}" ]]; then
    node::unmount_all
    # A restarted node starts from nothing (containerd's store included).
    rm -rf --one-file-system -- "${NODE_STATE}"
  fi
  node::network_down
  # The kubelet's links to our pod logs, and libcni's cached results for
  # our network, are the node's only files outside the state dir.
  if [[ -d "${CONTAINER_LOG_LINKS}" ]]; then
    for link in "${CONTAINER_LOG_LINKS}"/*.log; do
      [[ -L "${link}" && "$(readlink "${link}")" == "${NODE_STATE}/"* ]] && rm -f "${link}"
    done
  fi
  # A shim killed by a crash or by `down` leaves its socket behind:
  # containerd 1.6 puts it at /run/containerd/s/<sha256 of "<our socket>/
  # k8s.io/<task id>">, shared with every other containerd of the machine,
  # so only the names made from our own socket and tasks are removed.
  for sandbox in "${tasks[@]}"; do
    rm -f "${SHIM_SOCKET_DIR}/$(printf '%s' "${CONTAINERD_SOCK}/k8s.io/${sandbox}" | sha256sum | cut -c1-64)"
  done
  # libcni names each file <network>-<sandbox id>-<interface>: our
  # network's files, and the loopback ones of the same sandboxes.
  for link in "${CNI_CACHE_DIR}/${CNI_NETWORK}-"*; do
    [[ -e "${link}" ]] || continue
    sandbox="${link#"${CNI_CACHE_DIR}/${CNI_NETWORK}-"}"
    rm -f "${link}" "${CNI_CACHE_DIR}/cni-loopback-${sandbox%-*}-lo"
  done
  return 0
}

# ------------------------------------------------------------------ images

# node::load_images IMAGE...: copies images from the Docker engine into the
# node's containerd (what `kind load docker-image` does); a pod then runs
# them with imagePullPolicy IfNotPresent (or Never) and a non-latest tag.
#
# An image already loaded under the same name and Docker image ID is skipped
# (a mark in the state dir, which `down` removes with the node's containerd);
# the mark counts only while containerd still lists the name.
node::load_images() {
  local image id mark
  mkdir -p "${NODE_STATE}/loaded-images"
  for image in "$@"; do
    id="$("${DOCKER}" image inspect --format '{{.Id}}' "${image}" 2>/dev/null)" ||
      die "image ${image} is not in the Docker engine"
    mark="${NODE_STATE}/loaded-images/$(printf '%s %s' "${image}" "${id}" | sha256sum | cut -c1-32)"
    if [[ -f "${mark}" ]] && ctr_ images ls -q | grep -qxF "docker.io/${image}"; then
      log "${image} already loaded (${id:7:12})"
      continue
    fi
    log "loading ${image} into the node"
    "${DOCKER}" save "${image}" | ctr_ images import - >/dev/null || die "could not import ${image}"
    touch "${mark}"
  done
}
