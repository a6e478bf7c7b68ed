#!/usr/bin/env bash
# The README's main job: a local control plane, the CRD, the operator, and the
# examples reconciled to Ready. `hack/demo.sh down` stops it all again.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

cluster="${HACK_DIR}/k8s/cluster.sh"
op="${REPO_ROOT}/.venv/bin/wsgi-operator"

if [ "${1:-up}" = down ]; then
  kubeconfig="$("${cluster}" kubeconfig 2>/dev/null || true)"
  pidfile="$(dirname "${kubeconfig:-/nonexistent/x}")/operator.pid"
  if [ -f "${pidfile}" ] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
    kill "$(cat "${pidfile}")"
    log "operator stopped"
  fi
  rm -f "${pidfile}"
  exec "${cluster}" down
fi

"${cluster}" up
kubeconfig="$("${cluster}" kubeconfig)"
state="$(dirname "${kubeconfig}")"
kubectl=("$("${cluster}" which kubectl)" --kubeconfig "${kubeconfig}")

log "installing the WsgiApp CRD"
"${kubectl[@]}" apply --server-side --force-conflicts -f "${REPO_ROOT}/crds/wsgiapps.wsgi-operator.io.yaml" >/dev/null
"${kubectl[@]}" wait --for=condition=Established crd/wsgiapps.wsgi-operator.io --timeout=60s >/dev/null

pidfile="${state}/operator.pid"
if [ -f "${pidfile}" ] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
  log "operator already running (pid $(cat "${pidfile}"))"
else
  log "starting the operator (log: ${state}/operator.log)"
  nohup "${op}" run --kubeconfig "${kubeconfig}" --bind-address 127.0.0.1 \
    --health-port 18080 --metrics-port 18081 >"${state}/operator.log" 2>&1 &
  echo $! >"${pidfile}"
fi

namespaces="$(sed -n 's/^  namespace: *//p' "${REPO_ROOT}"/examples/*.yaml | sort -u)"
for ns in ${namespaces}; do
  "${kubectl[@]}" create namespace "${ns}" --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
done
# The Django example's data lives on claims (examples/django/deploy/pvc.yaml).
# This control plane has no storage provisioner, so the demo pre-binds each
# claim to a hostPath volume nothing ever writes to (kwok runs no container).
log "creating the Django example's claims"
for claim in django-data django-media; do
  "${kubectl[@]}" apply --server-side -f - >/dev/null <<PV
apiVersion: v1
kind: PersistentVolume
metadata: {name: demo-${claim}}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /nonexistent/wsgi-operator-demo/${claim}}
  claimRef: {namespace: django, name: ${claim}}
PV
done
"${kubectl[@]}" apply --server-side -f "${REPO_ROOT}/examples/django/deploy/pvc.yaml" >/dev/null
log "applying examples/"
"${kubectl[@]}" apply --server-side -f "${REPO_ROOT}/examples/" >/dev/null
log "waiting for every WsgiApp to be Ready"
for ns in ${namespaces}; do
  if ! "${kubectl[@]}" wait --for=condition=Ready wsgiapps --all -n "${ns}" --timeout=180s >/dev/null; then
    log "not Ready in ${ns}; the operator's log says:"
    tail -20 "${state}/operator.log" >&2
    exit 1
  fi
done

echo
"${kubectl[@]}" get wsgiapps -A -o wide
echo
"${kubectl[@]}" get deploy,svc,netpol,ingress,pdb,hpa -A -l app.kubernetes.io/managed-by=wsgi-operator -o wide
cat <<MSG

The operator runs in the background; the control plane on 127.0.0.1.
Look around:    export KUBECONFIG=${kubeconfig}
                $("${cluster}" which kubectl) describe wsgiapp -n shop shop
Preview:        ${op} render examples/minimal.yaml
Stop it all:    bash hack/demo.sh down
MSG
