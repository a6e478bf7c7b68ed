"""Apply to first 200 on the real node: how long a new WsgiApp takes to answer through the ingress, and why.

Run: `PYTHONPATH=tests .venv/bin/python bench/first_request_bench.py [--rounds N] [--apps hello,django]
[--startup-period N] [--markdown]`
as root, with the local cluster and its real node up (`make cluster-up`, or `hack/k8s/cluster.sh up`).
Prints a table; asserts nothing (a benchmark, never a test).

Each round, for each app (interleaved: hello, django, hello, ...), in a fresh namespace with Pod
Security `restricted` enforced and a `wsgi-operator run` process of its own:

  hello   the example app (examples/app, `support.realnode.hello_app`), the Ingress on Traefik
  django  examples/django.yaml as `make demo` runs it (`support.django_node`): its two claims bound
          to hostPath volumes, the release Job (migrate) before the Deployment

With --startup-period N each app also runs with its startup probe every N seconds instead of the
rendered default (spec.probes.startup: the rendered probe, failureThreshold scaled to the same
window), interleaved with the default, as its own column.

The images are in the node beforehand (`cluster.sh load-image`), as the docs tell users to do.
From just before `kubectl apply` of the WsgiApp, a client polls the ingress on
127.0.0.1:<ingress port> every --poll seconds (`GET /` with the app's Host) until the first
200. Meanwhile watches on the namespace (WsgiApps, Jobs, Deployments, Pods, EndpointSlices,
Events) record when each object appeared or changed, by this machine's clock as each watch event
arrives: Kubernetes' own timestamps have one-second resolution. The container's log lines carry
the container runtime's nanosecond timestamps (`kubectl logs --timestamps`), on the same clock.

Each round's operator first reconciles a throwaway WsgiApp with no pods (replicas 0): an
operator's first reconcile compiles the CRD's validation rules, which a long-running operator
has long done.

Phases (seconds, each from the end of the previous one):

  apply        kubectl apply until the WsgiApp is seen
  job          django only: WsgiApp seen -> the release Job seen (the operator's first reconcile)
  job pod      django only: Job seen -> its pod's `Started` event (Job controller, scheduler,
               kubelet)
  migrate      django only: `Started` -> the Job's Complete condition seen (manage.py migrate
               on an empty SQLite database)
  operator     WsgiApp seen (django: Job complete) -> Deployment seen: the operator's reconcile
  pod          Deployment -> the app's Pod seen (kube-controller-manager: ReplicaSet, Pod)
  scheduling   Pod seen -> Pod bound to the node
  sandbox      bound -> the kubelet's `Pulled` event (the pod's sandbox and network, then the
               image check: the image is preloaded, the event says "already present")
  container    `Pulled` -> `Started` (create and start the container)
  express      `Started` -> the first log line (mod_wsgi-express generated the config and printed
               its banner; it then execs Apache)
  apache       first log line -> AH00489 "resuming normal operations" (Apache listens; the daemon
               processes start and import the app: express's WSGIImportScript)
  startup      Apache up -> the startup probe passed (containerStatuses[].started)
  readiness    started -> the Pod's Ready condition
  endpoints    Ready -> the EndpointSlice lists the pod ready
  ingress      endpoint ready -> the first 200 through Traefik (its Kubernetes provider)
  total        kubectl apply -> the first 200's response read

and, per app: the first 200's own latency against the median of the 20 requests after it (is
the first request through the ingress still cold?), and the app's cold import: a fresh python3
in the running container (`kubectl exec`, the container's user and env) running the generated
entry script, which is what each daemon process does at startup before it serves a request.

Every namespace, PersistentVolume and volume directory is removed at the end.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config, watch

from support.django_node import DJANGO_IMAGE, bind_claims, django_app, example_claims, hostpath_volumes, pod_identity
from support.kubectl import Kubectl, cluster_sh, install_crd
from support.operator_process import OperatorProcess
from support.realnode import (
    APP_LABEL,
    HELLO_IMAGE,
    INGRESS_CLASS,
    INGRESS_OPERATOR_ARGS,
    RUNTIME_IMAGE,
    Namespace,
    hello_app,
    ingress_get,
    restricted_namespace,
)
from support.rendered import container
from support.tables import format_table
from support.waiting import wait_for
from wsgi_operator.api.validation import validate
from wsgi_operator.render import layout, render
from wsgi_operator.render.command import code_path, working_directory

REPO = Path(__file__).resolve().parents[1]
#: The throwaway WsgiApp (no pods) that each round's operator reconciles before the timed apply.
WARM_UP = "warm-up"
#: The requests after the first 200 that give the warm latency.
WARM_REQUESTS = 20
#: Fresh interpreters run per app for the cold import.
IMPORT_RUNS = 3
#: Runs in the app's container: import the generated entry script as a daemon process does
#: (its working directory, the code on sys.path), print the seconds it took.
IMPORT_TIMER = r"""
import os, runpy, sys, time
os.chdir(sys.argv[1]); sys.path.insert(0, sys.argv[2])
t = time.perf_counter()
runpy.run_path(sys.argv[3])
print(time.perf_counter() - t)
"""
PHASES = (
    "apply",
    "job",
    "job pod",
    "migrate",
    "operator",
    "pod",
    "scheduling",
    "sandbox",
    "container",
    "express",
    "apache",
    "startup",
    "readiness",
    "endpoints",
    "ingress",
    "total",
)
#: The phases of the release step (only the django app has one).
RELEASE_PHASES = ("job", "job pod", "migrate")
APACHE_UP = "AH00489"


@dataclass
class Seen:
    """One watch event, stamped with this machine's clock when it arrived."""

    at: float
    kind: str
    type: str
    obj: dict[str, Any]


@dataclass
class Recorder:
    """Watches one namespace and keeps every event, stamped on arrival (one thread per kind)."""

    api: client.ApiClient
    namespace: str
    seen: list[Seen] = field(default_factory=list)
    _watches: list[watch.Watch] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _sources(self) -> dict[str, tuple[Callable[..., Any], tuple[str, ...]]]:
        """kind -> (list function, its positional arguments): the Watch needs the generated method itself."""
        core, apps, batch = client.CoreV1Api(self.api), client.AppsV1Api(self.api), client.BatchV1Api(self.api)
        custom, discovery = client.CustomObjectsApi(self.api), client.DiscoveryV1Api(self.api)
        ns = (self.namespace,)
        return {
            "WsgiApp": (
                custom.list_namespaced_custom_object,
                ("wsgi-operator.io", "v1alpha1", self.namespace, "wsgiapps"),
            ),
            "Job": (batch.list_namespaced_job, ns),
            "Deployment": (apps.list_namespaced_deployment, ns),
            "Pod": (core.list_namespaced_pod, ns),
            "EndpointSlice": (discovery.list_namespaced_endpoint_slice, ns),
            "Event": (core.list_namespaced_event, ns),
        }

    def start(self) -> None:
        """Start every watch from the namespace's current state."""
        for kind, (source, args) in self._sources().items():
            listed = source(*args, _preload_content=False)
            version = json.loads(listed.data)["metadata"]["resourceVersion"]
            w = watch.Watch()
            self._watches.append(w)
            threading.Thread(target=self._run, args=(kind, w, source, args, version), daemon=True).start()
        # The resourceVersion makes sure no event is missed; this only gives the threads the
        # moment they need to connect, so that the first events are stamped when they happen.
        time.sleep(1)

    def _run(self, kind: str, w: watch.Watch, source: Callable[..., Any], args: tuple[str, ...], version: str) -> None:
        stream = w.stream(source, *args, resource_version=version, deserialize=False, timeout_seconds=900)
        try:
            for event in stream:
                at = time.time()
                with self._lock:
                    self.seen.append(Seen(at, kind, event["type"], event["object"]))
        except urllib3.exceptions.HTTPError:
            # stop() shuts the connection down under the reading thread; a watch that broke
            # earlier leaves its events missing, which timeline() reports.
            pass

    def stop(self) -> None:
        for w in self._watches:
            w.stop()

    def all(self, kind: str, predicate: Callable[[dict[str, Any]], bool]) -> list[Seen]:
        """The events of ``kind`` whose object satisfies ``predicate``, in arrival order."""
        with self._lock:
            return [s for s in self.seen if s.kind == kind and predicate(s.obj)]

    def first(self, kind: str, predicate: Callable[[dict[str, Any]], bool]) -> Seen | None:
        """The first event of ``kind`` whose object satisfies ``predicate``."""
        return next(iter(self.all(kind, predicate)), None)


@dataclass
class Poller:
    """Polls the ingress with one Host until the first 200; records what it saw on the way."""

    port: int
    host: str
    interval: float
    statuses: dict[str, int] = field(default_factory=dict)
    first_200: tuple[float, float] | None = None  # (sent, answered)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Poller:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.time()
            try:
                res = ingress_get(self.port, self.host, "/", timeout=30)
                what = str(res.status)
            except (OSError, http.client.HTTPException) as err:
                what = type(err).__name__
            self.statuses[what] = self.statuses.get(what, 0) + 1
            if what == "200":
                self.first_200 = (sent, time.time())
                return
            self._stop.wait(self.interval)

    def wait(self, timeout: float) -> tuple[float, float]:
        assert self._thread is not None
        self._thread.join(timeout)
        self._stop.set()
        if self.first_200 is None:
            raise TimeoutError(f"no 200 from {self.host} within {timeout}s; saw {self.statuses}")
        return self.first_200


def rfc3339(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def container_log(ns: Namespace, pod: str) -> list[tuple[float, str]]:
    """The container's log lines with the runtime's timestamps (nanoseconds, cut to microseconds)."""
    lines = []
    for line in ns("logs", "--timestamps", pod).stdout.splitlines():
        stamp, _, text = line.partition(" ")
        # 2026-11-30T07:29:25.138789123Z: Python's fromisoformat takes at most microseconds.
        head, _, frac = stamp.rstrip("Z").partition(".")
        lines.append((rfc3339(f"{head}.{(frac + '000000')[:6]}Z"), text))
    return lines


def cold_import(ns: Namespace, pod: str, manifest: dict[str, Any]) -> float:
    """Median seconds for a fresh python3 in the pod to run the app's entry script."""
    app = validate(copy.deepcopy(manifest))
    args = (working_directory(app), code_path(app), layout.ENTRY_SCRIPT)
    runs = [float(ns.exec(pod, "python3", "-c", IMPORT_TIMER, *args).stdout) for _ in range(IMPORT_RUNS)]
    return statistics.median(runs)


def condition_true(obj: dict[str, Any], type_: str) -> bool:
    return any(c["type"] == type_ and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions", []))


def app_pod(obj: dict[str, Any], app: str) -> bool:
    """A pod of the app's Deployment (not of its release Job, which carries the app's labels too)."""
    labels = obj["metadata"].get("labels") or {}
    return labels.get(APP_LABEL) == app and "batch.kubernetes.io/job-name" not in labels


def pod_ready(obj: dict[str, Any], name: str) -> bool:
    return obj["metadata"]["name"] == name and condition_true(obj, "Ready")


def timeline(rec: Recorder, ns: Namespace, app: str, t0: float, first_200: tuple[float, float]) -> dict[str, float]:
    """The phases of one apply (see the module docstring), from the recorded events and the pod's log."""

    def at(kind: str, predicate: Callable[[dict[str, Any]], bool], what: str) -> Seen:
        seen = rec.first(kind, predicate)
        if seen is None:
            raise RuntimeError(f"never saw {what} in {ns.name}")
        return seen

    wsgiapp = at("WsgiApp", lambda o: o["metadata"]["name"] == app, "the WsgiApp")
    release = [wsgiapp.at] * 3  # no release step: these phases take no time
    job = rec.first("Job", lambda o: (o["metadata"].get("labels") or {}).get(APP_LABEL) == app)
    if job:
        job_name = job.obj["metadata"]["name"]

        def job_pod_started(o: dict[str, Any]) -> bool:
            return o.get("reason") == "Started" and o["involvedObject"].get("name", "").startswith(f"{job_name}-")

        job_started = at("Event", job_pod_started, "the release pod's Started event")
        complete = at("Job", lambda o: condition_true(o, "Complete"), "the release Job Complete")
        release = [job.at, job_started.at, complete.at]
    deployment = at("Deployment", lambda o: o["metadata"]["name"] == app, "the Deployment")
    # With several replicas, the one Ready first is the one that answered first.
    names = {s.obj["metadata"]["name"] for s in rec.all("Pod", lambda o: app_pod(o, app))}
    readies = [r for n in names if (r := rec.first("Pod", lambda o, n=n: pod_ready(o, n)))]
    if not readies:
        raise RuntimeError(f"never saw a pod of {app} Ready in {ns.name}")
    name = min(readies, key=lambda r: r.at).obj["metadata"]["name"]
    pod = at("Pod", lambda o: o["metadata"]["name"] == name, "the app's pod")
    bound = at("Pod", lambda o: o["metadata"]["name"] == name and bool(o["spec"].get("nodeName")), "the pod bound")

    def kubelet(reason: str) -> Seen:
        def match(o: dict[str, Any]) -> bool:
            return o["involvedObject"].get("name") == name and o.get("reason") == reason

        return at("Event", match, f"the {reason} event of {name}")

    pulled, started = kubelet("Pulled"), kubelet("Started")
    if "already present" not in pulled.obj.get("message", ""):
        print(f"  note: {name}: {pulled.obj.get('message')}", file=sys.stderr)

    def container_started(o: dict[str, Any]) -> bool:
        statuses = (o.get("status") or {}).get("containerStatuses") or []
        return o["metadata"]["name"] == name and any(s.get("started") for s in statuses)

    startup = at("Pod", container_started, "the startup probe pass")
    ready = at("Pod", lambda o: pod_ready(o, name), "the pod Ready")

    def endpoint_ready(o: dict[str, Any]) -> bool:
        return any(
            (e.get("targetRef") or {}).get("name") == name and (e.get("conditions") or {}).get("ready")
            for e in o.get("endpoints") or []
        )

    endpoints = at("EndpointSlice", endpoint_ready, "the endpoint ready")
    # Probe failures on the way (the kubelet's Unhealthy events), for the log: why startup took what it took.
    for seen in rec.all("Event", lambda o: o["involvedObject"].get("name") == name and o.get("reason") == "Unhealthy"):
        print(f"  {name}: {seen.obj.get('message')} (x{seen.obj.get('count', 1)})", file=sys.stderr)
    log = container_log(ns, name)
    first_line = log[0][0]
    apache_up = next(t for t, text in log if APACHE_UP in text)

    marks = [
        ("apply", wsgiapp.at),
        ("job", release[0]),
        ("job pod", release[1]),
        ("migrate", release[2]),
        ("operator", deployment.at),
        ("pod", pod.at),
        ("scheduling", bound.at),
        ("sandbox", pulled.at),
        ("container", started.at),
        ("express", first_line),
        ("apache", apache_up),
        ("startup", startup.at),
        ("readiness", ready.at),
        ("endpoints", endpoints.at),
        ("ingress", first_200[1]),
    ]
    phases, previous = {}, t0
    for phase, mark in marks:
        phases[phase] = mark - previous
        previous = mark
    phases["total"] = first_200[1] - t0
    return phases


@dataclass
class Result:
    app: str
    phases: dict[str, float]
    first_ms: float
    warm_ms: float
    import_s: float
    statuses: dict[str, int]


def warm_latency(port: int, host: str) -> float:
    """Median milliseconds of WARM_REQUESTS sequential requests through the ingress."""
    times = []
    for _ in range(WARM_REQUESTS):
        sent = time.perf_counter()
        res = ingress_get(port, host, "/")
        times.append((time.perf_counter() - sent) * 1000)
        assert res.status == 200, res
    return statistics.median(times)


@dataclass
class Bench:
    kubectl: Kubectl
    kubeconfig: Path
    port: int
    poll: float
    workdir: Path
    volumes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    def round(self, app: str, startup_period: int | None = None) -> Result:
        ns = restricted_namespace(self.kubectl, f"bench-first-{app}-{uuid.uuid4().hex[:6]}")
        self.namespaces.append(ns.name)
        host = f"{app}.{ns.name}.bench.test"
        if app == "django":
            manifest = django_app(ns.name, host)
            claims = example_claims(ns.name)
            pvs, _ = hostpath_volumes(claims, self.workdir / ns.name, pod_identity(manifest).fs_group)
            self.volumes += [pv["metadata"]["name"] for pv in pvs]
            bind_claims(self.kubectl, ns, pvs, claims)
        else:
            manifest = hello_app(app, ns.name, {"ingress": {"className": INGRESS_CLASS, "hosts": [host]}})
        if startup_period:
            manifest["spec"].setdefault("probes", {})["startup"] = startup_probe(manifest, startup_period)
        op = OperatorProcess(ns.name, self.kubeconfig, self.workdir / f"{ns.name}.operator.log", INGRESS_OPERATOR_ARGS)
        rec = Recorder(config.new_client_from_config(config_file=str(self.kubeconfig)), ns.name)
        try:
            op.start()
            # An operator's first reconcile compiles the CRD's CEL rules for validation (over a
            # second on this machine). A throwaway app without pods takes that cost, so the timed
            # apply meets an operator that has run for a while, as in a real cluster.
            ns.apply(hello_app(WARM_UP, ns.name, {"replicas": 0}))
            wait_for("the warm-up app's Deployment", lambda: ns.get("deployment", WARM_UP), 120)
            rec.start()
            poller = Poller(self.port, host, self.poll)
            t0 = time.time()
            poller.start()
            ns.apply(manifest)
            first_200 = poller.wait(600)
            warm = warm_latency(self.port, host)
            # The last watch events (the endpoint) may trail the first 200 by a moment.
            phases = wait_for("every event of the timeline", lambda: self._timeline(rec, ns, app, t0, first_200), 30)
            imported = cold_import(ns, ns.app_pods(app)[0]["metadata"]["name"], manifest)
        finally:
            rec.stop()
            op.stop()
            # Not waited for here: its pods spend their termination asleep (the preStop drain), and
            # cleanup() waits for every namespace at the end.
            self.kubectl("delete", "namespace", ns.name, "--wait=false", check=False)
        label = f"{app}, startup probe every {startup_period} s" if startup_period else app
        return Result(label, phases, (first_200[1] - first_200[0]) * 1000, warm, imported, poller.statuses)

    @staticmethod
    def _timeline(
        rec: Recorder, ns: Namespace, app: str, t0: float, first_200: tuple[float, float]
    ) -> dict[str, float] | None:
        try:
            return timeline(rec, ns, app, t0, first_200)
        except RuntimeError:
            return None

    def cleanup(self) -> None:
        for name in self.namespaces:
            self.kubectl(
                "delete",
                "namespace",
                name,
                "--ignore-not-found",
                "--wait=true",
                "--timeout=300s",
                check=False,
                timeout=330,
            )
        if self.volumes:
            self.kubectl("delete", "pv", *self.volumes, "--ignore-not-found", "--wait=true", check=False)


def startup_probe(manifest: dict[str, Any], period: int) -> dict[str, Any]:
    """The startup probe the operator renders for ``manifest``, probing every ``period`` seconds
    for as long in all as the default (failureThreshold scaled), as a spec.probes.startup override."""
    probe = container(render(validate(copy.deepcopy(manifest))))["startupProbe"]
    window = probe["periodSeconds"] * probe["failureThreshold"]
    return {**probe, "periodSeconds": period, "failureThreshold": -(-window // period)}


def prepare_images() -> None:
    """Build the images if their inputs changed (cached by content) and copy them into the node."""
    for script, args in (("hack/docker/engine.sh", []), ("hack/docker/build-images.sh", ["runtime", "app", "django"])):
        subprocess.run(["bash", str(REPO / script), *args], check=True)
    cluster_sh("load-image", RUNTIME_IMAGE, HELLO_IMAGE, DJANGO_IMAGE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--apps", default="hello,django", help="comma-separated: hello, django")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between two ingress requests")
    parser.add_argument(
        "--startup-period",
        type=int,
        help="also run each app with its startup probe every N seconds (spec.probes.startup), interleaved",
    )
    parser.add_argument("--markdown", action="store_true")
    opts = parser.parse_args()
    variants: list[tuple[str, int | None]] = [(a, None) for a in opts.apps.split(",")]
    if opts.startup_period:
        variants = [v for a, _ in variants for v in ((a, None), (a, opts.startup_period))]

    kubeconfig = Path(cluster_sh("kubeconfig").stdout.strip())
    kubectl = Kubectl(Path(cluster_sh("which", "kubectl").stdout.strip()), kubeconfig)
    port = int(cluster_sh("ingress-port").stdout.strip())
    prepare_images()
    install_crd(kubectl)
    results: list[Result] = []
    workdir = Path(tempfile.mkdtemp(prefix="wsgi-operator-first-200-", dir="/var/tmp"))
    bench = Bench(kubectl, kubeconfig, port, opts.poll, workdir)
    try:
        for r in range(opts.rounds):
            for app, period in variants:
                res = bench.round(app, period)
                results.append(res)
                summary = " ".join(f"{k}={v:.2f}" for k, v in res.phases.items())
                print(
                    f"round {r + 1} {res.app} {summary} first={res.first_ms:.0f}ms warm={res.warm_ms:.0f}ms "
                    f"import={res.import_s:.2f}s polled={res.statuses}",
                    file=sys.stderr,
                )
    finally:
        bench.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    labels = list(dict.fromkeys(r.app for r in results))
    print(format_table(["phase (s)", *labels], list(rows(results, labels)), opts.markdown))
    return 0


def _cells(values: list[float], fmt: str) -> str:
    """Median, and the range when there are several rounds."""
    if not values:
        return "-"
    med = fmt.format(statistics.median(values))
    return med if len(values) == 1 else f"{med} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def rows(results: list[Result], apps: list[str]) -> Iterator[list[str]]:
    for phase in PHASES:
        cells = []
        for app in apps:
            runs = [r for r in results if r.app == app]
            values = [r.phases[phase] for r in runs]
            cells.append("-" if phase in RELEASE_PHASES and not app.startswith("django") else _cells(values, "{:.2f}"))
        yield [phase, *cells]
    yield [
        "first 200's own latency (ms)",
        *(_cells([r.first_ms for r in results if r.app == a], "{:.0f}") for a in apps),
    ]
    yield [
        f"then, median of {WARM_REQUESTS} (ms)",
        *(_cells([r.warm_ms for r in results if r.app == a], "{:.0f}") for a in apps),
    ]
    yield ["cold import of the app (s)", *(_cells([r.import_s for r in results if r.app == a], "{:.2f}") for a in apps)]


if __name__ == "__main__":
    sys.exit(main())
