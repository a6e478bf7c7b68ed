"""Reproduce a rendered WsgiApp pod as one ``docker run``, and act on it like the kubelet.

The runtime tests must exercise what the operator deploys, not a hand-written
approximation of it. :func:`translate` is therefore the only place that turns
the renderer's objects (the Deployment's pod template, or the release Job's,
and the ConfigMaps they mount) into a container: the same command, user and
groups, read-only root, capabilities, no-new-privileges, emptyDirs (tmpfs
volumes at the same paths, owned the way fsGroup makes Kubernetes own them),
PersistentVolumeClaims (a host directory per claim, bind-mounted, its
ownership changed for fsGroup like the kubelet does), ConfigMap files
(bind-mounted read-only at the same paths, laid out like the kubelet's atomic
writer), env, resource limits, the image's stop signal and the pod's grace
period.

:func:`translate` (a Deployment's pod) and :func:`translate_job` (a Job's
pod, which runs to completion) are pure: they only compute a :class:`PodRun`.
Writing the ConfigMap files and preparing the claim directories
(:meth:`PodRun.write_files`), running Docker, the stop sequence
(:class:`KubeletStop`) and probes (:func:`run_probe`) are separate.

Anything in the pod spec that Docker cannot reproduce faithfully (env from
Secrets, PVCs without a host directory, image volumes, user namespaces,
privileged containers, ...) raises :class:`Unsupported` rather than being
silently dropped: a test that passes on a container laxer than the pod would
prove nothing.
"""

from __future__ import annotations

import http.client
import math
import os
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsgi_operator.api.cellibrary import quantity_value

#: Debian's client (20.10, BuildKit built in); the first docker on PATH is another one.
DOCKER = "/usr/bin/docker"
#: Every container started through this module carries this label (value: a
#: run id), so a test session can find and remove exactly its own containers.
LABEL = "io.wsgi-operator.test"
#: The kubelet never gives the stop signal less than this after a preStop hook.
MIN_GRACE_AFTER_PRESTOP = 2
#: Kubernetes' defaults for Probe fields the renderer may leave out.
PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
#: What the kubelet's atomic writer calls the timestamped directory behind ``..data``.
_ATOMIC_DIR = "..2000_01_01_00_00_00.000000000"


class Unsupported(ValueError):
    """The pod uses something a local ``docker run`` cannot reproduce faithfully."""


@dataclass(frozen=True)
class HostFile:
    """One entry of a ConfigMap volume on the host: a directory, a file or a symlink."""

    path: Path
    mode: int
    content: str | None = None
    link: str | None = None
    #: Group owner (fsGroup), applied only when the writer runs as root.
    gid: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.content is None and self.link is None


@dataclass(frozen=True)
class ClaimDir:
    """The host directory standing in for one PersistentVolumeClaim's volume."""

    claim_name: str
    path: Path
    #: The pod's fsGroup: the kubelet makes the volume group-owned by it.
    fs_group: int | None
    read_only: bool
    #: The pod's fsGroupChangePolicy (Kubernetes' default: Always).
    change_policy: str = "Always"


#: The kubelet's permission masks for fsGroup volumes (pkg/volume/volume_linux.go).
_RW_MASK = 0o660
_RO_MASK = 0o440
_EXEC_MASK = 0o110


def _needs_ownership_change(path: Path, fs_group: int, read_only: bool) -> bool:
    """The kubelet's requiresPermissionChange: the root of the volume is not yet
    group fsGroup, setgid and group read(-write)able (fsGroupChangePolicy OnRootMismatch)."""
    st = path.stat()
    mask = (_RO_MASK if read_only else _RW_MASK) | _EXEC_MASK
    return st.st_gid != fs_group or not st.st_mode & stat.S_ISGID or st.st_mode & mask != mask


def set_volume_ownership(claim: ClaimDir) -> None:
    """What the kubelet does to a volume that supports ownership management when
    the pod has an fsGroup (SetVolumeOwnership): every file and directory gets
    group fsGroup and group read-write (read with readOnly), directories also
    group execute and the setgid bit, so that what the pod creates there later
    is group-owned by fsGroup too. Symlinks are left alone."""
    if claim.fs_group is None:
        return
    gid = claim.fs_group
    if claim.change_policy == "OnRootMismatch" and not _needs_ownership_change(claim.path, gid, claim.read_only):
        return
    mask = _RO_MASK if claim.read_only else _RW_MASK

    def change(entry: Path) -> None:
        st = entry.lstat()
        if stat.S_ISLNK(st.st_mode):
            return
        extra = mask | _EXEC_MASK | stat.S_ISGID if stat.S_ISDIR(st.st_mode) else mask
        os.lchown(entry, -1, gid)
        os.chmod(entry, stat.S_IMODE(st.st_mode) | extra)

    # os.walk lists symlinks to directories among dirs but does not descend into them.
    for root, _dirs, files in os.walk(claim.path):
        change(Path(root))
        for name in files:
            change(Path(root) / name)


@dataclass(frozen=True)
class PodRun:
    """Everything needed to run the pod's app container locally, and to act on it later."""

    argv: list[str]
    files: tuple[HostFile, ...]
    #: The (only) container of the pod template and the pod spec around it.
    container: dict[str, Any]
    pod_spec: dict[str, Any]
    #: The published container port; None for a Job's pod, which serves nothing.
    container_port: int | None
    grace_seconds: int
    env: dict[str, str] = field(default_factory=dict)
    #: The host directories standing in for the pod's PersistentVolumeClaims.
    claims: tuple[ClaimDir, ...] = ()
    #: A Job's activeDeadlineSeconds (None: no deadline, or not a Job).
    deadline_seconds: int | None = None

    def write_files(self) -> None:
        """Create the ConfigMap volumes on the host (parents first, as listed) and
        give the claim directories the ownership the kubelet gives a volume."""
        as_root = os.geteuid() == 0
        for claim in self.claims:
            if not claim.path.is_dir():
                raise Unsupported(f"PVC {claim.claim_name}: host directory {claim.path} does not exist")
            if as_root:
                set_volume_ownership(claim)
        for f in self.files:
            if f.is_dir:
                f.path.mkdir(parents=True, exist_ok=True)
                os.chmod(f.path, f.mode)
            elif f.link is not None:
                if f.path.is_symlink():
                    f.path.unlink()
                f.path.symlink_to(f.link)
            else:
                f.path.write_text(f.content or "")
                os.chmod(f.path, f.mode)
            if as_root and f.gid is not None:
                os.lchown(f.path, 0, f.gid)

    def port(self, name_or_number: int | str) -> int:
        """Resolve a probe's ``port`` (a number or the name of a container port)."""
        if isinstance(name_or_number, int):
            return name_or_number
        if name_or_number.isdigit():
            return int(name_or_number)
        for p in self.container.get("ports", []):
            if p.get("name") == name_or_number:
                return int(p["containerPort"])
        raise Unsupported(f"no container port named {name_or_number!r}")


def quantity_bytes(text: str) -> int:
    """Bytes (or cores) a Kubernetes quantity stands for, rounded up ("64Mi" -> 67108864)."""
    try:
        return math.ceil(quantity_value(str(text)))
    except ValueError as err:
        raise Unsupported(str(err)) from None


def _cpus(text: str) -> str:
    """A CPU quantity as ``docker --cpus`` wants it ("500m" -> "0.5")."""
    try:
        return f"{quantity_value(str(text)):g}"
    except ValueError as err:
        raise Unsupported(str(err)) from None


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion of command and args (k8s.io/kubernetes
    third_party/forked/golang/expansion): ``$(NAME)`` becomes the value of a
    defined env var and stays as written otherwise; ``$$`` is an escaped ``$``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "$" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2 : end]
            out.append(env.get(name, f"$({name})"))
            i = end + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def _one(objects: Iterable[Mapping[str, Any]], kind: str) -> dict[str, Any]:
    found = [dict(o) for o in objects if o.get("kind") == kind]
    if len(found) != 1:
        raise Unsupported(f"expected exactly one {kind} among the rendered objects, found {len(found)}")
    return found[0]


def _config_maps(objects: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: dict(o) for o in objects if o.get("kind") == "ConfigMap"}


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's literal env, in order; later entries may refer to earlier ones."""
    if container.get("envFrom"):
        raise Unsupported("envFrom needs the referenced ConfigMap/Secret, which a local run does not have")
    env: dict[str, str] = {}
    for e in container.get("env", []):
        if "valueFrom" in e:
            raise Unsupported(f"env {e['name']}: valueFrom cannot be resolved locally")
        env[e["name"]] = expand(str(e.get("value", "")), env)
    return env


def _configmap_files(
    host_dir: Path, volume: Mapping[str, Any], cm: Mapping[str, Any], gid: int | None
) -> list[HostFile]:
    """The kubelet's atomic-writer layout: ``..<ts>/key`` files, ``..data -> ..<ts>``,
    and one ``key -> ..data/key`` symlink per key, all under the volume's directory."""
    src = volume["configMap"]
    default_mode = int(src.get("defaultMode", 0o644))
    data = dict(cm.get("data") or {})
    if cm.get("binaryData"):
        raise Unsupported(f"ConfigMap {cm['metadata']['name']}: binaryData is not supported")
    items = src.get("items")
    entries = (
        [(it["path"], data[it["key"]], int(it.get("mode", default_mode))) for it in items]
        if items
        else [(key, value, default_mode) for key, value in sorted(data.items())]
    )
    root = host_dir / "volumes" / volume["name"]
    files = [HostFile(root, 0o755, gid=gid), HostFile(root / _ATOMIC_DIR, 0o755, gid=gid)]
    tops: set[str] = set()
    for rel, content, mode in entries:
        if rel.startswith("/") or ".." in rel.split("/"):
            raise Unsupported(f"ConfigMap item path {rel!r} escapes the volume")
        parts = rel.split("/")
        for i in range(1, len(parts)):
            files.append(HostFile(root / _ATOMIC_DIR / "/".join(parts[:i]), 0o755, gid=gid))
        files.append(HostFile(root / _ATOMIC_DIR / rel, mode, content=content, gid=gid))
        tops.add(parts[0])
    files.append(HostFile(root / "..data", 0o777, link=_ATOMIC_DIR))
    files += [HostFile(root / top, 0o777, link=f"..data/{top}") for top in sorted(tops)]
    return files


def _security(pod_sc: Mapping[str, Any], sc: Mapping[str, Any]) -> list[str]:
    """docker run options for the merged pod and container securityContexts."""
    if sc.get("privileged"):
        raise Unsupported("privileged containers are not reproduced")
    merged = {**pod_sc, **sc}
    uid = merged.get("runAsUser")
    gid = merged.get("runAsGroup")
    if uid is None:
        raise Unsupported("runAsUser is not set: the image's USER would decide, as it does here")
    # The kubelet refuses to start a runAsNonRoot container as UID 0.
    if merged.get("runAsNonRoot") and int(uid) == 0:
        raise Unsupported("runAsNonRoot with runAsUser 0 would not start")
    opts = ["--user", f"{uid}:{gid}" if gid is not None else str(uid)]
    # fsGroup and supplementalGroups are supplementary groups of every process.
    groups: list[int] = []
    if pod_sc.get("fsGroup") is not None:
        groups.append(int(pod_sc["fsGroup"]))
    groups += [int(g) for g in pod_sc.get("supplementalGroups", [])]
    for g in dict.fromkeys(groups):
        opts += ["--group-add", str(g)]
    if merged.get("readOnlyRootFilesystem"):
        opts.append("--read-only")
    caps = merged.get("capabilities") or {}
    for cap in caps.get("drop", []):
        opts += ["--cap-drop", cap]
    for cap in caps.get("add", []):
        opts += ["--cap-add", cap]
    # Kubernetes' default (unset) is allowPrivilegeEscalation true; only false sets the bit.
    if merged.get("allowPrivilegeEscalation") is False:
        opts += ["--security-opt", "no-new-privileges"]
    seccomp = (merged.get("seccompProfile") or {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        opts += ["--security-opt", "seccomp=unconfined"]
    elif seccomp != "RuntimeDefault":
        # RuntimeDefault is Docker's default profile: nothing to pass.
        raise Unsupported(f"seccompProfile {seccomp} is not reproduced")
    if merged.get("appArmorProfile") or merged.get("seLinuxOptions") or merged.get("windowsOptions"):
        raise Unsupported("appArmorProfile/seLinuxOptions/windowsOptions are not reproduced")
    return opts


def _empty_dir_mount(path: str, empty_dir: Mapping[str, Any], fs_group: int | None) -> str:
    """``--mount`` value for an emptyDir: a tmpfs the engine mounts on the host and
    bind-mounts into the container, which is how the kubelet provides one.

    The kubelet creates an emptyDir 0777 and, with fsGroup, chowns it to
    root:fsGroup and adds the setgid bit (pkg/volume/volume_linux.go), so the
    container sees 2777 root:fsGroup. Kubernetes emptyDirs are not noexec
    (express execs the apachectl it writes into the server root).

    Not ``--tmpfs``: runc chmods a tmpfs mount point to the mode of the
    directory the image has there (``/var/run/wsgi`` is 0700 in the runtime
    image), which a Kubernetes bind mount does not do, so ``--tmpfs`` would
    test a different directory mode than the pod gets. A ``local`` volume of
    type tmpfs is bind-mounted like the kubelet's; ``volume-nocopy`` stops
    Docker from copying the image directory's content and ownership into it.
    The volume is anonymous: ``docker rm -v`` removes it with the container.
    """
    mode = 0o2777 if fs_group is not None else 0o777
    opts = [f"mode={mode:o}", "uid=0", f"gid={fs_group or 0}"]
    if empty_dir.get("sizeLimit"):
        opts.append(f"size={quantity_bytes(empty_dir['sizeLimit'])}")
    # --mount is CSV: the mount options contain commas, so that field is quoted.
    return ",".join(
        [
            "type=volume",
            f"destination={path}",
            "volume-nocopy",
            "volume-driver=local",
            "volume-opt=type=tmpfs",
            "volume-opt=device=tmpfs",
            f'"volume-opt=o={",".join(opts)}"',
        ]
    )


def translate(
    objects: Iterable[Mapping[str, Any]],
    host_dir: Path,
    image: str | None = None,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    host_port: int | None = None,
    claims: Mapping[str, Path] | None = None,
    docker: str = DOCKER,
) -> PodRun:
    """The ``docker run`` argv (and host files) reproducing the pod of one rendered WsgiApp.

    ``objects`` are ``render(app)``'s output; ConfigMap volumes are looked up
    among them. ``host_dir`` is where :meth:`PodRun.write_files` puts the
    ConfigMap volumes. ``claims`` maps a PersistentVolumeClaim's name to the
    host directory that stands in for its volume (shared by every pod given
    the same directory, like a ReadWriteOnce volume on one node). ``image``
    overrides the container's image. The app's port is published on 127.0.0.1
    only: on ``host_port``, or on a free port Docker picks (race-free; read it
    back with ``docker port``).
    """
    objects = list(objects)
    deploy = _one(objects, "Deployment")
    return _translate_pod(
        deploy["spec"]["template"]["spec"],
        objects,
        host_dir,
        image,
        name=name,
        labels=labels,
        host_port=host_port,
        claims=claims or {},
        docker=docker,
        serves=True,
    )


def translate_job(
    job: Mapping[str, Any],
    objects: Iterable[Mapping[str, Any]],
    host_dir: Path,
    image: str | None = None,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    claims: Mapping[str, Path] | None = None,
    docker: str = DOCKER,
) -> PodRun:
    """The ``docker run`` argv reproducing the pod of a batch/v1 Job (the release step).

    The same translation as :func:`translate` (``objects`` supply the
    ConfigMaps the pod may mount), for a pod that runs to completion: nothing
    is published, and only ``restartPolicy: Never`` is reproduced (one run;
    retries are the caller's, as backoffLimit is the Job controller's).
    """
    if job.get("kind") != "Job":
        raise Unsupported(f"expected a Job, got {job.get('kind')}")
    pod_spec = job["spec"]["template"]["spec"]
    if pod_spec.get("restartPolicy") != "Never":
        raise Unsupported(f"Job restartPolicy {pod_spec.get('restartPolicy')!r}: only Never is reproduced")
    deadline = job["spec"].get("activeDeadlineSeconds")
    return _translate_pod(
        pod_spec,
        list(objects),
        host_dir,
        image,
        name=name,
        labels=labels,
        host_port=None,
        claims=claims or {},
        docker=docker,
        serves=False,
        deadline=int(deadline) if deadline is not None else None,
    )


def _translate_pod(
    pod_spec: dict[str, Any],
    objects: list[Mapping[str, Any]],
    host_dir: Path,
    image: str | None,
    *,
    name: str | None,
    labels: Mapping[str, str] | None,
    host_port: int | None,
    claims: Mapping[str, Path],
    docker: str,
    serves: bool,
    deadline: int | None = None,
) -> PodRun:
    containers = pod_spec["containers"]
    if len(containers) != 1 or pod_spec.get("initContainers"):
        raise Unsupported("exactly one container and no init containers are reproduced")
    if pod_spec.get("hostUsers") is False:
        raise Unsupported("hostUsers: false (a user namespace) is not reproduced")
    if pod_spec.get("shareProcessNamespace") or pod_spec.get("hostNetwork") or pod_spec.get("hostPID"):
        raise Unsupported("shared/host namespaces are not reproduced")
    container = containers[0]
    pod_sc = pod_spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    fs_group = pod_sc.get("fsGroup")
    env = _env(container)
    grace = int(pod_spec.get("terminationGracePeriodSeconds", 30))
    ports = container.get("ports") or []
    container_port: int | None = None
    if serves:
        if len(ports) != 1:
            raise Unsupported("exactly one container port is reproduced")
        container_port = int(ports[0]["containerPort"])

    argv = [docker, "run", "--detach"]
    if name:
        argv += ["--name", name]
    for key, value in sorted({LABEL: "1", **(labels or {})}.items()):
        argv += ["--label", f"{key}={value}"]
    argv += _security(pod_sc, sc)

    # Volumes, in the container's mount order.
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    cms = _config_maps(objects)
    files: list[HostFile] = []
    claim_dirs: dict[str, ClaimDir] = {}
    for mount in container.get("volumeMounts", []):
        vol = volumes[mount["name"]]
        path = mount["mountPath"]
        if mount.get("subPath") or mount.get("subPathExpr"):
            raise Unsupported(f"volumeMount {mount['name']}: subPath is not reproduced")
        if "emptyDir" in vol:
            if mount.get("readOnly"):
                raise Unsupported(f"read-only emptyDir {mount['name']} is not reproduced")
            argv += ["--mount", _empty_dir_mount(path, vol["emptyDir"] or {}, fs_group)]
        elif "configMap" in vol:
            cm_name = vol["configMap"]["name"]
            if cm_name not in cms:
                raise Unsupported(f"ConfigMap {cm_name} is not among the rendered objects")
            vol_files = _configmap_files(host_dir, vol, cms[cm_name], fs_group)
            files += vol_files
            # The kubelet mounts configMap volumes read-only whatever the mount says.
            argv += ["--mount", f"type=bind,source={vol_files[0].path},target={path},readonly"]
        elif "persistentVolumeClaim" in vol:
            pvc = vol["persistentVolumeClaim"]
            claim = pvc["claimName"]
            if claim not in claims:
                raise Unsupported(f"PVC {claim}: no host directory given for it (claims=)")
            read_only = bool(pvc.get("readOnly") or mount.get("readOnly"))
            claim_dirs.setdefault(
                claim,
                ClaimDir(
                    claim,
                    Path(claims[claim]),
                    int(fs_group) if fs_group is not None else None,
                    read_only,
                    pod_sc.get("fsGroupChangePolicy", "Always"),
                ),
            )
            bind = f"type=bind,source={claims[claim]},target={path}"
            argv += ["--mount", bind + (",readonly" if read_only else "")]
        else:
            raise Unsupported(
                f"volume {vol['name']}: only emptyDir, configMap and persistentVolumeClaim volumes are reproduced"
            )

    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    if container.get("workingDir"):
        argv += ["--workdir", container["workingDir"]]

    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    if "cpu" in limits:
        argv += ["--cpus", _cpus(limits["cpu"])]
    if "memory" in limits:
        argv += ["--memory", str(quantity_bytes(limits["memory"]))]
    if "cpu" in requests:
        # The kubelet's cpu.shares: milliCPU * 1024 / 1000 (at least 2).
        argv += ["--cpu-shares", str(max(2, round(float(_cpus(requests["cpu"])) * 1024)))]

    if container_port is not None:
        argv += ["--publish", f"127.0.0.1:{host_port or ''}:{container_port}"]
    # No --stop-signal: the runtime sends the image's STOPSIGNAL (SIGWINCH),
    # as containerd and CRI-O do for a pod without lifecycle.stopSignal.
    argv += ["--stop-timeout", str(grace)]

    command = [expand(a, env) for a in container.get("command", [])]
    args = [expand(a, env) for a in container.get("args", [])]
    if command:
        # command replaces the image's ENTRYPOINT and drops its CMD; args follow.
        argv += ["--entrypoint", command[0], image or container["image"], *command[1:], *args]
    else:
        # Only args: they replace CMD, the image's ENTRYPOINT stays.
        argv += [image or container["image"], *args]

    return PodRun(
        argv=argv,
        files=tuple(files),
        container=container,
        pod_spec=pod_spec,
        container_port=container_port,
        grace_seconds=grace,
        env=env,
        claims=tuple(claim_dirs.values()),
        deadline_seconds=deadline,
    )


# --- acting on a running container -------------------------------------------------------------


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run Debian's docker client and capture its output as text."""
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, check=check)


@dataclass(frozen=True)
class StopResult:
    """How the container ended after the stop signal."""

    signal: str
    exit_code: int
    #: True when the grace period ran out and the runtime sent SIGKILL.
    killed: bool


@dataclass
class KubeletStop:
    """Stop a container the way the kubelet stops a pod's container.

    The grace period starts counting when deletion starts: the preStop hook
    runs first, bounded by the grace period (``exec``: a command in the
    container; ``sleep``: the kubelet itself waits that many seconds, nothing
    runs in the container). Then the runtime sends the stop signal (the
    container's ``lifecycle.stopSignal``, else the image's STOPSIGNAL, else
    SIGTERM) and, if the container is still running when what is left of the
    grace period (never less than 2 s) has passed, SIGKILL.

    :meth:`pre_stop`, :meth:`send_stop_signal` and :meth:`wait_exit` are the
    separate steps, so a test can look at the server between them;
    :meth:`stop` is everything after the hook, :meth:`run` the whole sequence.
    ``runner`` and ``sleep`` are Docker and the clock (replaced in unit tests).
    """

    container_id: str
    run: PodRun
    started: float = field(default_factory=time.monotonic)
    pre_stop_result: subprocess.CompletedProcess[str] | None = None
    runner: Callable[..., subprocess.CompletedProcess[str]] = docker
    sleep: Callable[[float], None] = time.sleep
    #: Set by :meth:`send_stop_signal`: the signal sent and its monotonic time.
    signal_sent: tuple[str, float] | None = None

    def pre_stop(self) -> subprocess.CompletedProcess[str] | None:
        """Run ``lifecycle.preStop`` (exec or sleep) and wait for it, as the kubelet does."""
        hook = (self.run.container.get("lifecycle") or {}).get("preStop")
        if not hook:
            return None
        if "exec" in hook:
            cmd = ["exec", self.container_id, *hook["exec"]["command"]]
            try:
                self.pre_stop_result = self.runner(*cmd, timeout=self.run.grace_seconds, check=False)
            except subprocess.TimeoutExpired as exc:
                # The kubelet stops waiting for the hook when the grace period is used up.
                out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
                err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
                self.pre_stop_result = subprocess.CompletedProcess(cmd, 137, out, err + "\n(preStop timed out)")
        elif "sleep" in hook:
            # Kubernetes' sleep action: the kubelet waits, bounded by the grace period.
            seconds = int(hook["sleep"]["seconds"])
            left = self.run.grace_seconds - (time.monotonic() - self.started)
            self.sleep(max(0.0, min(float(seconds), left)))
        else:
            raise Unsupported(f"preStop {sorted(hook)} is not reproduced")
        return self.pre_stop_result

    def remaining_grace(self) -> int:
        """What is left of terminationGracePeriodSeconds, at least the kubelet's 2 s."""
        left = self.run.grace_seconds - (time.monotonic() - self.started)
        return max(MIN_GRACE_AFTER_PRESTOP, math.ceil(left))

    def stop_signal(self) -> str:
        """The signal the runtime sends: lifecycle.stopSignal, else the image's STOPSIGNAL, else SIGTERM."""
        configured = (self.run.container.get("lifecycle") or {}).get("stopSignal")
        if configured:
            return str(configured)
        image = self.runner("inspect", "-f", "{{.Config.StopSignal}}", self.container_id, check=False).stdout.strip()
        return image or "SIGTERM"

    def send_stop_signal(self) -> str:
        """``docker kill --signal=<stop signal>``; returns the signal."""
        sig = self.stop_signal()
        self.runner("kill", f"--signal={sig}", self.container_id, check=True)
        self.signal_sent = (sig, time.monotonic())
        return sig

    def wait_exit(self, timeout: float) -> int | None:
        """The container's exit code once it has exited, or None after ``timeout`` seconds."""
        try:
            proc = self.runner("wait", self.container_id, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return None
        return int(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None

    def stop(self) -> StopResult:
        """After the hook: the stop signal, up to the remaining grace period for the
        container to exit, then SIGKILL."""
        grace = self.remaining_grace()
        sig = self.send_stop_signal()
        code = self.wait_exit(grace)
        if code is not None:
            return StopResult(sig, code, killed=False)
        self.runner("kill", "--signal=SIGKILL", self.container_id, check=False)
        code = self.wait_exit(30)
        return StopResult(sig, -1 if code is None else code, killed=True)

    def run_sequence(self) -> StopResult:
        """The whole stop sequence: preStop, then :meth:`stop`."""
        self.pre_stop()
        return self.stop()


@dataclass(frozen=True)
class ProbeResult:
    """One probe attempt: success as the kubelet judges it, and why."""

    success: bool
    detail: str


def run_probe(
    probe: Mapping[str, Any],
    run: PodRun,
    container_id: str,
    host_port: int,
    pod_ip: str,
) -> ProbeResult:
    """One attempt of a Kubernetes probe from the pod spec.

    httpGet goes to 127.0.0.1:``host_port`` (the published container port)
    with the headers the kubelet sends: ``Host: <pod IP>:<port>`` unless the
    probe sets one, ``User-Agent: kube-probe/...``, ``Accept: */*``; 200-399
    is success. tcpSocket and exec run inside the container's network
    namespace (``docker exec``): through Docker's userland proxy a TCP connect
    to the published port succeeds even when nothing listens behind it, so
    it would prove nothing.
    """
    timeout = float(probe.get("timeoutSeconds", PROBE_DEFAULTS["timeoutSeconds"]))
    if "httpGet" in probe:
        get = probe["httpGet"]
        if get.get("scheme", "HTTP") != "HTTP":
            raise Unsupported("only HTTP probes are reproduced")
        port = run.port(get["port"])
        if port != run.container_port:
            raise Unsupported(f"probe port {port} is not the published port {run.container_port}")
        headers = {"Host": f"{pod_ip}:{port}", "User-Agent": "kube-probe/1.35", "Accept": "*/*"}
        for h in get.get("httpHeaders", []):
            headers[h["name"]] = h["value"]
        conn = http.client.HTTPConnection("127.0.0.1", host_port, timeout=timeout)
        try:
            conn.request("GET", get.get("path", "/"), headers=headers)
            resp = conn.getresponse()
            resp.read(10 * 1024)
            ok = 200 <= resp.status < 400
            return ProbeResult(ok, f"HTTP {resp.status}")
        except (OSError, http.client.HTTPException) as exc:
            return ProbeResult(False, f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
    if "tcpSocket" in probe:
        port = run.port(probe["tcpSocket"]["port"])
        code = f"import socket,sys\nsocket.create_connection(('127.0.0.1', {port}), timeout={timeout}).close()\n"
        proc = docker("exec", container_id, "python3", "-c", code, check=False, timeout=timeout + 30)
        return ProbeResult(proc.returncode == 0, proc.stderr.strip() or "connected")
    if "exec" in probe:
        proc = docker("exec", container_id, *probe["exec"]["command"], check=False, timeout=timeout + 30)
        return ProbeResult(proc.returncode == 0, f"exit {proc.returncode}")
    raise Unsupported(f"probe {sorted(probe)} is not reproduced")


def wait_for_probe(
    probe: Mapping[str, Any],
    run: PodRun,
    container_id: str,
    host_port: int,
    pod_ip: str,
) -> list[ProbeResult]:
    """The kubelet's loop for a startup probe: try every periodSeconds until
    successThreshold successes or failureThreshold failures; all attempts."""
    p = {**PROBE_DEFAULTS, **probe}
    attempts: list[ProbeResult] = []
    time.sleep(float(p.get("initialDelaySeconds", 0)))
    failures = successes = 0
    while failures < int(p["failureThreshold"]):
        started = time.monotonic()
        result = run_probe(p, run, container_id, host_port, pod_ip)
        attempts.append(result)
        if result.success:
            successes += 1
            if successes >= int(p["successThreshold"]):
                return attempts
        else:
            failures += 1
            successes = 0
        time.sleep(max(0.0, float(p["periodSeconds"]) - (time.monotonic() - started)))
    return attempts


def published_port(container_id: str, container_port: int) -> int:
    """The 127.0.0.1 host port Docker published ``container_port`` on."""
    out = docker("port", container_id, f"{container_port}/tcp").stdout.split()
    for line in out:
        host, _, port = line.rpartition(":")
        if host == "127.0.0.1":
            return int(port)
    raise RuntimeError(f"container {container_id} has no 127.0.0.1 port for {container_port}: {out}")
