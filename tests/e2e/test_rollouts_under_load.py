"""Rollouts under load through the ingress, with zero failed requests.

A bounded load generator (4 threads, a new connection per request, 127.0.0.1 only) runs
through Traefik for the whole rollout: before it, while the Deployment replaces both pods,
and after the old ones are gone. Every change a user makes that replaces pods is covered:
a new image, a config change, the operator's restart annotation, and a deleted pod. The
rendered pods drain first (preStop sleep, so endpoints and Traefik drop them) and then
stop gracefully (the image's STOPSIGNAL SIGWINCH: Apache's graceful stop).

A broken release (an entry point that does not import) is the last case: the WsgiApp says
why it is not Ready, and the old pods keep serving, again with zero failures.
"""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Callable

import pytest

from support.load import Load, LoadResult
from support.realnode import HELLO_IMAGE, INGRESS_CLASS, Namespace, hello_app, wait_ingress
from support.waiting import wait_for

#: Another tag of the example app image: an image change that changes nothing else.
SECOND_IMAGE = "local/wsgi-hello:e2e-rollout"


@pytest.fixture(scope="session")
def second_image(real_node) -> str:
    subprocess.run(["/usr/bin/docker", "tag", HELLO_IMAGE, SECOND_IMAGE], check=True)
    real_node.load_images(SECOND_IMAGE)
    return SECOND_IMAGE


@pytest.fixture
def served(ns, operator, real_node):
    """hello, 2 replicas, behind the ingress; returns its host name."""
    host = f"hello.{ns.name}.e2e.test"
    ns.apply(hello_app("hello", ns.name, {"ingress": {"className": INGRESS_CLASS, "hosts": [host]}}))
    ns.wait_app_ready("hello")
    wait_ingress(real_node.ingress_port, host)
    return host


def _pod_names(ns: Namespace) -> set[str]:
    return {p["metadata"]["name"] for p in ns.items("pods", "wsgi-operator.io/app=hello")}


def _settled(ns: Namespace, old: set[str]) -> bool:
    """Two pods, all new, all Ready, none terminating: the rollout is over, draining included."""
    pods = ns.items("pods", "wsgi-operator.io/app=hello")
    names = {p["metadata"]["name"] for p in pods}
    ready = all(
        not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        for p in pods
    )
    return len(pods) == 2 and not (names & old) and ready


def _under_load(ns: Namespace, port: int, host: str, change: Callable[[], None]) -> LoadResult:
    load = Load(port, host, "/", workers=4, pause=0.01, expect_body="hello").start()
    try:
        # Some traffic before, to prove the path works before anything changes.
        wait_for("100 requests before the change", lambda: load.snapshot()[0] >= 100, 60)
        old = _pod_names(ns)
        change()
        wait_for("the rollout to replace both pods", lambda: _settled(ns, old), 300, interval=1)
        # And after: the new pods serve, nothing lingers.
        ok_after = load.snapshot()[0] + 100
        wait_for("100 requests after the rollout", lambda: load.snapshot()[0] >= ok_after, 60)
    finally:
        result = load.stop()
    print(f"\n{change.__doc__}: {result.summary()}")
    return result


def _check(result: LoadResult) -> None:
    assert result.requests >= 200
    assert not result.failures, f"{len(result.failures)} of {result.requests} failed: {result.failures[:10]}"


def test_image_change(ns, served, real_node, second_image):
    def change() -> None:
        """new image"""
        ns.apply(
            hello_app(
                "hello", ns.name, {"image": second_image, "ingress": {"className": INGRESS_CLASS, "hosts": [served]}}
            )
        )

    _check(_under_load(ns, real_node.ingress_port, served, change))
    ns.wait_app_ready("hello")


def test_config_change(ns, served, real_node):
    def change() -> None:
        """config change"""
        # The request timeout is in the rendered ConfigMap (and the command line): a new
        # config hash on the pod template rolls the pods.
        patch = {"timeouts": {"request": 45}, "ingress": {"className": INGRESS_CLASS, "hosts": [served]}}
        ns.apply(hello_app("hello", ns.name, patch))

    _check(_under_load(ns, real_node.ingress_port, served, change))
    ns.wait_app_ready("hello")


def test_restarted_at_annotation(ns, served, real_node):
    def change() -> None:
        """wsgi-operator.io/restartedAt"""
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ns("annotate", "wsgiapp", "hello", f"wsgi-operator.io/restartedAt={now}", "--overwrite")

    _check(_under_load(ns, real_node.ingress_port, served, change))


def test_deleted_pods(ns, served, real_node):
    def change() -> None:
        """kubectl delete pod (both, one after the other)"""
        for name in sorted(_pod_names(ns)):
            ns("delete", "pod", name, "--wait=true", timeout=180)
            wait_for("a replacement pod to be Ready", lambda: len(ns.app_pods("hello")) == 2 and _all_ready(ns), 180)

    _check(_under_load(ns, real_node.ingress_port, served, change))


def _all_ready(ns: Namespace) -> bool:
    return all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        for p in ns.app_pods("hello")
    )


#: An entry point that does not import: the new pods never pass their startup probe.
BROKEN = {"entryPoint": {"module": "hello.does_not_exist"}}


def _wait_not_ready(ns: Namespace) -> dict:
    """Ready=False at the WsgiApp's current generation; the condition."""

    def not_ready() -> dict | None:
        obj = ns.get("wsgiapp", "hello") or {}
        current = (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"]
        cond = ns.condition("hello")
        return cond if current and cond.get("status") == "False" else None

    return wait_for("Ready=False for the broken release", not_ready, 120)


def test_a_broken_release_is_not_ready_and_the_old_pods_keep_serving(ns, served, real_node):
    load = Load(real_node.ingress_port, served, "/", workers=2, pause=0.02, expect_body="hello").start()
    try:
        wait_for("50 requests before the change", lambda: load.snapshot()[0] >= 50, 60)
        old = _pod_names(ns)
        ns.apply(hello_app("hello", ns.name, BROKEN, {"ingress": {"className": INGRESS_CLASS, "hosts": [served]}}))
        _wait_not_ready(ns)
        # Load runs until the kubelet has restarted a new pod for failing its startup
        # probe (15 x 2 s): all that while the new pod must never take traffic.
        wait_for(
            "a new pod restarted after failing its startup probe",
            lambda: any(
                s.get("restartCount", 0) >= 1
                for p in ns.app_pods("hello")
                if p["metadata"]["name"] not in old
                for s in p["status"].get("containerStatuses", [])
            ),
            180,
            interval=2,
        )
        cond = ns.condition("hello")
        assert cond["status"] == "False", cond
        print(f"\nbroken release: Ready=False reason={cond['reason']} message={cond['message']!r}")
        # The old ReplicaSet's pods are all still there, and they serve.
        assert old <= {p["metadata"]["name"] for p in ns.app_pods("hello")}
    finally:
        result = load.stop()
    print(f"broken release: {result.summary()}")
    assert result.requests >= 50
    assert not result.failures, f"{len(result.failures)} of {result.requests} failed: {result.failures[:10]}"


def test_a_broken_release_says_why(ns, operator, real_node):
    ns.apply(hello_app("hello", ns.name, {"replicas": 1}))
    ns.wait_app_ready("hello")
    ns.apply(hello_app("hello", ns.name, {"replicas": 1}, BROKEN))
    _wait_not_ready(ns)
    # Something a user can act on: the exception the entry point raised, from the pod's log.
    # The pod watch brings it once the kubelet restarts the pod (startup probe: 15 x 2 s).
    cond = wait_for(
        "Ready to say why the new pod fails",
        lambda: (c := ns.condition("hello")).get("reason") == "StartupFailed" and c,
        180,
        interval=2,
    )
    assert "ModuleNotFoundError: No module named 'hello.does_not_exist'" in cond["message"], cond
