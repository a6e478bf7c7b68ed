"""The tier that runs the operator against the local control plane.

The cluster fixtures it uses (``kubeconfig``, ``kubectl``, ``api_client``,
``namespace``) are in ``tests/conftest.py``, shared with ``tests/e2e``: the
control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler
and kwok with one fake node, plus the real node unless
``WSGI_OPERATOR_REAL_NODE=0``) is started by ``hack/k8s/cluster.sh up`` once per
test session and stopped at the end, unless it was already running, or
``WSGI_OPERATOR_KUBECONFIG`` names the kubeconfig of a cluster someone else
runs; then it is used as it is and left alone. Pods of this tier never land on
the real node: it is tainted, and they do not tolerate it.

Every test under ``tests/cluster/`` gets the ``cluster`` marker, so
``pytest -m 'not cluster'`` skips them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory with ``cluster``."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.cluster)
