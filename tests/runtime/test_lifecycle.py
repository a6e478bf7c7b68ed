"""Recycling, stopping and probing the server the way Kubernetes does (guide rows 7, 18)."""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Callable

from support.harness import Pod
from support.podrun import KubeletStop, docker, run_probe, wait_for_probe
from support.waiting import wait_for

#: Longest wait for the listener to close once graceful-stop has been sent.
LISTENER_CLOSE_TIMEOUT = 5.0


def _new_connection_refused(pod: Pod) -> bool:
    """True when a new connection gets no HTTP answer at all.

    Docker's userland proxy accepts on the published port and closes at once
    when the container refuses, so a refusal shows as a reset or an empty
    reply rather than ECONNREFUSED (which it is once the container is gone).
    """
    try:
        pod.get("/", timeout=3)
    except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
        return True
    except http.client.BadStatusLine as exc:
        return not str(exc).strip("'\"")
    return False


def test_maximum_requests_recycles_without_failures(private_pod: Callable[..., Pod]) -> None:
    """limits.maximumRequests 5 with one daemon process: 50 requests in a row are
    all answered 200 while the daemon is replaced several times."""
    pod = private_pod({"server": {"processes": 1}, "limits": {"maximumRequests": 5}})
    statuses = []
    pids = set()
    for _ in range(50):
        resp = pod.get("/whoami")
        statuses.append(resp.status)
        if resp.status == 200:
            pids.add(resp.json()["pid"])
    assert statuses == [200] * 50
    # Recycled, and more than once: 50 requests at 5 per daemon.
    assert len(pids) >= 3, pids


def test_graceful_stop_completes_in_flight_requests(private_pod: Callable[..., Pod]) -> None:
    """Stopping the pod the way the kubelet does (the rendered preStop, then the
    image's stop signal with what is left of terminationGracePeriodSeconds)
    completes all 8 requests in flight; new connections are still served during
    the preStop's drain sleep and refused only once the listener has closed."""
    pod = private_pod()
    pre_stop = pod.run.container["lifecycle"]["preStop"]["exec"]["command"]
    match = re.search(r"\bsleep (\d+)\b", " ".join(pre_stop))
    assert match, pre_stop
    drain = int(match.group(1))
    # Long enough to be still running after the drain sleep, when graceful-stop arrives.
    duration = drain + 6
    results: list[int | str] = []
    lock = threading.Lock()

    def in_flight() -> None:
        try:
            status: int | str = pod.get(f"/sleep?s={duration}", timeout=pod.run.grace_seconds).status
        except (OSError, http.client.HTTPException) as exc:
            status = f"{type(exc).__name__}: {exc}"
        with lock:
            results.append(status)

    clients = [threading.Thread(target=in_flight) for _ in range(8)]
    for t in clients:
        t.start()
    time.sleep(1)  # let all 8 reach the app (16 threads free: none queues)

    kubelet = KubeletStop(pod.container_id, pod.run)
    hook = threading.Thread(target=kubelet.pre_stop)
    hook.start()
    time.sleep(1)
    # Still inside the drain sleep: the pod keeps serving while endpoints drop it.
    assert hook.is_alive()
    assert pod.get("/").status == 200
    hook.join(timeout=pod.run.grace_seconds)
    assert kubelet.pre_stop_result is not None
    assert kubelet.pre_stop_result.returncode == 0, kubelet.pre_stop_result.stderr

    # graceful-stop has been sent: the listener closes while the requests run on.
    wait_for(
        "new connections to be refused after graceful-stop",
        lambda: _new_connection_refused(pod),
        LISTENER_CLOSE_TIMEOUT,
        interval=0.1,
    )
    assert any(t.is_alive() for t in clients), "requests ended before the listener closed: test too slow"

    stop = kubelet.stop()
    assert stop.returncode == 0, stop.stderr
    for t in clients:
        t.join(timeout=pod.run.grace_seconds)
    assert results == [200] * 8
    state = pod.state()
    assert (state["Running"], state["ExitCode"]) == (False, 0), state
    assert "caught SIGWINCH, shutting down gracefully" in pod.logs()
    # What the runtime sent after the preStop: the image's STOPSIGNAL, Apache's graceful-stop.
    assert docker("inspect", "-f", "{{.Config.StopSignal}}", pod.container_id).stdout.strip() == "SIGWINCH"


def test_probes_succeed(private_pod: Callable[..., Pod]) -> None:
    """The startup, readiness and liveness probes the renderer wrote succeed
    against a freshly started container, run as the kubelet runs them; the
    same probe helpers do fail against a broken endpoint or a closed port."""
    pod = private_pod(wait=False)
    container = pod.run.container

    def probe(spec: dict) -> bool:
        return run_probe(spec, pod.run, pod.container_id, pod.host_port, pod.pod_ip).success

    attempts = wait_for_probe(container["startupProbe"], pod.run, pod.container_id, pod.host_port, pod.pod_ip)
    assert attempts[-1].success, attempts
    assert probe(container["readinessProbe"])
    assert probe(container["livenessProbe"])

    broken = {**container["readinessProbe"], "httpGet": {**container["readinessProbe"]["httpGet"]}}
    broken["httpGet"]["path"] = "/status?code=503"
    assert not probe(broken)
    assert not probe({**container["livenessProbe"], "tcpSocket": {"port": pod.run.container_port + 1}})
