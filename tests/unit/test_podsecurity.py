"""``wsgi_operator.api.podsecurity``: Pod Security "restricted" as a pure function, and its
place in ``wsgi-operator validate``.

Every check is shown failing (a weakened copy of the rendered pod template), and
the exceptions the profile makes are shown passing, so a check that never fires
and a check that fires too often both fail here. Then: the rendered pods of the
examples comply, and ``validate`` (library and CLI) refuses a spec whose
rendered pod would not.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import invalid_specs
from wsgi_operator import cli
from wsgi_operator.api.podsecurity import restricted_violations
from wsgi_operator.api.validation import InvalidWsgiApp, validate
from wsgi_operator.render.deployment import pod_template
from wsgi_operator.render.job import release_job
from wsgi_operator.render.settings import RenderSettings

Template = dict[str, Any]
Mutation = Callable[[Template], None]


def _template(patch: dict[str, Any] | None = None) -> Template:
    return pod_template(validate(invalid_specs.base_manifest(patch)), RenderSettings())


def _c(t: Template) -> dict[str, Any]:
    return t["spec"]["containers"][0]


def _sc(t: Template) -> dict[str, Any]:
    return _c(t)["securityContext"]


def _psc(t: Template) -> dict[str, Any]:
    return t["spec"]["securityContext"]


def _setter(get: Callable[[Template], dict[str, Any]], key: str, value: Any) -> Mutation:
    def mutate(t: Template) -> None:
        get(t)[key] = value

    return mutate


def _pop(get: Callable[[Template], dict[str, Any]], *keys: str) -> Mutation:
    def mutate(t: Template) -> None:
        for key in keys:
            get(t).pop(key, None)

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(t: Template) -> None:
        for m in mutations:
            m(t)

    return mutate


def _spec(t: Template) -> dict[str, Any]:
    return t["spec"]


def _annotations(t: Template) -> dict[str, Any]:
    return t["metadata"].setdefault("annotations", {})


def _add_volume(volume: dict[str, Any]) -> Mutation:
    return lambda t: t["spec"]["volumes"].append(volume)


def _add_container(kind: str, container: dict[str, Any]) -> Mutation:
    return lambda t: t["spec"].setdefault(kind, []).append(container)


#: (mutation, the check that must fire, the field it must name)
WEAKENINGS: dict[str, tuple[Mutation, str, str]] = {
    # baseline
    "host-network": (_setter(_spec, "hostNetwork", True), "hostNamespaces", "spec.hostNetwork"),
    "host-pid": (_setter(_spec, "hostPID", True), "hostNamespaces", "spec.hostPID"),
    "host-ipc": (_setter(_spec, "hostIPC", True), "hostNamespaces", "spec.hostIPC"),
    "pod-host-process": (
        _setter(_psc, "windowsOptions", {"hostProcess": True}),
        "windowsHostProcess",
        "spec.securityContext.windowsOptions.hostProcess",
    ),
    "container-host-process": (
        _setter(_sc, "windowsOptions", {"hostProcess": True}),
        "windowsHostProcess",
        "spec.containers[0].securityContext.windowsOptions.hostProcess",
    ),
    "privileged": (_setter(_sc, "privileged", True), "privileged", "spec.containers[0].securityContext.privileged"),
    "host-port": (
        lambda t: _c(t)["ports"][0].update(hostPort=8000),
        "hostPorts",
        "spec.containers[0].ports[0].hostPort",
    ),
    "unsafe-sysctl": (
        _setter(_psc, "sysctls", [{"name": "kernel.msgmax", "value": "1"}]),
        "sysctls",
        "spec.securityContext.sysctls",
    ),
    "apparmor-annotation-unconfined": (
        lambda t: _annotations(t).update({"container.apparmor.security.beta.kubernetes.io/wsgi": "unconfined"}),
        "appArmorProfile",
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/wsgi]",
    ),
    "apparmor-pod-unconfined": (
        _setter(_psc, "appArmorProfile", {"type": "Unconfined"}),
        "appArmorProfile",
        "spec.securityContext.appArmorProfile.type",
    ),
    "apparmor-container-unconfined": (
        _setter(_sc, "appArmorProfile", {"type": "Unconfined"}),
        "appArmorProfile",
        "spec.containers[0].securityContext.appArmorProfile.type",
    ),
    "selinux-type-spc": (
        _setter(_sc, "seLinuxOptions", {"type": "spc_t"}),
        "seLinuxOptions",
        "spec.containers[0].securityContext.seLinuxOptions.type",
    ),
    "selinux-user": (
        _setter(_psc, "seLinuxOptions", {"user": "system_u"}),
        "seLinuxOptions",
        "spec.securityContext.seLinuxOptions.user",
    ),
    "selinux-role": (
        _setter(_sc, "seLinuxOptions", {"role": "system_r"}),
        "seLinuxOptions",
        "spec.containers[0].securityContext.seLinuxOptions.role",
    ),
    "proc-mount-unmasked": (
        _setter(_sc, "procMount", "Unmasked"),
        "procMount_restricted",
        "spec.containers[0].securityContext.procMount",
    ),
    "readiness-http-host": (
        lambda t: _c(t)["readinessProbe"]["httpGet"].update(host="169.254.169.254"),
        "hostProbesAndHostLifecycle",
        "spec.containers[0].readinessProbe.httpGet.host",
    ),
    "liveness-tcp-host": (
        lambda t: _c(t)["livenessProbe"]["tcpSocket"].update(host="10.0.0.1"),
        "hostProbesAndHostLifecycle",
        "spec.containers[0].livenessProbe.tcpSocket.host",
    ),
    "pre-stop-http-host": (
        lambda t: _c(t)["lifecycle"].update(preStop={"httpGet": {"port": 80, "host": "10.0.0.1"}}),
        "hostProbesAndHostLifecycle",
        "spec.containers[0].lifecycle.preStop.httpGet.host",
    ),
    # restricted
    "host-path": (
        _add_volume({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}),
        "restrictedVolumes",
        "spec.volumes[",
    ),
    "nfs-volume": (
        _add_volume({"name": "nfs", "nfs": {"server": "nfs", "path": "/"}}),
        "restrictedVolumes",
        "spec.volumes[",
    ),
    "git-repo-volume": (
        _add_volume({"name": "src", "gitRepo": {"repository": "https://example.com/x.git"}}),
        "restrictedVolumes",
        "spec.volumes[",
    ),
    "privilege-escalation": (
        _setter(_sc, "allowPrivilegeEscalation", True),
        "allowPrivilegeEscalation",
        "spec.containers[0].securityContext.allowPrivilegeEscalation",
    ),
    "privilege-escalation-unset": (
        _pop(_sc, "allowPrivilegeEscalation"),
        "allowPrivilegeEscalation",
        "spec.containers[0].securityContext.allowPrivilegeEscalation",
    ),
    "capabilities-not-dropped": (
        _setter(_sc, "capabilities", {"drop": ["NET_RAW"]}),
        "capabilities_restricted",
        "spec.containers[0].securityContext.capabilities.drop",
    ),
    "capability-added": (
        _setter(_sc, "capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        "capabilities_restricted",
        "spec.containers[0].securityContext.capabilities.add",
    ),
    "baseline-capability-added": (
        _setter(_sc, "capabilities", {"drop": ["ALL"], "add": ["CHOWN"]}),
        "capabilities_restricted",
        "spec.containers[0].securityContext.capabilities.add",
    ),
    "seccomp-container-unconfined": (
        _setter(_sc, "seccompProfile", {"type": "Unconfined"}),
        "seccompProfile_restricted",
        "spec.containers[0].securityContext.seccompProfile.type",
    ),
    "seccomp-pod-unconfined": (
        _both(_setter(_psc, "seccompProfile", {"type": "Unconfined"}), _pop(_sc, "seccompProfile")),
        "seccompProfile_restricted",
        "spec.securityContext.seccompProfile.type",
    ),
    "seccomp-unset": (
        _both(_pop(_psc, "seccompProfile"), _pop(_sc, "seccompProfile")),
        "seccompProfile_restricted",
        "spec.containers[0].securityContext.seccompProfile.type",
    ),
    "run-as-root-container": (
        _setter(_sc, "runAsUser", 0),
        "runAsUser",
        "spec.containers[0].securityContext.runAsUser",
    ),
    "run-as-root-pod": (_setter(_psc, "runAsUser", 0), "runAsUser", "spec.securityContext.runAsUser"),
    "run-as-non-root-false": (
        _setter(_sc, "runAsNonRoot", False),
        "runAsNonRoot",
        "spec.containers[0].securityContext.runAsNonRoot",
    ),
    "run-as-non-root-false-pod": (
        _setter(_psc, "runAsNonRoot", False),
        "runAsNonRoot",
        "spec.securityContext.runAsNonRoot",
    ),
    "run-as-non-root-unset": (
        _both(_pop(_psc, "runAsNonRoot"), _pop(_sc, "runAsNonRoot")),
        "runAsNonRoot",
        "spec.containers[0].securityContext.runAsNonRoot",
    ),
    "unhardened-init-container": (
        _add_container("initContainers", {"name": "setup", "image": "busybox"}),
        "allowPrivilegeEscalation",
        "spec.initContainers[0].securityContext.allowPrivilegeEscalation",
    ),
    "privileged-ephemeral-container": (
        _add_container(
            "ephemeralContainers",
            {"name": "debug", "image": "busybox", "securityContext": {"privileged": True}},
        ),
        "privileged",
        "spec.ephemeralContainers[0].securityContext.privileged",
    ),
}

#: Mutations the profile allows: a checker that refuses them is too strict.
ALLOWED: dict[str, Mutation] = {
    "net-bind-service-added": _setter(_sc, "capabilities", {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
    "apparmor-runtime-default": _setter(_sc, "appArmorProfile", {"type": "RuntimeDefault"}),
    "apparmor-annotation-localhost": lambda t: _annotations(t).update(
        {"container.apparmor.security.beta.kubernetes.io/wsgi": "localhost/k8s-wsgi"}
    ),
    "seccomp-localhost": _setter(_sc, "seccompProfile", {"type": "Localhost", "localhostProfile": "w.json"}),
    "seccomp-on-container-only": _pop(_psc, "seccompProfile"),
    "seccomp-on-pod-only": _pop(_sc, "seccompProfile"),
    "run-as-non-root-on-pod-only": _pop(_sc, "runAsNonRoot"),
    "selinux-container-t": _setter(_sc, "seLinuxOptions", {"type": "container_t", "level": "s0:c1,c2"}),
    "safe-sysctl": _setter(_psc, "sysctls", [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]),
    "proc-mount-default": _setter(_sc, "procMount", "Default"),
    "host-port-zero": lambda t: _c(t)["ports"][0].update(hostPort=0),
    "probe-host-empty": lambda t: _c(t)["readinessProbe"]["httpGet"].update(host=""),
    "allowed-volume-types": _add_volume({"name": "cm", "projected": {"sources": []}}),
    # A user namespace relaxes runAsUser and runAsNonRoot (1.35).
    "user-namespace-root": _both(
        _setter(_spec, "hostUsers", False),
        _setter(_sc, "runAsUser", 0),
        _setter(_psc, "runAsUser", 0),
        _setter(_sc, "runAsNonRoot", False),
    ),
    # Windows pods are exempt from the Linux-only restricted checks.
    "windows-pod": _both(
        _setter(_spec, "os", {"name": "windows"}),
        _pop(_sc, "allowPrivilegeEscalation", "capabilities", "seccompProfile"),
        _pop(_psc, "seccompProfile"),
    ),
}


def test_the_rendered_template_complies() -> None:
    assert restricted_violations(_template()) == []


@pytest.mark.parametrize("name", list(WEAKENINGS))
def test_each_check_fails_its_weakening(name: str) -> None:
    mutate, check, field = WEAKENINGS[name]
    t = copy.deepcopy(_template())
    mutate(t)
    found = restricted_violations(t)
    assert any(v.check == check and v.field.startswith(field) for v in found), f"{name}: {found}"


@pytest.mark.parametrize("name", list(ALLOWED))
def test_what_the_profile_allows_passes(name: str) -> None:
    t = copy.deepcopy(_template())
    ALLOWED[name](t)
    assert restricted_violations(t) == []


def test_user_namespace_does_not_relax_proc_mount() -> None:
    """Baseline lets a user-namespaced pod unmask /proc; restricted does not (1.35)."""
    t = copy.deepcopy(_template())
    t["spec"]["hostUsers"] = False
    _sc(t)["procMount"] = "Unmasked"
    assert [v.check for v in restricted_violations(t)] == ["procMount_restricted"]


def test_a_bare_pod_breaks_every_restricted_container_check() -> None:
    found = {v.check for v in restricted_violations({"spec": {"containers": [{"name": "c", "image": "i"}]}})}
    assert found == {"allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted", "runAsNonRoot"}


def test_violations_read_as_field_detail_and_check() -> None:
    t = copy.deepcopy(_template())
    _sc(t)["privileged"] = True
    (v,) = restricted_violations(t)
    assert str(v) == "spec.containers[0].securityContext.privileged: must not be true (privileged)"


# --- the rendered pods of real specs ---------------------------------------------------------------------


def test_example_pods_comply(example: dict[str, Any]) -> None:
    app = validate(example)
    assert restricted_violations(pod_template(app, RenderSettings())) == []
    job = release_job(app)
    if job is not None:
        assert restricted_violations(job["spec"]["template"]) == []


def test_release_job_pod_complies() -> None:
    job = release_job(validate(invalid_specs.base_manifest({"release": {"command": ["python", "manage.py"]}})))
    assert job is not None
    assert restricted_violations(job["spec"]["template"]) == []


def test_user_namespace_pods_comply() -> None:
    assert restricted_violations(_template({"security": {"hostUsers": False}})) == []


# --- in validate -------------------------------------------------------------------------------------------


@pytest.fixture
def privileged_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The renderer as it would be with a bug (or a pass-through) that makes the pod privileged."""
    # By module path: the package exports a function called deployment too.
    deployment = importlib.import_module("wsgi_operator.render.deployment")
    real = deployment.pod_template

    def weakened(app: Any, settings: RenderSettings) -> Template:
        t = real(app, settings)
        _sc(t)["privileged"] = True
        _annotations(t)["container.apparmor.security.beta.kubernetes.io/wsgi"] = "unconfined"
        return t

    monkeypatch.setattr(deployment, "pod_template", weakened)


@pytest.mark.usefixtures("privileged_renderer")
def test_validate_refuses_a_spec_whose_pod_fails_restricted() -> None:
    with pytest.raises(InvalidWsgiApp) as info:
        validate(invalid_specs.base_manifest())
    errors = info.value.errors
    assert len(errors) == 2, errors
    assert any(
        e.startswith("spec.security: the rendered Deployment shop") and "securityContext.privileged" in e
        for e in errors
    ), errors
    assert any(e.startswith("spec.podAnnotations:") and "appArmorProfile" in e for e in errors), errors
    assert all("Pod Security restricted" in e for e in errors)


@pytest.mark.usefixtures("privileged_renderer")
def test_validate_can_skip_the_pod_security_check() -> None:
    assert validate(invalid_specs.base_manifest(), pod_security=False).metadata.name == invalid_specs.APP


@pytest.mark.usefixtures("privileged_renderer")
def test_cli_validate_reports_the_pod_security_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(invalid_specs.base_manifest()))
    assert cli.main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "securityContext.privileged" in err and "Pod Security restricted" in err
