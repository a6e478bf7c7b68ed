"""The refused annotation and pod label keys (``wsgi_operator.api.annotations``), as classes.

Every pattern of every class refuses a sample key, every class is exercised by
several rows of the invalid-spec table (which the cluster tests also send to a
real API server), and keys next to each pattern that are plain metadata pass.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import invalid_specs
from wsgi_operator.api import annotations
from wsgi_operator.api.annotations import KeyClass
from wsgi_operator.api.validation import InvalidWsgiApp, validate

ALL_CLASSES: tuple[KeyClass, ...] = tuple(
    dict.fromkeys(
        (
            *annotations.POD_ANNOTATIONS,
            *annotations.SERVICE_ANNOTATIONS,
            *annotations.INGRESS_ANNOTATIONS,
            *annotations.SERVICE_ACCOUNT_ANNOTATIONS,
        )
    )
)

#: The field of the spec each annotation map is, how to put a key in it, and its classes.
MAPS: dict[str, tuple[Any, tuple[KeyClass, ...]]] = {
    "spec.podAnnotations": (lambda k: {"podAnnotations": {k: "x"}}, annotations.POD_ANNOTATIONS),
    "spec.service.annotations": (lambda k: {"service": {"annotations": {k: "x"}}}, annotations.SERVICE_ANNOTATIONS),
    "spec.ingress.annotations": (
        lambda k: {"ingress": {"hosts": ["shop.example.com"], "annotations": {k: "x"}}},
        annotations.INGRESS_ANNOTATIONS,
    ),
    "spec.serviceAccountAnnotations": (
        lambda k: {"serviceAccountAnnotations": {k: "x"}},
        annotations.SERVICE_ACCOUNT_ANNOTATIONS,
    ),
}

#: A refused sample key for every pattern of every class, by class id.
REFUSED: dict[str, list[str]] = {
    "operator": ["wsgi-operator.io/config-hash", "operator.wsgi-operator.io/progress", "a.b.wsgi-operator.io/x"],
    "kubectl": ["kubectl.kubernetes.io/last-applied-configuration", "kubectl.kubernetes.io/default-container"],
    "security-profile": [
        "container.apparmor.security.beta.kubernetes.io/wsgi",
        "seccomp.security.alpha.kubernetes.io/pod",
        "container.seccomp.security.alpha.kubernetes.io/wsgi",
        "apparmor.security.beta.kubernetes.io/x",
    ],
    "runtime": [
        "io.kubernetes.cri-o.userns-mode",
        "io.kubernetes.cri.untrusted-workload",
        "cpu-load-balancing.crio.io",
        "seccomp-profile.kubernetes.cri-o.io/wsgi",
        "io.containerd.runc.v2.options",
        "io.katacontainers.config.hypervisor.kernel_params",
        "run.oci.keep_original_groups",
        "dev.gvisor.spec.mount.x.share",
        "cdi.k8s.io/vendor",
        "devices.nri.io/container.wsgi",
    ],
    "sidecar-injection": [
        "sidecar.istio.io/userVolume",
        "sidecar.istio.io/userVolumeMount",
        "sidecar.istio.io/proxyImage",
        "sidecar.istio.io/bootstrapOverride",
        "config.linkerd.io/proxy-image",
        "config.linkerd.io/enable-debug-sidecar",
    ],
    "controller-config": [
        "nginx.ingress.kubernetes.io/configuration-snippet",
        "nginx.ingress.kubernetes.io/stream-snippet",
        "nginx.ingress.kubernetes.io/modsecurity-snippet",
        "nginx.org/location-snippets",
        "haproxy.org/frontend-config-snippet",
        "example.com/snippet",
        "haproxy-ingress.github.io/config-defaults",
        "ingress.kubernetes.io/config-backend",
        "zalando.org/skipper-routes",
        "zalando.org/skipper-predicate",
        "nginx.ingress.kubernetes.io/mirror-host",
    ],
    "ingress-class": ["kubernetes.io/ingress.class"],
}

#: Keys next to the patterns that are only metadata, on every map.
ACCEPTED = [
    "prometheus.io/scrape",
    "example.com/team",
    "wsgi-operator.example.com/x",
    "notwsgi-operator.io/x",
    "kubernetes.io/description",
    "nginx.ingress.kubernetes.io/proxy-body-size",
    "nginx.ingress.kubernetes.io/auth-url",
    "traefik.ingress.kubernetes.io/router.middlewares",
    "cert-manager.io/cluster-issuer",
    "sidecar.istio.io/inject",
    "linkerd.io/inject",
    "config.linkerd.io/proxy-cpu-limit",
    "security.example.com/owner",
    "io.example.containerd",
    "example.com/snip",
    "haproxy.org/timeout-server",
    "zalando.org/backend-weights",
    "cluster-autoscaler.kubernetes.io/safe-to-evict",
    "team",
]


def _errors(patch: dict[str, Any]) -> list[str]:
    try:
        validate(invalid_specs.base_manifest(patch))
    except InvalidWsgiApp as err:
        return err.errors
    return []


def test_every_pattern_has_a_refused_sample() -> None:
    for c in ALL_CLASSES:
        samples = REFUSED[c.id]
        for pattern in c.patterns:
            assert any(re.search("(?i)" + pattern, k) for k in samples), f"{c.id}: no sample for {pattern}"


@pytest.mark.parametrize(
    ("cls", "key"), [(c, k) for c in ALL_CLASSES for k in REFUSED[c.id]], ids=lambda v: getattr(v, "id", v)
)
def test_sample_is_refused_on_every_map_of_its_class(cls: KeyClass, key: str) -> None:
    maps = [(field, patch) for field, (patch, classes) in MAPS.items() if cls in classes]
    assert maps
    for field, patch in maps:
        errors = _errors(patch(key))
        assert any(e.startswith(f"{field} must not set {cls.title}") for e in errors), (field, key, errors)


@pytest.mark.parametrize("key", ACCEPTED)
def test_plain_metadata_passes_on_every_map(key: str) -> None:
    for field, (patch, _) in MAPS.items():
        assert _errors(patch(key)) == [], (field, key)


def test_classes_apply_only_where_they_matter() -> None:
    """An AppArmor key means nothing on a Service: the class is refused on the pods only."""
    assert _errors({"service": {"annotations": {"container.apparmor.security.beta.kubernetes.io/x": "y"}}}) == []
    assert _errors({"podAnnotations": {"nginx.ingress.kubernetes.io/server-snippet": "y"}}) == []


def test_every_class_has_several_rows_in_the_invalid_table() -> None:
    errors = {}
    for case in invalid_specs.CASES:
        try:
            validate(case.manifest())
        except InvalidWsgiApp as err:
            errors[case.id] = err.errors
    for c in ALL_CLASSES:
        rows = [cid for cid, errs in errors.items() if any(f"must not set {c.title}" in e for e in errs)]
        assert len(rows) >= (1 if c is annotations.INGRESS_CLASS else 2), (c.id, rows)


@pytest.mark.parametrize(
    "key", ["team name", "Example.com/x", "example.com/", "/x", "-x", "example.com/" + "a" * 64, "a/b/c"]
)
def test_keys_must_be_qualified_names(key: str) -> None:
    for field, (patch, _) in MAPS.items():
        errors = _errors(patch(key))
        assert any(e.startswith(f"{field} keys must be qualified names") for e in errors), (field, key, errors)


def test_sixty_four_annotations_pass_and_sixty_five_do_not() -> None:
    keys = {f"example.com/a{i}": "x" for i in range(64)}
    assert _errors({"podAnnotations": keys}) == []
    assert any(e.startswith("spec.podAnnotations:") for e in _errors({"podAnnotations": {**keys, "b": "x"}}))


@pytest.mark.parametrize(
    "labels",
    [
        {"wsgi-operator.io/app": "other"},
        {"wsgi-operator.io/release-of": "shop"},
        {"x.wsgi-operator.io/y": "z"},
        *({k: "v"} for k in annotations.OPERATOR_POD_LABELS),
    ],
    ids=str,
)
def test_pod_labels_the_operator_sets_are_refused(labels: dict[str, str]) -> None:
    assert any(e.startswith("spec.podLabels must not set") for e in _errors({"podLabels": labels}))


def test_other_pod_labels_pass() -> None:
    assert _errors({"podLabels": {"app.kubernetes.io/version": "1.2", "team": "payments"}}) == []


def test_messages_say_why_and_what_instead() -> None:
    (err,) = _errors({"ingress": {"hosts": ["shop.example.com"], "annotations": {"kubernetes.io/ingress.class": "x"}}})
    assert "spec.ingress.className" in err
    (err,) = _errors({"podAnnotations": {"container.apparmor.security.beta.kubernetes.io/wsgi": "unconfined"}})
    assert "unconfined" in err and "RuntimeDefault" in err
