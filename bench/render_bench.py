"""Render benchmark: 1,000 distinct WsgiApps through the renderer.

Run: `make bench`, or `PYTHONPATH=tests .venv/bin/python bench/render_bench.py [COUNT]` (imports tests/support).
Prints a table; it asserts nothing (the unit tests never time anything).

  render only      render() on already-parsed models (no validation at all)
  parse+render     WsgiApp.parse() (pydantic: types, ranges, patterns) then render()
  validate+render  validation.validate() (pydantic + the CRD's CEL rules via cel-python)
                   then render(): what `wsgi-operator render` does per document
  dump YAML        cli.dump_all() of each app's objects (what `render` prints)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from support.manifests import DELETE, wsgiapp_manifest
from wsgi_operator.api import WsgiApp
from wsgi_operator.api.validation import validate
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


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", nargs="?", type=int, default=1000, help="how many WsgiApps (default 1000)")
    count = parser.parse_args(argv).count
    manifests = [manifest(i) for i in range(count)]
    apps = [validate(m) for m in manifests]  # parse once, outside the timings below
    render(apps[0])  # warm caches (compiled CEL programs are cached by validation, too)

    rows = []
    t, rendered = timed(lambda: [render(a) for a in apps])
    rows.append(("render only", t))
    t, _ = timed(lambda: [render(WsgiApp.parse(m)) for m in manifests])
    rows.append(("parse+render", t))
    t, _ = timed(lambda: [render(validate(m)) for m in manifests])
    rows.append(("validate+render", t))
    t, _ = timed(lambda: [dump_all(objs) for objs in rendered])
    rows.append(("dump YAML", t))

    objects = sum(len(objs) for objs in rendered)
    print(f"{count} WsgiApps, {objects} objects rendered (Python {sys.version.split()[0]})")
    print(f"{'stage':<18}{'count':>7}{'total s':>10}{'per app ms':>12}")
    for stage, seconds in rows:
        print(f"{stage:<18}{count:>7}{seconds:>10.3f}{seconds / count * 1000:>12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
