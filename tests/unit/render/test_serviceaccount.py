"""Unit tests of render/serviceaccount.py: the app's own ServiceAccount, and no API token in the pod."""

from __future__ import annotations

from invalid_specs import APP
from support.rendered import RenderKinds, pod_spec


def test_service_account_token_is_never_mounted(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"serviceAccountAnnotations": {"iam.gke.io/gcp-service-account": "shop@p.iam"}})
    sa = kinds["ServiceAccount"]
    assert sa["automountServiceAccountToken"] is False
    assert sa["metadata"]["name"] == APP
    assert sa["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": "shop@p.iam"}
    pod = pod_spec(kinds)
    assert pod["serviceAccountName"] == APP
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
