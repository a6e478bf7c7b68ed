"""Fixtures for tests that run the real mod_wsgi-express in a container built from the renderer's output.

The session first makes sure a Docker engine runs and the runtime image and
the two example app images (hello, and the Django project of
``test_django.py``) are built (``hack/docker/engine.sh``,
``hack/docker/build-images.sh runtime app django``: both cheap no-ops when
nothing changed), so ``pytest tests/runtime`` works on a fresh machine.

``pods.shared(patch)`` gives the running pod for a spec (``patch`` deep-merged
into ``support.harness.hello_manifest()``), started on first use and shared by every test
asking for the same spec. Tests that stop or recycle the server use
``private_pod(patch)`` and get their own, removed when the test ends. Every
container carries a label with this session's run id, and all of them are
removed (with their anonymous emptyDir volumes) when the session ends, failed
or not.

Every test under ``tests/runtime/`` gets the ``runtime`` marker.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from support.harness import APP_IMAGE, DJANGO_IMAGE, Pod, PodFactory, SharedPods
from support.podrun import docker

REPO_ROOT = Path(__file__).resolve().parents[2]
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory with ``runtime``."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.runtime)


@pytest.fixture(scope="session")
def docker_images() -> None:
    """A running engine and up-to-date runtime, hello and Django images (built once, cached by content)."""
    engine = REPO_ROOT / "hack/docker/engine.sh"
    if subprocess.run(["bash", str(engine)], check=False).returncode != 0:
        pytest.fail(f"{engine} failed: the runtime tests need a Docker engine (and root to start one)")
    build = REPO_ROOT / "hack/docker/build-images.sh"
    if subprocess.run(["bash", str(build), "runtime", "app", "django"], check=False).returncode != 0:
        pytest.fail(f"{build} runtime app django failed (see its log above)")
    docker("image", "inspect", APP_IMAGE)
    docker("image", "inspect", DJANGO_IMAGE)


@pytest.fixture(scope="session")
def pod_factory(docker_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodFactory]:
    """The session's pod factory; removes every container it started when the session ends."""
    factory = PodFactory(run_id=f"pytest-{uuid.uuid4().hex[:10]}", workdir=tmp_path_factory.mktemp("pods"))
    try:
        yield factory
    finally:
        factory.remove_all()


@pytest.fixture(scope="session")
def pods(pod_factory: PodFactory) -> SharedPods:
    """Containers shared across tests, one per spec (see :class:`SharedPods`)."""
    return SharedPods(pod_factory)


@pytest.fixture
def private_pod(pod_factory: PodFactory) -> Iterator[Callable[..., Pod]]:
    """Start pods only this test uses (it may stop or recycle them); removed when the test ends."""
    mine: list[Pod] = []

    def start(spec_patch: Mapping[str, Any] | None = None, *, wait: bool = True, **kwargs: Any) -> Pod:
        pod = pod_factory.start(spec_patch, wait=False, **kwargs)
        # Registered before waiting, so a pod that never serves is removed too.
        mine.append(pod)
        if wait:
            pod.wait_until_serving()
        return pod

    try:
        yield start
    finally:
        for pod in mine:
            pod.remove()


@pytest.fixture
def default_pod(pods: SharedPods) -> Pod:
    """The base spec with every default: what most hardening rows are about."""
    return pods.shared()
