"""Rollouts under load on the real node: the operator's WsgiApp vs a plain mod_wsgi-express Deployment.

Run: `PYTHONPATH=tests .venv/bin/python bench/rollout_bench.py [--rounds N] [--markdown]` as root,
with the local cluster and its real node up (`make cluster-up`). Prints a table; asserts nothing
(tests/e2e/test_rollouts_under_load.py is the test: zero failed requests for the WsgiApp).

Two apps of the same image (examples/app) in one namespace, 2 replicas each, behind the node's
ingress controller (Traefik), each driven through 127.0.0.1:<ingress port> by the same bounded
load generator (support.load: 4 threads, a new connection per request):

  wsgiapp  the operator's rendering: readiness and startup probes, maxUnavailable 0,
           preStop sleep (drain), then the image's STOPSIGNAL SIGWINCH (Apache graceful stop)
  plain    a Deployment as one would write it by hand: the image's own `mod_wsgi-express
           start-server` command, a readiness probe, default RollingUpdate, no preStop, and
           SIGTERM (the same image with STOPSIGNAL SIGTERM: Apache's immediate stop)

Per round and per app, two actions, each under load from 100 requests before it until 100
after the replaced pods are gone:

  restart  wsgiapp: the wsgi-operator.io/restartedAt annotation; plain: `kubectl rollout restart`
  delete   `kubectl delete pod` of both pods, one after the other

The namespace and every object are removed at the end.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.kubectl import Kubectl, cluster_sh, install_crd
from support.load import Load, LoadResult
from support.operator_process import OperatorProcess
from support.realnode import (
    HELLO_IMAGE,
    INGRESS_CLASS,
    INGRESS_OPERATOR_ARGS,
    ON_REAL_NODE,
    RESTRICTED_POD_SECURITY,
    RUNTIME_IMAGE,
    Namespace,
    hello_app,
    restricted_namespace,
    wait_ingress,
)
from support.tables import format_table
from support.waiting import wait_for

REPO = Path(__file__).resolve().parents[1]
#: The example app image with Docker's default stop signal instead of the runtime's SIGWINCH.
PLAIN_IMAGE = "local/wsgi-hello:plain-sigterm"
DOCKER = "/usr/bin/docker"


def plain_objects(host: str) -> list[dict[str, Any]]:
    """Deployment, Service and Ingress of the hand-written app (label app=plain)."""
    labels = {"app": "plain"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "plain", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    **ON_REAL_NODE,
                    "securityContext": copy.deepcopy(RESTRICTED_POD_SECURITY),
                    "containers": [
                        {
                            "name": "app",
                            "image": PLAIN_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": 8000}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": 8000}, "periodSeconds": 2},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [{"name": "server-root", "mountPath": "/var/run/wsgi"}],
                        }
                    ],
                    "volumes": [{"name": "server-root", "emptyDir": {}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "plain", "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "plain", "labels": labels},
        "spec": {
            "ingressClassName": INGRESS_CLASS,
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "plain", "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    return [deployment, service, ingress]


def pods(ns: Namespace, selector: str) -> list[dict[str, Any]]:
    return ns.items("pods", selector)


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def settled(ns: Namespace, selector: str, old: set[str]) -> bool:
    """Two pods, none of the old ones, all Ready, none terminating."""
    current = pods(ns, selector)
    names = {p["metadata"]["name"] for p in current}
    fine = all(ready(p) and not p["metadata"].get("deletionTimestamp") for p in current)
    return len(current) == 2 and not names & old and fine


def under_load(port: int, host: str, ns: Namespace, selector: str, action: Callable[[], None]) -> LoadResult:
    load = Load(port, host, "/", workers=4, pause=0.01, expect_body="hello").start()
    try:
        wait_for("100 requests before", lambda: load.snapshot()[0] >= 100, 60)
        old = {p["metadata"]["name"] for p in pods(ns, selector)}
        action()
        wait_for("the old pods to be replaced", lambda: settled(ns, selector, old), 300, interval=1)
        after = load.snapshot()[0] + 100
        wait_for("100 requests after", lambda: load.snapshot()[0] >= after, 60)
    finally:
        result = load.stop()
    return result


def delete_pods(ns: Namespace, selector: str) -> Callable[[], None]:
    def action() -> None:
        for name in sorted(p["metadata"]["name"] for p in pods(ns, selector)):
            ns("delete", "pod", name, "--wait=true", timeout=300)
            wait_for(
                "a replacement pod Ready",
                lambda: (
                    len([p for p in pods(ns, selector) if ready(p) and not p["metadata"].get("deletionTimestamp")]) == 2
                ),
                180,
            )

    return action


def prepare_images() -> None:
    for script, args in (("hack/docker/engine.sh", []), ("hack/docker/build-images.sh", ["runtime", "app"])):
        subprocess.run(["bash", str(REPO / script), *args], check=True)
    dockerfile = f"FROM {HELLO_IMAGE}\nSTOPSIGNAL SIGTERM\n"
    subprocess.run(
        [DOCKER, "build", "-q", "-t", PLAIN_IMAGE, "-"],
        input=dockerfile,
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    cluster_sh("load-image", RUNTIME_IMAGE, HELLO_IMAGE, PLAIN_IMAGE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    opts = parser.parse_args()

    kubeconfig = Path(cluster_sh("kubeconfig").stdout.strip())
    kubectl = Kubectl(Path(cluster_sh("which", "kubectl").stdout.strip()), kubeconfig)
    port = int(cluster_sh("ingress-port").stdout.strip())
    prepare_images()
    install_crd(kubectl)

    ns = restricted_namespace(kubectl, f"bench-rollout-{uuid.uuid4().hex[:6]}")
    results: list[tuple[str, str, LoadResult]] = []
    with tempfile.TemporaryDirectory() as tmp:
        op = OperatorProcess(ns.name, kubeconfig, Path(tmp) / "operator.log", INGRESS_OPERATOR_ARGS)
        try:
            op.start()
            app_host, plain_host = f"wsgiapp.{ns.name}.bench.test", f"plain.{ns.name}.bench.test"
            ns.apply(hello_app("hello", ns.name, {"ingress": {"className": INGRESS_CLASS, "hosts": [app_host]}}))
            for obj in plain_objects(plain_host):
                ns.apply(obj)
            ns.wait_app_ready("hello")
            ns("rollout", "status", "deployment/plain", "--timeout=300s", timeout=330)
            wait_ingress(port, app_host)
            wait_ingress(port, plain_host)

            def restart_app() -> None:
                now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                ns("annotate", "wsgiapp", "hello", f"wsgi-operator.io/restartedAt={now}", "--overwrite")

            def restart_plain() -> None:
                ns("rollout", "restart", "deployment/plain")

            cases = [
                ("wsgiapp", "restart", app_host, "wsgi-operator.io/app=hello", restart_app),
                ("plain", "restart", plain_host, "app=plain", restart_plain),
                (
                    "wsgiapp",
                    "delete",
                    app_host,
                    "wsgi-operator.io/app=hello",
                    delete_pods(ns, "wsgi-operator.io/app=hello"),
                ),
                ("plain", "delete", plain_host, "app=plain", delete_pods(ns, "app=plain")),
            ]
            for r in range(opts.rounds):
                for app, action, host, selector, run in cases:
                    res = under_load(port, host, ns, selector, run)
                    results.append((app, action, res))
                    print(f"round {r + 1} {app:8} {action:8} {res.summary()}", file=sys.stderr)
                    for f in res.failures[:5]:
                        print(f"    t={f.at}s {f.what}", file=sys.stderr)
        finally:
            op.stop()
            kubectl("delete", "namespace", ns.name, "--wait=false", check=False)

    print_table(results, opts.rounds, opts.markdown)
    return 0


def print_table(results: list[tuple[str, str, LoadResult]], rounds: int, markdown: bool) -> None:
    header = ["app", "action", "rounds", "requests", "failed", "failed per round", "p50 ms", "p99 ms", "max ms"]
    rows = []
    for app in ("wsgiapp", "plain"):
        for action in ("restart", "delete"):
            runs = [r for a, b, r in results if a == app and b == action]
            merged = LoadResult(
                sum(r.seconds for r in runs),
                [x for r in runs for x in r.latencies],
                [f for r in runs for f in r.failures],
            )
            rows.append(
                [
                    app,
                    action,
                    str(rounds),
                    f"{merged.requests:,}",
                    str(len(merged.failures)),
                    " / ".join(str(len(r.failures)) for r in runs),
                    f"{merged.percentile(50):.1f}",
                    f"{merged.percentile(99):.1f}",
                    f"{merged.percentile(100):.1f}",
                ]
            )
    if markdown:
        print(format_table(header, rows, markdown=True))
    else:
        print(json.dumps([dict(zip(header, row, strict=True)) for row in rows], indent=2))


if __name__ == "__main__":
    sys.exit(main())
