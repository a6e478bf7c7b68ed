"""Recycling, stopping and probing the server the way Kubernetes does (guide rows 7, 18)."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable

from support.harness import DATA_DIR, Pod
from support.podrun import KubeletStop, run_probe, wait_for_probe
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


#: How long the in-flight requests are held after the stop signal. The test
#: passes whatever this is; it is what makes the test fail when Apache gets a
#: second stop signal (the old preStop ran `apachectl graceful-stop` before the
#: runtime's SIGWINCH): Apache then escalates, AH00045 SIGTERM to its children
#: about 3.5 s later and AH00046 SIGKILL about 9.5 s later (measured), and
#: every request still running dies. 12 s outlasts both.
HOLD_AFTER_SIGNAL = 12.0
#: Apache's messages when it escalates a stop: a graceful stop must never show them.
ESCALATION = ("AH00045", "AH00046")


def _started(pod: Pod) -> set[str]:
    """Names of the /block requests that have reached the app (their marker files)."""
    names = pod.exec("ls", DATA_DIR).stdout.split()
    return {n.removesuffix(".started") for n in names if n.endswith(".started")}


def test_graceful_stop_completes_in_flight_requests(private_pod: Callable[..., Pod]) -> None:
    """Stopping the pod the way the kubelet does (the rendered preStop, a drain
    sleep, then the image's stop signal once, with what is left of
    terminationGracePeriodSeconds) completes all 8 long requests in flight,
    held well past the moment a second stop signal would have killed them;
    new connections are served during the drain and refused only once the
    listener has closed.

    The test decides every moment: the requests block in the app until it
    releases them (/block), and the drain ends when it says so.
    """
    pod = private_pod({"timeouts": {"request": 20}})
    hook = pod.run.container["lifecycle"]["preStop"]
    # Drain only: nothing in the container sends Apache a stop of its own.
    assert set(hook) == {"sleep"}, hook
    drain = int(hook["sleep"]["seconds"])
    assert drain >= 1

    n = 8
    results: dict[str, int | str] = {}
    lock = threading.Lock()

    def in_flight(name: str) -> None:
        try:
            status: int | str = pod.get(f"/block?name={name}", timeout=pod.run.grace_seconds).status
        except (OSError, http.client.HTTPException) as exc:
            status = f"{type(exc).__name__}: {exc}"
        with lock:
            results[name] = status

    names = [f"r{i}" for i in range(n)]
    clients = [threading.Thread(target=in_flight, args=(name,)) for name in names]
    for t in clients:
        t.start()
    wait_for(f"{n} requests running in the app", lambda: _started(pod) == set(names), 30, interval=0.1)

    # The preStop sleep, as the kubelet runs it, ended by the test.
    drain_asked: list[float] = []
    drain_over = threading.Event()

    def drain_sleep(seconds: float) -> None:
        drain_asked.append(seconds)
        drain_over.wait(timeout=60)

    kubelet = KubeletStop(pod.container_id, pod.run, sleep=drain_sleep)
    pre_stop = threading.Thread(target=kubelet.pre_stop)
    pre_stop.start()
    wait_for("the preStop sleep to start", lambda: drain_asked, 10, interval=0.05)
    assert drain_asked == [drain]
    # Still draining: the pod serves new connections while endpoints drop it.
    assert pod.get("/").status == 200
    assert results == {}, results
    drain_over.set()
    pre_stop.join(timeout=10)
    assert not pre_stop.is_alive()

    # The runtime's stop signal: the image's STOPSIGNAL, Apache's graceful-stop.
    assert kubelet.send_stop_signal() == "SIGWINCH"
    wait_for(
        "new connections to be refused after the stop signal",
        lambda: _new_connection_refused(pod),
        LISTENER_CLOSE_TIMEOUT,
        interval=0.1,
    )

    # Held: nothing kills the requests while Apache waits for them.
    held_until = kubelet.signal_sent[1] + HOLD_AFTER_SIGNAL if kubelet.signal_sent else 0.0
    while time.monotonic() < held_until:
        assert all(t.is_alive() for t in clients), f"in-flight requests ended early: {results}"
        logs = pod.logs()
        assert not any(code in logs for code in ESCALATION), f"Apache escalated the stop:\n{logs[-2000:]}"
        time.sleep(0.5)

    pod.exec("touch", f"{DATA_DIR}/all.release")
    for t in clients:
        t.join(timeout=30)
    assert results == dict.fromkeys(names, 200)
    # Apache exits once the last request is done, well inside the grace period.
    assert kubelet.wait_exit(kubelet.remaining_grace()) == 0
    state = pod.state()
    assert (state["Running"], state["ExitCode"]) == (False, 0), state
    logs = pod.logs()
    assert logs.count("caught SIGWINCH, shutting down gracefully") == 1, logs[-2000:]
    assert not any(code in logs for code in ESCALATION), f"Apache escalated the stop:\n{logs[-2000:]}"


def test_probes_succeed(private_pod: Callable[..., Pod]) -> None:
    """The startup, readiness and liveness probes the renderer wrote succeed
    against a freshly started container, run as the kubelet runs them; the
    same probe helpers do fail against a broken endpoint or a closed port."""
    pod = private_pod(wait=False)
    container = pod.run.container

    def probe(spec: dict) -> bool:
        return run_probe(spec, pod.run, pod.container_id, pod.host_port, pod.pod_ip).success

    # The kubelet sends the Host the renderer set (the Service's name here), not the pod IP.
    for name in ("startupProbe", "readinessProbe"):
        headers = container[name]["httpGet"]["httpHeaders"]
        assert headers == [{"name": "Host", "value": f"{pod.name}.{pod.app.metadata.namespace}.svc"}], headers
    attempts = wait_for_probe(container["startupProbe"], pod.run, pod.container_id, pod.host_port, pod.pod_ip)
    assert attempts[-1].success, attempts
    assert probe(container["readinessProbe"])
    assert probe(container["livenessProbe"])

    broken = {**container["readinessProbe"], "httpGet": {**container["readinessProbe"]["httpGet"]}}
    broken["httpGet"]["path"] = "/status?code=503"
    assert not probe(broken)
    assert not probe({**container["livenessProbe"], "tcpSocket": {"port": pod.run.container_port + 1}})
