"""Unit tests of render/config.py: the entry script, the Apache include file, the envvars script and the config hash."""

from __future__ import annotations

import re
from typing import Any

import pytest

import invalid_specs
from support.rendered import Kinds, RenderKinds, command, include_conf
from wsgi_operator.api.server import ERROR_STATUSES

# --- entry script ---------------------------------------------------------------------------------


def test_module_entry_script_imports_the_callable(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"entryPoint": {"module": "shop.wsgi", "callable": "app"}})
    script = kinds["ConfigMap/entry"]["data"]["wsgi.py"]
    compile(script, "wsgi.py", "exec")
    assert "from shop.wsgi import app as application" in script
    assert "runpy" not in script


def test_script_entry_script_runs_the_file_under_the_code_path(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "entryPoint": {"module": invalid_specs.DELETE, "script": "api/app.wsgi", "callable": "app"},
            "code": {"path": "/opt/api"},
        }
    )
    script = kinds["ConfigMap/entry"]["data"]["wsgi.py"]
    compile(script, "wsgi.py", "exec")
    assert 'runpy.run_path("/opt/api/api/app.wsgi"' in script
    assert '["app"]' in script
    assert "application =" in script


# --- include file and envvars ---------------------------------------------------------------------


def test_include_file_defaults(render_kinds: RenderKinds) -> None:
    lines = include_conf(render_kinds())
    assert "WSGIPassAuthorization Off" in lines
    assert "WSGIPassAuthorization On" not in lines
    assert "TraceEnable Off" in lines
    # Request limits are ignored in the include (express's VirtualHost copied them already).
    assert not [line for line in lines if line.startswith("LimitRequest")]
    error_docs = [line for line in lines if line.startswith("ErrorDocument ")]
    assert len(error_docs) == len(ERROR_STATUSES)
    # 411 and 417 too: Apache's own pages for them echo the method / Expect header.
    assert {line.split()[1] for line in error_docs} >= {"400", "404", "411", "413", "417", "500", "503"}
    # The fixed texts never echo anything from the request.
    assert not [line for line in error_docs if "%{" in line or "$" in line]


def test_include_file_follows_the_spec(render_kinds: RenderKinds) -> None:
    lines = include_conf(
        render_kinds(
            {
                "security": {"passAuthorization": True},
                "limits": {"requestFields": 50, "requestFieldSize": 4096, "requestLine": 2048},
                "errorPages": {"enabled": False},
            }
        )
    )
    assert "WSGIPassAuthorization On" in lines
    assert "WSGIPassAuthorization Off" not in lines
    assert "TraceEnable Off" in lines
    assert not [line for line in lines if line.startswith("ErrorDocument")]


def test_request_limits_reach_httpd_before_its_config(render_kinds: RenderKinds) -> None:
    def envvars(patch: dict | None = None) -> str:
        return render_kinds(patch)["ConfigMap/config"]["data"]["envvars"]

    default = envvars()
    assert "-C 'LimitRequestFields 100'" in default
    assert "-C 'LimitRequestFieldSize 8190'" in default
    assert "-C 'LimitRequestLine 8190'" in default
    custom = envvars({"limits": {"requestFields": 50, "requestFieldSize": 4096, "requestLine": 2048}})
    assert "-C 'LimitRequestFields 50'" in custom
    assert "-C 'LimitRequestFieldSize 4096'" in custom
    assert "-C 'LimitRequestLine 2048'" in custom
    # Both the server start and the preStop's graceful-stop go through it.
    assert "start|stop|restart|graceful|graceful-stop)" in custom


def test_envvars_script_sets_the_umask(render_kinds: RenderKinds) -> None:
    assert "umask 0027" in render_kinds()["ConfigMap/config"]["data"]["envvars"].splitlines()
    assert (
        "umask 0077"
        in render_kinds({"security": {"umask": "0077"}})["ConfigMap/config"]["data"]["envvars"].splitlines()
    )


# --- rolling on change: the config hash -----------------------------------------------------------


def config_hash(kinds: Kinds) -> str:
    return kinds["Deployment"]["spec"]["template"]["metadata"]["annotations"]["wsgi-operator.io/config-hash"]


@pytest.mark.parametrize(
    "patch",
    [
        {"security": {"passAuthorization": True}},
        {"security": {"umask": "0077"}},
        {"limits": {"requestFields": 50}},
        {"errorPages": {"enabled": False}},
        {"entryPoint": {"module": "shop.other_wsgi"}},
        {"entryPoint": {"callable": "app"}},
        {"timeouts": {"request": 120}},
    ],
    ids=["pass-authorization", "umask", "request-fields", "error-pages", "module", "callable", "graceful-shutdown"],
)
def test_config_hash_changes_with_the_config(render_kinds: RenderKinds, patch: dict[str, Any]) -> None:
    base, changed = render_kinds(), render_kinds(patch)
    assert config_hash(base) != config_hash(changed)
    assert base["ConfigMap/entry"]["data"] != changed["ConfigMap/entry"]["data"] or (
        base["ConfigMap/config"]["data"] != changed["ConfigMap/config"]["data"]
    )


@pytest.mark.parametrize(
    "patch",
    [
        {"replicas": 5},
        {"image": "registry.example.com/shop/web:2.0"},
        {"env": [{"name": "FOO", "value": "bar"}]},
        {"resources": {"limits": {"cpu": "2", "memory": "1Gi"}}},
        {"ingress": {"hosts": ["shop.example.com"]}},
        {"podAnnotations": {"team": "payments"}},
    ],
    ids=["replicas", "image", "env", "resources", "ingress", "pod-annotations"],
)
def test_config_hash_is_stable_otherwise(render_kinds: RenderKinds, patch: dict[str, Any]) -> None:
    assert config_hash(render_kinds()) == config_hash(render_kinds(patch))


def test_config_hash_is_short_hex(render_kinds: RenderKinds) -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", config_hash(render_kinds()))


ALIASES = {
    "writableDirs": [{"name": "media", "mountPath": "/var/lib/shop/media"}],
    "urlAliases": [
        {"path": "/static", "directory": "/app/staticfiles"},
        {"path": "/media", "writableDir": "media", "maxAge": 60},
    ],
}


def test_url_aliases_are_served_by_apache(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(ALIASES)
    argv = command(kinds)
    pairs = [argv[i + 1 : i + 3] for i, a in enumerate(argv) if a == "--url-alias"]
    assert pairs == [["/static", "/app/staticfiles"], ["/media", "/var/lib/shop/media"]]


def test_aliased_directories_follow_no_links_and_never_serve_python(render_kinds: RenderKinds) -> None:
    text = "\n".join(include_conf(render_kinds(ALIASES)))
    static = text[text.index("<Directory '/app/staticfiles'>") : text.index("</Directory>")]
    media = text[text.index("<Directory '/var/lib/shop/media'>") :]
    for block, max_age in ((static, 3600), (media, 60)):
        assert "Options None" in block
        assert '<FilesMatch "\\.(py|pyc|pyo|pyd|pyw|wsgi)$">' in block and "Require all denied" in block
        assert f'Header set Cache-Control "public, max-age={max_age}"' in block
        assert 'Header set X-Content-Type-Options "nosniff"' in block
    # Only uploads are sandboxed: a user's HTML runs no script on the app's origin.
    assert 'Content-Security-Policy "sandbox"' in media
    assert "Content-Security-Policy" not in static


def test_no_aliases_no_directory_blocks(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert "--url-alias" not in command(kinds)
    assert not [line for line in include_conf(kinds) if line.startswith("<Directory")]


def test_undeclared_forwarding_headers_are_dropped(render_kinds: RenderKinds) -> None:
    security = {"trustedProxies": ["10.0.0.0/8"], "trustedProxyHeaders": ["X-Forwarded-For", "x-forwarded-proto"]}
    dropped = {
        line.split()[-1]
        for line in include_conf(render_kinds({"security": security}))
        if line.startswith("RequestHeader unset ")
    }
    assert "X-Forwarded-Proto" not in dropped and "X-Forwarded-For" not in dropped
    assert {"X-Forwarded-Host", "X-Real-IP", "Forwarded", "X-Forwarded-Scheme"} <= dropped
    # With nothing trusted, every one of them is dropped.
    none = {line.split()[-1] for line in include_conf(render_kinds()) if line.startswith("RequestHeader unset ")}
    assert {"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} <= none
