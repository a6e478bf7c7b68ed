"""Offline validation against the real API server, on a few hundred generated specs (issue 12).

``wsgi-operator validate`` must accept a spec if and only if the API server
accepts the WsgiApp AND every child the operator renders from it. Offline
looser than the server means a spec that validates in CI and then fails in the
cluster (or worse, a rendered child the server refuses after other children
were applied); offline stricter means refusing what works.

For each generated spec (tests/support/specgen.py: one field of a valid base
set to a value drawn from that field's schema, seeded):

- offline: ``validate`` (schema, CEL rules, Pod Security), then ``render``;
- server: create the WsgiApp with ``dryRun=All`` (the CRD's schema, defaults
  and CEL), then render what the server returned and server-side apply every
  child with ``dryRun=All`` (each kind's own validation).

The verdicts must agree on every spec, with no exception list: the Kubernetes
objects a spec passes through (selectors, ipBlocks, tolerations, affinity,
topology spread, env sources) are typed with the API server's rules, so no
field is free-form any more. The failure lists each disagreement with both
sides' messages. The invalid table and the valid near misses of the
pass-through rules are sent too. ``WSGI_OPERATOR_DIFF_COUNT`` and
``WSGI_OPERATOR_DIFF_SEED`` draw more or other specs (3000 specs of several
seeds agree as well).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from invalid_specs import CASES, base_manifest
from support.kubectl import install_crd
from support.specgen import PASS_THROUGH_NEAR_MISSES, PASS_THROUGH_SPEC, Mutation, bases, mutations
from wsgi_operator.api.crd import build_crd
from wsgi_operator.api.validation import InvalidWsgiApp, validate
from wsgi_operator.api.wsgiapp import WsgiApp
from wsgi_operator.controller.apply import ApiError, Kube, resource_of
from wsgi_operator.kinds import WSGIAPP
from wsgi_operator.render import render

#: What `kubectl apply` sends (its --validate=strict default): an unknown field is an error, not a
#: warning and a silently pruned field. Dry run: nothing is stored.
STRICT_DRY_RUN = [("dryRun", "All"), ("fieldValidation", "Strict")]
#: How many specs, and the seed that draws them (change the seed to explore; keep it fixed in CI).
COUNT = int(os.environ.get("WSGI_OPERATOR_DIFF_COUNT", 400))
SEED = int(os.environ.get("WSGI_OPERATOR_DIFF_SEED", 20261130))

#: What the API server answers for a kind it does not serve (a Status, or the bare mux's 404 page).
_NOT_SERVED = ("the server could not find the requested resource", "404 page not found")


@pytest.fixture(scope="module")
def kube(kubeconfig: Path, kubectl) -> Kube:
    from kubernetes import client, config

    install_crd(kubectl)
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return Kube(cfg, field_manager="differential-test")


def _in(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    manifest = copy.deepcopy(manifest)
    manifest["metadata"]["namespace"] = namespace
    return manifest


def offline_verdict(manifest: dict[str, Any]) -> str | None:
    """None if ``wsgi-operator validate`` accepts it (and it renders); else why not."""
    try:
        render(validate(copy.deepcopy(manifest)))
    except InvalidWsgiApp as err:
        return "; ".join(err.errors)
    return None


def server_verdict(kube: Kube, manifest: dict[str, Any]) -> str | None:
    """None if the API server accepts the WsgiApp and every rendered child (dry run); else why not."""
    namespace = manifest["metadata"]["namespace"]
    try:
        stored = kube.request("create", WSGIAPP, WSGIAPP.path(namespace), query=STRICT_DRY_RUN, body=manifest)
    except ApiError as err:
        return f"WsgiApp: {err.message}"
    try:
        # The server's object (its defaults applied), read by the models only: the CEL rules are the
        # server's to have judged, and validate() is the offline side.
        children = render(WsgiApp.parse(stored))
    except Exception as err:  # the models refuse what the server took: a disagreement to show
        return f"accepted by the server but the models cannot read it back: {err}"
    for child in children:
        resource = resource_of(child)
        try:
            kube.request(
                "apply",
                resource,
                resource.path(namespace, child["metadata"]["name"]),
                query=[*STRICT_DRY_RUN, ("fieldManager", "differential-test"), ("force", "true")],
                body=child,
                content_type="application/apply-patch+yaml",
            )
        except ApiError as err:
            if err.status == 404 and any(text in err.message for text in _NOT_SERVED):
                continue  # a kind this cluster does not serve (Gateway API without its CRDs)
            return f"{child['kind']}/{child['metadata']['name']}: {err.message}"
    return None


def _disagreements(kube: Kube, cases: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], int]:
    """(disagreements, specs the server accepted) over (label, manifest)."""
    found, accepted = [], 0
    for label, manifest in cases:
        offline, server = offline_verdict(manifest), server_verdict(kube, manifest)
        accepted += server is None
        if (offline is None) != (server is None):
            found.append(f"{label}\n    offline: {offline or 'accepted'}\n    server:  {server or 'accepted'}")
    return found, accepted


def test_generated_specs_get_the_same_verdict_offline_and_from_the_api_server(kube, namespace) -> None:
    spec_schema = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    drawn: list[tuple[Mutation, dict[str, Any]]] = mutations(spec_schema, bases(), COUNT, SEED)
    cases = [(m.describe(), _in(manifest, namespace)) for m, manifest in drawn]
    found, accepted = _disagreements(kube, cases)
    refused = len(cases) - accepted
    print(f"\n{len(cases)} generated specs (seed {SEED}): {accepted} accepted by the server, {refused} refused")
    # Both verdicts must occur, or the comparison proves little.
    assert 0 < accepted < len(cases)
    assert not found, f"{len(found)} of {len(cases)} disagree:\n" + "\n".join(found)


def test_the_invalid_table_gets_the_same_verdict_offline_and_from_the_api_server(kube, namespace) -> None:
    cases = [(case.id, _in(case.manifest(), namespace)) for case in CASES if case.crd_rejects]
    found, _ = _disagreements(kube, cases)
    assert not found, f"{len(found)} of {len(cases)} disagree:\n" + "\n".join(found)


def test_valid_near_misses_are_accepted_offline_and_by_the_api_server(kube, namespace) -> None:
    """Values next to the boundary of each rule of the pass-through types, on the valid side: the
    server must take the WsgiApp and every child (offline stricter than the server would show here)."""
    cases = [(name, _in(base_manifest(patch), namespace)) for name, patch in PASS_THROUGH_NEAR_MISSES.items()]
    cases.append(("pass-through", _in(base_manifest(PASS_THROUGH_SPEC), namespace)))
    found, accepted = _disagreements(kube, cases)
    assert not found, f"{len(found)} of {len(cases)} disagree:\n" + "\n".join(found)
    assert accepted == len(cases)
