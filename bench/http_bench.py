"""HTTP serving benchmark: the hardened rendered workload vs mod_wsgi-express defaults vs gunicorn.

Run (as root):  PYTHONPATH=tests .venv/bin/python bench/http_bench.py [options]   (imports tests/support)

It builds what it needs (Docker engine, runtime and app images through hack/docker,
a gunicorn image FROM the app image in bench/images/gunicorn, wrk from Debian),
then serves the example app's ``/`` route from containers that all get the same
CPU and memory limit, and drives each with ``wrk -t2 -c32 -d<duration>s --latency``.

  express-defaults  mod_wsgi-express start-server with only the flags it cannot do
                    without (module, server root, port, working dir) plus
                    --processes/--threads
  hardened          the renderer's own output for the base WsgiApp of the runtime
                    tests, run through tests/support/podrun.translate (read-only
                    root, dropped capabilities, the include and envvars files, ...)
  gunicorn          gunicorn --worker-class gthread, same workers x threads

wrk runs in the container's network namespace (``nsenter --net``) against its
127.0.0.1:8000, so Docker's userland proxy (a user-space copy of every byte,
not part of a pod's data path) is not measured; ``--via proxy`` uses the
published 127.0.0.1 port instead. Servers are measured in interleaved rounds
(a, b, c, a, b, c, ...) and the median is reported, because the machine is
shared. Besides req/s and p99 it reports the container's CPU time per 1,000
requests (from its cpuacct cgroup), which neighbours disturb much less.

``--suite explore`` adds the variants that were tried to close the gap to
gunicorn (processes x threads, keep-alive, MPM, max-clients, embedded mode).
It prints a table (``--markdown`` for docs/benchmarks.md) and asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import profiling  # bench/profiling.py, beside this script
import yaml

# The translation and the base WsgiApp are the runtime tests' own (tests/support).
from support.harness import APP_IMAGE, DJANGO_IMAGE, hello_manifest
from support.manifests import deep_merge
from support.podrun import DOCKER, LABEL, translate
from support.tables import format_table
from support.waiting import WaitTimeout, wait_for
from wsgi_operator.api.validation import validate
from wsgi_operator.render import render

ROOT = Path(__file__).resolve().parents[1]
SERVERS_CONTEXT = ROOT / "bench" / "images" / "servers"
INPUTS_LABEL = "io.wsgi-operator.bench-inputs-sha256"
PIP_CA = Path(os.environ.get("PIP_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
PORT = 8000
#: The container shape shared by the non-rendered servers (the rendered one gets
#: the same from its securityContext): it does not change throughput, but keeps
#: the comparison about the server flags alone.
_HARDENED_SHAPE = [
    "--read-only",
    "--user",
    "10001:10001",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
]


def log(msg: str) -> None:
    print(f"http_bench: {msg}", file=sys.stderr, flush=True)


def sh(*cmd: str, check: bool = True, capture: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, text=True, capture_output=capture, timeout=timeout)


# --- the applications --------------------------------------------------------------------------

#: The Django example's settings need these; 127.0.0.1 is the Host wrk sends.
DJANGO_ENV = {
    "DJANGO_SETTINGS_MODULE": "mysite.settings",
    "SECRET_KEY": "http-bench-only-not-a-secret",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
}
VENV_PYTHON = "/opt/wsgi/bin/python"
#: How many documents the Django page lists (each a row read and a file stat).
DJANGO_ROWS = 20
_DJANGO_SEED = f"""
from django.core.files.base import ContentFile
from documents.models import Document
for i in range({DJANGO_ROWS}):
    Document.objects.create(title=f"document {{i}}", file=ContentFile(b"x" * (100 * i + 1), name=f"doc{{i}}.txt"))
"""


@dataclass(frozen=True)
class App:
    """An application every server serves from the same image and venv."""

    name: str
    image: str  # the app image (mod_wsgi-express on the runtime image)
    module: str  # its WSGI module (application callable)
    build_target: str  # hack/docker/build-images.sh's name for the image
    env: dict[str, str] = field(default_factory=dict)
    #: PersistentVolumeClaim name -> mount path: writable dirs with content the
    #: app needs (seeded once per run, a fresh copy for each server).
    claims: dict[str, str] = field(default_factory=dict)

    @property
    def servers_image(self) -> str:
        """The app image plus gunicorn and granian (bench/images/servers)."""
        return f"local/wsgi-{self.name}-servers:bench"

    def manifest(self, spec_patch: dict[str, Any]) -> dict[str, Any]:
        """The WsgiApp the hardened server renders, with ``spec_patch`` deep-merged into its spec."""
        if self.name == "hello":
            return hello_manifest(spec_patch)
        # examples/django.yaml as the runtime tests run it: the local image, this run's env.
        (doc,) = [d for d in yaml.safe_load_all((ROOT / "examples" / "django.yaml").read_text()) if d]
        doc["spec"].update(image=self.image, imagePullPolicy="Never")
        doc["spec"]["env"] = [{"name": k, "value": v} for k, v in self.env.items()]
        return deep_merge(doc, {"spec": spec_patch})

    def seed(self, into: Path) -> None:
        """Make the claims' content once: the Django example's migrated database
        with :data:`DJANGO_ROWS` documents and their files."""
        if not self.claims:
            return
        mounts = []
        for claim, path in self.claims.items():
            (into / claim).mkdir(parents=True)
            os.chown(into / claim, 10001, 10001)
            mounts += ["--mount", f"type=bind,source={into / claim},target={path}"]
        env = [f"--env={k}={v}" for k, v in self.env.items()]
        script = f"{VENV_PYTHON} manage.py migrate -v 0 && {VENV_PYTHON} manage.py shell -c '{_DJANGO_SEED}'"
        sh(DOCKER, "run", "--rm", "--user", "10001:10001", *mounts, *env, self.image, "sh", "-c", script)


HELLO = App("hello", APP_IMAGE, "hello.wsgi", "app")
DJANGO = App(
    "django",
    DJANGO_IMAGE,
    "mysite.wsgi",
    "django",
    env=DJANGO_ENV,
    claims={"django-data": "/var/lib/django/data", "django-media": "/var/lib/django/media"},
)
APPS = {a.name: a for a in (HELLO, DJANGO)}


# --- preparation -------------------------------------------------------------------------------


def prepare(app: App) -> None:
    """Engine, images and wrk; each step is a no-op when already done."""
    sh("bash", str(ROOT / "hack/docker/engine.sh"), capture=False)
    sh("bash", str(ROOT / "hack/docker/build-images.sh"), "runtime", app.build_target, capture=False)
    build_servers_image(app)
    if not shutil.which("wrk"):
        log("installing wrk from Debian")
        if sh("apt-get", "install", "-y", "-qq", "wrk", check=False).returncode != 0:
            sh("apt-get", "update", "-qq")
            sh("apt-get", "install", "-y", "-qq", "wrk")


def build_servers_image(app: App) -> None:
    """gunicorn and granian in the app image's venv; rebuilt only when its inputs change."""
    app_id = sh(DOCKER, "image", "inspect", "-f", "{{.Id}}", app.image).stdout.strip()
    digest = hashlib.sha256(app_id.encode())
    for path in sorted(SERVERS_CONTEXT.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    want = digest.hexdigest()
    label_format = f'{{{{ index .Config.Labels "{INPUTS_LABEL}" }}}}'
    have = sh(DOCKER, "image", "inspect", "-f", label_format, app.servers_image, check=False).stdout.strip()
    if have == want:
        return
    log(f"building {app.servers_image}")
    secret = ["--secret", f"id=pipca,src={PIP_CA}"] if PIP_CA.is_file() else []
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    # Titles of the app image would otherwise be inherited by the bench image.
    title = f"org.opencontainers.image.title=wsgi-{app.name}-servers"
    labels = ["--label", f"{INPUTS_LABEL}={want}", "--label", title]
    build = [DOCKER, "build", "-q", *secret, *labels, "--build-arg", f"APP_IMAGE={app.image}"]
    subprocess.run(
        [*build, "-t", app.servers_image, str(SERVERS_CONTEXT)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


# --- servers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """What every server container of one benchmark run shares."""

    label: str  # LABEL=<run id>: how the run finds and removes its containers
    limits: dict[str, str]  # the Kubernetes resource limits (cpu, memory)
    limit_flags: list[str]  # the same as docker options, as translate() renders them
    workdir: Path  # ConfigMap files of the rendered servers, the claims' seed and copies
    app: App

    @property
    def common(self) -> list[str]:
        return ["--label", self.label, *self.limit_flags]

    publish = ("--publish", f"127.0.0.1::{PORT}")

    def claim_dirs(self) -> dict[str, Path]:
        """A fresh copy of the seeded claims for one server: no server sees another's writes."""
        copies = {}
        for claim in self.app.claims:
            dest = self.workdir / uuid.uuid4().hex[:8] / claim
            shutil.copytree(self.workdir / "seed" / claim, dest)
            for path in (dest, *dest.rglob("*")):
                os.chown(path, 10001, 10001)
            copies[claim] = dest
        return copies

    def app_container(self, image: str, *options: str) -> list[str]:
        """``docker run [options] image``, for a server the renderer did not make:
        the shared limits and shape, the app's env and a copy of its claims."""
        mounts = []
        for claim, source in self.claim_dirs().items():
            mounts += ["--mount", f"type=bind,source={source},target={self.app.claims[claim]}"]
        env = [f"--env={k}={v}" for k, v in self.app.env.items()]
        shape = [*self.common, *_HARDENED_SHAPE, *env, *mounts, *self.publish]
        return [DOCKER, "run", "--detach", *shape, *options, image]


@dataclass
class Server:
    """One configuration to measure: how to start it, and what it is."""

    name: str
    note: str
    argv: Callable[[Launch], list[str]]  # -> the docker run argv
    container: str = ""
    samples: list[dict[str, float]] = field(default_factory=list)
    #: With --profile: what the profiler saw, per role, summed over the runs.
    profile: dict[str, profiling.RoleProfile] = field(default_factory=dict)


def express_defaults(
    processes: int = 2, threads: int = 8, extra: tuple[str, ...] = ()
) -> Callable[[Launch], list[str]]:
    """mod_wsgi-express with its default flags (and what the image makes necessary)."""

    def argv(launch: Launch) -> list[str]:
        return [
            # The image's /tmp is not writable, so the server root must be named.
            *launch.app_container(launch.app.image, "--tmpfs", "/var/run/wsgi:exec,mode=0700,uid=10001,gid=10001"),
            "mod_wsgi-express",
            "start-server",
            "--application-type",
            "module",
            launch.app.module,
            "--server-root",
            "/var/run/wsgi/server",
            "--working-directory",
            "/app",
            "--python-path",
            "/app",
            "--port",
            str(PORT),
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            *extra,
        ]

    return argv


def hardened(spec_patch: dict[str, Any] | None = None, extra: tuple[str, ...] = ()) -> Callable[[Launch], list[str]]:
    """The renderer's output for the app's WsgiApp (the runtime tests' base one for
    hello, examples/django.yaml for Django) + ``spec_patch`` and the run's resource
    limits, translated exactly as the runtime tests do; ``extra`` express flags the
    renderer does not produce are appended to the container command."""

    def argv(launch: Launch) -> list[str]:
        patch = deep_merge(spec_patch or {}, {"resources": {"limits": launch.limits}})
        objects = render(validate(launch.app.manifest(patch)))
        for obj in objects:
            if obj["kind"] == "Deployment":
                c = obj["spec"]["template"]["spec"]["containers"][0]
                c["command"] = [*c["command"], *extra]
        key, _, value = launch.label.partition("=")
        host_dir = launch.workdir / uuid.uuid4().hex[:8]
        run = translate(objects, host_dir, labels={key: value}, claims=launch.claim_dirs())
        run.write_files()
        return run.argv

    return argv


def gunicorn(workers: int = 2, threads: int = 8, extra: tuple[str, ...] = ()) -> Callable[[Launch], list[str]]:
    """gunicorn gthread serving the same module from the same venv."""

    def argv(launch: Launch) -> list[str]:
        return [
            *launch.app_container(launch.app.servers_image),
            "gunicorn",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"0.0.0.0:{PORT}",
            "--worker-tmp-dir",
            "/dev/shm",
            "--chdir",
            "/app",
            *extra,
            f"{launch.app.module}:application",
        ]

    return argv


def granian(workers: int = 2, threads: int = 8) -> Callable[[Launch], list[str]]:
    """granian's WSGI interface: Rust HTTP workers, the app on ``threads`` blocking
    threads per worker process, from the same venv."""

    def argv(launch: Launch) -> list[str]:
        return [
            *launch.app_container(launch.app.servers_image),
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--working-dir",
            "/app",
            f"{launch.app.module}:application",
        ]

    return argv


def suites() -> dict[str, list[Server]]:
    main = [
        Server("express-defaults", "mod_wsgi-express defaults, 2x8", express_defaults()),
        Server("hardened", "rendered defaults (2x8, keepAlive 2)", hardened()),
        Server("gunicorn", "gunicorn gthread 2x8", gunicorn()),
        Server("granian", "granian WSGI 2 workers x 8 blocking threads", granian()),
    ]
    explore = [
        Server("hardened-1x16", "processes 1, threads 16", hardened({"server": {"processes": 1, "threads": 16}})),
        Server("hardened-4x4", "processes 4, threads 4", hardened({"server": {"processes": 4, "threads": 4}})),
        Server("hardened-2x4", "processes 2, threads 4", hardened({"server": {"processes": 2, "threads": 4}})),
        Server("hardened-1x8", "processes 1, threads 8", hardened({"server": {"processes": 1, "threads": 8}})),
        Server("hardened-ka0", "keepAlive 0 (KeepAlive Off)", hardened({"timeouts": {"keepAlive": 0}})),
        Server("hardened-ka15", "keepAlive 15", hardened({"timeouts": {"keepAlive": 15}})),
        Server("hardened-worker", "+ --server-mpm worker", hardened(extra=("--server-mpm", "worker"))),
        Server(
            "express-worker",
            "express defaults + --server-mpm worker",
            express_defaults(extra=("--server-mpm", "worker")),
        ),
        Server("hardened-prefork", "+ --server-mpm prefork", hardened(extra=("--server-mpm", "prefork"))),
        Server("hardened-maxclients64", "+ --max-clients 64", hardened(extra=("--max-clients", "64"))),
        Server("hardened-embedded", "+ --embedded-mode (NOT safe: no daemon)", hardened(extra=("--embedded-mode",))),
        Server("gunicorn-1x16", "gunicorn gthread 1x16", gunicorn(1, 16)),
        Server("gunicorn-4x4", "gunicorn gthread 4x4", gunicorn(4, 4)),
    ]
    # The daemon hop's own settings, the knobs the explore suite above did not try.
    knobs = [
        Server("hardened-maxclients64", "+ --max-clients 64", hardened(extra=("--max-clients", "64"))),
        Server("hardened-sendfile", "+ --enable-sendfile", hardened(extra=("--enable-sendfile",))),
        Server("hardened-flush0", "+ --response-flush-delay 0", hardened(extra=("--response-flush-delay", "0"))),
        Server(
            "hardened-respbuf64k", "+ --response-buffer-size 65536", hardened(extra=("--response-buffer-size", "65536"))
        ),
        Server("hardened-hdrbuf8k", "+ --header-buffer-size 8192", hardened(extra=("--header-buffer-size", "8192"))),
        Server(
            "hardened-sockbuf256k",
            "+ --send-buffer-size/--receive-buffer-size 262144",
            hardened(extra=("--send-buffer-size", "262144", "--receive-buffer-size", "262144")),
        ),
        Server(
            "hardened-backlog",
            "+ --server-backlog 1024 --daemon-backlog 1024",
            hardened(extra=("--server-backlog", "1024", "--daemon-backlog", "1024")),
        ),
        # Both values explicit, so the pair does not depend on the renderer's default.
        Server(
            "hardened-queue0",
            "timeouts.queue 0 (no --queue-timeout: no 200 Continue round trip)",
            hardened({"timeouts": {"queue": 0}}),
        ),
        Server("hardened-queue45", "timeouts.queue 45 (express's default)", hardened({"timeouts": {"queue": 45}})),
        Server(
            "hardened-queue0-mc64",
            "timeouts.queue 0 + --max-clients 64",
            hardened({"timeouts": {"queue": 0}}, extra=("--max-clients", "64")),
        ),
        Server("hardened-switch1ms", "+ --switch-interval 0.001", hardened(extra=("--switch-interval", "0.001"))),
        Server("hardened-accesslog", "+ --access-log (to the terminal)", hardened({"logging": {"accessLog": True}})),
        Server("hardened-1x16", "processes 1, threads 16", hardened({"server": {"processes": 1, "threads": 16}})),
    ]
    return {"main": main, "explore": main + explore, "knobs": main + knobs}


# --- measuring ---------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> dict[str, float]:
    """req/s, p50/p99 (ms), requests, errors and non-2xx count from ``wrk --latency``."""
    result: dict[str, float] = {"errors": 0.0, "non2xx": 0.0}
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(words[1])
        elif len(words) == 2 and words[0] in ("50%", "99%"):
            result["p" + words[0].rstrip("%")] = _ms(words[1])
        elif "requests in" in line:
            result["requests"] = float(words[0])
        elif line.strip().startswith("Socket errors:"):
            result["errors"] = float(sum(int(n) for n in re.findall(r"\d+", line)))
        elif line.strip().startswith("Non-2xx"):
            result["non2xx"] = float(words[-1])
    missing = {"rps", "p99", "requests"} - result.keys()
    if missing:
        raise ValueError(f"wrk output lacks {missing}:\n{out}")
    return result


def cpu_seconds(container: str) -> float | None:
    """CPU time the container used so far (cgroup v1 cpuacct, or v2 cpu.stat)."""
    for path in (
        Path(f"/sys/fs/cgroup/cpuacct/docker/{container}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container}.scope/cpu.stat"),
    ):
        if path.is_file():
            text = path.read_text()
            if path.name == "cpu.stat":
                usec = re.search(r"usage_usec (\d+)", text)
                return int(usec.group(1)) / 1e6 if usec else None
            return int(text) / 1e9
    return None


def wait_serving(server: Server, via: str, host_port: int, timeout: float = 60) -> None:
    """Poll until ``GET /`` answers, the same way (netns or proxy) wrk will connect."""
    probe = load_command(server, via, host_port, probe=True)
    try:
        wait_for(f"{server.name} to serve", lambda: sh(*probe, check=False).returncode == 0, timeout, interval=0.2)
    except WaitTimeout as err:
        logs = sh(DOCKER, "logs", server.container, check=False)
        raise RuntimeError(f"{err}\n{logs.stdout}{logs.stderr}") from None


def _pid(container: str) -> int:
    return int(sh(DOCKER, "inspect", "-f", "{{.State.Pid}}", container).stdout)


def load_command(server: Server, via: str, host_port: int, probe: bool = False, **wrk: Any) -> list[str]:
    """The wrk (or probe) command line, in the container's netns or through the proxy."""
    if via == "netns":
        prefix = ["nsenter", f"--net=/proc/{_pid(server.container)}/ns/net"]
        url = f"http://127.0.0.1:{PORT}/"
    else:
        prefix, url = [], f"http://127.0.0.1:{host_port}/"
    if probe:
        return [*prefix, sys.executable, "-c", f"import urllib.request as u; u.urlopen({url!r}, timeout=2).read()"]
    return [
        *prefix,
        "wrk",
        f"-t{wrk['threads']}",
        f"-c{wrk['connections']}",
        f"-d{wrk['duration']}s",
        "--latency",
        url,
    ]


def measure(
    server: Server,
    via: str,
    host_port: int,
    duration: int,
    threads: int,
    connections: int,
    profiler: profiling.Profiler | None = None,
) -> None:
    """One wrk run against ``server`` (with ``profiler`` attached to its processes)."""
    if profiler:
        pids = sh(DOCKER, "top", server.container, "-o", "pid").stdout.split()[1:]
        profiler.start(profiling.processes_by_role([int(p) for p in pids]))
    before = cpu_seconds(server.container)
    cmd = load_command(server, via, host_port, threads=threads, connections=connections, duration=duration)
    out = sh(*cmd, timeout=duration + 60).stdout
    after = cpu_seconds(server.container)
    if profiler:
        profiling.merge(server.profile, profiler.stop())
    sample = parse_wrk(out)
    if before is not None and after is not None and sample["requests"]:
        sample["cpu_ms_per_1k"] = (after - before) * 1e6 / sample["requests"]
    server.samples.append(sample)


def median(server: Server, key: str) -> float:
    values = [s[key] for s in server.samples if key in s]
    return statistics.median(values) if values else float("nan")


def paired(server: Server, base: Server, key: str) -> list[float]:
    """Per-round ratios server/base of ``key``. Each round measures every server
    once, back to back, so a ratio compares two runs under nearly the same
    neighbour load: on a shared machine that is far steadier than a ratio of
    medians taken minutes apart."""
    return [
        a[key] / b[key] for a, b in zip(server.samples, base.samples, strict=False) if key in a and key in b and b[key]
    ]


def _pct(ratios: list[float]) -> str:
    if not ratios:
        return "n/a"
    return f"{statistics.median(ratios) * 100:.0f}% ({min(ratios) * 100:.0f}-{max(ratios) * 100:.0f})"


def report(servers: list[Server], markdown: bool, base_name: str = "express-defaults") -> str:
    """The results table: medians, and the paired per-round ratios to ``base_name``."""
    base = next((s for s in servers if s.name == base_name), servers[0])
    rows = []
    for s in servers:
        rps = [x["rps"] for x in s.samples]
        rows.append(
            [
                s.name,
                s.note,
                f"{median(s, 'rps'):,.0f}",
                f"{min(rps):,.0f}-{max(rps):,.0f}",
                _pct(paired(s, base, "rps")),
                f"{median(s, 'p50'):.1f}",
                f"{median(s, 'p99'):.1f}",
                f"{median(s, 'cpu_ms_per_1k'):.0f}",
                _pct(paired(s, base, "cpu_ms_per_1k")),
                f"{sum(x['errors'] for x in s.samples):.0f}/{sum(x['non2xx'] for x in s.samples):.0f}",
            ]
        )
    head = [
        "server",
        "configuration",
        "req/s median",
        "req/s range",
        f"req/s vs {base.name} (paired: median, range)",
        "p50 ms median",
        "p99 ms median",
        "CPU ms per 1k req",
        f"CPU/req vs {base.name} (paired)",
        "socket errors/non-2xx",
    ]
    return format_table(head, rows, markdown)


def profile_report(servers: list[Server], tool: str, markdown: bool) -> str:
    """Per server and role: CPU ms (perf) or syscalls (strace) per request, and where."""
    rows = []
    for s in servers:
        requests = sum(x["requests"] for x in s.samples)
        rows += profiling.report_rows(s.name, s.profile, requests)
    if tool == profiling.PERF:
        head = ["server", "role", "CPU ms per 1k req (perf)", "biggest shared objects, ms per 1k req"]
    elif tool == profiling.STAT:
        head = ["server", "role", "CPU ms per 1k req (perf stat)", "context switches per req"]
    else:
        head = ["server", "role", "syscalls per req", "most frequent, per req"]
    return format_table(head, rows, markdown)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", choices=sorted(APPS), default="hello", help="default hello")
    parser.add_argument("--suite", choices=("main", "explore", "knobs"), default="main")
    parser.add_argument("--base", default="express-defaults", help="the server the paired ratios compare with")
    parser.add_argument("--only", help="comma-separated server names to run (from the suite)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--cpus", default="1", help="CPU limit of every server container (default 1, the rendered)")
    parser.add_argument("--memory", default="512Mi", help="memory limit of every server container")
    parser.add_argument("--via", choices=("netns", "proxy"), default="netns")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    parser.add_argument(
        "--profile",
        choices=profiling.TOOLS,
        help="attach perf record, perf stat or strace -c to each server's processes during every measured run",
    )
    parser.add_argument("--profile-dir", type=Path, help="keep the profilers' data here (default: removed)")
    parser.add_argument("--skip-prepare", action="store_true", help="do not check the engine, images and wrk")
    args = parser.parse_args()
    if args.via == "netns" and os.geteuid() != 0:
        parser.error("--via netns needs root (nsenter); use --via proxy")

    app = APPS[args.app]
    if not args.skip_prepare:
        prepare(app)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="http-bench-"))
    servers = suites()[args.suite]
    if args.only:
        wanted = args.only.split(",")
        servers = [s for s in servers if s.name in wanted]

    # Every server gets the limits translate() derives from the spec's resources.
    limits = {"cpu": args.cpus, "memory": args.memory}
    rendered = translate(render(validate(HELLO.manifest({"resources": {"limits": limits}}))), workdir / "limits")
    limit_flags = []
    for flag in ("--cpus", "--memory", "--cpu-shares"):
        i = rendered.argv.index(flag)
        limit_flags += [flag, rendered.argv[i + 1]]
    launch = Launch(f"{LABEL}={run_id}", limits, limit_flags, workdir, app)
    profile_dir = args.profile_dir or workdir / "profile"

    ports: dict[str, int] = {}
    try:
        app.seed(workdir / "seed")
        for s in servers:
            s.container = sh(*s.argv(launch)).stdout.strip()
            out = sh(DOCKER, "port", s.container, f"{PORT}/tcp").stdout.split()[0]
            ports[s.name] = int(out.rpartition(":")[2])
            wait_serving(s, args.via, ports[s.name])
        log(f"{len(servers)} servers up; warming up")
        for s in servers:
            warm = {"threads": args.threads, "connections": args.connections, "duration": 2}
            sh(*load_command(s, args.via, ports[s.name], **warm))
        for r in range(args.rounds):
            # Rotate the order each round so no server always follows the same neighbour.
            order = servers[r % len(servers) :] + servers[: r % len(servers)]
            for s in order:
                profiler = profiling.Profiler(args.profile, profile_dir / s.name) if args.profile else None
                measure(s, args.via, ports[s.name], args.duration, args.threads, args.connections, profiler)
                log(f"round {r + 1}/{args.rounds} {s.name}: {s.samples[-1]['rps']:,.0f} req/s")
    finally:
        ids = sh(DOCKER, "ps", "-aq", "--filter", f"label={LABEL}={run_id}", check=False).stdout.split()
        if ids:
            sh(DOCKER, "rm", "--force", "--volumes", *ids, check=False)
        shutil.rmtree(workdir, ignore_errors=True)

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    print(
        f"# {app.name} ({app.module}): wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
        f"via {args.via}, "
        f"{args.rounds} interleaved rounds, every server --cpus {args.cpus} --memory {args.memory}; "
        f"host: {os.cpu_count()} CPUs ({cpu_model}), load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(report(servers, args.markdown, args.base))
    if args.profile:
        print()
        print(profile_report(servers, args.profile, args.markdown))
    if args.json:
        args.json.write_text(json.dumps({s.name: {"note": s.note, "samples": s.samples} for s in servers}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
