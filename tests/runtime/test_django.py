"""A real Django project under the hardened pod: examples/django.yaml rendered
and run the way the operator runs it, with the image built from images/django
and examples/django (local/wsgi-django:dev).

The release Job's pod (``manage.py migrate``) runs to completion before the
server starts, on the same PersistentVolumeClaims: two host directories the
test owns, given the ownership the kubelet gives an fsGroup volume. TLS ends
at a small proxy on 127.0.0.1 that adds ``X-Forwarded-Proto: https``, as an
ingress controller does. The only changes to the example: the locally built
image (never pulled), and trustedProxies naming the address the container
sees that proxy (and every local client) come from.
"""

from __future__ import annotations

import http.client
import re
import socket
import stat
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.harness import (
    DJANGO_IMAGE,
    Browser,
    Pod,
    PodFactory,
    Response,
    SharedPods,
    TlsProxy,
    multipart,
    parse_raw,
    self_signed_cert,
)
from support.podrun import KubeletStop, run_probe, wait_for_probe
from support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "django.yaml"
#: The example's ingress host: in ALLOWED_HOSTS, and what the probes send.
HOST = "django.example.com"
PYTHON = "/opt/wsgi/bin/python"
TMPDIR = "/var/tmp"
#: Over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB): Django spools it to a file in TMPDIR.
BIG = 5 * 2**20
#: Longest wait for Django to open its temporary upload file once the body flows.
SPOOL_TIMEOUT = 30.0
#: How long the rest of an in-flight upload is streamed after the stop signal:
#: past the moment (about 9.5 s) a second stop signal would have made Apache
#: SIGKILL its children (see test_lifecycle.HOLD_AFTER_SIGNAL).
STREAM_AFTER_SIGNAL = 12.0
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def example_manifest(peer: str) -> dict[str, Any]:
    """examples/django.yaml with the locally built image (never pulled), trusting
    ``peer`` (where the local proxy connects from) as its proxy."""
    (doc,) = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    doc["spec"].update(image=DJANGO_IMAGE, imagePullPolicy="Never")
    doc["spec"]["security"]["trustedProxies"] = [f"{peer}/32"]
    return doc


def new_claims(root: Path) -> dict[str, Path]:
    """Empty host directories for the example's two claims, like freshly provisioned volumes."""
    claims = {"django-data": root / "data", "django-media": root / "media"}
    for path in claims.values():
        path.mkdir(mode=0o755)
    return claims


def csrf_token(resp: Response) -> str:
    match = _TOKEN.search(resp.text)
    assert match, f"no CSRF token in HTTP {resp.status}: {resp.text[:500]}"
    return match.group(1)


@dataclass
class Site:
    """The example running: its pod and the host directories behind its claims."""

    pod: Pod
    claims: dict[str, Path]
    factory: PodFactory
    #: Status of the first request to / (a page that reads the database).
    first_page: int = 0

    def browser(self) -> Browser:
        """Plain HTTP straight to the pod (the way the kubelet and in-cluster clients come)."""
        return Browser(self.pod.host_port, HOST)

    def upload(self, browser: Browser, title: str, name: str, content: bytes, **kw: Any) -> Response:
        """GET / for the token, then POST the upload form."""
        token = csrf_token(browser.request("/"))
        return browser.post("/", {"csrfmiddlewaretoken": token, "title": title}, {"file": (name, content)}, **kw)

    def run_release_style(self, command: list[str], env: Mapping[str, str] | None = None) -> str:
        """Run ``command`` in a pod like the release Job's (same image, env, volumes, identity); its logs."""
        job = self.factory.release_job(self.pod.app)
        done = self.factory.run_job(job, self.pod.objects, claims=self.claims, command=command, extra_env=env)
        assert done.exit_code == 0, done.logs
        return done.logs


@pytest.fixture(scope="module")
def proxy_peer(pods: SharedPods) -> str:
    """The address the container sees local clients come from (Docker's bridge gateway)."""
    return str(pods.shared().get("/env").json()["REMOTE_ADDR"])


@pytest.fixture(scope="module")
def site(pod_factory: PodFactory, proxy_peer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example, its release run first; shared by the tests that do not stop it."""
    claims = new_claims(tmp_path_factory.mktemp("django-claims"))
    pod = pod_factory.start_manifest(example_manifest(proxy_peer), claims=claims)
    try:
        site = Site(pod, claims, pod_factory)
        site.first_page = site.browser().request("/").status
        yield site
    finally:
        pod.remove()


@pytest.fixture(scope="module")
def tls(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TlsProxy, Path]]:
    """A TLS-terminating proxy in front of the site, and its (self-signed) certificate."""
    cert, key = self_signed_cert(tmp_path_factory.mktemp("tls"), HOST)
    proxy = TlsProxy(cert, key, site.pod.host_port)
    try:
        yield proxy, cert
    finally:
        proxy.close()


def https_browser(tls: tuple[TlsProxy, Path]) -> Browser:
    proxy, cert = tls
    return Browser(proxy.port, HOST, cafile=cert)


# --- pages, admin, CSRF ----------------------------------------------------------------------------


def test_pages_render(site: Site) -> None:
    """The upload page (a template, the database, a form) and the admin's login page."""
    browser = site.browser()
    page = browser.request("/")
    assert page.status == 200, page.text[:2000]
    assert page.headers["Server"] == "Apache"
    # Django answered (its middleware's headers), with its hashed static file names.
    assert page.headers["X-Frame-Options"] == "DENY"
    assert re.search(r'href="/static/documents/site\.[0-9a-f]{12}\.css"', page.text), page.text[:1000]
    assert 'enctype="multipart/form-data"' in page.text
    assert "csrftoken" in browser.cookies
    login = browser.request("/admin/login/")
    assert login.status == 200
    assert "Django administration" in login.text
    # DEBUG is off: an unknown URL gets Django's plain 404, not the debug page.
    missing = browser.request("/no-such-page/")
    assert missing.status == 404
    assert "URLconf" not in missing.text and "Traceback" not in missing.text


def test_deployment_checklist_passes_in_the_pod(site: Site) -> None:
    """Django's own deployment checklist (``check --deploy``), run with the pod's
    settings and environment: nothing but HSTS (W004, the site's decision) is
    reported: DEBUG off, a strong SECRET_KEY, ALLOWED_HOSTS set, secure cookies."""
    logs = site.run_release_style([PYTHON, "manage.py", "check", "--deploy"])
    reported = set(re.findall(r"\(([a-z_.]+\.[EW]\d+)\)", logs))
    assert reported <= {"security.W004"}, logs


def test_admin_login_works(site: Site, tls: tuple[TlsProxy, Path]) -> None:
    """A superuser made by a release-style run (createsuperuser --noinput) logs in
    to the admin through the TLS proxy with the CSRF token and session cookie."""
    password = uuid.uuid4().hex
    site.run_release_style(
        [PYTHON, "manage.py", "createsuperuser", "--noinput"],
        {
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_PASSWORD": password,
            "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        },
    )
    browser = https_browser(tls)
    token = csrf_token(browser.request("/admin/login/"))
    form = {"csrfmiddlewaretoken": token, "username": "admin", "next": "/admin/"}
    origin = {"Origin": browser.origin, "Referer": f"{browser.origin}/admin/login/"}

    wrong = browser.post("/admin/login/", {**form, "password": "not-the-password"}, headers=origin)
    assert wrong.status == 200
    assert "sessionid" not in browser.cookies

    ok = browser.post("/admin/login/", {**form, "password": password}, headers=origin)
    assert ok.status == 302, ok.text[:2000]
    assert ok.headers["Location"] == "/admin/"
    session = next(c for c in ok.headers.get_all("Set-Cookie") or [] if c.startswith("sessionid="))
    assert "Secure" in session and "HttpOnly" in session
    admin = browser.request("/admin/")
    assert admin.status == 200
    assert "Site administration" in admin.text
    assert "Documents" in admin.text  # the app's model is registered


def test_csrf_through_the_tls_proxy(site: Site, tls: tuple[TlsProxy, Path]) -> None:
    """Behind the TLS proxy (a trusted proxy saying X-Forwarded-Proto: https) Django
    sees https: a POST from the site's https origin passes the CSRF check, one
    from another origin gets 403. Without the proxy the same https Origin is
    refused: the forwarded scheme is what makes it the site's own."""
    browser = https_browser(tls)
    page = browser.request("/")
    assert page.status == 200
    token = csrf_token(page)
    fields = {"csrfmiddlewaretoken": token, "title": "via tls"}
    files = {"file": ("tls.txt", b"over https\n")}

    good = browser.post("/", fields, files, headers={"Origin": f"https://{HOST}"})
    assert good.status == 302, good.text[:2000]
    assert good.headers["Location"] == "/"

    evil = browser.post("/", fields, files, headers={"Origin": "https://evil.example.net"})
    assert evil.status == 403
    assert "CSRF" in evil.text

    # Plain http to the pod, same cookie and token: Django's own scheme is http.
    direct = site.browser()
    direct.cookies.update(browser.cookies)
    assert direct.post("/", fields, files, headers={"Origin": f"https://{HOST}"}).status == 403
    assert direct.post("/", fields, files, headers={"Origin": f"http://{HOST}"}).status == 302


# --- uploads, media and static files ---------------------------------------------------------------


class StreamedPost:
    """A multipart POST sent in pieces on one raw connection, so a test decides
    how much of the body the server has at any moment."""

    def __init__(
        self,
        port: int,
        path: str,
        fields: Mapping[str, str],
        files: Mapping[str, tuple[str, bytes]],
        cookies: Mapping[str, str],
    ) -> None:
        boundary, self.body = multipart(fields, files)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            f"Cookie: {'; '.join(f'{k}={v}' for k, v in cookies.items())}\r\n"
            "Connection: close\r\n\r\n"
        )
        self.sent = 0
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(head.encode())

    def send(self, size: int) -> None:
        self.sock.sendall(self.body[self.sent : self.sent + size])
        self.sent = min(len(self.body), self.sent + size)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """Send what is left of the body, then read the whole response."""
        self.send(len(self.body) - self.sent)
        chunks = []
        while chunk := self.sock.recv(65536):
            chunks.append(chunk)
        self.sock.close()
        return parse_raw(b"".join(chunks))


def _spooled(pod: Pod) -> list[str]:
    """Django's temporary upload files in TMPDIR (``tmpXXXX.upload.<ext>``)."""
    return [n for n in pod.exec("ls", "-A", TMPDIR).stdout.split() if ".upload" in n]


def _start_big_upload(site: Site, name: str, content: bytes) -> StreamedPost:
    """Send the headers and the first half of a 5 MiB upload; return once Django is
    spooling it to a temporary file in TMPDIR."""
    browser = site.browser()
    token = csrf_token(browser.request("/"))
    post = StreamedPost(
        site.pod.host_port,
        "/",
        {"csrfmiddlewaretoken": token, "title": name},
        {"file": (name, content)},
        browser.cookies,
    )
    post.send(len(post.body) // 2)
    wait_for("Django to spool the upload to TMPDIR", lambda: _spooled(site.pod), SPOOL_TIMEOUT, interval=0.1)
    return post


def _stored(site: Site, resp_headers: Mapping[str, str]) -> tuple[str, Path]:
    """(URL, host path) of the file an upload stored, from the view's X-Document-Url."""
    url = resp_headers["x-document-url"]
    assert url.startswith("/media/"), url
    return url, site.claims["django-media"] / url.removeprefix("/media/")


def test_big_upload_goes_through_tmpdir_and_is_stored_0640(site: Site) -> None:
    """5 MiB (over FILE_UPLOAD_MAX_MEMORY_SIZE) is spooled to the pod's private
    TMPDIR while /tmp stays read-only; the stored file is 0640 (Django's
    FILE_UPLOAD_PERMISSIONS, not its 0o644 default) and belongs to the pod's
    UID and fsGroup."""
    assert site.pod.exec("sh", "-c", "touch /tmp/x", check=False).returncode != 0
    content = uuid.uuid4().bytes * (BIG // 16)
    post = _start_big_upload(site, "big.bin", content)
    status, headers, _ = post.response()
    assert status == 302, headers
    assert _spooled(site.pod) == []  # removed once stored

    _, path = _stored(site, headers)
    assert path.read_bytes() == content
    st = path.stat()
    sc = site.pod.run.pod_spec["securityContext"]
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (sc["runAsUser"], sc["fsGroup"])
    # Its directory (made by Django with FILE_UPLOAD_DIRECTORY_PERMISSIONS) inherits
    # the volume's group through the setgid bit.
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o2750
    assert path.parent.stat().st_gid == sc["fsGroup"]


def _served_by_apache(resp: Response, max_age: int) -> None:
    """Headers only the include's <Directory> block adds, and none of Django's."""
    assert resp.headers["Server"] == "Apache"
    assert resp.headers["Cache-Control"] == f"public, max-age={max_age}"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["ETag"] and resp.headers["Last-Modified"]
    assert "X-Frame-Options" not in resp.headers  # Django's middleware never saw it


def test_uploads_are_served_by_apache_sandboxed(site: Site) -> None:
    """An uploaded file is served from the media writable dir by Apache (no
    Django): cacheable, sandboxed by CSP, 304 on a matching ETag."""
    browser = site.browser()
    content = b"<html><script>alert(document.cookie)</script></html>\n"
    resp = site.upload(browser, "page", "page.html", content)
    assert resp.status == 302
    url, _ = _stored(site, {k.lower(): v for k, v in resp.headers.items()})

    served = browser.request(url)
    assert served.status == 200
    assert served.body == content
    _served_by_apache(served, 3600)
    # An uploaded HTML page runs no script on the site's origin.
    assert served.headers["Content-Security-Policy"] == "sandbox"
    again = browser.request(url, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status == 304


def test_static_files_are_served_by_apache(site: Site) -> None:
    """collectstatic's output (in the image) under /static: a year of caching for
    hashed names, 304 on a matching ETag, Apache's own 404 for a missing file."""
    browser = site.browser()
    href = re.search(r'href="(/static/documents/site\.[0-9a-f]{12}\.css)"', browser.request("/").text)
    assert href
    css = browser.request(href.group(1))
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert b"font-family" in css.body
    _served_by_apache(css, 31536000)
    assert "Content-Security-Policy" not in css.headers  # only uploads are sandboxed
    assert browser.request(href.group(1), headers={"If-None-Match": css.headers["ETag"]}).status == 304
    admin_css = browser.request("/static/admin/css/base.css")
    assert admin_css.status == 200
    missing = browser.request("/static/documents/nope.css")
    assert (missing.status, missing.text) == (404, "Not Found")


def test_python_files_in_aliased_dirs_are_refused(site: Site) -> None:
    """A .py (or bytecode, or .wsgi) file that lands in a served directory is never
    handed out, and directories are not listed."""
    media = site.claims["django-media"]
    for name in ("evil.py", "evil.pyc", "evil.wsgi"):
        (media / name).write_text("SECRET = 'source code'\n")
        (media / name).chmod(0o644)
    (media / "fine.txt").write_text("fine\n")
    (media / "fine.txt").chmod(0o644)
    browser = site.browser()
    assert browser.request("/media/fine.txt").status == 200
    for name in ("evil.py", "evil.pyc", "evil.wsgi"):
        resp = browser.request(f"/media/{name}")
        assert (resp.status, resp.text) == (403, "Forbidden"), name
    listing = browser.request("/media/")
    assert listing.status in (403, 404)
    assert "evil" not in listing.text


# --- the release step --------------------------------------------------------------------------------


def test_migrations_come_from_the_release_step(
    pod_factory: PodFactory, proxy_peer: str, tmp_path: Path, site: Site
) -> None:
    """Started the operator's way (the release Job's pod first), the very first
    request to a page that reads the database is answered 200. On empty volumes
    without the release step that page fails (500, no tables) while the probes'
    page works; after the release Job's pod has run (migrate), the same running
    server answers 200."""
    assert site.first_page == 200
    # The release Job created the site's database, with the app's umask: not world-readable.
    mode = site.pod.exec("stat", "-c", "%a", "/var/lib/django/data/db.sqlite3").stdout.strip()
    assert mode == "640", mode
    claims = new_claims(tmp_path)
    pod = pod_factory.start_manifest(example_manifest(proxy_peer), claims=claims, release=False, wait=False)
    try:
        pod.wait_until_serving()
        browser = Browser(pod.host_port, HOST)
        assert browser.request("/healthz").status == 200
        before = browser.request("/")
        assert before.status == 500
        assert "documents_document" not in before.text  # no debug page
        assert "no such table: documents_document" in pod.logs()

        job = pod_factory.release_job(pod.app)
        done = pod_factory.run_job(job, pod.objects, claims=claims)
        assert done.exit_code == 0, done.logs
        assert "Applying documents.0001_initial... OK" in done.logs
        assert browser.request("/").status == 200
    finally:
        pod.remove()


# --- probes --------------------------------------------------------------------------------------------


def test_probes_pass_as_the_kubelet_sends_them(site: Site) -> None:
    """The rendered probes send Host: the ingress host, which ALLOWED_HOSTS lists,
    and pass; the kubelet's default Host (the pod IP) gets Django's 400, so
    without the rendered header the pod would never become ready."""
    pod = site.pod
    container = pod.run.container
    for name in ("startupProbe", "readinessProbe"):
        get = container[name]["httpGet"]
        assert get["path"] == "/healthz"
        assert get["httpHeaders"] == [{"name": "Host", "value": HOST}], get

    attempts = wait_for_probe(container["startupProbe"], pod.run, pod.container_id, pod.host_port, pod.pod_ip)
    assert attempts[-1].success, attempts
    ready = run_probe(container["readinessProbe"], pod.run, pod.container_id, pod.host_port, pod.pod_ip)
    assert ready.success, ready
    assert run_probe(container["livenessProbe"], pod.run, pod.container_id, pod.host_port, pod.pod_ip).success

    bare = {**container["readinessProbe"], "httpGet": {**container["readinessProbe"]["httpGet"]}}
    del bare["httpGet"]["httpHeaders"]
    result = run_probe(bare, pod.run, pod.container_id, pod.host_port, pod.pod_ip)
    assert (result.success, result.detail) == (False, "HTTP 400")
    assert "DisallowedHost" in pod.logs()


# --- stopping --------------------------------------------------------------------------------------


def test_graceful_stop_completes_an_upload_in_flight(pod_factory: PodFactory, proxy_peer: str, tmp_path: Path) -> None:
    """A 5 MiB upload that started before the pod is stopped finishes after the
    stop signal: half is sent, the kubelet's stop sequence runs (the preStop
    drain, then SIGWINCH once), the listener closes, and the rest is streamed
    over the next 12 s; Django stores it and answers 302, then Apache exits 0."""
    claims = new_claims(tmp_path)
    pod = pod_factory.start_manifest(example_manifest(proxy_peer), claims=claims)
    site = Site(pod, claims, pod_factory)
    try:
        content = uuid.uuid4().bytes * (BIG // 16)
        post = _start_big_upload(site, "inflight.bin", content)

        kubelet = KubeletStop(pod.container_id, pod.run)
        kubelet.pre_stop()  # the rendered drain: a sleep, nothing sent to Apache
        assert pod.state()["Running"]
        assert kubelet.send_stop_signal() == "SIGWINCH"
        browser = site.browser()

        def refused() -> bool:
            # Through Docker's userland proxy a refusal shows as a reset or an empty reply.
            try:
                browser.request("/healthz", timeout=3)
            except (OSError, http.client.HTTPException):
                return True
            return False

        wait_for("the listener to close", refused, 5, interval=0.1)

        # The rest of the body, a piece every 0.5 s: the upload outlives any escalation.
        left = len(post.body) - post.sent
        pieces = int(STREAM_AFTER_SIGNAL / 0.5)
        for _ in range(pieces - 1):
            post.send(left // pieces)
            time.sleep(0.5)  # pacing, not waiting for anything
        status, headers, _ = post.response()
        assert status == 302, headers
        _, path = _stored(site, headers)
        assert path.read_bytes() == content
        assert kubelet.wait_exit(kubelet.remaining_grace()) == 0
        logs = pod.logs()
        assert "AH00045" not in logs and "AH00046" not in logs, logs[-2000:]
    finally:
        pod.remove()
