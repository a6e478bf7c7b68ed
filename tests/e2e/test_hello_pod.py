"""The example app as a WsgiApp whose pods really run: on the real node, in a Pod Security
`restricted` namespace, answering through its Service (kube-proxy) and showing, inside the
running pod (`kubectl exec`), the identity and filesystem the spec asks for."""

from __future__ import annotations

import json
import uuid

from support.realnode import APP_LABEL, REAL_NODE, RESTRICTED, hello_app

UID, GID = 20010, 20011
#: What every test app here declares: its own identity, and a client pod named `client` as a peer.
SPEC = {
    "security": {"runAsUser": UID, "runAsGroup": GID},
    "networkPolicy": {"ingressFrom": [{"app": "client"}]},
}

#: Runs in the app container: what `ps -eo pid,user,group,args` shows (the image has no ps).
PROCESSES = r"""
import json, os
out = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            args = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        st = os.stat("/proc/" + pid)
    except OSError:
        continue
    out.append({"pid": int(pid), "uid": st.st_uid, "gid": st.st_gid, "args": args})
print(json.dumps(out))
"""

#: Runs in the app container: try to create a file; errno on failure.
TRY_WRITE = r"""
import json, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    print(json.dumps({"ok": True, "errno": None}))
except OSError as e:
    print(json.dumps({"ok": False, "errno": e.errno, "error": e.strerror}))
"""

#: Runs in the app container: GET on the app's own port (loopback: no policy in the way); the JSON body.
SELF_GET = r"""
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:8000" + sys.argv[1], timeout=30).read().decode())
"""

STAT = r"""
import json, os, sys
st = os.stat(sys.argv[1])
print(json.dumps({"mode": "%04o" % (st.st_mode & 0o7777), "uid": st.st_uid, "gid": st.st_gid}))
"""


def test_hello_is_ready_on_the_real_node_and_answers_through_its_service(ns, operator):
    ns.apply(hello_app("hello", ns.name, SPEC))
    ns.wait_app_ready("hello")

    pods = ns.app_pods("hello")
    assert len(pods) == 2, ns.describe("hello")
    for pod in pods:
        assert pod["spec"]["nodeName"] == REAL_NODE
        (status,) = pod["status"]["containerStatuses"]
        assert status["ready"] and "running" in status["state"], status
        # A real container (kwok pods have no container ID).
        assert status["containerID"].startswith("containerd://")

    client = ns.client_pod("client", labels={APP_LABEL: "client"})
    ip = ns.service_ip("hello")
    by_ip = ns.probe(client, ip, 80, "/", timeout=10)
    assert by_ip.status == 200 and by_ip.body == "hello", by_ip
    # The Service's DNS name, through the cluster DNS (CoreDNS on the node).
    name = f"hello.{ns.name}.svc.cluster.local"
    assert ns.resolve(client, name) == {"addresses": [ip]}
    by_name = ns.probe(client, name, 80, "/whoami", timeout=10)
    assert by_name.status == 200, by_name
    assert json.loads(by_name.body)["uid"] == UID


def test_inside_the_running_pod_identity_and_filesystem_are_the_specs(ns, operator):
    ns.apply(hello_app("hello", ns.name, SPEC, {"replicas": 1}))
    ns.wait_app_ready("hello")
    (pod,) = ns.app_pods("hello")
    name = pod["metadata"]["name"]

    # uid/gid of what `kubectl exec` starts, and of every process of the pod.
    assert ns.exec(name, "id", "-u").stdout.strip() == str(UID)
    assert ns.exec(name, "id", "-g").stdout.strip() == str(GID)
    procs = ns.python(name, PROCESSES)
    assert procs and all((p["uid"], p["gid"]) == (UID, GID) for p in procs), procs
    # mod_wsgi's daemon processes are named after the app (what `ps` shows).
    assert any("(wsgi:hello)" in p["args"] for p in procs), [p["args"] for p in procs]

    # The code and the root filesystem are read-only: EROFS (30), not EACCES.
    for path in ("/app/hello/planted.py", "/planted"):
        result = ns.python(name, TRY_WRITE, path)
        assert result == {"ok": False, "errno": 30, "error": "Read-only file system"}, (path, result)

    # A file the app writes to its writable dir: mode 0640 (umask 0027), owned by the spec's uid/gid.
    path = f"/var/lib/hello/e2e-{uuid.uuid4().hex[:8]}"
    written = json.loads(ns.exec(name, "python3", "-c", SELF_GET, f"/write?path={path}").stdout)
    assert written["ok"], written
    assert ns.python(name, STAT, path) == {"mode": "0640", "uid": UID, "gid": GID}


def test_the_restricted_namespace_runs_the_pods_and_enforces(ns, operator):
    labels = ns.kubectl("get", "namespace", ns.name, "-o", "json")
    assert RESTRICTED.items() <= json.loads(labels.stdout)["metadata"]["labels"].items()
    ns.apply(hello_app("hello", ns.name, SPEC, {"replicas": 1}))
    ns.wait_app_ready("hello")
    assert len(ns.app_pods("hello")) == 1

    # The same namespace refuses a pod that breaks `restricted`: enforcement is on.
    bad = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged"},
        "spec": {
            "containers": [{"name": "c", "image": "local/wsgi-runtime:dev", "securityContext": {"privileged": True}}]
        },
    }
    proc = ns("apply", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False)
    assert proc.returncode != 0 and "violates PodSecurity" in proc.stderr, proc.stderr
