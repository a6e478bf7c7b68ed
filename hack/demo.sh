#!/usr/bin/env bash
# The README's main job: the local cluster with its real node, the CRD, the
# operator, and the example app really running behind the ingress, with the
# curl that reaches it. `hack/demo.sh down` stops it all again.
#
# What runs: examples/minimal.yaml, with the image `make images` builds from
# examples/app (local/wsgi-hello:dev: the same hello.wsgi module) and placed
# on the real node behind Traefik. The other examples name images in a
# registry that does not exist (registry.example.com) or need storage this
# cluster has no provisioner for: they are render-only, and the demo checks
# them offline (`wsgi-operator validate`) and says how to render them.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

cluster="${HACK_DIR}/k8s/cluster.sh"
op="${REPO_ROOT}/.venv/bin/wsgi-operator"
python="${REPO_ROOT}/.venv/bin/python"
# The one example the demo runs, where, and under which host name.
RUNNABLE=minimal.yaml
NAMESPACE=demo
HOST=hello.demo.localhost
APP_IMAGE="${APP_IMAGE:-local/wsgi-hello:dev}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-local/wsgi-runtime:dev}"

demo::stop_operator() {
  local kubeconfig pidfile
  kubeconfig="$("${cluster}" kubeconfig 2>/dev/null || true)"
  pidfile="$(dirname "${kubeconfig:-/nonexistent/x}")/operator.pid"
  # Only the PID we recorded, and only while it is still our operator.
  if [[ -f "${pidfile}" ]] && tr '\0' ' ' <"/proc/$(<"${pidfile}")/cmdline" 2>/dev/null | grep -qF "${op} run"; then
    kill "$(<"${pidfile}")"
    log "operator stopped"
  fi
  rm -f "${pidfile}"
}

# The runnable example as it runs here: the local image, on the real node,
# behind the node's ingress controller.
demo::runnable_manifest() {
  "${python}" - "${REPO_ROOT}/examples/${RUNNABLE}" "${APP_IMAGE}" "${HOST}" <<'PY'
import json, sys
import yaml

path, image, host = sys.argv[1:]
(app,) = [d for d in yaml.safe_load_all(open(path)) if d]
app["spec"].update(
    image=image,
    imagePullPolicy="IfNotPresent",
    nodeSelector={"wsgi-operator.io/real-node": "true"},
    tolerations=[{"key": "wsgi-operator.io/real-node", "operator": "Exists", "effect": "NoSchedule"}],
    ingress={"className": "traefik", "hosts": [host]},
)
print(json.dumps(app))
PY
}

demo::start_operator() {
  local state="$1" kubeconfig="$2" pidfile="$1/operator.pid"
  if [[ -f "${pidfile}" ]] && kill -0 "$(<"${pidfile}")" 2>/dev/null; then
    log "operator already running (pid $(<"${pidfile}"))"
    return 0
  fi
  log "starting the operator (log: ${state}/operator.log)"
  # The node's ingress controller is Traefik in namespace traefik: the
  # NetworkPolicies the operator renders must admit exactly it.
  nohup "${op}" run --kubeconfig "${kubeconfig}" --bind-address 127.0.0.1 \
    --health-port 18080 --metrics-port 18081 \
    --ingress-namespace-labels kubernetes.io/metadata.name=traefik \
    --ingress-pod-labels app.kubernetes.io/name=traefik \
    >"${state}/operator.log" 2>&1 &
  echo $! >"${pidfile}"
}

demo::render_only() {
  local file name
  for file in "${REPO_ROOT}"/examples/*.yaml; do
    name="$(basename "${file}")"
    [[ "${name}" == "${RUNNABLE}" ]] && continue
    "${op}" validate "${file}" >/dev/null || die "examples/${name} does not validate"
    printf '  examples/%-22s %s\n' "${name}" "$(sed -n 's/^# Render-only: //p' "${file}" | head -1)"
  done
}

if [[ "${1:-up}" == down ]]; then
  demo::stop_operator
  exec "${cluster}" down
fi

export WSGI_OPERATOR_REAL_NODE="${WSGI_OPERATOR_REAL_NODE:-1}"
[[ "${WSGI_OPERATOR_REAL_NODE}" == 1 ]] || die "the demo runs pods on the real node: unset WSGI_OPERATOR_REAL_NODE"

bash "${HACK_DIR}/docker/engine.sh"
bash "${HACK_DIR}/docker/build-images.sh" runtime app
"${cluster}" up
kubeconfig="$("${cluster}" kubeconfig)"
state="$(dirname "${kubeconfig}")"
port="$("${cluster}" ingress-port)"
kubectl=("$("${cluster}" which kubectl)" --kubeconfig "${kubeconfig}")
"${cluster}" load-image "${RUNTIME_IMAGE}" "${APP_IMAGE}"

log "installing the WsgiApp CRD"
"${kubectl[@]}" apply --server-side --force-conflicts -f "${REPO_ROOT}/crds/wsgiapps.wsgi-operator.io.yaml" >/dev/null
"${kubectl[@]}" wait --for=condition=Established crd/wsgiapps.wsgi-operator.io --timeout=60s >/dev/null
demo::start_operator "${state}" "${kubeconfig}"

"${kubectl[@]}" create namespace "${NAMESPACE}" --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
"${kubectl[@]}" label namespace "${NAMESPACE}" --overwrite \
  pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest >/dev/null
log "applying examples/${RUNNABLE} (image ${APP_IMAGE}, on the real node, host ${HOST})"
demo::runnable_manifest | "${kubectl[@]}" apply --server-side --field-manager=demo -f - >/dev/null
log "waiting for it to be Ready"
if ! "${kubectl[@]}" -n "${NAMESPACE}" wait --for=condition=Ready wsgiapp/hello --timeout=300s >/dev/null; then
  log "not Ready; the operator's log says:"
  tail -20 "${state}/operator.log" >&2
  exit 1
fi
log "waiting for the ingress to route ${HOST}"
deadline=$((SECONDS + 120))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: ${HOST}" "http://127.0.0.1:${port}/")" == 200 ]]; do
  ((SECONDS < deadline)) || die "http://127.0.0.1:${port}/ with Host: ${HOST} does not answer 200"
  sleep 1
done

echo
"${kubectl[@]}" get nodes -o wide
echo
"${kubectl[@]}" get wsgiapps -A -o wide
echo
"${kubectl[@]}" -n "${NAMESPACE}" get deploy,pods,svc,netpol,ingress,pdb -l app.kubernetes.io/managed-by=wsgi-operator -o wide
echo
echo "Render-only examples (validated offline; images in registries that do not exist):"
demo::render_only
cat <<MSG

It answers through the ingress controller (Traefik on the real node):
    curl -H 'Host: ${HOST}' http://127.0.0.1:${port}/
    curl -H 'Host: ${HOST}' http://127.0.0.1:${port}/whoami

Look around:    export KUBECONFIG=${kubeconfig}
                $("${cluster}" which kubectl) -n ${NAMESPACE} describe wsgiapp hello
                $("${cluster}" which kubectl) -n ${NAMESPACE} logs deploy/hello
Render one:     ${op} render examples/three-components.yaml
Stop it all:    bash hack/demo.sh down
MSG
