"""The Django example (examples/django.yaml, image local/wsgi-django:dev) as a WsgiApp whose pods
really run: on the real node, in a Pod Security `restricted` namespace, its release step (the
migrations Job) first, its two PersistentVolumeClaims bound to hostPath volumes the test owns
(support.django_node: the cluster has no provisioner), served by Apache behind Traefik.

What changes from the example: the locally built image, the node's nodeSelector and toleration,
the Ingress class (traefik) and a host name unique to the test's namespace (so tests sharing the
cluster never route each other's hosts), an HTTPRoute on the node's Gateway, ALLOWED_HOSTS naming
those hosts, and a client pod admitted by the NetworkPolicy. Everything else (release, claims,
aliases, trusted proxies, probes, the Ingress's TLS secret name) is the example's.
"""

from __future__ import annotations

import re
import sqlite3
import stat
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.django_node import (
    DJANGO_IMAGE,
    PodIdentity,
    bind_claims,
    django_app,
    example_claims,
    hostpath_volumes,
    pod_identity,
)
from support.harness import Browser, Response
from support.kubectl import Kubectl
from support.realnode import APP_LABEL, REAL_NODE, Namespace, Probe, wait_ingress
from support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = "django"
#: The example's claims: the database (settings.DATA_DIR) and the uploads (MEDIA_ROOT).
DATA_CLAIM, MEDIA_CLAIM = "django-data", "django-media"
READY_TIMEOUT = 300
#: The one addition to the example's fence: a client pod (labelled app=client) may connect, for the
#: ClusterIP check. (The node's own network has no route to the Service range.)
CLIENT_PEER = {"ingressFrom": [{"app": "client"}]}
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CSS = re.compile(r'href="(/static/documents/site\.[0-9a-f]{12}\.css)"')


@pytest.fixture(scope="session")
def django_image(real_node: Any, node_images: None) -> str:
    """local/wsgi-django:dev, built (cached by content) FROM the runtime image, in the node's containerd."""
    if subprocess.run(["bash", str(REPO_ROOT / "hack/docker/build-images.sh"), "django"], check=False).returncode:
        pytest.fail("hack/docker/build-images.sh django failed (see its output above)")
    real_node.load_images(DJANGO_IMAGE)
    return DJANGO_IMAGE


@dataclass(frozen=True)
class Volumes:
    """The claims of the example and the host directories behind them."""

    dirs: dict[str, Path]
    identity: PodIdentity


@pytest.fixture
def volumes(ns: Namespace, kubectl: Kubectl, tmp_path: Path) -> Iterator[Volumes]:
    """The example's claims in the test's namespace, each bound to a hostPath PersistentVolume
    on a fresh directory under the test's tmp_path, owned for the pods' fsGroup.

    The PersistentVolumes (cluster-scoped, named after the namespace) are deleted afterwards;
    their pv-protection finalizer holds them until the namespace's deletion has removed the
    claims. The directories stay with pytest's tmp_path (the last three sessions are kept).
    """
    identity = pod_identity(django_app(ns.name, "probe.invalid"))
    claims = example_claims(ns.name)
    pvs, dirs = hostpath_volumes(
        claims, tmp_path / "volumes", identity.fs_group, labels={"wsgi-operator.io/e2e-namespace": ns.name}
    )
    names = [pv["metadata"]["name"] for pv in pvs]
    try:
        bind_claims(kubectl, ns, pvs, claims)
        yield Volumes(dirs, identity)
    finally:
        kubectl("delete", "pv", *names, "--wait=false", "--ignore-not-found", check=False)


def csrf_token(resp: Response) -> str:
    match = _TOKEN.search(resp.text)
    assert match, f"no CSRF token in HTTP {resp.status}: {resp.text[:500]}"
    return match.group(1)


def release_job(ns: Namespace, app: dict[str, Any]) -> dict[str, Any]:
    """The release Job the WsgiApp's status names, checked: Complete, its one pod run on the real node."""
    release = app["status"].get("release") or {}
    assert release.get("state") == "Succeeded", app["status"]
    job = ns.get("job", release["job"])
    assert job, f"no Job {release['job']}"
    conditions = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
    assert conditions.get("Complete") == "True" and job["status"].get("succeeded") == 1, job["status"]
    (pod,) = ns.items("pods", f"batch.kubernetes.io/job-name={release['job']}")
    assert pod["spec"]["nodeName"] == REAL_NODE
    (status,) = pod["status"]["containerStatuses"]
    assert status["containerID"].startswith("containerd://"), status
    assert status["state"]["terminated"]["exitCode"] == 0, status
    return job


def test_django_example_runs_on_the_real_node(ns, operator, real_node, django_image, volumes):
    """The release Job (migrate) succeeds on the real node, then the WsgiApp becomes Ready there;
    pages, static files and uploads work through the Ingress and the HTTPRoute; the upload and the
    migrations' SQLite database are on the claims' volumes, owned by the pod's UID and fsGroup."""
    host = f"django.{ns.name}.e2e.test"
    route_host = f"django-route.{ns.name}.e2e.test"
    manifest = django_app(ns.name, host, route_host)
    manifest["spec"]["networkPolicy"] = CLIENT_PEER
    ns.apply(manifest)
    app = ns.wait_app_ready(APP, READY_TIMEOUT)
    ident = volumes.identity

    # --- the release step ran first, on the real node, and made the database ---
    job = release_job(ns, app)
    logs = ns("logs", f"job/{job['metadata']['name']}").stdout
    assert "Applying documents.0001_initial... OK" in logs, logs
    deployment = ns.get("deployment", APP) or {}
    # The operator holds the Deployment back until the Job succeeded (RFC 3339, second resolution).
    assert deployment["metadata"]["creationTimestamp"] >= job["status"]["completionTime"]

    (pod,) = ns.app_pods(APP)
    assert pod["spec"]["nodeName"] == REAL_NODE
    (status,) = pod["status"]["containerStatuses"]
    assert status["ready"] and status["containerID"].startswith("containerd://"), status
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {DATA_CLAIM, MEDIA_CLAIM}

    db = volumes.dirs[DATA_CLAIM] / "db.sqlite3"
    st = db.stat()
    # Made by the release Job's migrate, with the app's umask (0027).
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, ident.uid, ident.fs_group)
    # Read-only, and as root: SQLite gives any -wal/-shm it creates the database's owner.
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied = set(conn.execute("SELECT app, name FROM django_migrations"))
    conn.close()
    assert {"documents_document", "django_migrations", "auth_user", "django_session"} <= tables, tables
    assert ("documents", "0001_initial") in applied, applied

    # --- a page through the Ingress (Traefik on 127.0.0.1), and through the HTTPRoute ---
    port = real_node.ingress_port
    wait_ingress(port, host, "/healthz")
    wait_ingress(port, route_host, "/healthz")
    browser = Browser(port, host)
    page = browser.request("/")
    assert page.status == 200, page.text[:2000]
    assert page.headers["Server"] == "Apache"
    assert page.headers["X-Frame-Options"] == "DENY"  # Django's middleware answered
    assert "<h1>Documents</h1>" in page.text and "No documents yet." in page.text
    assert "csrftoken" in browser.cookies
    by_route = Browser(port, route_host).request("/")
    assert by_route.status == 200 and "<h1>Documents</h1>" in by_route.text

    # ... and through the Service's ClusterIP (kube-proxy) from a pod the NetworkPolicy admits,
    # with the in-cluster name ALLOWED_HOSTS lists as Host.
    # Waited for: kube-router admits a new client pod once it has seen the pod's address.
    client = ns.client_pod("client", labels={APP_LABEL: "client"})
    ip, in_cluster = ns.service_ip(APP), f"{APP}.{ns.name}.svc"

    def through_cluster_ip() -> Probe | None:
        probe = ns.probe(client, ip, 80, "/", host_header=in_cluster, timeout=10)
        return probe if probe.status == 200 else None

    by_ip = wait_for("the ClusterIP to answer the client pod", through_cluster_ip, 60, interval=0.5)
    assert "<h1>Documents</h1>" in by_ip.body, by_ip

    # --- static files: collectstatic's output in the image, served by Apache ---
    href = _CSS.search(page.text)
    assert href, page.text[:1000]
    css = browser.request(href.group(1))
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Server"] == "Apache"
    assert css.headers["Cache-Control"] == "public, max-age=31536000"
    assert "X-Frame-Options" not in css.headers  # never reached Django
    assert b"font-family" in css.body

    # --- an upload: the form's CSRF token and cookie, through the ingress ---
    title = f"e2e {uuid.uuid4().hex[:8]}"
    name = f"e2e-{uuid.uuid4().hex[:8]}.txt"
    content = f"uploaded through Traefik to {ns.name}\n".encode()
    fields = {"csrfmiddlewaretoken": csrf_token(page), "title": title}
    # Another origin is refused; the site's own (plain http here: no TLS at this ingress) passes.
    evil = browser.post("/", fields, {"file": (name, content)}, headers={"Origin": "http://evil.example.net"})
    assert evil.status == 403 and "CSRF" in evil.text, evil.status
    resp = browser.post("/", fields, {"file": (name, content)}, headers={"Origin": f"http://{host}"})
    assert resp.status == 302, resp.text[:2000]
    url = resp.headers["X-Document-Url"]
    assert url.startswith("/media/documents/") and url.endswith(name), url

    # Stored on the media volume: the pod's UID, group fsGroup (setgid volume root), 0640
    # (FILE_UPLOAD_PERMISSIONS), in directories Django made 0750 that kept the setgid bit.
    stored = volumes.dirs[MEDIA_CLAIM] / url.removeprefix("/media/")
    assert stored.read_bytes() == content
    st = stored.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, ident.uid, ident.fs_group)
    parent = stored.parent.stat()
    assert (stat.S_IMODE(parent.st_mode), parent.st_uid, parent.st_gid) == (0o2750, ident.uid, ident.fs_group)

    # Served back by Apache from the volume (sandboxed), and listed by Django from the database.
    served = browser.request(url)
    assert served.status == 200 and served.body == content
    assert served.headers["Server"] == "Apache"
    assert served.headers["Content-Security-Policy"] == "sandbox"
    assert served.headers["Cache-Control"] == "public, max-age=3600"
    listed = browser.request("/")
    assert listed.status == 200 and f'<a href="{url}">{title}</a>' in listed.text, listed.text[:2000]
