"""The warnings policy on a real kube-apiserver (issue 12, item 5: allowed but risky should warn).

crds/wsgiapp-warnings.wsgi-operator.io.yaml (a ValidatingAdmissionPolicy and its
binding with ``validationActions: [Warn]``, generated from the rules the API
models declare as warnings) is applied next to the generated CRD. Then
``kubectl apply`` of a risky WsgiApp creates it and prints a ``Warning:`` line
per risk, a clean one prints none, and ``wsgi-operator validate``'s offline
warnings are exactly the API server's. The chart's copy, rendered by helm, is
applied too: named after the release, bound to the watched namespaces only.

The policy and the binding are removed at the end of the module, so they do
not add warnings to the tests that follow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import invalid_specs
from support.kubectl import Kubectl, cluster_sh, install_crd
from support.manifests import DELETE
from support.waiting import wait_for
from wsgi_operator.api.validation import policy_warnings, validate
from wsgi_operator.api.warnings_policy import POLICY_NAME, SERVER_PREFIX, warning_rules

REPO = Path(__file__).parents[2]
POLICY = REPO / "crds" / "wsgiapp-warnings.wsgi-operator.io.yaml"
CHART = REPO / "charts" / "wsgi-operator"
#: kubectl's rendering of one warning of the API server: "Warning: <policy prefix><field>: <message>".
WARNING_LINE = re.compile(
    r"^Warning: Validation failed for ValidatingAdmissionPolicy '(?P<policy>[^']+)' with binding '(?P<binding>[^']+)': "
    r"(?P<message>.*)$"
)
IMAGE_TAG = "registry.example.com/shop/web:1.4.2"


def _risky_spec() -> dict[str, Any]:
    """A spec that sets off every warning of the spec."""
    return {
        "image": IMAGE_TAG,
        "security": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "envFrom": [{"secretRef": {"name": "db"}}],
        "resources": {"limits": {}},
        "networkPolicy": {"ingressFrom": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]},
    }


#: id -> (spec patch, metadata patch). The differential set: offline == API server, for each.
SPECS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "clean": ({}, {}),
    "image-tag": ({"image": IMAGE_TAG}, {}),
    "image-tag-pull-always": ({"image": IMAGE_TAG, "imagePullPolicy": "Always"}, {}),
    "low-uid-and-gid": ({"security": {"runAsUser": 1500, "runAsGroup": 1500}}, {}),
    "low-ids-in-a-user-namespace": ({"security": {"runAsUser": 1500, "runAsGroup": 1500, "hostUsers": False}}, {}),
    "secret-in-env": ({"envFrom": [{"configMapRef": {"name": "c"}}, {"secretRef": {"name": "db"}}]}, {}),
    "no-cpu-limit": ({"resources": {"limits": {"memory": "512Mi"}}}, {}),
    "network-policy-off": ({"networkPolicy": {"enabled": False, "ingressFrom": [{"ipBlock": {"cidr": "::/0"}}]}}, {}),
    "wide-peers": (
        {
            "networkPolicy": {
                "ingressFrom": [{"namespaceSelector": {}, "podSelector": {}}, {"ipBlock": {"cidr": "::/0"}}],
            }
        },
        {},
    ),
    "narrow-peers": (
        {
            "networkPolicy": {
                "ingressFrom": [
                    {"namespaceSelector": {"matchLabels": {"team": "shop"}}},
                    {"ipBlock": {"cidr": "10.0.0.0/8"}},
                ]
            }
        },
        {},
    ),
    "everything-in-default": (_risky_spec(), {"namespace": "default"}),
    "no-namespace": ({}, {"namespace": DELETE}),
}


@pytest.fixture(scope="module")
def warnings_policy(kubectl: Kubectl) -> Iterator[None]:
    """The generated CRD and warnings policy, applied server-side; the policy removed at the end."""
    install_crd(kubectl)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(POLICY))
    try:
        # The API server picks a new policy up from its informer a moment later.
        probe = invalid_specs.base_manifest({"image": IMAGE_TAG}, namespace="default")
        wait_for(
            "the warnings policy to be in force",
            lambda: POLICY_NAME in _dry_run(kubectl, probe).stderr,
            timeout=60,
        )
        yield
    finally:
        kubectl("delete", "-f", str(POLICY), "--ignore-not-found", check=False)


def _dry_run(kubectl: Kubectl, doc: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", "--dry-run=server", "-f", "-", *args, input=json.dumps(doc), check=False)


def _warnings(stderr: str, policy: str = POLICY_NAME) -> list[str]:
    """The messages of ``policy``'s warnings in kubectl's stderr, in order; nothing else may be there."""
    out = []
    for line in stderr.splitlines():
        match = WARNING_LINE.match(line)
        assert match, f"not a warning of a ValidatingAdmissionPolicy: {line!r}"
        if match["policy"] == policy:
            out.append(match["message"])
    return out


def test_policy_type_checks_against_the_crd(kubectl: Kubectl, warnings_policy: None) -> None:
    """The API server type-checks each expression against the CRD's schema: no warnings
    (a field the schema does not declare must go through dyn())."""

    def checked() -> dict[str, Any] | None:
        policy = json.loads(kubectl("get", "validatingadmissionpolicy", POLICY_NAME, "-o", "json").stdout)
        status = policy.get("status") or {}
        return status if status.get("observedGeneration") == policy["metadata"]["generation"] else None

    status = wait_for("the policy's type check", checked, timeout=60)
    assert status.get("typeChecking", {}).get("expressionWarnings", []) == []


def test_risky_apply_prints_the_warnings_and_a_clean_one_none(
    kubectl: Kubectl, warnings_policy: None, namespace: str
) -> None:
    risky = invalid_specs.base_manifest(_risky_spec(), name="risky", namespace=namespace)
    created = kubectl("apply", "-f", "-", input=json.dumps(risky))
    assert "wsgiapp.wsgi-operator.io/risky created" in created.stdout  # admitted: warnings never refuse
    fields = [m.split(": ", 1)[0] for m in _warnings(created.stderr)]
    assert fields == [
        "spec.image",
        "spec.env",
        "spec.envFrom",
        "spec.security.runAsUser",
        "spec.security",
        "spec.resources.limits",
        "spec.resources.limits",
        "spec.networkPolicy.ingressFrom",
    ]
    # An update is checked too.
    risky["spec"]["replicas"] = 3
    updated = kubectl("apply", "-f", "-", input=json.dumps(risky))
    assert "configured" in updated.stdout
    assert len(_warnings(updated.stderr)) == len(fields)

    clean = invalid_specs.base_manifest(name="clean", namespace=namespace)
    result = kubectl("apply", "-f", "-", input=json.dumps(clean))
    assert "wsgiapp.wsgi-operator.io/clean created" in result.stdout
    assert "Warning" not in result.stderr, result.stderr
    assert result.stderr == ""


def test_the_default_namespace_warns_whether_named_or_not(kubectl: Kubectl, warnings_policy: None) -> None:
    named = invalid_specs.base_manifest(namespace="default")
    unnamed = invalid_specs.base_manifest(namespace=DELETE)
    for doc, args in ((named, ()), (unnamed, ("-n", "default"))):
        result = _dry_run(kubectl, doc, *args)
        assert result.returncode == 0, result.stderr
        assert [m.split(": ", 1)[0] for m in _warnings(result.stderr)] == ["metadata.namespace"]


@pytest.mark.parametrize(("patch", "metadata"), list(SPECS.values()), ids=list(SPECS))
def test_offline_warnings_equal_the_api_servers(
    kubectl: Kubectl, warnings_policy: None, namespace: str, patch: dict[str, Any], metadata: dict[str, Any]
) -> None:
    doc = invalid_specs.base_manifest(patch, **{"namespace": namespace, **metadata})
    validate(doc)
    # A manifest without a namespace goes where `-n` says, offline and online alike.
    args = ("-n", namespace) if "namespace" not in doc["metadata"] else ()
    result = _dry_run(kubectl, doc, *args)
    assert result.returncode == 0, result.stderr
    assert _warnings(result.stderr) == policy_warnings(doc, namespace=namespace)


def test_every_warning_comes_whole(kubectl: Kubectl, warnings_policy: None) -> None:
    """All of them at once, in the default namespace: none truncated by the API server's warning budget."""
    doc = invalid_specs.base_manifest(_risky_spec(), namespace="default")
    result = _dry_run(kubectl, doc)
    every = [w.message for w in warning_rules() if w.field != "spec.networkPolicy.enabled"]
    assert _warnings(result.stderr) == every
    assert SERVER_PREFIX.format(policy=POLICY_NAME, binding=POLICY_NAME) in result.stderr


def _helm() -> Path:
    binary = Path(os.environ.get("WSGI_OPERATOR_HELM") or cluster_sh("which", "helm").stdout.strip())
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no helm at {binary!s}: run `make cluster-binaries` (or set WSGI_OPERATOR_HELM)")
    return binary


def test_the_charts_policy_warns_in_its_watched_namespaces_only(
    kubectl: Kubectl, warnings_policy: None, namespace: str
) -> None:
    release = f"w{uuid.uuid4().hex[:8]}"
    values = ("--set", f"watchNamespaces={{{namespace}}}", "--show-only", "templates/warnings-policy.yaml")
    rendered = subprocess.run(
        [str(_helm()), "template", release, str(CHART), "--namespace", "wsgi-operator-system", *values],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    objects = [d for d in yaml.safe_load_all(rendered) if d]
    name = f"{release}-wsgi-operator-warnings"
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("ValidatingAdmissionPolicy", name),
        ("ValidatingAdmissionPolicyBinding", name),
    ]
    other = f"{namespace[:50]}-other"
    kubectl("create", "namespace", other)
    kubectl("apply", "--server-side", "-f", "-", input=rendered)
    try:
        doc = invalid_specs.base_manifest({"image": IMAGE_TAG}, namespace=namespace)
        wait_for("the chart's policy to be in force", lambda: name in _dry_run(kubectl, doc).stderr, timeout=60)
        stderr = _dry_run(kubectl, doc).stderr
        # The same warning from both policies: the chart's and crds/'s.
        assert _warnings(stderr, name) == _warnings(stderr) == policy_warnings(doc)
        elsewhere = _dry_run(kubectl, {**doc, "metadata": {**doc["metadata"], "namespace": other}}).stderr
        assert _warnings(elsewhere, name) == [] and _warnings(elsewhere) == policy_warnings(doc)
    finally:
        kubectl("delete", "-f", "-", "--ignore-not-found", input=rendered, check=False)
        kubectl("delete", "namespace", other, "--wait=false", "--ignore-not-found", check=False)
