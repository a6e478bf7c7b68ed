"""The Pod Security Standards "restricted" profile, as a pure function over a pod template.

A transcription of the checks of k8s.io/pod-security-admission (policy/,
v0.35) at version "latest" (1.35): every baseline check, with the restricted
checks that override some of them. ``wsgi-operator validate`` runs it on the
pods the renderer makes (the server's Deployment and the release Job), so a
spec that slipped something past the API rules, or a renderer change, cannot
produce a pod that a ``restricted`` namespace would refuse. No I/O, no
Kubernetes client: a dict in, a list of violations out.

Each violation names its check (the upstream check ID) and the field of the
pod template that breaks it (``spec.containers[0].securityContext.privileged``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Capabilities baseline allows to add (restricted allows only NET_BIND_SERVICE).
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
#: The "safe" sysctls of baseline (1.32+).
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
#: SELinux types baseline allows (1.31+); user and role must stay unset.
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
#: Inline volume sources restricted allows (image since 1.33).
RESTRICTED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
_APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class Violation:
    """One broken check: its upstream ID, the offending field of the pod template, and what is wrong."""

    check: str
    field: str
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: {self.detail} ({self.check})"


def _containers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in _CONTAINER_KINDS:
        for i, c in enumerate(spec.get(kind) or []):
            yield f"spec.{kind}[{i}]", c


def restricted_violations(template: dict[str, Any]) -> list[Violation]:
    """Every violation of Pod Security "restricted" (which includes "baseline") by a pod
    template or pod (``{"metadata": ..., "spec": ...}``); empty when it complies."""
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    psc = spec.get("securityContext") or {}
    windows = (spec.get("os") or {}).get("name") == "windows"
    # hostUsers: false (a user namespace) relaxes runAsNonRoot, runAsUser and
    # baseline's procMount check (1.35); restricted's procMount check stays.
    user_namespace = spec.get("hostUsers") is False
    out: list[Violation] = []

    def bad(check: str, field: str, detail: str) -> None:
        out.append(Violation(check, field, detail))

    # --- baseline -------------------------------------------------------------------------------
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            bad("hostNamespaces", f"spec.{key}", "must not share the host's namespace")
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        bad("windowsHostProcess", "spec.securityContext.windowsOptions.hostProcess", "must not be true")
    for sysctl in psc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            bad("sysctls", "spec.securityContext.sysctls", f"forbidden sysctl {sysctl.get('name')!r}")
    for key, value in sorted((meta.get("annotations") or {}).items()):
        if key.startswith(_APPARMOR_ANNOTATION) and not (
            value == "" or value == "runtime/default" or value.startswith("localhost/")
        ):
            bad(
                "appArmorProfile",
                f"metadata.annotations[{key}]",
                f"AppArmor profile {value!r}: only runtime/default or localhost/*",
            )

    def common(where: str, sc: dict[str, Any]) -> None:
        """The checks that apply alike to the pod's and each container's securityContext."""
        at = f"{where}.securityContext"
        apparmor = sc.get("appArmorProfile")
        if apparmor is not None and apparmor.get("type") not in _APPARMOR_TYPES:
            bad(
                "appArmorProfile",
                f"{at}.appArmorProfile.type",
                f"{apparmor.get('type')!r}: only RuntimeDefault or Localhost",
            )
        se = sc.get("seLinuxOptions")
        if se is not None:
            if se.get("type", "") not in SELINUX_TYPES:
                bad("seLinuxOptions", f"{at}.seLinuxOptions.type", f"type {se.get('type')!r} is not allowed")
            for key in ("user", "role"):
                if se.get(key):
                    bad("seLinuxOptions", f"{at}.seLinuxOptions.{key}", "must not be set")
        seccomp = sc.get("seccompProfile")
        if seccomp is not None and seccomp.get("type") not in _SECCOMP_TYPES and not windows:
            bad(
                "seccompProfile_restricted",
                f"{at}.seccompProfile.type",
                f"{seccomp.get('type')!r}: only RuntimeDefault or Localhost",
            )
        if not user_namespace:
            if sc.get("runAsUser") == 0:
                bad("runAsUser", f"{at}.runAsUser", "must not be 0 (root)")
            if sc.get("runAsNonRoot") is False:
                bad("runAsNonRoot", f"{at}.runAsNonRoot", "must not be false")

    common("spec", psc)
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type") in _SECCOMP_TYPES
    pod_non_root = psc.get("runAsNonRoot") is True

    for where, c in _containers(spec):
        sc = c.get("securityContext") or {}
        at = f"{where}.securityContext"
        common(where, sc)
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            bad("windowsHostProcess", f"{at}.windowsOptions.hostProcess", "must not be true")
        if sc.get("privileged"):
            bad("privileged", f"{at}.privileged", "must not be true")
        if sc.get("procMount") not in (None, "Default"):
            bad("procMount_restricted", f"{at}.procMount", f"{sc['procMount']!r}: only Default")
        for j, port in enumerate(c.get("ports") or []):
            if port.get("hostPort"):
                bad("hostPorts", f"{where}.ports[{j}].hostPort", f"{port['hostPort']}: host ports are forbidden")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            for handler in ("httpGet", "tcpSocket"):
                if ((c.get(probe) or {}).get(handler) or {}).get("host"):
                    bad("hostProbesAndHostLifecycle", f"{where}.{probe}.{handler}.host", "must not be set")
        for hook in ("postStart", "preStop"):
            for handler in ("httpGet", "tcpSocket"):
                if (((c.get("lifecycle") or {}).get(hook) or {}).get(handler) or {}).get("host"):
                    bad("hostProbesAndHostLifecycle", f"{where}.lifecycle.{hook}.{handler}.host", "must not be set")

        # --- restricted ---------------------------------------------------------------------------
        if not windows:
            if sc.get("allowPrivilegeEscalation") is not False:
                bad("allowPrivilegeEscalation", f"{at}.allowPrivilegeEscalation", "must be false")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                bad("capabilities_restricted", f"{at}.capabilities.drop", 'must include "ALL"')
            added = sorted(set(caps.get("add") or []) - {"NET_BIND_SERVICE"})
            if added:
                bad("capabilities_restricted", f"{at}.capabilities.add", f"{added}: only NET_BIND_SERVICE may be added")
            if sc.get("seccompProfile") is None and not pod_seccomp:
                bad(
                    "seccompProfile_restricted",
                    f"{at}.seccompProfile.type",
                    "pod or container must set RuntimeDefault or Localhost",
                )
        if not user_namespace and "runAsNonRoot" not in sc and not pod_non_root:
            bad("runAsNonRoot", f"{at}.runAsNonRoot", "pod or container must set runAsNonRoot: true")

    for i, vol in enumerate(spec.get("volumes") or []):
        sources = set(vol) - {"name"}
        types = sorted(sources - RESTRICTED_VOLUME_TYPES) or ([] if sources else ["unknown"])
        if types:
            bad("restrictedVolumes", f"spec.volumes[{i}]", f"volume {vol.get('name')!r} of type {', '.join(types)}")
    return out
