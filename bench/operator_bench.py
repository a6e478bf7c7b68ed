"""Operator benchmark: N WsgiApps created at once against the local control plane.

Run: `PYTHONPATH=tests .venv/bin/python bench/operator_bench.py [N ...]` (imports tests/support).
N defaults to 1 50 200 1000; the control plane must be up (`make cluster-up`).
Prints a table; it asserts nothing (no test ever times anything).

Per round (N apps, a fresh namespace, a fresh `wsgi-operator run` subprocess):

  children p50/p99   create request sent -> every rendered child seen by a watch
  Ready p50/p99      create request sent -> status condition Ready=True
                     (kwok marks the pods Running/Ready; each app has 1 replica)
  all Ready          first create -> last app Ready
  status lag p99     Deployment's pods all ready (seen by a watch) -> WsgiApp Ready:
                     the operator's own share of the time to Ready
  req/app            API requests the operator sent to converge, per app
                     (all of them: applies, existence checks, status writes)
  req/s burst        the same requests per second, first create -> last app Ready
  create p50/p99     wall time of one create reconcile in a worker thread (queueing
                     before it not included: that is in "children")
  req/reconcile      API requests per reconcile during a no-op resync pass
  (no-op)            (two passes' worth of resyncs, after everything settled)
  full resyncs       share of those resyncs that applied every child anyway (the
                     periodic full one of an app, --full-resync-every); the others
                     found every child unchanged and sent no request
  no-op p50/p99      wall time of one reconcile of that pass
  req/s no-op        API requests per second during that pass
  no-op writes       objects (children and WsgiApps) whose resourceVersion changed
                     across that resync pass: must be 0
  peak RSS           the operator process's VmHWM at the end of the round
  floor all Avail.   the control plane's own share (--floor, a round of its own
                     just before): the same rendered children of N apps applied
                     directly by --workers threads, no operator and no WsgiApp,
                     first apply -> last Deployment with its pod ready. No
                     operator can make all N Ready sooner than this

The latencies are estimated from the operator's histogram
wsgi_operator_reconcile_duration_seconds (linear within a bucket, as
Prometheus' histogram_quantile does).

The API request and reconcile counts come from the operator's own
/metrics (wsgi_operator_api_requests_total, wsgi_operator_reconciles_total).
Each round adds its own tainted kwok nodes (100 pods per node) for its pods
and removes them afterwards, so it neither crowds nor uses anyone else's node.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config

from support.kubectl import Kubectl, install_crd
from support.manifests import wsgiapp_manifest
from support.operator_process import OperatorProcess
from support.waiting import wait_for
from wsgi_operator.api.validation import validate
from wsgi_operator.controller.apply import resource_of
from wsgi_operator.kinds import WSGIAPP, group_resources
from wsgi_operator.render import render

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO / "hack" / "k8s" / "cluster.sh"
APP_LABEL = "wsgi-operator.io/app"
GROUP, VERSION, PLURAL = "wsgi-operator.io", "v1alpha1", "wsgiapps"
PODS_PER_NODE = 100


def sh(*args: str) -> str:
    """Run a command and return its stdout."""
    return subprocess.run(args, check=True, text=True, capture_output=True).stdout.strip()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


#: Bench pods run only on the round's own kwok nodes, and nothing else does.
ROUND_KEY = "bench.wsgi-operator.io/round"


def manifest(i: int, namespace: str) -> dict[str, Any]:
    """The i-th WsgiApp of a round: the default spec, one replica, on the round's nodes."""
    spec = {
        "image": f"registry.example.com/bench/app-{i}:1",
        "replicas": 1,
        "nodeSelector": {ROUND_KEY: namespace},
        "tolerations": [{"key": ROUND_KEY, "operator": "Equal", "value": namespace, "effect": "NoSchedule"}],
    }
    return wsgiapp_manifest(f"app-{i:04d}", namespace, spec)


@dataclass
class Timeline:
    """When each app was created, got all its children, and became Ready (monotonic seconds)."""

    expected: dict[str, set[str]]
    created: dict[str, float] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)
    children: dict[str, float] = field(default_factory=dict)
    deployment_ready: dict[str, float] = field(default_factory=dict)
    ready: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def child(self, app: str, kind_name: str) -> None:
        """A watch saw a child of ``app``."""
        with self.lock:
            seen = self.seen.setdefault(app, set())
            seen.add(kind_name)
            if app not in self.children and seen >= self.expected.get(app, {"?"}):
                self.children[app] = time.monotonic()

    def deployment(self, app: str, obj: dict[str, Any]) -> None:
        """A watch saw a Deployment; note when all its replicas were first ready."""
        status = obj.get("status") or {}
        if status.get("readyReplicas", 0) >= obj["spec"].get("replicas", 1):
            with self.lock:
                self.deployment_ready.setdefault(app, time.monotonic())

    def app(self, obj: dict[str, Any]) -> None:
        """A watch saw a WsgiApp."""
        conditions = (obj.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            with self.lock:
                self.ready.setdefault(obj["metadata"]["name"], time.monotonic())


#: The kinds of a round's children: the operator's table of kinds, as the renderer uses it for the round's spec.
CHILD_RESOURCES = tuple(dict.fromkeys(resource_of(o) for o in render(validate(manifest(0, "bench")))))
#: (kind, collection path under the namespace) of every watched resource.
_WATCHED = tuple((r.kind, r.path("{ns}")) for r in (*CHILD_RESOURCES, WSGIAPP))


class Watches:
    """One watch thread per watched kind, on raw JSON lines.

    The client's typed watch decodes every event into model objects, which
    costs the benchmark process enough CPU under a burst to delay what it
    observes by seconds; plain ``json.loads`` keeps the timestamps honest.
    """

    def __init__(self, api: client.ApiClient, namespace: str, timeline: Timeline) -> None:
        self.stop = threading.Event()
        self.api = api
        self.threads = [
            threading.Thread(target=self._watch, args=(kind, path.format(ns=namespace), timeline), daemon=True)
            for kind, path in _WATCHED
        ]
        for t in self.threads:
            t.start()

    def _get(self, path: str, query: list[tuple[str, str]]) -> Any:
        req = self.api.param_serialize("GET", path, query_params=query, auth_settings=["BearerToken"])
        return self.api.call_api(*req, _request_timeout=30).response

    def _watch(self, kind: str, path: str, timeline: Timeline) -> None:
        selector = [] if kind == "WsgiApp" else [("labelSelector", APP_LABEL)]
        rv = json.loads(self._get(path, selector).data)["metadata"]["resourceVersion"]
        while not self.stop.is_set():
            query = [*selector, ("watch", "true"), ("resourceVersion", rv), ("timeoutSeconds", "2")]
            for line in self._get(path, query):
                event = json.loads(line)
                obj = event["object"]
                if event["type"] == "ERROR":  # e.g. 410 Gone: start again from a fresh list
                    rv = json.loads(self._get(path, selector).data)["metadata"]["resourceVersion"]
                    break
                rv = obj["metadata"]["resourceVersion"]
                if kind == "WsgiApp":
                    timeline.app(obj)
                    continue
                app = obj["metadata"]["labels"][APP_LABEL]
                if event["type"] == "ADDED":
                    timeline.child(app, f"{kind}/{obj['metadata']['name']}")
                if kind == "Deployment":
                    timeline.deployment(app, obj)

    def close(self) -> None:
        """Stop the threads (each returns within its 2 s watch timeout)."""
        self.stop.set()
        for t in self.threads:
            t.join(10)


DURATION = "wsgi_operator_reconcile_duration_seconds_bucket"


def duration_buckets(op: OperatorProcess, trigger: str) -> dict[float, float]:
    """Upper bound -> cumulative count of the reconcile duration histogram for ``trigger``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{op.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(DURATION + "{") and f'trigger="{trigger}"' in line:
            sample, _, value = line.rpartition(" ")
            le = sample.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(le)] = float(value)
    return buckets


def quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The q-quantile (0..1) of the observations between two histogram snapshots."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return math.nan
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


def latencies(before: dict[float, float], after: dict[float, float]) -> str:
    """'p50 / p99' of the observations between two snapshots, in milliseconds."""
    p50, p99 = quantile(before, after, 0.5), quantile(before, after, 0.99)
    return f"{p50 * 1000:.1f} / {p99 * 1000:.0f} ms"


def resource_versions(kubectl: list[str], namespace: str) -> dict[str, str]:
    """kind/name -> resourceVersion of every child and WsgiApp in the namespace."""
    kinds = group_resources(CHILD_RESOURCES)
    items = json.loads(sh(*kubectl, "get", kinds, "-n", namespace, "-l", APP_LABEL, "-o", "json"))["items"]
    apps = json.loads(sh(*kubectl, "get", "wsgiapps", "-n", namespace, "-o", "json"))["items"]
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in items + apps}


def kwok_node(name: str, namespace: str) -> dict[str, Any]:
    """A fake node kwok manages (same shape as hack/k8s/cluster.sh's), reserved for one round."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "type": "kwok",
                ROUND_KEY: namespace,
            },
        },
        "spec": {"taints": [{"key": ROUND_KEY, "value": namespace, "effect": "NoSchedule"}]},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        },
    }


def round_namespace(n: int, kubectl: list[str]) -> tuple[str, list[str]]:
    """A fresh namespace for a round of ``n`` apps and the round's own kwok nodes; (namespace, node names)."""
    namespace = f"bench-{n}-{uuid.uuid4().hex[:6]}"
    nodes = [f"{namespace}-node-{i}" for i in range(math.ceil(n / PODS_PER_NODE))]
    node_list = {"apiVersion": "v1", "kind": "List", "items": [kwok_node(x, namespace) for x in nodes]}
    subprocess.run(
        [*kubectl, "apply", "-f", "-"], input=json.dumps(node_list), text=True, check=True, capture_output=True
    )
    sh(*kubectl, "create", "namespace", namespace)
    default_sa = [*kubectl, "get", "serviceaccount", "default", "-n", namespace]
    wait_for(
        "the namespace's default ServiceAccount",
        lambda: subprocess.run(default_sa, capture_output=True).returncode == 0,
        30,
        interval=0.5,
    )
    return namespace, nodes


def remove_round(kubectl: list[str], namespace: str, nodes: list[str]) -> None:
    """Delete a round's namespace (waiting, so the next round starts on a quiet API server) and nodes."""
    subprocess.run([*kubectl, "delete", "namespace", namespace, "--wait=true", "--timeout=300s"], capture_output=True)
    subprocess.run([*kubectl, "delete", "node", *nodes, "--wait=false"], capture_output=True)


def apply_directly(api: client.ApiClient, obj: dict[str, Any]) -> None:
    """Server-side apply one rendered child, as the operator would (field manager "bench-floor")."""
    meta = obj["metadata"]
    path = resource_of(obj).path(meta["namespace"], meta["name"])
    req = api.param_serialize(
        "PATCH",
        path,
        query_params=[("fieldManager", "bench-floor"), ("force", "true")],
        header_params={"Content-Type": "application/apply-patch+yaml"},
        body=obj,
        auth_settings=["BearerToken"],
    )
    api.call_api(*req, _request_timeout=60).read()


def run_floor(n: int, kubectl: list[str], api: client.ApiClient, workers: int) -> float:
    """Seconds from the first apply to the last Deployment ready, with the children applied directly."""
    namespace, nodes = round_namespace(n, kubectl)
    children = [render(validate(manifest(i, namespace))) for i in range(n)]
    timeline = Timeline(expected={})  # only the Deployments' readiness counts here
    watches = Watches(api, namespace, timeline)
    try:
        time.sleep(1)  # let the watches connect
        start = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            # One app's children in order, apps in parallel: the operator's shape.
            list(pool.map(lambda objs: [apply_directly(api, o) for o in objs], children))
        wait_for(f"{n} Deployments ready", lambda: len(timeline.deployment_ready) == n, timeout=max(120, 2 * n))
        return max(timeline.deployment_ready.values()) - start
    finally:
        watches.close()
        remove_round(kubectl, namespace, nodes)


def run_round(
    n: int, kubeconfig: str, kubectl: list[str], api: client.ApiClient, resync: float, workers: int, full_every: int
) -> dict[str, Any]:
    """Create ``n`` apps, measure, clean up; return the row of the table."""
    namespace, nodes = round_namespace(n, kubectl)
    manifests = [manifest(i, namespace) for i in range(n)]
    expected = {
        m["metadata"]["name"]: {f"{c['kind']}/{c['metadata']['name']}" for c in render(validate(m))} for m in manifests
    }
    timeline = Timeline(expected)
    log = Path(tempfile.gettempdir()) / f"{namespace}-operator.log"
    args = (f"--resync-interval={resync}", f"--workers={workers}", f"--full-resync-every={full_every}")
    op = OperatorProcess(namespace, Path(kubeconfig), log, args)
    op.start()
    watches = Watches(api, namespace, timeline)
    custom = client.CustomObjectsApi(api)
    try:
        time.sleep(1)  # let the watches connect
        requests0, reconciles0 = (
            op.metric("wsgi_operator_api_requests_total"),
            op.metric("wsgi_operator_reconciles_total"),
        )
        creates0 = duration_buckets(op, "create")
        start = time.monotonic()
        for m in manifests:
            timeline.created[m["metadata"]["name"]] = time.monotonic()
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, m)
        wait_for(f"{n} apps Ready", lambda: len(timeline.ready) == n, timeout=max(120, 2 * n), interval=0.5)
        all_ready = max(timeline.ready.values()) - start
        burst_requests = op.metric("wsgi_operator_api_requests_total") - requests0
        creates = latencies(creates0, duration_buckets(op, "create"))

        # Settle (kwok, the Deployment controller, the operator's backlog of
        # status updates), then one full resync pass.
        previous: tuple[dict[str, str], float] = ({}, -1.0)

        def settled() -> bool:
            nonlocal previous
            now = (resource_versions(kubectl, namespace), op.metric("wsgi_operator_api_requests_total"))
            same, previous = now == previous, now
            return same

        wait_for("the objects and the operator to go quiet", settled, timeout=300, interval=3)
        before = previous[0]
        requests1, reconciles1 = (
            op.metric("wsgi_operator_api_requests_total"),
            op.metric("wsgi_operator_reconciles_total"),
        )
        resyncs = op.metric("wsgi_operator_reconciles_total", {"trigger": "resync"})
        unchanged1 = op.metric("wsgi_operator_reconciles_unchanged_total", {"trigger": "resync"})
        resync_buckets1, window1 = duration_buckets(op, "resync"), time.monotonic()
        # Twice N: at least one whole pass, even if one was half done when counting began.
        wait_for(
            "a full resync pass",
            lambda: op.metric("wsgi_operator_reconciles_total", {"trigger": "resync"}) >= resyncs + 2 * n,
            timeout=4 * resync + 2 * n,
            interval=0.5,
        )
        requests2, reconciles2 = (
            op.metric("wsgi_operator_api_requests_total"),
            op.metric("wsgi_operator_reconciles_total"),
        )
        resynced = op.metric("wsgi_operator_reconciles_total", {"trigger": "resync"}) - resyncs
        unchanged = op.metric("wsgi_operator_reconciles_unchanged_total", {"trigger": "resync"}) - unchanged1
        noops = latencies(resync_buckets1, duration_buckets(op, "resync"))
        window = time.monotonic() - window1
        after = resource_versions(kubectl, namespace)
        rss = op.peak_rss_mib()
    finally:
        watches.close()
        op.stop()
        remove_round(kubectl, namespace, nodes)

    changed = sorted(k for k, v in after.items() if before.get(k) != v)
    if changed:
        print(f"  changed across the no-op resync: {', '.join(changed)}", file=sys.stderr)
    children = [timeline.children[a] - timeline.created[a] for a in timeline.created]
    ready = [timeline.ready[a] - timeline.created[a] for a in timeline.created]
    lag = [timeline.ready[a] - timeline.deployment_ready[a] for a in timeline.created]
    return {
        "N": n,
        "children p50": f"{statistics.median(children):.2f} s",
        "children p99": f"{percentile(children, 99):.2f} s",
        "Ready p50": f"{statistics.median(ready):.2f} s",
        "Ready p99": f"{percentile(ready, 99):.2f} s",
        "all Ready": f"{all_ready:.1f} s",
        "status lag p99": f"{percentile(lag, 99):.2f} s",
        "req/app": f"{(requests1 - requests0) / n:.1f}",
        "req/s burst": f"{burst_requests / all_ready:.0f}",
        "create p50/p99": creates,
        "reconciles/app": f"{(reconciles1 - reconciles0) / n:.1f}",
        "req/reconcile (no-op)": f"{(requests2 - requests1) / max(1.0, reconciles2 - reconciles1):.2f}",
        "full resyncs": f"{100 * (resynced - unchanged) / max(1.0, resynced):.0f}%",
        "no-op p50/p99": noops,
        "req/s no-op": f"{(requests2 - requests1) / window:.1f}",
        "no-op writes": str(len(changed)),
        "peak RSS": f"{rss:.0f} MiB",
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    """A Markdown table (paste it into docs/benchmarks.md)."""
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(r[h]).rjust(w) for h, w in zip(headers, widths, strict=True)) + " |")


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("counts", nargs="*", type=int, default=[1, 50, 200, 1000], metavar="N", help="apps per round")
    parser.add_argument(
        "--resync-interval",
        type=float,
        default=30.0,
        help="operator resync interval in seconds (long enough not to run during the creation burst)",
    )
    parser.add_argument("--workers", type=int, default=16, help="operator reconcile threads (--workers)")
    parser.add_argument(
        "--full-resync-every",
        type=int,
        default=12,
        help="every how many resyncs an app applies everything anyway (the operator's option; 1: every resync)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="before each round, measure the control plane's floor: the same children applied with no operator",
    )
    args = parser.parse_args(argv)

    kubeconfig = os.environ.get("WSGI_OPERATOR_KUBECONFIG") or sh("bash", str(CLUSTER_SH), "kubeconfig")
    kubectl = [os.environ.get("WSGI_OPERATOR_KUBECTL") or sh("bash", str(CLUSTER_SH), "which", "kubectl")]
    kubectl.append(f"--kubeconfig={kubeconfig}")
    install_crd(Kubectl(Path(kubectl[0]), Path(kubeconfig)))
    api = config.new_client_from_config(config_file=kubeconfig)
    rows = []
    for n in args.counts:
        print(f"round: {n} app(s)...", file=sys.stderr)
        floor = run_floor(n, kubectl, api, args.workers) if args.floor else None
        row = run_round(n, kubeconfig, kubectl, api, args.resync_interval, args.workers, args.full_resync_every)
        if floor is not None:
            row["floor all Avail."] = f"{floor:.1f} s"
        rows.append(row)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
