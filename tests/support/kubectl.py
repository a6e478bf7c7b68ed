"""kubectl for the tiers that talk to a cluster (tests/cluster, tests/e2e): the cached v1.35 binary, one kubeconfig."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SH = REPO_ROOT / "hack" / "k8s" / "cluster.sh"
#: The generated CRD of WsgiApp.
CRD = REPO_ROOT / "crds" / "wsgiapps.wsgi-operator.io.yaml"
CRD_NAME = "wsgiapps.wsgi-operator.io"


def cluster_sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``hack/k8s/cluster.sh ARGS``; its progress on stderr goes to the terminal."""
    return subprocess.run([str(CLUSTER_SH), *args], check=check, text=True, stdout=subprocess.PIPE)


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call whose message carries kubectl's stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr:\n{self.stderr}"


@dataclass(frozen=True)
class Kubectl:
    """Runs the cached kubectl (never the one on PATH) against one kubeconfig."""

    binary: Path
    kubeconfig: Path

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl ARGS`` and capture its output as text.

        With ``check`` (the default) a non-zero exit raises ``KubectlError``,
        whose message includes kubectl's stderr; pass ``check=False`` to assert
        on a failure (say, an admission rejection) yourself.
        """
        cmd = [str(self.binary), f"--kubeconfig={self.kubeconfig}", *args]
        proc = subprocess.run(cmd, input=input, text=True, capture_output=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise KubectlError(proc.returncode, cmd, proc.stdout, proc.stderr)
        return proc


def install_crd(kubectl: Kubectl, timeout: float = 60) -> None:
    """Apply the generated WsgiApp CRD (server-side) and wait until it is Established.

    Polled, not ``kubectl wait --for=condition=Established``: that fails at once
    (".status.conditions accessor error: <nil>") when it reads a CRD created a
    moment ago, whose conditions are still null, which is every fresh cluster.
    """
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))

    def established() -> bool:
        crd = json.loads(kubectl("get", f"crd/{CRD_NAME}", "-o", "json").stdout)
        conditions = (crd.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    wait_for(f"CRD {CRD_NAME} to be Established", established, timeout)
