#!/usr/bin/env bash
# The README's main job: the local cluster with its real node, the operator
# installed from its Helm chart and running there as a pod, and two example
# apps really running behind the ingress, with the curls that reach them.
# `hack/demo.sh down` stops it all again.
#
# What runs, on the real node behind Traefik:
# - examples/minimal.yaml (hello), with the image `make images` builds from
#   examples/app (local/wsgi-hello:dev);
# - examples/django.yaml, the Django project of examples/django
#   (local/wsgi-django:dev): its migrations as the release Job, its two
#   claims on hostPath volumes the demo makes (no storage provisioner here),
#   static files and uploads served by Apache.
# The other examples name images in a registry that does not exist
# (registry.example.com): they are render-only, and the demo checks them
# offline (`wsgi-operator validate`) and says how to render them.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

cluster="${HACK_DIR}/k8s/cluster.sh"
op="${REPO_ROOT}/.venv/bin/wsgi-operator"
python="${REPO_ROOT}/.venv/bin/python"
# The apps the demo runs: where, and under which host names.
RUNNABLE=(minimal.yaml django.yaml)
HELLO_NAMESPACE=demo
HELLO_HOST=hello.demo.localhost
DJANGO_NAMESPACE=django
DJANGO_HOST=django.demo.localhost
OPERATOR_NAMESPACE=wsgi-operator-system
IMAGES=(local/wsgi-runtime:dev local/wsgi-hello:dev local/wsgi-django:dev local/wsgi-operator:dev)

# examples/minimal.yaml as it runs here: the local image, on the real node,
# behind the node's ingress controller.
demo::hello_manifest() {
  "${python}" - "${REPO_ROOT}/examples/minimal.yaml" "${HELLO_HOST}" <<'PY'
import json, sys
import yaml

path, host = sys.argv[1:]
(app,) = [d for d in yaml.safe_load_all(open(path)) if d]
app["spec"].update(
    image="local/wsgi-hello:dev",
    imagePullPolicy="IfNotPresent",
    nodeSelector={"wsgi-operator.io/real-node": "true"},
    tolerations=[{"key": "wsgi-operator.io/real-node", "operator": "Exists", "effect": "NoSchedule"}],
    ingress={"className": "traefik", "hosts": [host]},
)
print(json.dumps(app))
PY
}

# The Django example's helpers (tests/support/django_node.py): the same
# manifests and volumes tests/e2e/test_django_on_node.py runs.
demo::django() {
  PYTHONPATH="${REPO_ROOT}/tests" "${python}" -m support.django_node "$@"
}

demo::namespace() {
  "${kubectl[@]}" create namespace "$1" --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
  "${kubectl[@]}" label namespace "$1" --overwrite \
    pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest >/dev/null
}

# The operator from charts/wsgi-operator, as a pod on the real node
# (docs/helm.md, "On the local cluster's real node"). Namespaced mode: it
# manages the demo's namespaces only, so tests run against the same cluster
# keep their own operators. Its NetworkPolicy admits the API server at the
# address and port the `kubernetes` Service really forwards to.
demo::install_operator() {
  local endpoint api_ip api_port
  endpoint="$("${kubectl[@]}" get endpointslices -n default -l kubernetes.io/service-name=kubernetes \
    -o jsonpath='{.items[0].endpoints[0].addresses[0]} {.items[0].ports[0].port}')"
  read -r api_ip api_port <<<"${endpoint}"
  [[ -n "${api_ip}" && -n "${api_port}" ]] || die "no endpoint for the kubernetes Service"
  demo::namespace "${OPERATOR_NAMESPACE}"
  log "installing the operator with Helm (namespace ${OPERATOR_NAMESPACE}, API server ${api_ip}:${api_port})"
  "${helm[@]}" upgrade --install wsgi-operator "${REPO_ROOT}/charts/wsgi-operator" \
    --namespace "${OPERATOR_NAMESPACE}" \
    --set "watchNamespaces={${HELLO_NAMESPACE},${DJANGO_NAMESPACE}}" \
    --set crds.install=false \
    --set image.pullPolicy=Never \
    --set-string 'nodeSelector.wsgi-operator\.io/real-node=true' \
    --set 'tolerations[0].key=wsgi-operator.io/real-node,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule' \
    --set 'operator.ingressController.namespaceLabels.kubernetes\.io/metadata\.name=traefik' \
    --set 'operator.ingressController.podLabels.app\.kubernetes\.io/name=traefik' \
    --set "networkPolicy.apiServer.cidrs={${api_ip}/32}" \
    --set "networkPolicy.apiServer.ports={${api_port}}" >/dev/null
  "${kubectl[@]}" -n "${OPERATOR_NAMESPACE}" rollout status deployment/wsgi-operator --timeout=180s >/dev/null
}

demo::wait_ready() {
  local namespace="$1" name="$2"
  log "waiting for ${namespace}/${name} to be Ready"
  if ! "${kubectl[@]}" -n "${namespace}" wait --for=condition=Ready "wsgiapp/${name}" --timeout=300s >/dev/null; then
    log "not Ready: $("${kubectl[@]}" -n "${namespace}" get wsgiapp "${name}" \
      -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"
    "${kubectl[@]}" -n "${OPERATOR_NAMESPACE}" logs deployment/wsgi-operator --tail=20 >&2
    exit 1
  fi
}

demo::wait_route() {
  local host="$1" path="$2" deadline=$((SECONDS + 120))
  log "waiting for the ingress to route ${host}"
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: ${host}" "http://127.0.0.1:${port}${path}")" == 200 ]]; do
    ((SECONDS < deadline)) || die "http://127.0.0.1:${port}${path} with Host: ${host} does not answer 200"
    sleep 1
  done
}

demo::render_only() {
  local file name runnable
  for file in "${REPO_ROOT}"/examples/*.yaml; do
    name="$(basename "${file}")"
    for runnable in "${RUNNABLE[@]}"; do
      [[ "${name}" == "${runnable}" ]] && continue 2
    done
    "${op}" validate "${file}" >/dev/null || die "examples/${name} does not validate"
    printf '  examples/%-22s %s\n' "${name}" "$(sed -n 's/^# Render-only: //p' "${file}" | head -1)"
  done
}

if [[ "${1:-up}" == down ]]; then
  exec "${cluster}" down
fi

export WSGI_OPERATOR_REAL_NODE="${WSGI_OPERATOR_REAL_NODE:-1}"
[[ "${WSGI_OPERATOR_REAL_NODE}" == 1 ]] || die "the demo runs pods on the real node: unset WSGI_OPERATOR_REAL_NODE"

bash "${HACK_DIR}/docker/engine.sh"
bash "${HACK_DIR}/docker/build-images.sh" runtime app django operator
"${cluster}" up
kubeconfig="$("${cluster}" kubeconfig)"
state="$(dirname "${kubeconfig}")"
port="$("${cluster}" ingress-port)"
kubectl=("$("${cluster}" which kubectl)" --kubeconfig "${kubeconfig}")
helm=("$("${cluster}" which helm)" --kubeconfig "${kubeconfig}")
"${cluster}" load-image "${IMAGES[@]}"

log "installing the WsgiApp CRD"
"${kubectl[@]}" apply --server-side --force-conflicts -f "${REPO_ROOT}/crds/wsgiapps.wsgi-operator.io.yaml" >/dev/null
deadline=$((SECONDS + 60))
until crds_established "${kubectl[@]}" -- wsgiapps.wsgi-operator.io; do
  ((SECONDS < deadline)) || die "the WsgiApp CRD is not Established after 60 s"
  sleep 0.5
done
# Namespaced mode: the watched namespaces exist before the operator's Roles go in.
demo::namespace "${HELLO_NAMESPACE}"
demo::namespace "${DJANGO_NAMESPACE}"
demo::install_operator

log "applying examples/minimal.yaml (local/wsgi-hello:dev, host ${HELLO_HOST})"
demo::hello_manifest | "${kubectl[@]}" apply --server-side --field-manager=demo -f - >/dev/null

# The state dir goes with `cluster.sh down`, and these volumes with it.
log "making the Django example's volumes (hostPath, ${state}/django-volumes) and claims"
demo::django volumes --namespace "${DJANGO_NAMESPACE}" --root "${state}/django-volumes" |
  "${kubectl[@]}" apply --server-side --field-manager=demo -f - >/dev/null
log "applying examples/django.yaml (local/wsgi-django:dev, host ${DJANGO_HOST})"
demo::django app --namespace "${DJANGO_NAMESPACE}" --host "${DJANGO_HOST}" |
  "${kubectl[@]}" apply --server-side --field-manager=demo -f - >/dev/null

demo::wait_ready "${HELLO_NAMESPACE}" hello
demo::wait_ready "${DJANGO_NAMESPACE}" django
demo::wait_route "${HELLO_HOST}" /
demo::wait_route "${DJANGO_HOST}" /

echo
"${kubectl[@]}" get nodes -o wide
echo
"${kubectl[@]}" -n "${OPERATOR_NAMESPACE}" get pods -o wide
echo
"${kubectl[@]}" get wsgiapps -A -o wide
echo
"${kubectl[@]}" get deploy,pods,svc,netpol,ingress,pdb -A -l app.kubernetes.io/managed-by=wsgi-operator
echo
echo "Render-only examples (validated offline; images in registries that do not exist):"
demo::render_only
cat <<MSG

Both answer through the ingress controller (Traefik on the real node):
    curl -H 'Host: ${HELLO_HOST}' http://127.0.0.1:${port}/
    curl -H 'Host: ${DJANGO_HOST}' http://127.0.0.1:${port}/
    curl -sI -H 'Host: ${DJANGO_HOST}' http://127.0.0.1:${port}/static/admin/css/base.css

Look around:    export KUBECONFIG=${kubeconfig}
                $("${cluster}" which kubectl) -n ${DJANGO_NAMESPACE} describe wsgiapp django
                $("${cluster}" which kubectl) -n ${OPERATOR_NAMESPACE} logs deploy/wsgi-operator
Render one:     ${op} render examples/three-components.yaml
Stop it all:    bash hack/demo.sh down
MSG
