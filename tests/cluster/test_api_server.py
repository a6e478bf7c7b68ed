"""The CRD and the rendered objects against a real kube-apiserver (issue: control plane).

Nothing here runs the operator: children are rendered by the same pure
renderer and applied with kubectl, so these tests pin down what the API server
and kube-controller-manager do with them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from invalid_specs import CASES
from support.kubectl import install_crd
from support.waiting import wait_for
from wsgi_operator.api.validation import validate
from wsgi_operator.render import render

REPO = Path(__file__).parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def example_docs() -> list[tuple[str, dict[str, Any]]]:
    """(id, manifest) of every WsgiApp in examples/."""
    out = []
    for path in EXAMPLES:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "WsgiApp":
                out.append((f"{path.stem}/{doc['metadata']['name']}", doc))
    return out


def in_namespace(doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["metadata"]["namespace"] = namespace
    return doc


@pytest.fixture(scope="session")
def crd_installed(kubectl) -> None:
    """The generated CRD, applied server-side and Established."""
    install_crd(kubectl)
    # Established comes a moment before the schema is published in the
    # OpenAPI document that `kubectl explain` (and field validation) read.
    wait_for("the WsgiApp schema in OpenAPI", lambda: kubectl("explain", "wsgiapp", check=False).returncode == 0)


def apply_json(kubectl, obj: dict[str, Any], *extra: str, check: bool = True):
    """Server-side apply of one object as the field manager `test`."""
    args = ("apply", "--server-side", "--field-manager=test", "-f", "-", *extra)
    return kubectl(*args, input=json.dumps(obj), check=check)


def test_crd_is_established_and_explained(kubectl, crd_installed) -> None:
    explained = kubectl("explain", "wsgiapp.spec.timeouts").stdout
    assert "--request-timeout" in explained
    assert "slowloris" in explained
    spec = kubectl("explain", "wsgiapp.spec.security.runAsUser").stdout
    assert "65534" in spec


@pytest.mark.parametrize(("case", "doc"), example_docs(), ids=[c for c, _ in example_docs()])
def test_example_and_its_children_are_accepted(kubectl, crd_installed, namespace, case, doc) -> None:
    stored = json.loads(apply_json(kubectl, in_namespace(doc, namespace), "-o", "json").stdout)
    assert stored["metadata"]["uid"]
    # The API server applied the CRD defaults; the renderer sees what the operator would.
    app = validate(stored)
    for child in render(app):
        result = apply_json(kubectl, child, "--dry-run=server", check=False)
        assert result.returncode == 0, f"{child['kind']}/{child['metadata']['name']}: {result.stderr}"


def _fenced_shut(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with a NetworkPolicy that allows nothing either way (rules left empty)."""
    doc = copy.deepcopy(doc)
    doc["spec"]["networkPolicy"] = {"allowIngressController": False, "allowDns": False}
    return doc


REAPPLY_CASES = [*example_docs(), ("minimal/fenced-shut", _fenced_shut(example_docs()[0][1]))]


@pytest.mark.parametrize(("case", "doc"), REAPPLY_CASES, ids=[c for c, _ in REAPPLY_CASES])
def test_reapplying_the_rendered_children_changes_nothing(kubectl, crd_installed, namespace, case, doc) -> None:
    """The operator applies every child on every reconcile: the same apply must be no write.

    A field the API server stores differently from how it is rendered (an
    empty list it drops, a default) makes each apply a new generation: a write
    to etcd and a resync of whatever watches the object (the firewall, for a
    NetworkPolicy). Generation moves only with the spec, so status updates by
    controllers between the two applies do not count.
    """
    app = validate(json.loads(apply_json(kubectl, in_namespace(doc, namespace), "-o", "json").stdout))
    for child in render(app):
        first = json.loads(apply_json(kubectl, child, "-o", "json").stdout)["metadata"]
        second = json.loads(apply_json(kubectl, child, "-o", "json").stdout)["metadata"]
        assert second.get("generation") == first.get("generation"), f"{child['kind']}/{child['metadata']['name']}"


def _pod_from_template(kubectl, doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A Pod made of the rendered pod template; its ServiceAccount is created for real."""
    app = validate(in_namespace(doc, namespace))
    children = render(app)
    apply_json(kubectl, next(c for c in children if c["kind"] == "ServiceAccount"))
    deployment = next(c for c in children if c["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pss-{app.metadata.name}", "namespace": namespace, **template["metadata"]},
        "spec": template["spec"],
    }


@pytest.fixture
def restricted_namespace(kubectl, namespace) -> str:
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    return namespace


@pytest.mark.parametrize(("case", "doc"), example_docs(), ids=[c for c, _ in example_docs()])
def test_restricted_pod_security_admits_rendered_pods(kubectl, restricted_namespace, case, doc) -> None:
    pod = _pod_from_template(kubectl, doc, restricted_namespace)
    result = kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
    assert result.returncode == 0, result.stderr


def test_restricted_pod_security_rejects_a_weakened_pod(kubectl, restricted_namespace) -> None:
    pod = _pod_from_template(kubectl, example_docs()[0][1], restricted_namespace)
    sc = pod["spec"]["containers"][0]["securityContext"]
    sc["allowPrivilegeEscalation"] = True
    sc["capabilities"] = {"add": ["NET_ADMIN"]}
    result = kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
    assert result.returncode != 0
    assert "violates PodSecurity" in result.stderr
    assert "allowPrivilegeEscalation" in result.stderr


def test_rendered_deployment_runs_on_kwok_and_is_garbage_collected(kubectl, crd_installed, namespace) -> None:
    doc = in_namespace(next(d for c, d in example_docs() if c.startswith("minimal/")), namespace)
    stored = json.loads(apply_json(kubectl, doc, "-o", "json").stdout)
    app = validate(stored)
    for child in render(app):
        apply_json(kubectl, child)
    name = app.metadata.name
    kubectl("rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=90s")
    pods = json.loads(
        kubectl("get", "pods", "-n", namespace, "-l", f"wsgi-operator.io/app={name}", "-o", "json").stdout
    )
    assert len(pods["items"]) == app.spec.replicas
    for pod in pods["items"]:
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"]
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True"

    kubectl("delete", "wsgiapp", name, "-n", namespace, "--wait=false")

    def children_gone() -> bool:
        out = kubectl(
            "get",
            "deploy,rs,pods,svc,cm,sa,netpol,pdb",
            "-n",
            namespace,
            "-l",
            f"wsgi-operator.io/app={name}",
            "-o",
            "name",
        ).stdout
        return not out.strip()

    wait_for("garbage collection of every child", children_gone, timeout=120)


@pytest.mark.parametrize("case", [c for c in CASES if c.crd_rejects], ids=lambda c: c.id)
def test_api_server_rejects_invalid_spec_naming_the_field(kubectl, crd_installed, namespace, case) -> None:
    doc = in_namespace(case.manifest(), namespace)
    result = apply_json(kubectl, doc, "--dry-run=server", check=False)
    assert result.returncode != 0, f"{case.id}: the API server accepted it ({case.description})"
    assert case.field in result.stderr, f"{case.id}: error does not name {case.field}: {result.stderr}"
