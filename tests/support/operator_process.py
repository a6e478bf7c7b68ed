"""`wsgi-operator run` as a subprocess: for tests that SIGKILL it or give it other credentials, and for bench/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from support.waiting import free_port, wait_for

#: The venv's console script, so the process runs the code under test.
WSGI_OPERATOR = Path(sys.executable).parent / "wsgi-operator"


class OperatorExited(RuntimeError):
    """The operator process ended while it was expected to run."""


@dataclass
class OperatorProcess:
    """One ``wsgi-operator run --namespace NS`` with its liveness and metrics endpoints on 127.0.0.1."""

    namespace: str
    kubeconfig: Path
    log_path: Path
    extra_args: tuple[str, ...] = ()
    health_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait for its liveness endpoint."""
        cmd = [
            str(WSGI_OPERATOR),
            "run",
            f"--namespace={self.namespace}",
            f"--kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--health-port={self.health_port}",
            f"--metrics-port={self.metrics_port}",
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(f"the operator's /healthz (log: {self.log_path})", self.healthy, 60)

    def healthy(self) -> bool:
        """True when /healthz answers 200; raises OperatorExited if the process died."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise OperatorExited(f"wsgi-operator exited with {self.proc.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Sum of the samples of ``name`` matching ``labels`` on the operator's /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            sample, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in sample for k, v in (labels or {}).items()):
                total += float(value)
        return total

    def peak_rss_mib(self) -> float:
        """VmHWM: the most resident memory the process ever had."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful exit, as when a node dies."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit within 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        """Everything the operator printed so far."""
        return self.log_path.read_text(errors="replace")
