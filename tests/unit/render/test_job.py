"""The release Job and its NetworkPolicy (render/job.py, render/networkpolicy.py)."""

from __future__ import annotations

from typing import Any

import pytest

import invalid_specs
from support.manifests import deep_merge
from wsgi_operator.api import WsgiApp
from wsgi_operator.api.validation import validate
from wsgi_operator.render import RenderSettings, render
from wsgi_operator.render.job import RELEASE_LABEL, release_job, release_job_name
from wsgi_operator.render.networkpolicy import network_policy, release_network_policy

RELEASE = {"release": {"command": ["python", "manage.py", "migrate", "--noinput"]}}
PVC_DIR = {
    "writableDirs": [
        {"name": "data", "mountPath": "/var/lib/shop/data", "persistentVolumeClaim": {"claimName": "shop-data"}}
    ]
}


def _app(*patches: dict[str, Any], **metadata: Any) -> WsgiApp:
    spec: dict[str, Any] = {}
    for patch in patches:
        spec = deep_merge(spec, patch)
    return validate(invalid_specs.base_manifest(spec, **metadata))


def _server(app: WsgiApp) -> dict[str, Any]:
    (dep,) = [o for o in render(app) if o["kind"] == "Deployment"]
    return dep["spec"]["template"]["spec"]


def test_the_release_pod_is_not_spread_like_the_replicas() -> None:
    """The default host anti-affinity is the server's: one Job pod has nothing to spread from."""
    job = release_job(_app(RELEASE))
    assert job is not None and "affinity" not in job["spec"]["template"]["spec"]
    assert "podAntiAffinity" in _server(_app(RELEASE))["affinity"]


def test_no_release_no_job_and_no_release_policy() -> None:
    app = _app()
    assert release_job(app) is None and release_job_name(app) is None
    assert release_network_policy(app, RenderSettings()) is None


def test_release_job_runs_the_command_in_the_hardened_app_pod() -> None:
    app = _app(RELEASE, PVC_DIR, {"env": [{"name": "DJANGO_SETTINGS_MODULE", "value": "mysite.settings"}]})
    job = release_job(app)
    assert job is not None and job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 600
    pod = job["spec"]["template"]["spec"]
    server = _server(app)
    (c,) = pod["containers"]
    (s,) = server["containers"]
    # The app's umask, then the command as separate words (never parsed by the shell).
    assert c["command"] == [
        "/bin/sh",
        "-c",
        'umask 0027 && exec "$@"',
        "release",
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]
    assert c["image"] == s["image"] and c["workingDir"] == "/app"
    assert c["securityContext"] == s["securityContext"]
    assert pod["securityContext"] == server["securityContext"]
    assert c["env"] == s["env"] and c["env"][0] == {"name": "TMPDIR", "value": "/var/tmp"}
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "shop"
    # The app's code, temp and writable dirs (the same claim), none of the server's own volumes.
    assert {v["name"] for v in pod["volumes"]} == {"tmp", "rw-data"}
    assert {"name": "rw-data", "persistentVolumeClaim": {"claimName": "shop-data"}} in pod["volumes"]
    # No probes, ports or preStop: it is a command, not a server.
    assert not {"ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle"} & c.keys()


def test_release_pods_are_never_selected_by_the_service_or_the_deployment() -> None:
    app = _app(RELEASE)
    job = release_job(app)
    assert job is not None
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels == {RELEASE_LABEL: "shop"}
    objects = render(app)
    (svc,) = [o for o in objects if o["kind"] == "Service"]
    (dep,) = [o for o in objects if o["kind"] == "Deployment"]
    for selector in (svc["spec"]["selector"], dep["spec"]["selector"]["matchLabels"]):
        assert not selector.items() <= labels.items()
    # The Job object itself is a child like the others (the operator's watches find it).
    assert job["metadata"]["labels"]["wsgi-operator.io/app"] == "shop"


@pytest.mark.parametrize(
    "change",
    [{"replicas": 5}, {"probes": {"path": "/healthz"}}, {"ingress": {"hosts": ["shop.example.com"]}}],
    ids=["replicas", "probes", "ingress"],
)
def test_a_change_outside_the_release_reuses_its_job(change: dict[str, Any]) -> None:
    assert release_job_name(_app(RELEASE)) == release_job_name(_app(RELEASE, change))


@pytest.mark.parametrize(
    "change",
    [
        {"image": "registry.example.com/shop/web:2"},
        {"release": {"command": ["python", "manage.py", "migrate"]}},
        {"env": [{"name": "DATABASE_URL", "value": "sqlite:////x"}]},
        {"release": {"backoffLimit": 2}},
    ],
    ids=["image", "command", "env", "backoff"],
)
def test_a_new_version_gets_a_new_job(change: dict[str, Any]) -> None:
    assert release_job_name(_app(RELEASE)) != release_job_name(_app(RELEASE, change))


def test_job_name_fits_a_label_value_for_the_longest_app_name() -> None:
    name = release_job_name(_app(RELEASE, name="a" * 52))
    assert name is not None and len(name) <= 63 and name.startswith("a" * 52 + "-rel-")


def test_release_policy_fences_release_pods_like_the_app() -> None:
    egress = {"networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "10.0.0.0/24"}, "ports": [{"port": 5432}]}]}}
    app = _app(RELEASE, egress)
    settings = RenderSettings()
    policy = release_network_policy(app, settings)
    assert policy is not None
    assert policy["metadata"]["name"] == "shop-release"
    assert policy["spec"]["podSelector"] == {"matchLabels": {RELEASE_LABEL: "shop"}}
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy["spec"]  # with policyTypes [Ingress, Egress]: nothing may connect
    assert policy["spec"]["egress"] == network_policy(app, settings)["spec"]["egress"]
    assert release_network_policy(_app(RELEASE, {"networkPolicy": {"enabled": False}}), settings) is None
