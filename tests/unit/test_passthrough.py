"""The Kubernetes objects a WsgiApp passes through, typed (issue 12): selectors, ipBlocks,
tolerations, affinity, topology spread, env sources, and the image reference grammar.

The invalid-spec table (tests/invalid_specs.py) holds the refusals; here: valid values
next to each rule's boundary are accepted, what is accepted renders exactly as written,
the offline CEL CIDR library behaves as the API server's (Go's netip), and the patterns
accept and refuse what they should.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

import invalid_specs
from support import celpy_reference
from support.specgen import PASS_THROUGH_NEAR_MISSES, PASS_THROUGH_SPEC
from wsgi_operator.api.base import IMAGE_REF, NETWORK_CIDR, QUALIFIED_NAME
from wsgi_operator.api.celcompile import program
from wsgi_operator.api.cellibrary import parse_cidr
from wsgi_operator.api.environment import FIELD_PATH
from wsgi_operator.api.validation import InvalidWsgiApp, validate
from wsgi_operator.render import render

DIGEST = "@sha256:" + "ab" * 32


def _valid(patch: dict[str, Any]) -> list[dict[str, Any]]:
    return render(validate(invalid_specs.base_manifest(patch)))


def _kind(objects: list[dict[str, Any]], kind: str, name: str = invalid_specs.APP) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


# --- what is accepted renders as written ---------------------------------------------------------------------


def test_every_pass_through_object_renders_exactly_as_written() -> None:
    objects = _valid(copy.deepcopy(PASS_THROUGH_SPEC))
    pod = _kind(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["tolerations"] == PASS_THROUGH_SPEC["tolerations"]
    assert pod["affinity"] == PASS_THROUGH_SPEC["affinity"]
    # As written, but a constraint without a labelSelector counts the app's own pods (render/deployment.py).
    zone, hosts = PASS_THROUGH_SPEC["topologySpreadConstraints"]
    own = {"matchLabels": {"wsgi-operator.io/app": invalid_specs.APP}}
    assert "labelSelector" not in hosts
    assert pod["topologySpreadConstraints"] == [zone, {**hosts, "labelSelector": own}]
    assert pod["nodeSelector"] == PASS_THROUGH_SPEC["nodeSelector"]
    (container,) = pod["containers"]
    assert container["envFrom"] == PASS_THROUGH_SPEC["envFrom"]
    assert container["env"][1:] == PASS_THROUGH_SPEC["env"]
    policy = _kind(objects, "NetworkPolicy")["spec"]
    peers = [p for rule in policy["egress"] for p in rule["to"]]
    for peer in PASS_THROUGH_SPEC["networkPolicy"]["egressTo"]:
        assert {k: v for k, v in peer.items() if k != "ports"} in peers
    (wanted,) = PASS_THROUGH_SPEC["networkPolicy"]["ingressFrom"]
    assert any(wanted in rule["from"] for rule in policy["ingress"])


def test_an_empty_affinity_renders_the_default() -> None:
    pod = _kind(_valid({"affinity": {}}), "Deployment")["spec"]["template"]["spec"]
    assert pod["affinity"] == _kind(_valid({}), "Deployment")["spec"]["template"]["spec"]["affinity"]
    assert list(pod["affinity"]) == ["podAntiAffinity"]


@pytest.mark.parametrize("patch", list(PASS_THROUGH_NEAR_MISSES.values()), ids=list(PASS_THROUGH_NEAR_MISSES))
def test_valid_near_miss_is_accepted(patch: dict[str, Any]) -> None:
    assert _valid(patch)


# --- the offline CIDR library is the API server's -------------------------------------------------------------

#: text -> whether Go's netip.ParsePrefix takes it and the Kubernetes CEL library's cidr() keeps it.
IS_CIDR = {
    "10.0.0.0/8": True,
    "10.1.2.3/8": True,
    "0.0.0.0/0": True,
    "255.255.255.255/32": True,
    "::/0": True,
    "2001:db8::/32": True,
    "64:ff9b::1.2.3.4/128": True,
    "10.0.0.0": False,
    "10.0.0.0/33": False,
    "10.0.0.0/08": False,
    "010.0.0.0/8": False,
    "10.0.0.0/+8": False,
    "2001:db8::/129": False,
    "fe80::1%eth0/64": False,
    "::ffff:10.0.0.0/104": False,
    "::ffff:0:0/96": False,
    "": False,
    "garbage": False,
}


@pytest.mark.parametrize(("text", "expected"), IS_CIDR.items(), ids=list(IS_CIDR))
def test_offline_cidr_parses_as_go_netip(text: str, expected: bool) -> None:
    try:
        parse_cidr(text)
    except ValueError:
        parsed = False
    else:
        parsed = True
    assert parsed is expected


#: CEL over the CIDR library -> its value on the API server (k8s.io/apiserver pkg/cel/library/cidr.go:
#: containsCIDR is Overlaps and a prefix no longer than the other's; == compares address and length).
CIDR_EXPRESSIONS = {
    "cidr('10.0.0.0/8') == cidr('10.0.0.0/8').masked()": True,
    "cidr('10.1.2.3/8') == cidr('10.1.2.3/8').masked()": False,
    "cidr('2001:db8::1/64') == cidr('2001:db8::1/64').masked()": False,
    "cidr('10.0.0.0/8').containsCIDR('10.20.0.0/16')": True,
    "cidr('10.0.0.0/8').containsCIDR('10.0.0.0/8')": True,
    "cidr('10.0.0.0/16').containsCIDR('10.0.0.0/8')": False,
    "cidr('10.0.0.0/8').containsCIDR('11.0.0.0/16')": False,
    "cidr('10.0.0.0/8').containsCIDR('fd00::/16')": False,
    "cidr('0.0.0.0/0').containsCIDR('::/0')": False,
    "cidr('10.1.2.3/8').containsCIDR('10.200.0.0/16')": True,
    "cidr('2001:db8::/32').containsCIDR('2001:db8:1::/48')": True,
    "cidr('10.0.0.0/8').containsCIDR(cidr('10.1.0.0/16'))": True,
    "cidr('10.0.0.0/8').prefixLength() == 8": True,
    "isCIDR('::ffff:0:0/96')": False,
    "isCIDR('1.2.3.4')": False,
}


@pytest.mark.parametrize(("expression", "expected"), CIDR_EXPRESSIONS.items(), ids=list(CIDR_EXPRESSIONS))
def test_offline_cidr_library_agrees_with_the_api_server(expression: str, expected: bool) -> None:
    assert program(expression).evaluate({}) is expected
    assert celpy_reference.program(expression).evaluate({}) is expected


# --- patterns ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (
            NETWORK_CIDR,
            [
                "10.0.0.0/8",
                "0.0.0.0/0",
                "1.2.3.4/32",
                "::/0",
                "::1/128",
                "1::/16",
                "1:2:3:4:5:6:7::/112",
                "::2:3:4:5:6:7:8/128",
                "2001:DB8:0:0:0:0:0:0/32",
                "fe80::/10",
            ],
            [
                "1.2.3.4",
                "1.2.3.4/33",
                "01.2.3.4/32",
                "1.2.3.4/032",
                "256.0.0.0/8",
                ":::/0",
                "1::2::/64",
                "1:2:3:4:5:6:7:8:9/128",
                "12345::/16",
                "::ffff:1.2.3.4/128",
                "fe80::1%eth0/64",
                "::/129",
                " 10.0.0.0/8",
            ],
        ),
        (
            IMAGE_REF,
            [
                "busybox",
                "i",
                "local/wsgi-hello:dev",
                "localhost:5000/x:y",
                "registry.example.com/shop/web" + DIGEST,
                "registry.example.com/shop/web:1.4.2" + DIGEST,
                "[fd00::1]:5000/a/b",
                "Registry.Example.com/shop/web",
                "a__b/c---d:_x",
            ],
            [
                "",
                "Shop/Web",
                "shop/web:",
                "shop/web@sha256:" + "a" * 63,
                "shop/web@sha256:" + "a" * 65,
                "shop/web@sha256:" + "A" * 64,
                "shop/web@sha384:" + "a" * 96,
                "shop//web",
                "shop/web:" + "a" * 129,
                "-shop/web",
                "shop_/web",
                "shop/web:1 ",
                "https://r.example.com/x",
            ],
        ),
        (
            QUALIFIED_NAME,
            ["app", "example.com/app", "A.b_c-9", "a" * 63, "k8s.io/" + "a" * 63],
            ["", "/app", "Example.com/app", "app/", "a" * 64, "-app", "app_", "a/b/c", "ex ample.com/app"],
        ),
        (
            FIELD_PATH,
            ["metadata.name", "status.podIPs", "metadata.labels['app']", "metadata.annotations['Example.COM/a']"],
            [
                "metadata.labels",
                "spec.host",
                "status.phase",
                "metadata.labels['a b']",
                "metadata.labels[app]",
                "metadata.name ",
            ],
        ),
    ],
    ids=["network-cidr", "image-ref", "qualified-name", "field-path"],
)
def test_pattern(pattern: str, good: list[str], bad: list[str]) -> None:
    # Python's re stands in for RE2 and Rust's regex here: the patterns use their common subset.
    assert [g for g in good if not re.search(pattern, g)] == []
    assert [b for b in bad if re.search(pattern, b)] == []


def test_image_digest_of_the_wrong_length_is_refused_with_a_readable_message() -> None:
    with pytest.raises(InvalidWsgiApp) as info:
        validate(invalid_specs.base_manifest({"image": "registry.example.com/shop/web@sha256:" + "a" * 65}))
    (error,) = info.value.errors
    assert error.startswith("spec.image: ") and "is not an image reference" in error
