"""Which request headers reach the application (guide rows 16, 17, 25)."""

from __future__ import annotations

import base64
import ipaddress

from support.harness import Pod, SharedPods

_CREDENTIALS = "Basic " + base64.b64encode(b"alice:s3cret-marker").decode()
#: A header nothing filters: proves headers reach /env at all.
_CONTROL = {"X-Request-Id": "marker-9"}
_FORWARDED = {"X-Forwarded-For": "1.2.3.4, 5.6.7.8", "X-Forwarded-Proto": "https", **_CONTROL}


def test_authorization_header_hidden_by_default(default_pod: Pod) -> None:
    """WSGIPassAuthorization Off: credentials never reach an app that did not ask for them."""
    env = default_pod.get(
        "/env", headers={"Authorization": _CREDENTIALS, "Proxy-Authorization": _CREDENTIALS, **_CONTROL}
    ).json()
    assert env.get("HTTP_X_REQUEST_ID") == "marker-9"
    assert "HTTP_AUTHORIZATION" not in env
    assert "HTTP_PROXY_AUTHORIZATION" not in env


def test_authorization_header_passed_when_opted_in(pods: SharedPods) -> None:
    """spec.security.passAuthorization: true hands the Authorization header over
    unchanged (Proxy-Authorization still never)."""
    pod = pods.shared({"security": {"passAuthorization": True}})
    env = pod.get("/env", headers={"Authorization": _CREDENTIALS, "Proxy-Authorization": _CREDENTIALS}).json()
    assert env.get("HTTP_AUTHORIZATION") == _CREDENTIALS
    assert "HTTP_PROXY_AUTHORIZATION" not in env


def test_proxy_header_never_reaches_the_app(default_pod: Pod) -> None:
    """httpoxy: a ``Proxy:`` request header would become HTTP_PROXY, which HTTP
    client libraries read as their proxy setting. mod_wsgi drops it."""
    env = default_pod.get("/env", headers={"Proxy": "http://127.0.0.1:9/", **_CONTROL}).json()
    assert env.get("HTTP_X_REQUEST_ID") == "marker-9"
    assert "HTTP_PROXY" not in env


def test_forwarded_for_honoured_only_from_trusted_proxy(default_pod: Pod, pods: SharedPods) -> None:
    """X-Forwarded-For/-Proto are applied only when the peer is in trustedProxies;
    from any other peer they are stripped, so a client cannot spoof its address.

    The peer is whatever address the container sees for our 127.0.0.1 client
    (Docker's bridge gateway): one pod trusts exactly that address, the other a
    range that does not contain it.
    """
    peer = default_pod.get("/env").json()["REMOTE_ADDR"]
    elsewhere = "192.0.2.0/24"  # TEST-NET-1: never the gateway
    assert ipaddress.ip_address(peer) not in ipaddress.ip_network(elsewhere)
    headers = ["X-Forwarded-For", "X-Forwarded-Proto"]
    trusted = pods.shared({"security": {"trustedProxies": [f"{peer}/32"], "trustedProxyHeaders": headers}})
    untrusted = pods.shared({"security": {"trustedProxies": [elsewhere], "trustedProxyHeaders": headers}})

    env = trusted.get("/env", headers=_FORWARDED).json()
    # The rightmost address the trusted proxy did not add itself is the client.
    assert env["REMOTE_ADDR"] == "5.6.7.8"
    assert env["wsgi.url_scheme"] == "https"

    env = untrusted.get("/env", headers=_FORWARDED).json()
    assert env["REMOTE_ADDR"] == peer
    assert env["wsgi.url_scheme"] == "http"
    # Declared headers from an untrusted peer are removed, not passed on.
    assert "HTTP_X_FORWARDED_FOR" not in env
    assert "HTTP_X_FORWARDED_PROTO" not in env

    # Without trusted proxies at all nothing is rewritten either.
    assert default_pod.get("/env", headers=_FORWARDED).json()["REMOTE_ADDR"] == peer


def test_undeclared_forwarding_headers_never_reach_the_app(default_pod: Pod, pods: SharedPods) -> None:
    """mod_wsgi strips a *declared* forwarding header from an untrusted peer but
    passes an undeclared one through; the include file drops every forwarding
    header the spec does not trust, so a client cannot say X-Forwarded-Proto:
    https or X-Forwarded-Host to an app that trusts only X-Forwarded-For."""
    spoofed = {"X-Forwarded-Host": "evil.example", "X-Real-IP": "9.9.9.9", **_FORWARDED}
    env = default_pod.get("/env", headers=spoofed).json()
    assert env.get("HTTP_X_REQUEST_ID") == "marker-9"
    for key in ("HTTP_X_FORWARDED_HOST", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR"):
        assert key not in env, key

    # From a trusted proxy, only what is declared is believed; the rest is dropped.
    peer = env["REMOTE_ADDR"]
    only_for = pods.shared({"security": {"trustedProxies": [f"{peer}/32"], "trustedProxyHeaders": ["X-Forwarded-For"]}})
    env = only_for.get("/env", headers=spoofed).json()
    assert env["REMOTE_ADDR"] == "5.6.7.8"
    assert env["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_PROTO" not in env and "HTTP_X_FORWARDED_HOST" not in env
