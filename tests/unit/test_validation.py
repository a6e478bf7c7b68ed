"""Offline validation (``wsgi_operator.api.validation`` and ``wsgi-operator validate``).

Every row of ``invalid_specs.CASES`` must be refused naming its field, by the
library and by the CLI, and must never make the renderer (or the CLI's render
command) crash or print a partial result. The examples, and a set of valid
near-misses next to each rule's boundary, must validate.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import invalid_specs
from wsgi_operator import cli
from wsgi_operator.api.validation import CEL_NOT_CHECKED, InvalidWsgiApp, validate
from wsgi_operator.render import render

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


def names_field(text: str, field: str) -> bool:
    """True when ``text`` names ``field`` as a whole path (``spec.env`` is named by
    ``spec.env:``, ``spec.env[]`` and ``spec.env.foo``, not by ``spec.envFrom``)."""
    return re.search(r"(?:^|[\s'\"(])" + re.escape(field) + r"(?=$|[\s:.,/)]|\[\])", text, re.MULTILINE) is not None


def _errors_of(obj: Any) -> list[str]:
    with pytest.raises(InvalidWsgiApp) as info:
        validate(obj)
    assert info.value.errors, "InvalidWsgiApp without errors"
    return info.value.errors


def _write(tmp_path: Path, docs: list[dict[str, Any]], name: str = "app.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


# --- the table itself ---------------------------------------------------------------


def test_table_has_enough_distinct_cases() -> None:
    cases = invalid_specs.CASES
    assert len(cases) >= 30
    assert len({c.id for c in cases}) == len(cases)
    assert all(c.description and c.field for c in cases)
    # Nearly every mistake must be caught by the API server, not only offline.
    assert sum(c.crd_rejects for c in cases) >= len(cases) - 3


def test_base_manifest_is_valid() -> None:
    app = validate(invalid_specs.base_manifest())
    assert app.metadata.name == "shop"
    assert render(app)


def test_case_manifest_is_fresh_and_differs_from_base(case: invalid_specs.InvalidCase) -> None:
    first = case.manifest()
    assert first != invalid_specs.base_manifest()
    first["spec"] = "mutated"
    assert case.manifest() != first, "manifest() must return a new object every call"


def test_deep_merge_rules() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = invalid_specs.deep_merge(base, {"a": {"c": [3], "e": 2}, "d": invalid_specs.DELETE})
    assert merged == {"a": {"b": 1, "c": [3], "e": 2}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


# --- every invalid case is refused, naming its field --------------------------------------


def test_case_is_rejected_naming_the_field(case: invalid_specs.InvalidCase) -> None:
    try:
        validate(case.manifest())
    except InvalidWsgiApp as err:
        assert err.errors
        assert any(names_field(e, case.field) for e in err.errors), (
            f"{case.id}: no error names {case.field!r}; got {err.errors}"
        )
    else:
        pytest.fail(f"{case.id} ({case.description}) was accepted; expected an error naming {case.field}")


def test_case_is_rejected_by_the_cli(
    case: invalid_specs.InvalidCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, [case.manifest()])
    rc = cli.main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert rc != 0, f"{case.id}: `wsgi-operator validate` exited 0 ({out.strip()!r})"
    assert "valid" not in out
    assert str(path) in err
    assert names_field(err, case.field), f"{case.id}: stderr does not name {case.field!r}:\n{err}"


def test_case_never_crashes_the_renderer(case: invalid_specs.InvalidCase) -> None:
    """validate() raises InvalidWsgiApp and nothing else; were a case ever accepted,
    rendering it still must not crash (acceptance itself is the test above)."""
    try:
        app = validate(case.manifest())
    except InvalidWsgiApp:
        return
    except Exception as err:  # the point of the test: no other exception type
        pytest.fail(f"{case.id}: validate raised {type(err).__name__} instead of InvalidWsgiApp: {err}")
    objects = render(app)
    assert any(o["kind"] == "Deployment" for o in objects)


def test_cli_render_refuses_every_invalid_case_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = invalid_specs.base_manifest()
    docs = [valid] + [c.manifest() for c in invalid_specs.CASES]
    path = _write(tmp_path, docs)
    assert cli.main(["render", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "", "render printed objects although the input had invalid WsgiApps"
    assert str(path) in err


# --- messages -------------------------------------------------------------------------------


def test_all_schema_errors_are_reported_at_once() -> None:
    errors = _errors_of(
        invalid_specs.deep_merge(
            invalid_specs.base_manifest(),
            {"spec": {"server": {"port": 80, "threads": 0}, "security": {"runAsUser": 0}}},
        )
    )
    for field in ("spec.server.port", "spec.server.threads", "spec.security.runAsUser"):
        assert any(names_field(e, field) for e in errors), (field, errors)


def test_all_cel_errors_are_reported_at_once() -> None:
    errors = _errors_of(
        invalid_specs.deep_merge(
            invalid_specs.base_manifest(),
            {
                "spec": {
                    "security": {"trustedProxyHeaders": ["X-Forwarded-For"]},
                    "timeouts": {"request": 0},
                    "entryPoint": {"script": "wsgi.py"},
                }
            },
        )
    )
    for field in ("spec.security.trustedProxyHeaders", "spec.timeouts.request", "spec.entryPoint"):
        assert any(names_field(e, field) for e in errors), (field, errors)


def test_schema_and_cel_errors_are_reported_together() -> None:
    """As the API server does (so kubectl apply prints them all): a bound or pattern
    error of the schema does not hold back the CEL rules."""
    errors = _errors_of(
        invalid_specs.base_manifest(
            {
                "server": {"port": 80},
                "timeouts": {"request": 0},
                "security": {"trustedProxyHeaders": ["X-Forwarded-For"]},
                "podAnnotations": {"container.apparmor.security.beta.kubernetes.io/wsgi": "unconfined"},
                "probes": {"readiness": {"httpGet": {"port": "http", "host": "10.0.0.1"}}},
            }
        )
    )
    for field in (
        "spec.server.port",
        "spec.timeouts.request",
        "spec.security.trustedProxyHeaders",
        "spec.podAnnotations",
        "spec.probes.readiness.httpGet.host",
    ):
        assert any(names_field(e, field) for e in errors), (field, errors)
    assert CEL_NOT_CHECKED not in errors
    assert len(errors) == 5, errors


@pytest.mark.parametrize(
    "blocking",
    [
        {"replicas": "3"},
        {"imagePullPolicy": "always"},
        {"entryPoint": {"module": "shop.wsgi", "callable": "a" * 101}},
        {"podAnnotations": {f"example.com/a{i}": "x" for i in range(65)}},
        {"probes": {"liveness": {"tcpSocket": {"port": True}}}},
    ],
    ids=["wrong-type", "not-in-enum", "too-long", "too-many", "int-or-string-type"],
)
def test_a_blocking_schema_error_holds_back_the_cel_rules(blocking: dict[str, Any]) -> None:
    """The API server skips the CEL rules after a wrong type, a missing field, a value outside
    an enum or something too long (apiextensions' hasBlockingErr) and says so; so does validate."""
    errors = _errors_of(invalid_specs.base_manifest({**blocking, "timeouts": {"request": 0}}))
    assert not any(names_field(e, "spec.timeouts.request") for e in errors), errors
    assert errors[-1] == CEL_NOT_CHECKED


def test_a_rule_that_cannot_evaluate_a_refused_value_is_reported() -> None:
    """A malformed quantity fails its pattern, and the rule comparing quantities cannot
    run on it: the API server reports both, and so does validate."""
    errors = _errors_of(invalid_specs.CASES_BY_ID["resources-bad-quantity"].manifest())
    assert any(names_field(e, "spec.resources.limits.memory") for e in errors), errors
    assert any(e.startswith("spec.resources.requests") and "could not be evaluated" in e for e in errors), errors


def test_cli_prints_every_error_of_every_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = invalid_specs.base_manifest(
        {"server": {"port": 80}, "timeouts": {"request": 0}, "priorityClassName": "system-node-critical"}
    )
    other = invalid_specs.CASES_BY_ID["probe-http-host-metadata"].manifest()
    other["metadata"]["name"] = "other"
    path = _write(tmp_path, [bad, invalid_specs.base_manifest(), other])
    assert cli.main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    for name, field in [
        ("shop", "spec.server.port"),
        ("shop", "spec.timeouts.request"),
        ("shop", "spec.priorityClassName"),
        ("other", "spec.probes.readiness.httpGet.host"),
    ]:
        assert any(line.startswith(f"{path}: WsgiApp {name}: ") and names_field(line, field) for line in lines), (
            name,
            field,
            err,
        )
    assert len(lines) == 4, err


def test_null_fields_are_pruned_and_defaulted_as_by_the_api_server() -> None:
    m = invalid_specs.base_manifest({"ingress": None, "timeouts": {"request": None}})
    m["spec"]["replicas"] = None
    app = validate(m)
    assert app.spec.replicas == 2
    assert app.spec.ingress is None
    assert app.spec.timeouts.request == 60


def test_a_nullable_field_keeps_its_null() -> None:
    """targetCpuUtilization is nullable in the CRD: null turns the CPU target off there too."""
    app = validate(invalid_specs.base_manifest({"autoscaling": {"maxReplicas": 4, "targetCpuUtilization": None}}))
    assert app.spec.autoscaling is not None
    assert app.spec.autoscaling.target_cpu_utilization is None


def test_probe_host_message_says_what_to_do_instead() -> None:
    (err,) = _errors_of(invalid_specs.CASES_BY_ID["probe-http-host-metadata"].manifest())
    assert err.startswith("spec.probes.readiness.httpGet.host: must not be set")
    assert "httpHeaders" in err and "Host" in err and "1.34" in err
    (err,) = _errors_of(invalid_specs.CASES_BY_ID["probe-tcp-host"].manifest())
    assert err.startswith("spec.probes.liveness.tcpSocket.host: must not be set")


def test_cel_messages_say_what_is_allowed() -> None:
    (err,) = _errors_of(invalid_specs.CASES_BY_ID["uid-nobody"].manifest())
    assert "65534" in err and "1000" in err
    (err,) = _errors_of(invalid_specs.CASES_BY_ID["proxy-headers-without-proxies"].manifest())
    assert "trustedProxies" in err
    (err,) = _errors_of(invalid_specs.CASES_BY_ID["django-debug-on"].manifest())
    assert "allowDebugEnv" in err


def test_unknown_field_message_points_to_kubectl_explain() -> None:
    (err,) = _errors_of(invalid_specs.CASES_BY_ID["typo-replica"].manifest())
    assert "unknown field" in err and "kubectl explain" in err


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (["not", "a", "mapping"], "mapping"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, "apiVersion/kind"),
        ({**invalid_specs.base_manifest(), "kind": "WSGIApp"}, "apiVersion/kind"),
    ],
    ids=["list", "configmap", "kind-case"],
)
def test_foreign_documents_are_refused(doc: Any, expected: str) -> None:
    assert any(expected in e for e in _errors_of(doc))


# --- valid inputs --------------------------------------------------------------------------

#: Valid specs right next to a rule's boundary: a rule written too broadly rejects them.
VALID_NEAR_MISSES: dict[str, dict[str, Any]] = {
    "uid-1000": {"security": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}},
    "port-1024": {"server": {"port": 1024}},
    "port-65535": {"server": {"port": 65535}},
    "threads-256": {"server": {"threads": 256}},
    "request-timeout-1": {"timeouts": {"request": 1}},
    "header-max-0": {"timeouts": {"header": 20, "headerMax": 0}},
    "header-max-equal": {"timeouts": {"header": 20, "headerMax": 20}},
    "proxies-without-headers": {"security": {"trustedProxies": ["10.0.0.0/8"]}},
    "proxies-ipv6": {"security": {"trustedProxies": ["fd00::/8"], "trustedProxyHeaders": ["X-Forwarded-For"]}},
    "umask-three-digits": {"security": {"umask": "077"}},
    "umask-0022": {"security": {"umask": "0022"}},
    "flask-debug-upper-no": {"env": [{"name": "FLASK_DEBUG", "value": "NO"}]},
    "proxies-slash-8": {"security": {"trustedProxies": ["10.0.0.0/8"], "trustedProxyHeaders": ["X-Forwarded-For"]}},
    "module-with-keyword-prefix": {"entryPoint": {"module": "imports.classes.wsgi"}},
    "request-timeout-an-hour": {"timeouts": {"request": 3600}},
    "writable-sibling-prefix-of-code": {"writableDirs": [{"name": "data", "mountPath": "/app-data"}]},
    "writable-tmp-prefix": {"writableDirs": [{"name": "files", "mountPath": "/tmpfiles"}]},
    "writable-siblings": {
        "writableDirs": [
            {"name": "media", "mountPath": "/var/lib/shop/media"},
            {"name": "media2", "mountPath": "/var/lib/shop/media2"},
        ]
    },
    "writable-next-to-code-parent": {
        "code": {"path": "/srv/shop/app"},
        "writableDirs": [{"name": "data", "mountPath": "/srv/shop/data"}],
    },
    "writable-name-60": {"writableDirs": [{"name": "m" * 60, "mountPath": "/var/lib/shop/media"}]},
    "debug-env-false": {"env": [{"name": "DJANGO_DEBUG", "value": "false"}, {"name": "FLASK_DEBUG", "value": "0"}]},
    "debug-env-allowed": {"env": [{"name": "DJANGO_DEBUG", "value": "1"}], "security": {"allowDebugEnv": True}},
    "env-value-from-secret": {
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]
    },
    "script-entry": {"entryPoint": {"module": invalid_specs.DELETE, "script": "app/wsgi.py"}},
    "autoscaling-min-equals-max": {"autoscaling": {"minReplicas": 3, "maxReplicas": 3}},
    "pdb-min-available": {"disruptionBudget": {"minAvailable": 1}},
    "wildcard-host": {"ingress": {"hosts": ["*.shop.example.com"]}},
    "code-image-volume": {"code": {"image": {"reference": "registry.example.com/shop/code:1.0"}}},
    "replicas-0": {"replicas": 0},
    "probe-overrides-every-handler": {
        "probes": {
            "liveness": {"tcpSocket": {"port": 8000}, "successThreshold": 1, "terminationGracePeriodSeconds": 30},
            "readiness": {
                "httpGet": {
                    "path": "/ready?full=1",
                    "port": "http",
                    "scheme": "HTTP",
                    "httpHeaders": [
                        {"name": "Host", "value": "shop.example.com"},
                        {"name": "X-Probe", "value": "a\tb"},
                    ],
                },
                "initialDelaySeconds": 0,
                "successThreshold": 3,
            },
            "startup": {"exec": {"command": ["/bin/true"]}, "failureThreshold": 600, "periodSeconds": 1},
        }
    },
    "probe-grpc": {"probes": {"readiness": {"grpc": {"port": 8000, "service": "shop.Health"}}}},
    "probe-host-empty": {"probes": {"readiness": {"httpGet": {"port": 65535, "host": ""}}}},
    "probe-port-1": {"probes": {"liveness": {"tcpSocket": {"port": 1}}}},
    "pod-annotations-metadata": {
        "podAnnotations": {
            "prometheus.io/scrape": "true",
            "sidecar.istio.io/inject": "true",
            "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
        }
    },
    "ingress-annotations-settings": {
        "ingress": {
            "hosts": ["shop.example.com"],
            "annotations": {
                "nginx.ingress.kubernetes.io/proxy-body-size": "10m",
                "cert-manager.io/cluster-issuer": "letsencrypt",
                "traefik.ingress.kubernetes.io/router.middlewares": "shop-auth@kubernetescrd",
            },
        }
    },
    "service-account-workload-identity": {"serviceAccountAnnotations": {"eks.amazonaws.com/role-arn": "arn:x"}},
    "sixty-four-annotations": {"podAnnotations": {f"example.com/a{i}": "x" for i in range(64)}},
    "pod-label-version": {"podLabels": {"app.kubernetes.io/version": "1.2"}},
    "priority-class-systematic": {"priorityClassName": "systematic"},
    "autoscaling-no-cpu-target": {"autoscaling": {"maxReplicas": 3, "targetCpuUtilization": None}},
}


@pytest.mark.parametrize("patch", list(VALID_NEAR_MISSES.values()), ids=list(VALID_NEAR_MISSES))
def test_valid_near_miss_is_accepted(patch: dict[str, Any]) -> None:
    m = invalid_specs.base_manifest()
    m["spec"] = invalid_specs.deep_merge(m["spec"], patch)
    validate(m)


def test_example_validates(example: dict[str, Any]) -> None:
    app = validate(example)
    assert app.metadata.name == example["metadata"]["name"]


def test_cli_validates_every_example(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(EXAMPLES_DIR.glob("*.yaml"))
    assert len(files) >= 3
    count = sum(1 for f in files for d in yaml.safe_load_all(f.read_text()) if d)
    assert cli.main(["validate", *map(str, files)]) == 0
    out, err = capsys.readouterr()
    # No error; warnings (a document's line, then its Warning: lines) are test_warnings.py's business.
    assert all(line.startswith("Warning: ") or line.endswith(":") for line in err.splitlines()), err
    assert out.startswith(f"{count} WsgiApp(s) valid")


def test_cli_reports_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(tmp_path / "missing.yaml")]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed\n")
    assert cli.main(["validate", str(bad)]) == 2
    assert "wsgi-operator:" in capsys.readouterr().err
