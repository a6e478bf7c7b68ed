"""The app is imported when each daemon process starts, not by the first request.

mod_wsgi-express (6.1.1) loads its handler script into the daemon process group at
startup (``WSGIImportScript`` under ``-D MOD_WSGI_IMPORT_HANDLER_SCRIPT``, which it
defines whenever the application group is fixed, as the operator leaves it), and the
handler script runs the operator's entry script, which imports the app. So there is
no preload switch to add: the import cost is paid before the startup probe passes
(bench/first_request_bench.py measures it; docs/benchmarks.md), and a broken import
shows in the log before any request and fails the startup probe, which is what the
operator's StartupFailed reason quotes (controller/pods.py).

The code comes from a ConfigMap, so a module can say in the log when its import ends.
No request is sent until what is waited for has happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from support.harness import Pod
from support.podrun import run_probe
from support.waiting import wait_for
from wsgi_operator.controller.pods import last_exception

#: A module that serves the example app and, once imported, logs which daemon process did it
#: (mod_wsgi sends a daemon's stderr to Apache's error log: the container's stderr).
_PRELOADED = (
    "import os, sys\n"
    "import mod_wsgi\n"
    "sys.path.append('/app')\n"
    "from hello.wsgi import application  # noqa: E402,F401\n"
    "print(f'import done: group={mod_wsgi.process_group} pid={os.getpid()}', file=sys.stderr, flush=True)\n"
)
_BROKEN = "import no_such_dependency  # noqa: F401\n"
_CODE = {"path": "/srv/app", "configMap": {"name": "preload-code"}}
_CODE_CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "preload-code", "namespace": "runtime-tests"},
    "data": {"preloaded.py": _PRELOADED, "broken.py": _BROKEN},
}
_IMPORT_DONE = re.compile(r"import done: group=(\S+) pid=(\d+)")
#: An access log line (express's format: "GET / HTTP/1.1" 200 ...).
_ACCESS = re.compile(r'"(GET|HEAD|POST) \S+ HTTP/')


def _imports(pod: Pod) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for m in _IMPORT_DONE.finditer(pod.logs())]


def test_each_daemon_process_imports_the_app_before_any_request(private_pod: Callable[..., Pod]) -> None:
    """Every daemon process of the app's group finishes importing the app with no request sent
    (the access log is empty); the first requests are then served by those processes and
    import nothing more."""
    patch = {"code": _CODE, "entryPoint": {"module": "preloaded"}, "logging": {"accessLog": True}}
    pod = private_pod(patch, wait=False, extra_objects=[_CODE_CONFIGMAP])
    processes = pod.app.spec.server.processes
    assert processes >= 2  # so "each" means something

    imported = wait_for(
        f"{processes} daemon processes to import the app",
        lambda: found if len(found := _imports(pod)) >= processes else None,
        60,
        interval=0.1,
    )
    assert {group for group, _ in imported} == {pod.name}, imported
    assert len({pid for _, pid in imported}) == processes, imported
    assert not _ACCESS.search(pod.logs()), pod.logs()  # no request has reached Apache

    pod.wait_until_serving()
    served = {pod.get("/whoami", headers=pod.probe_headers()).json()["pid"] for _ in range(2 * processes)}
    assert served <= {pid for _, pid in imported}, (served, imported)
    assert _ACCESS.search(pod.logs())  # the requests are logged: the log above would have shown one
    assert _imports(pod) == imported  # and none of them imported the app again


def test_a_broken_import_shows_at_startup_and_fails_the_startup_probe(private_pod: Callable[..., Pod]) -> None:
    """An entry point whose import raises logs the exception when the daemons start, before any
    request: that is the line the operator's StartupFailed reason quotes. The startup probe, the
    kubelet's first request, then gets an error, so the pod never becomes ready."""
    pod = private_pod({"code": _CODE, "entryPoint": {"module": "broken"}}, wait=False, extra_objects=[_CODE_CONFIGMAP])

    error = "ModuleNotFoundError: No module named 'no_such_dependency'"
    wait_for("the import error in the log", lambda: last_exception(pod.logs()) == error, 60, interval=0.1)

    probe = run_probe(pod.run.container["startupProbe"], pod.run, pod.container_id, pod.host_port, pod.pod_ip)
    assert not probe.success and probe.detail == "HTTP 500", probe
