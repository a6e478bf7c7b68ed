"""Who the server runs as, how its processes look, and what it can write (guide rows 1, 2, 6, 9, 10, 12)."""

from __future__ import annotations

import errno
import uuid
from typing import Any

import pytest

from support.harness import DATA_DIR, Pod, SharedPods
from wsgi_operator.render import layout

#: Lists every process of the container except the lister itself: pid, argv[0]
#: (the name ps shows), real/effective/saved/fs UIDs and GIDs, groups, umask.
_PROCESSES = r"""
import json, os
out = []
for name in os.listdir('/proc'):
    if not name.isdigit() or int(name) == os.getpid():
        continue
    try:
        argv = open(f'/proc/{name}/cmdline', 'rb').read().split(b'\0')
        status = dict(line.split(':', 1) for line in open(f'/proc/{name}/status').read().splitlines())
    except OSError:
        continue  # exited meanwhile
    out.append({
        'pid': int(name),
        'argv0': argv[0].decode().strip(),
        'uids': [int(x) for x in status['Uid'].split()],
        'gids': [int(x) for x in status['Gid'].split()],
        'groups': sorted(int(x) for x in status['Groups'].split()),
        'umask': status.get('Umask', '').strip(),
    })
print(json.dumps(sorted(out, key=lambda p: p['pid'])))
"""

#: Mount points of the container (from PID 1's view), excluding the kernel's
#: pseudo filesystems under /proc and /sys.
_MOUNTS = r"""
import json
points = [line.split()[4] for line in open('/proc/1/mountinfo')]
print(json.dumps(sorted(p for p in points if not p.startswith(('/proc', '/sys')))))
"""


def processes(pod: Pod) -> list[dict[str, Any]]:
    """Every process in the container (read from /proc: the image has no ps)."""
    return pod.python(_PROCESSES)


def daemons(pod: Pod) -> list[dict[str, Any]]:
    """The mod_wsgi daemon processes of the app's process group."""
    return [p for p in processes(pod) if p["argv0"] == f"(wsgi:{pod.name})"]


def try_write(pod: Pod, directory: str) -> dict[str, Any]:
    """Have the application itself (in its daemon process) create a new file in ``directory``."""
    path = f"{directory.rstrip('/')}/write-probe-{uuid.uuid4().hex[:8]}"
    resp = pod.get(f"/write?path={path}")
    assert resp.status == 200, resp.text
    return resp.json()


def test_runs_in_daemon_mode(default_pod: Pod) -> None:
    """Requests run in a ``(wsgi:NAME)`` daemon process, never inside Apache's own
    processes, and embedded mode is switched off."""
    env = default_pod.get("/env").json()
    # In embedded mode mod_wsgi reports an empty process group.
    assert env["mod_wsgi.process_group"] == default_pod.name
    served_by = default_pod.get("/whoami").json()["pid"]
    assert served_by in {d["pid"] for d in daemons(default_pod)}
    assert served_by != 1

    httpd_conf = default_pod.exec("cat", f"{layout.SERVER_ROOT}/httpd.conf").stdout
    assert "WSGIRestrictEmbedded On" in httpd_conf
    assert "--embedded-mode" not in default_pod.run.container["command"]


def test_serves_as_the_spec_uid(pods: SharedPods) -> None:
    """Every process runs as spec.security's UID/GID with fsGroup and
    supplementalGroups as extra groups; none is root; the app can use its
    writable dir (owned through fsGroup, as in a pod)."""
    security = {"runAsUser": 20010, "runAsGroup": 20011, "fsGroup": 20012, "supplementalGroups": [20013]}
    pod = pods.shared({"security": security})

    me = pod.get("/whoami").json()
    assert (me["uid"], me["euid"], me["gid"], me["egid"]) == (20010, 20010, 20011, 20011)
    assert {20012, 20013} <= set(me["groups"])

    procs = processes(pod)
    assert len(procs) >= 3, procs  # httpd, its MPM child, the daemons
    for p in procs:
        assert p["uids"] == [20010] * 4, p
        assert p["gids"] == [20011] * 4, p
        assert {20012, 20013} <= set(p["groups"]), p
    assert try_write(pod, DATA_DIR)["ok"]


def test_process_list_names_the_app(pods: SharedPods) -> None:
    """ps shows exactly spec.server.processes daemons named ``(wsgi:<app name>)``, and
    the app's requests are served by them."""
    pod = pods.shared({"server": {"processes": 3, "threads": 2}}, name="billing")
    named = daemons(pod)
    assert len(named) == 3, processes(pod)
    assert pod.get("/whoami").json()["pid"] in {d["pid"] for d in named}
    # Nothing else in the container is a daemon of some other (default-named) group.
    others = [p for p in processes(pod) if p["argv0"].startswith("(wsgi:") and p not in named]
    assert others == []


#: spec.code for code shipped in a ConfigMap, and that ConfigMap: a one-file
#: module that serves the example app (which the image has at /app).
_CONFIGMAP_CODE = {"path": "/srv/app", "configMap": {"name": "hello-code"}}
_CODE_CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "hello-code", "namespace": "runtime-tests"},
    "data": {
        "shim.py": "import sys\n\nsys.path.append('/app')\nfrom hello.wsgi import application  # noqa: E402,F401\n"
    },
}


@pytest.mark.parametrize("code_source", ["image", "configmap"])
def test_code_and_root_filesystem_are_read_only(pods: SharedPods, code_source: str) -> None:
    """The app cannot create a file anywhere but its writable dirs, its private
    temp dir (/var/tmp, which TMPDIR names) and the server root: the root
    filesystem, /tmp, the code (baked into the image, or mounted from a
    ConfigMap) and the generated config are read-only (EROFS, not just
    unwritable by permissions), and every other mount refuses it too."""
    if code_source == "image":
        pod = pods.shared()
        code = pod.app.spec.code.path
        code_dirs = [code, f"{code}/hello"]
    else:
        patch = {"code": _CONFIGMAP_CODE, "entryPoint": {"module": "shim"}}
        pod = pods.shared(patch, extra_objects=[_CODE_CONFIGMAP])
        code = pod.app.spec.code.path
        code_dirs = [code, f"{code}/..data"]
        assert pod.get("/env").json()["mod_wsgi.process_group"] == pod.name  # served from that code
    read_only = ["/", "/tmp", "/run/lock", "/etc", "/opt/wsgi", "/opt/wsgi/bin", *code_dirs]
    read_only += [layout.ENTRY_DIR, layout.CONF_DIR]
    for directory in read_only:
        result = try_write(pod, directory)
        assert not result["ok"], result
        assert result["errno"] == errno.EROFS, result

    # Python's tempfile (Django's big uploads) uses the private temp dir.
    assert pod.get("/whoami").json()["tmpdir"] == layout.TEMP_DIR

    # Every mount point of the container: only the emptyDirs may be writable,
    # plus /dev/shm, which the container runtime gives every pod (1777, the
    # pod's POSIX shared memory) whatever the pod spec says.
    allowed = {layout.SERVER_ROOT, DATA_DIR, layout.TEMP_DIR, "/dev/shm"}
    mounts = set(pod.python(_MOUNTS)) | {"/"}
    writable = set()
    for point in sorted(mounts):
        result = try_write(pod, point)
        # Refusals differ by mount (EROFS, EACCES, EINVAL on mqueue, ENOTDIR on
        # the /etc/hosts-style file mounts); only success matters here.
        if result["ok"]:
            writable.add(point)
    # /var/run is a symlink to /run in Debian: the kernel reports the server root at /run/wsgi.
    writable = {"/var/run/wsgi" if p == "/run/wsgi" else p for p in writable}
    assert writable <= allowed, f"writable outside the declared dirs: {sorted(writable - allowed)}"
    assert {layout.SERVER_ROOT, DATA_DIR, layout.TEMP_DIR} <= writable


@pytest.mark.parametrize(("umask", "file_mode"), [("0027", "0640"), ("0007", "0660")])
def test_writable_dir_files_get_the_umask(pods: SharedPods, umask: str, file_mode: str) -> None:
    """spec.security.umask reaches every server process (envvars script), so files
    the app creates in its writable dir get the mode it implies (0027 -> 0640)."""
    pod = pods.shared() if umask == "0027" else pods.shared({"security": {"umask": umask}})
    assert pod.app.spec.security.umask == umask

    result = try_write(pod, DATA_DIR)
    assert result["ok"], result
    assert result["mode"] == file_mode
    assert pod.get("/whoami").json()["umask"] == umask
    # Not only the daemon that served the request: httpd and every child.
    assert {p["umask"] for p in processes(pod)} == {umask}
