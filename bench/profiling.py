"""Where a server container spends its CPU: ``perf record``, ``perf stat`` or
``strace -c`` attached from the host to the container's processes while wrk runs.

Used by bench/http_bench.py (``--profile perf|stat|strace``). The processes are
grouped by role, one profiler per role, so that mod_wsgi's two halves (the
Apache child that holds the client connection and the daemon process that
runs Python) are measured apart:

  apache   the Apache parent and its children (``apache2 (mod_wsgi-express)``)
  daemon   mod_wsgi's daemon processes (``(wsgi:<group>)``)
  server   every process of any other server (gunicorn, granian)

perf record samples the CPU clock of each role (kernel and user space, with
the shared object each sample fell in); its event count is CPU time, so it
divides into CPU per request. perf stat counts CPU time and context switches
(one thread going to sleep or being preempted so another runs) without
sampling, so it barely slows the server. strace counts system calls per
request; it slows the server down many times, so only its counts mean anything.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PERF = "perf"
STAT = "stat"
STRACE = "strace"
TOOLS = (PERF, STAT, STRACE)


def role(pid: int) -> str:
    """Which part of the server process ``pid`` is, from its command line."""
    argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
    if argv0.startswith("(wsgi:"):
        return "daemon"
    if argv0.startswith(("apache2", "httpd", "/usr/sbin/apache2")):
        return "apache"
    return "server"


def processes_by_role(host_pids: list[int]) -> dict[str, list[int]]:
    """The container's processes (host pids) grouped by :func:`role`."""
    groups: dict[str, list[int]] = {}
    for pid in host_pids:
        try:
            groups.setdefault(role(pid), []).append(pid)
        except FileNotFoundError:  # exited since it was listed
            continue
    return groups


@dataclass
class RoleProfile:
    """What one profiler saw of one role during one wrk run."""

    cpu_ns: float = 0.0  # perf record: the cpu-clock event count; perf stat: task-clock
    switches: float = 0.0  # perf stat: context switches
    by_dso: Counter[str] = field(default_factory=Counter)  # perf: ns per shared object
    syscalls: Counter[str] = field(default_factory=Counter)  # strace: calls per syscall


@dataclass
class Profiler:
    """One profiler process per role, writing into ``outdir``."""

    tool: str  # one of TOOLS
    outdir: Path
    procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = field(default_factory=dict)

    def start(self, groups: dict[str, list[int]]) -> None:
        """Attach to every process of every role (their threads too, and threads they start)."""
        self.outdir.mkdir(parents=True, exist_ok=True)
        for name, pids in groups.items():
            out = self.outdir / f"{name}.{self.tool}"
            if self.tool == PERF:
                # -g: call graphs for `perf report` by hand; cpu-clock works in a VM without PMU.
                cmd = [PERF, "record", "-q", "-e", "cpu-clock", "-g", "-o", str(out), "-p", ",".join(map(str, pids))]
            elif self.tool == STAT:
                events = "task-clock,context-switches"
                cmd = [PERF, "stat", "-x", ",", "-e", events, "-o", str(out), "-p", ",".join(map(str, pids))]
            else:
                cmd = [STRACE, "-c", "-f", "-o", str(out)]
                for pid in pids:
                    cmd += ["-p", str(pid)]
            self.procs[name] = (subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out)

    def stop(self) -> dict[str, RoleProfile]:
        """Detach (SIGINT: both tools then write their data) and summarize each role."""
        for proc, _ in self.procs.values():
            proc.send_signal(signal.SIGINT)
        result = {}
        for name, (proc, out) in self.procs.items():
            _, err = proc.communicate(timeout=300)
            if not out.is_file():
                raise RuntimeError(f"{self.tool} for {name} wrote nothing: {err.decode(errors='replace')}")
            summary = {PERF: perf_summary, STAT: stat_summary, STRACE: strace_summary}[self.tool]
            result[name] = summary(out)
        self.procs.clear()
        return result


_PERF_ROW = re.compile(r"^\s*([0-9.]+)%\s+(\S.*?)\s*$")


def perf_summary(data: Path) -> RoleProfile:
    """CPU time and its split by shared object, from ``perf report``."""
    out = subprocess.run(
        [PERF, "report", "-i", str(data), "--stdio", "--no-children", "--sort", "dso", "-g", "none"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    profile = RoleProfile()
    shares: list[tuple[str, float]] = []
    for line in out.splitlines():
        if line.startswith("# Event count (approx.):"):
            profile.cpu_ns = float(line.rsplit(":", 1)[1])
        elif not line.startswith("#") and (m := _PERF_ROW.match(line)):
            shares.append((m.group(2), float(m.group(1))))
    for dso, pct in shares:
        profile.by_dso[dso] += profile.cpu_ns * pct / 100
    return profile


def stat_summary(out: Path) -> RoleProfile:
    """CPU time and context switches, from ``perf stat -x,``'s CSV (value,unit,event,...)."""
    profile = RoleProfile()
    for line in out.read_text().splitlines():
        fields = line.split(",")
        if len(fields) < 3 or line.startswith("#") or not re.fullmatch(r"[0-9.]+", fields[0]):
            continue
        if fields[2].startswith("task-clock"):
            # msec
            profile.cpu_ns += float(fields[0]) * 1e6
        elif fields[2].startswith("context-switches"):
            profile.switches += float(fields[0])
    return profile


def strace_summary(out: Path) -> RoleProfile:
    """Calls per syscall, from ``strace -c``'s table."""
    profile = RoleProfile()
    for line in out.read_text().splitlines():
        words = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(words) >= 5 and re.fullmatch(r"[0-9.]+", words[0]) and words[-1] != "total":
            profile.syscalls[words[-1]] += int(words[3])
    return profile


def merge(into: dict[str, RoleProfile], new: dict[str, RoleProfile]) -> None:
    """Add one run's profiles to the totals of earlier runs."""
    for name, prof in new.items():
        total = into.setdefault(name, RoleProfile())
        total.cpu_ns += prof.cpu_ns
        total.switches += prof.switches
        total.by_dso.update(prof.by_dso)
        total.syscalls.update(prof.syscalls)


def _short(dso: str) -> str:
    return dso.replace(".so", "").split(".cpython")[0].strip("[]")


def report_rows(server: str, profiles: dict[str, RoleProfile], requests: float, top: int = 6) -> list[list[str]]:
    """Rows per role: CPU (perf record), CPU and context switches (perf stat) or
    syscalls (strace) per request, and the biggest items."""
    rows = []
    for name, prof in sorted(profiles.items()):
        if prof.switches:
            per_1k = prof.cpu_ns / 1e6 / requests * 1000
            rows.append([server, name, f"{per_1k:.0f}", f"{prof.switches / requests:.1f}"])
        elif prof.cpu_ns:
            per_1k = prof.cpu_ns / 1e6 / requests * 1000  # ms per 1,000 requests
            items = ", ".join(
                f"{_short(dso)} {ns / 1e6 / requests * 1000:.0f}" for dso, ns in prof.by_dso.most_common(top)
            )
            rows.append([server, name, f"{per_1k:.0f}", items])
        else:
            calls = sum(prof.syscalls.values())
            items = ", ".join(f"{sc} {n / requests:.1f}" for sc, n in prof.syscalls.most_common(top))
            rows.append([server, name, f"{calls / requests:.1f}", items])
    return rows
