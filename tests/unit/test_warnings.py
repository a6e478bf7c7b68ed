"""Allowed but risky: the warning rules, the generated warnings policy and `validate`'s warnings.

Each warning is a rule declared once on an API model with ``Rule.warning``;
the generator turns it into a validation of a ValidatingAdmissionPolicy bound
with ``validationActions: [Warn]`` (crds/wsgiapp-warnings.wsgi-operator.io.yaml),
and ``wsgi-operator validate`` evaluates the same expressions offline. Here:
each warning fires on the specs it is about and stays quiet on the near misses
next to it, warnings never make a spec invalid, the committed policy is the
generated one, and the CLI's output and exit codes. tests/cluster/test_warnings.py
shows the real API server saying the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import celpy
import kubernetes_validate
import pytest
import yaml

import invalid_specs
from support.manifests import DELETE
from wsgi_operator import cli
from wsgi_operator.api.base import ApiModel, Rule, Severity
from wsgi_operator.api.crd import build_crd, spec_schema_with_warnings
from wsgi_operator.api.validation import policy_warnings, validate
from wsgi_operator.api.warnings_policy import (
    POLICY_NAME,
    SERVER_PREFIX,
    build_policy,
    render_policy_yaml,
    warning_rules,
)
from wsgi_operator.api.wsgiapp import WsgiApp

REPO = Path(__file__).resolve().parents[2]
POLICY_FILE = REPO / "crds" / "wsgiapp-warnings.wsgi-operator.io.yaml"

IMAGE_TAG = "registry.example.com/shop/web:1.4.2"
NS, ENABLED = "spec.networkPolicy.ingressFrom", "spec.networkPolicy.enabled"
IMAGE, ENV, ENV_FROM = "spec.image", "spec.env", "spec.envFrom"
UID, GIDS, LIMITS, NAMESPACE = "spec.security.runAsUser", "spec.security", "spec.resources.limits", "metadata.namespace"


def _peer(**peer: Any) -> dict[str, Any]:
    return {"networkPolicy": {"ingressFrom": [peer]}}


def _secret_env() -> dict[str, Any]:
    return {"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}


#: id -> (spec patch, metadata, the fields warned about, in the policy's order).
FIRES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "image-tag": ({"image": IMAGE_TAG}, {}, [IMAGE]),
    "image-no-tag": ({"image": "registry.example.com/shop/web"}, {}, [IMAGE]),
    "image-tag-pull-never": ({"image": IMAGE_TAG, "imagePullPolicy": "Never"}, {}, [IMAGE]),
    "uid-1000": ({"security": {"runAsUser": 1000}}, {}, [UID]),
    "uid-9999": ({"security": {"runAsUser": 9999}}, {}, [UID]),
    "uid-low-host-users-true": ({"security": {"runAsUser": 5000, "hostUsers": True}}, {}, [UID]),
    "gid-5000": ({"security": {"runAsGroup": 5000}}, {}, [GIDS]),
    "fs-group-2000": ({"security": {"fsGroup": 2000}}, {}, [GIDS]),
    "uid-and-gid-low": ({"security": {"runAsUser": 1001, "runAsGroup": 1001}}, {}, [UID, GIDS]),
    "env-secret-key-ref": (_secret_env(), {}, [ENV]),
    "env-secret-among-others": (
        {"env": [{"name": "A", "value": "1"}, *_secret_env()["env"], {"name": "B", "value": "2"}]},
        {},
        [ENV],
    ),
    "env-from-secret-ref": ({"envFrom": [{"secretRef": {"name": "db"}}]}, {}, [ENV_FROM]),
    "env-from-secret-with-prefix": ({"envFrom": [{"prefix": "DB_", "secretRef": {"name": "db"}}]}, {}, [ENV_FROM]),
    "namespace-default": ({}, {"namespace": "default"}, [NAMESPACE]),
    "namespace-absent": ({}, {"namespace": DELETE}, [NAMESPACE]),
    "limits-no-cpu": ({"resources": {"limits": {"memory": "512Mi"}}}, {}, [LIMITS]),
    "limits-no-memory": ({"resources": {"limits": {"cpu": "1"}}}, {}, [LIMITS]),
    "limits-none": ({"resources": {"limits": {}}}, {}, [LIMITS, LIMITS]),
    "network-policy-disabled": ({"networkPolicy": {"enabled": False}}, {}, [ENABLED]),
    "peer-ipv4-all": (_peer(ipBlock={"cidr": "0.0.0.0/0"}), {}, [NS]),
    "peer-ipv4-all-except-private": (_peer(ipBlock={"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}), {}, [NS]),
    "peer-ipv4-half": (_peer(ipBlock={"cidr": "128.0.0.0/1"}), {}, [NS]),
    "peer-ipv4-slash-7": (_peer(ipBlock={"cidr": "100.0.0.0/7"}), {}, [NS]),
    "peer-ipv6-all": (_peer(ipBlock={"cidr": "::/0"}), {}, [NS]),
    "peer-ipv6-global-unicast": (_peer(ipBlock={"cidr": "2000::/3"}), {}, [NS]),
    "peer-ipv6-slash-31": (_peer(ipBlock={"cidr": "2001:db8::/31"}), {}, [NS]),
    "peer-every-namespace": (_peer(namespaceSelector={}), {}, [NS]),
    "peer-every-namespace-every-pod": (_peer(namespaceSelector={}, podSelector={}), {}, [NS]),
    "peer-every-namespace-empty-lists": (
        _peer(namespaceSelector={"matchLabels": {}, "matchExpressions": []}, podSelector={"matchLabels": {}}),
        {},
        [NS],
    ),
    "peer-wide-after-a-narrow-one": (
        {"networkPolicy": {"ingressFrom": [{"app": "admin"}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]}},
        {},
        [NS],
    ),
    "peer-wide-with-ports": (
        _peer(ipBlock={"cidr": "0.0.0.0/0"}, ports=[{"port": 8000, "protocol": "TCP"}]),
        {},
        [NS],
    ),
    "everything": (
        {
            "image": IMAGE_TAG,
            "security": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
            **_secret_env(),
            "envFrom": [{"secretRef": {"name": "db"}}],
            "resources": {"limits": {}},
            "networkPolicy": {"ingressFrom": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "::/0"}}]},
        },
        {"namespace": "default"},
        [NAMESPACE, IMAGE, ENV, ENV_FROM, UID, GIDS, LIMITS, LIMITS, NS],
    ),
    "disabled-network-policy-hides-its-wide-peers": (
        {"networkPolicy": {"enabled": False, "ingressFrom": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}},
        {},
        [ENABLED],
    ),
}

#: id -> (spec patch, metadata): next to a warning's boundary, on the quiet side.
QUIET: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "image-tag-pull-always": ({"image": IMAGE_TAG, "imagePullPolicy": "Always"}, {}),
    "image-digest-pull-never": ({"imagePullPolicy": "Never"}, {}),
    "image-tag-and-digest": ({"image": "registry.example.com/shop/web:1.4.2@sha256:" + "c" * 64}, {}),
    "image-sha512-digest": ({"image": "registry.example.com/shop/web@sha512:" + "d" * 128}, {}),
    "uid-10000": ({"security": {"runAsUser": 10000, "runAsGroup": 10000, "fsGroup": 10000}}, {}),
    "uid-default": ({"security": {"runAsUser": DELETE, "runAsGroup": DELETE}}, {}),
    "low-ids-in-a-user-namespace": (
        {"security": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "hostUsers": False}},
        {},
    ),
    "low-supplemental-group": ({"security": {"supplementalGroups": [1000]}}, {}),
    "env-config-map-and-field-refs": (
        {
            "env": [
                {"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "b"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ]
        },
        {},
    ),
    "env-from-config-map": ({"envFrom": [{"configMapRef": {"name": "settings"}}]}, {}),
    "namespace-named-like-default": ({}, {"namespace": "default-shop"}),
    "limits-explicit": ({"resources": {"limits": {"cpu": "250m", "memory": "256Mi"}}}, {}),
    "limits-default": ({"resources": {"requests": {"cpu": "50m"}}}, {}),
    "peer-ipv4-slash-8": (_peer(ipBlock={"cidr": "10.0.0.0/8"}), {}),
    "peer-ipv4-range": (_peer(ipBlock={"cidr": "203.0.113.0/24"}), {}),
    "peer-ipv6-slash-32": (_peer(ipBlock={"cidr": "2001:db8::/32"}), {}),
    "peer-ipv6-slash-64": (_peer(ipBlock={"cidr": "2001:db8:1:2::/64"}), {}),
    "peer-some-namespaces": (_peer(namespaceSelector={"matchLabels": {"team": "shop"}}), {}),
    "peer-some-namespaces-by-expression": (
        _peer(namespaceSelector={"matchExpressions": [{"key": "team", "operator": "Exists"}]}),
        {},
    ),
    "peer-some-pods-of-every-namespace": (_peer(namespaceSelector={}, podSelector={"matchLabels": {"app": "x"}}), {}),
    "peer-every-pod-of-this-namespace": (_peer(podSelector={}), {}),
    "peer-another-app": (_peer(app="admin"), {}),
    "egress-anywhere": ({"networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}}, {}),
    "no-ingress-controller": ({"networkPolicy": {"allowIngressController": False}}, {}),
}


def _manifest(patch: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    return invalid_specs.base_manifest(patch, **metadata)


def _fields(warnings: list[str]) -> list[str]:
    return [w.split(": ", 1)[0] for w in warnings]


# --- the rules ---------------------------------------------------------------------------------------


def test_the_base_manifest_is_quiet() -> None:
    assert policy_warnings(invalid_specs.base_manifest()) == []


@pytest.mark.parametrize(("patch", "metadata", "fields"), list(FIRES.values()), ids=list(FIRES))
def test_warning_fires(patch: dict[str, Any], metadata: dict[str, Any], fields: list[str]) -> None:
    doc = _manifest(patch, metadata)
    validate(doc)  # a warning never makes the spec invalid
    assert _fields(policy_warnings(doc)) == fields


@pytest.mark.parametrize(("patch", "metadata"), list(QUIET.values()), ids=list(QUIET))
def test_warning_stays_quiet(patch: dict[str, Any], metadata: dict[str, Any]) -> None:
    doc = _manifest(patch, metadata)
    validate(doc)
    assert policy_warnings(doc) == []


def test_every_warning_fires_somewhere() -> None:
    fired = {w for patch, metadata, _ in FIRES.values() for w in policy_warnings(_manifest(patch, metadata))}
    assert fired == {w.message for w in warning_rules()}


def test_a_namespace_given_like_kubectl_apply_n() -> None:
    doc = _manifest({}, {"namespace": DELETE})
    assert _fields(policy_warnings(doc)) == [NAMESPACE]
    assert policy_warnings(doc, namespace="shop") == []
    # The manifest's own namespace wins, as with kubectl.
    assert _fields(policy_warnings(_manifest({}, {"namespace": "default"}), namespace="shop")) == [NAMESPACE]


def test_nulls_are_pruned_and_defaults_applied_first() -> None:
    """As the API server sees the object: a null field is absent, and absent ones get the CRD's defaults."""
    doc = _manifest({"resources": None, "networkPolicy": {"enabled": None}, "imagePullPolicy": None}, {})
    validate(doc)
    assert policy_warnings(doc) == []


def test_examples_are_quiet(example: dict[str, Any]) -> None:
    assert policy_warnings(example) == []


def test_warnings_are_not_in_the_crd() -> None:
    crd = yaml.safe_dump(build_crd())
    assert "x-wsgi-operator" not in crd
    for w in warning_rules():
        assert w.rule not in crd, w.field


def test_declared_rules_go_where_their_severity_says() -> None:
    def subclasses(cls: type) -> list[type]:
        return [s for sub in cls.__subclasses__() for s in (sub, *subclasses(sub))]

    declared = [r for cls in subclasses(ApiModel) for r in cls.cel_rules]
    warnings = {r.rule for r in declared if r.severity is Severity.WARNING}
    assert warnings == {w.rule for w in warning_rules()}
    assert len(warning_rules()) == len([r for r in declared if r.severity is Severity.WARNING])
    # The schema of the spec still carries them (for the generator), the CRD does not.
    assert "x-wsgi-operator-warnings" in yaml.safe_dump(spec_schema_with_warnings())


def test_rules_on_the_whole_object_can_only_be_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WsgiApp, "cel_rules", (Rule("self.metadata.name != 'x'", "no x"),))
    with pytest.raises(ValueError, match="can only be warnings"):
        warning_rules()


# --- the generated policy ----------------------------------------------------------------------------


def test_committed_policy_is_up_to_date() -> None:
    assert POLICY_FILE.exists(), f"{POLICY_FILE} missing: run `make crds`"
    assert POLICY_FILE.read_text() == render_policy_yaml(), (
        f"{POLICY_FILE.relative_to(REPO)} is stale: the API models' warnings changed; run `make crds` and commit it"
    )


def test_cli_warnings_policy_prints_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["warnings-policy"]) == 0
    assert capsys.readouterr().out == render_policy_yaml()


def test_policy_yaml_round_trips() -> None:
    assert [d for d in yaml.safe_load_all(render_policy_yaml()) if d] == build_policy()


@pytest.mark.parametrize("obj", build_policy(), ids=lambda o: o["kind"])
def test_policy_matches_the_kubernetes_schema(obj: dict[str, Any]) -> None:
    problem = None
    try:
        used = kubernetes_validate.validate(obj, "1.35", strict=True)
    except kubernetes_validate.ValidationError as err:
        problem = f"{'.'.join(map(str, err.path))}: {err.message}"
    assert problem is None, problem
    assert used == "1.35"


def test_policy_warns_on_wsgiapps_only_and_never_refuses() -> None:
    policy, binding = build_policy()
    assert policy["spec"]["matchConstraints"] == {
        "resourceRules": [
            {
                "apiGroups": ["wsgi-operator.io"],
                "apiVersions": ["v1alpha1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["wsgiapps"],
            }
        ]
    }
    assert binding["spec"] == {"policyName": POLICY_NAME, "validationActions": ["Warn"]}
    assert policy["metadata"]["name"] == binding["metadata"]["name"] == POLICY_NAME


@pytest.mark.parametrize("validation", build_policy()[0]["spec"]["validations"], ids=lambda v: v["message"][:40])
def test_validation_compiles_and_is_plain(validation: dict[str, str]) -> None:
    env = celpy.Environment()
    env.program(env.compile(validation["expression"]))
    # One line (the API server refuses line breaks in a message), no escapes to get wrong.
    assert "\n" not in validation["message"] and "\\" not in validation["expression"]


def test_every_warning_fits_the_api_servers_warning_budget() -> None:
    """The API server truncates every warning of a response to 256 characters once their
    total passes 4096 (k8s.io/apiserver's warning recorder): all of them at once must fit."""
    prefix = SERVER_PREFIX.format(policy=POLICY_NAME, binding=POLICY_NAME)
    assert sum(len(prefix) + len(w.message) for w in warning_rules()) <= 4096


# --- wsgi-operator validate ----------------------------------------------------------------------------


def _write(tmp_path: Path, *docs: dict[str, Any], name: str = "app.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    return str(path)


def _risky() -> dict[str, Any]:
    return _manifest({"image": IMAGE_TAG, "networkPolicy": {"enabled": False}}, {})


def test_validate_prints_warnings_like_kubectl_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path, _risky())
    assert cli.main(["validate", path]) == cli.EXIT_VALID == 0
    out, err = capsys.readouterr()
    assert out == "1 WsgiApp(s) valid, 2 warning(s)\n"
    assert err.splitlines() == [f"{path}: WsgiApp shop:", *(f"Warning: {w}" for w in policy_warnings(_risky()))]
    assert [line.split(": ")[1] for line in err.splitlines()[1:]] == [IMAGE, ENABLED]


def test_validate_strict_fails_on_warnings(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["validate", "--strict", _write(tmp_path, _risky())]) == cli.EXIT_WARNINGS == 3
    assert capsys.readouterr().err.count("Warning: ") == 2


def test_validate_strict_passes_a_quiet_spec(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["validate", "--strict", _write(tmp_path, invalid_specs.base_manifest())]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("1 WsgiApp(s) valid\n", "")


def test_validate_errors_win_over_warnings(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    invalid = _manifest({"replicas": -1}, {"name": "broken"})
    path = _write(tmp_path, _risky(), invalid)
    for args in (["validate", path], ["validate", "--strict", path]):
        assert cli.main(args) == cli.EXIT_INVALID == 1
        out, err = capsys.readouterr()
        assert out == ""
        # The valid document's warnings are still shown, next to the other's errors.
        assert err.count("Warning: ") == 2 and f"{path}: WsgiApp broken: spec.replicas" in err


def test_validate_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["validate", "--strict", str(tmp_path / "missing.yaml")]) == cli.EXIT_UNREADABLE == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    assert cli.main(["validate", str(bad)]) == 2
    capsys.readouterr()


def test_validate_namespace_option(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path, _manifest({}, {"namespace": DELETE}))
    assert cli.main(["validate", "--strict", path]) == 3
    assert f"Warning: {NAMESPACE}: " in capsys.readouterr().err
    assert cli.main(["validate", "--strict", "-n", "shop", path]) == 0
    assert capsys.readouterr().err == ""


def test_validate_help_documents_the_exit_codes(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        cli.main(["validate", "--help"])
    out = capsys.readouterr().out
    for code in ("0  every", "1  at least one is invalid", "2  a file", "3  --strict"):
        assert code in out
