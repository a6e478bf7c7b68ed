"""Render benchmark: 1,000 distinct WsgiApps through the renderer and the offline validation.

Run: `make bench`, or `PYTHONPATH=tests .venv/bin/python bench/render_bench.py [COUNT] [--rounds N]`
(imports tests/support). Prints a table; it asserts nothing (the unit tests never time anything).
The stages run interleaved, round after round; the table has the median of the rounds (wall
clock, and the process's CPU time, which says more on a machine others share) and the range.

  render only        render() on already-parsed models (no validation at all)
  parse+render       WsgiApp.parse() (pydantic: types, ranges, patterns) then render()
  validate+warnings  validation.validate_with_warnings(): pydantic, every CEL rule of the CRD,
                     Pod Security "restricted" on the rendered pods, and the warnings policy:
                     what `wsgi-operator validate` does per document (YAML parsing aside)
  validate+render    validation.validate() then render(): what `wsgi-operator render` does
  dump YAML          cli.dump_all() of each app's objects (what `render` prints)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from support.manifests import DELETE, wsgiapp_manifest
from support.tables import format_table
from wsgi_operator.api import WsgiApp
from wsgi_operator.api.validation import validate, validate_with_warnings
from wsgi_operator.cli import dump_all
from wsgi_operator.render import render

DIGEST = "sha256:" + "0123456789abcdef" * 4


def manifest(i: int) -> dict[str, Any]:
    """The i-th WsgiApp: name, identity, sizing and optional features vary with i."""
    name = f"app-{i:04d}"
    spec: dict[str, Any] = {
        "image": f"registry.example.com/team-{i % 17}/{name}@{DIGEST}",
        "entryPoint": {"module": f"site_{i % 13}.wsgi"} if i % 4 else {"module": DELETE, "script": f"wsgi_{i}.py"},
        "replicas": 1 + i % 5,
        "server": {"processes": 1 + i % 4, "threads": 1 + i % 32, "port": 8000 + i % 100},
        "timeouts": {"request": 10 + i % 120, "graceful": 5 + i % 30},
        "security": {"runAsUser": 10000 + i, "runAsGroup": 10000 + i, "passAuthorization": i % 3 == 0},
    }
    if i % 2:
        spec["writableDirs"] = [
            {"name": "media", "mountPath": f"/var/lib/{name}/media", "sizeLimit": f"{1 + i % 4}Gi"},
            {"name": "cache", "mountPath": f"/var/cache/{name}", "medium": "Memory"},
        ]
        spec["env"] = [{"name": "APP_ID", "value": str(i)}, {"name": "DJANGO_DEBUG", "value": "false"}]
    if i % 3 == 0:
        spec["ingress"] = {"className": "nginx", "hosts": [f"{name}.example.com"], "tlsSecretName": f"{name}-tls"}
        spec["security"] |= {"trustedProxies": ["10.0.0.0/8"], "trustedProxyHeaders": ["X-Forwarded-For"]}
    if i % 5 == 0:
        spec["autoscaling"] = {"minReplicas": 2, "maxReplicas": 2 + i % 10}
    if i % 7 == 0:
        spec["code"] = {"path": "/opt/code", "configMap": {"name": f"{name}-code"}}
        spec["networkPolicy"] = {"egressTo": [{"app": f"app-{(i + 1) % 1000:04d}"}]}
    if i % 11 == 0:
        spec["httpRoute"] = {
            "parentRefs": [{"name": "gateway", "namespace": "gateways"}],
            "hostnames": [f"{name}.example.org"],
        }
    return wsgiapp_manifest(name, f"ns-{i % 50}", spec, metadata={"uid": f"00000000-0000-4000-8000-{i:012d}"})


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """The arguments of a benchmark over the bench's WsgiApps: how many, and --markdown."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", nargs="?", type=int, default=1000, help="how many WsgiApps (default 1000)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every stage, interleaved (default 3)")
    args = parser.parse_args(argv)
    count = args.count
    manifests = [manifest(i) for i in range(count)]
    apps = [validate(m) for m in manifests]  # parse once, outside the timings below
    rendered = [render(a) for a in apps]  # warm caches (compiled CEL programs are cached by validation, too)

    stages: list[tuple[str, Callable[[], Any]]] = [
        ("render only", lambda: [render(a) for a in apps]),
        ("parse+render", lambda: [render(WsgiApp.parse(m)) for m in manifests]),
        ("validate+warnings", lambda: [validate_with_warnings(m) for m in manifests]),
        ("validate+render", lambda: [render(validate(m)) for m in manifests]),
        ("dump YAML", lambda: [dump_all(objs) for objs in rendered]),
    ]
    walls: dict[str, list[float]] = {name: [] for name, _ in stages}
    cpus: dict[str, list[float]] = {name: [] for name, _ in stages}
    for _ in range(args.rounds):
        for name, fn in stages:
            wall, cpu, _ = timed(fn)
            walls[name].append(wall)
            cpus[name].append(cpu)

    objects = sum(len(objs) for objs in rendered)
    print(f"{count} WsgiApps, {objects} objects rendered, {args.rounds} rounds (Python {sys.version.split()[0]})")
    rows = [
        (
            name,
            f"{statistics.median(walls[name]):.3f}",
            f"{min(walls[name]):.3f}-{max(walls[name]):.3f}",
            f"{statistics.median(cpus[name]):.3f}",
            f"{statistics.median(walls[name]) / count * 1000:.3f}",
        )
        for name, _ in stages
    ]
    print(format_table(["stage", "wall s", "range", "cpu s", "per app ms"], rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
