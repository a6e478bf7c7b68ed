"""The table of invalid WsgiApp specs: realistic mistakes and the field each must be blamed on.

Shared by the unit tests (``wsgi-operator validate``, offline) and the cluster
tests (the same manifests sent to a real kube-apiserver with the generated CRD).
Each case is a mistake someone would plausibly make, a ``patch`` deep-merged
into the ``spec`` of ``base_manifest()`` (or a callable returning the whole
manifest), the field path the error must name, and whether the CRD (OpenAPI
schema + CEL) can reject it; when False the API server cannot see the mistake
(e.g. a wrong apiVersion never reaches the WsgiApp schema).

Field paths are written the way the API server reports them
(``spec.writableDirs[0].mountPath``): list items carry their index.

Merge rules (``support.manifests.deep_merge``, re-exported here with ``DELETE``):
dicts merge recursively, anything else (lists included) replaces the base
value, and ``DELETE`` removes the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from support.manifests import DELETE, deep_merge, wsgiapp_manifest

#: Name and namespace of the base manifest.
APP = "shop"
IMAGE = "registry.example.com/shop/web@sha256:" + "ab" * 32
#: The spec of the base manifest: a pinned image and a non-default UID/GID.
BASE_SPEC: dict[str, Any] = {
    "image": IMAGE,
    "entryPoint": {"module": "shop.wsgi"},
    "security": {"runAsUser": 20010, "runAsGroup": 20010},
}


def base_manifest(spec_patch: Mapping[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    """A small valid WsgiApp every patch starts from (a fresh copy each call), with
    ``spec_patch`` deep-merged into its spec and ``metadata`` into its metadata."""
    return wsgiapp_manifest(APP, APP, BASE_SPEC, spec_patch, metadata=metadata)


@dataclass(frozen=True)
class InvalidCase:
    id: str
    description: str
    patch: Mapping[str, Any] | Callable[[], dict[str, Any]]
    field: str
    crd_rejects: bool = True

    def manifest(self) -> dict[str, Any]:
        """The full invalid manifest (a fresh object each call)."""
        if callable(self.patch):
            return self.patch()
        return base_manifest(self.patch)


def _with_metadata(**meta: Any) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return base_manifest(**meta)

    return build


def _with_top(**top: Any) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return deep_merge(base_manifest(), top)

    return build


def _sec(**fields: Any) -> dict[str, Any]:
    return {"security": fields}


def _dirs(*dirs: tuple[str, str]) -> dict[str, Any]:
    return {"writableDirs": [{"name": n, "mountPath": p} for n, p in dirs]}


def _probe(which: str, probe: dict[str, Any]) -> dict[str, Any]:
    return {"probes": {which: probe}}


def _http(**fields: Any) -> dict[str, Any]:
    """A probe override with an httpGet handler (port http unless given)."""
    return {"httpGet": {"path": "/health", "port": "http", **fields}}


def _ann(key: str, value: str = "x") -> dict[str, Any]:
    return {"podAnnotations": {key: value}}


def _ingress_ann(key: str, value: str = "x") -> dict[str, Any]:
    return {"ingress": {"hosts": ["shop.example.com"], "annotations": {key: value}}}


def _egress_block(cidr: str, *excepts: str) -> dict[str, Any]:
    """An egress peer with an ipBlock."""
    block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return {"networkPolicy": {"egressTo": [{"ipBlock": block}]}}


def _ingress_peer(**peer: Any) -> dict[str, Any]:
    return {"networkPolicy": {"ingressFrom": [peer]}}


def _expr(key: str = "app", operator: str = "In", values: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": operator}
    if values is not None:
        out["values"] = values
    return out


def _node_term(*exprs: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A required node affinity with one term."""
    term: dict[str, Any] = {"matchExpressions": list(exprs)} if exprs else {}
    if fields is not None:
        term["matchFields"] = fields
    return {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
    }


def _anti(**term: Any) -> dict[str, Any]:
    """A required pod anti-affinity with one term (topologyKey hostname unless given)."""
    merged = deep_merge({"topologyKey": "kubernetes.io/hostname"}, term)
    return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [merged]}}}


def _spread(**constraint: Any) -> dict[str, Any]:
    """One topology spread constraint (maxSkew 1 over zones, DoNotSchedule, unless given)."""
    base = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
    return {"topologySpreadConstraints": [deep_merge(base, constraint)]}


def _toleration(**toleration: Any) -> dict[str, Any]:
    return {"tolerations": [toleration]}


def _value_from(source: dict[str, Any]) -> dict[str, Any]:
    return {"env": [{"name": "VALUE", "valueFrom": source}]}


#: A label key whose prefix is a valid DNS subdomain of 254 characters (one more than allowed).
LONG_PREFIX_KEY = ".".join(["a" * 63] * 3 + ["a" * 62]) + "/app"


CASES: list[InvalidCase] = [
    # --- identity -----------------------------------------------------------
    InvalidCase("uid-root", "runs the daemon as root", _sec(runAsUser=0), "spec.security.runAsUser"),
    InvalidCase("uid-www-data", "reuses Debian's www-data UID", _sec(runAsUser=33), "spec.security.runAsUser"),
    InvalidCase("uid-apache", "reuses RHEL's apache UID", _sec(runAsUser=48), "spec.security.runAsUser"),
    InvalidCase("uid-nobody", "runs as nobody, shared with the host", _sec(runAsUser=65534), "spec.security.runAsUser"),
    InvalidCase("uid-system", "picks a system-range UID below 1000", _sec(runAsUser=500), "spec.security.runAsUser"),
    InvalidCase("gid-nogroup", "primary group nogroup", _sec(runAsGroup=65534), "spec.security.runAsGroup"),
    InvalidCase("fsgroup-root", "volumes owned by group root", _sec(fsGroup=0), "spec.security.fsGroup"),
    InvalidCase("fsgroup-nogroup", "volumes owned by nogroup", _sec(fsGroup=65534), "spec.security.fsGroup"),
    InvalidCase(
        "supplemental-nogroup",
        "adds nogroup as a supplementary group",
        _sec(supplementalGroups=[20011, 65534]),
        "spec.security.supplementalGroups",
    ),
    InvalidCase(
        "supplemental-www-data",
        "adds www-data (33) as a supplementary group",
        _sec(supplementalGroups=[33]),
        "spec.security.supplementalGroups[0]",
    ),
    InvalidCase("umask-garbage", "umask with a typo", _sec(umask="0777x"), "spec.security.umask"),
    InvalidCase("umask-decimal", "umask written with an 8", _sec(umask="0028"), "spec.security.umask"),
    # --- proxies --------------------------------------------------------------
    InvalidCase(
        "proxy-headers-without-proxies",
        "trusts X-Forwarded-For from every client",
        _sec(trustedProxyHeaders=["X-Forwarded-For"]),
        "spec.security.trustedProxyHeaders",
    ),
    InvalidCase(
        "proxy-not-cidr",
        "names the ingress controller instead of its CIDR",
        _sec(trustedProxies=["ingress-nginx"], trustedProxyHeaders=["X-Forwarded-For"]),
        "spec.security.trustedProxies[0]",
    ),
    InvalidCase(
        "proxy-cidr-prefix-33",
        "IPv4 CIDR with a /33 prefix",
        _sec(trustedProxies=["10.0.0.0/33"]),
        "spec.security.trustedProxies[0]",
    ),
    InvalidCase(
        "proxy-header-space",
        "header name with a space",
        _sec(trustedProxies=["10.0.0.0/8"], trustedProxyHeaders=["X-Forwarded For"]),
        "spec.security.trustedProxyHeaders[0]",
    ),
    # --- server -----------------------------------------------------------------
    InvalidCase("port-80", "privileged port 80", {"server": {"port": 80}}, "spec.server.port"),
    InvalidCase("port-70000", "port out of range", {"server": {"port": 70000}}, "spec.server.port"),
    InvalidCase("processes-0", "zero daemon processes", {"server": {"processes": 0}}, "spec.server.processes"),
    InvalidCase("threads-1000", "a thousand threads per process", {"server": {"threads": 1000}}, "spec.server.threads"),
    InvalidCase("replicas-negative", "negative replica count", {"replicas": -1}, "spec.replicas"),
    InvalidCase(
        "typo-replica",
        "'replica' instead of 'replicas' (the API server refuses it under strict field validation, kubectl's default)",
        {"replica": 3},
        "spec.replica",
    ),
    # --- timeouts and limits ----------------------------------------------------
    InvalidCase("request-timeout-0", "unbounded requests", {"timeouts": {"request": 0}}, "spec.timeouts.request"),
    InvalidCase(
        "header-max-below-header",
        "header ceiling below the base header timeout",
        {"timeouts": {"header": 20, "headerMax": 10}},
        "spec.timeouts.headerMax",
    ),
    InvalidCase(
        "body-max-below-body",
        "body ceiling below the base body timeout",
        {"timeouts": {"body": 30, "bodyMax": 10}},
        "spec.timeouts.bodyMax",
    ),
    InvalidCase("timeout-negative", "negative socket timeout", {"timeouts": {"socket": -1}}, "spec.timeouts.socket"),
    InvalidCase(
        "timeout-as-string", "timeout with a unit suffix", {"timeouts": {"queue": "45s"}}, "spec.timeouts.queue"
    ),
    InvalidCase(
        "request-fields-0", "no request headers allowed", {"limits": {"requestFields": 0}}, "spec.limits.requestFields"
    ),
    # --- image ------------------------------------------------------------------
    InvalidCase("image-empty", "empty image", {"image": ""}, "spec.image"),
    InvalidCase("image-spaces", "image with a space", {"image": "registry.example.com/shop web:1"}, "spec.image"),
    InvalidCase("image-missing", "no image at all", {"image": DELETE}, "spec.image"),
    InvalidCase(
        "pull-policy-lowercase", "imagePullPolicy in lower case", {"imagePullPolicy": "always"}, "spec.imagePullPolicy"
    ),
    InvalidCase(
        "image-digest-65-hex",
        "sha256 digest with 65 hex digits (a digit pasted twice)",
        {"image": "registry.example.com/shop/web@sha256:" + "a" * 65},
        "spec.image",
    ),
    InvalidCase(
        "image-digest-63-hex",
        "sha256 digest with 63 hex digits (one lost)",
        {"image": "registry.example.com/shop/web@sha256:" + "a" * 63},
        "spec.image",
    ),
    InvalidCase(
        "image-sha512-digest-64-hex",
        "sha512 digest of a sha256's length",
        {"image": "registry.example.com/shop/web@sha512:" + "a" * 64},
        "spec.image",
    ),
    InvalidCase(
        "image-tag-and-bad-digest",
        "tag and a digest that is not one",
        {"image": "registry.example.com/shop/web:1@sha256:x"},
        "spec.image",
    ),
    InvalidCase(
        "image-digest-upper-hex", "digest in upper-case hex", {"image": "shop/web@sha256:" + "AB" * 32}, "spec.image"
    ),
    InvalidCase("image-md5-digest", "md5 digest", {"image": "shop/web@md5:" + "a" * 32}, "spec.image"),
    InvalidCase(
        "image-upper-path", "repository path in capitals", {"image": "registry.example.com/Shop/Web:1"}, "spec.image"
    ),
    InvalidCase("image-tag-too-long", "tag of 129 characters", {"image": "shop/web:" + "a" * 129}, "spec.image"),
    InvalidCase("image-tag-leading-dot", "tag starting with a dot", {"image": "shop/web:.1"}, "spec.image"),
    InvalidCase("image-double-slash", "empty path component", {"image": "registry.example.com//web:1"}, "spec.image"),
    InvalidCase("image-trailing-colon", "tag separator with no tag", {"image": "shop/web:"}, "spec.image"),
    InvalidCase(
        "image-scheme", "URL scheme in front", {"image": "https://registry.example.com/shop/web:1"}, "spec.image"
    ),
    InvalidCase(
        "code-image-bad-digest",
        "code image volume digest one digit short",
        {"code": {"image": {"reference": "registry.example.com/shop/code@sha256:" + "a" * 63}}},
        "spec.code.image.reference",
    ),
    # --- entry point --------------------------------------------------------------
    InvalidCase(
        "entrypoint-both",
        "both module and script",
        {"entryPoint": {"module": "shop.wsgi", "script": "wsgi.py"}},
        "spec.entryPoint",
    ),
    InvalidCase("entrypoint-neither", "only the callable", {"entryPoint": {"module": DELETE}}, "spec.entryPoint"),
    InvalidCase("entrypoint-missing", "no entryPoint at all", {"entryPoint": DELETE}, "spec.entryPoint"),
    InvalidCase(
        "script-dotdot",
        "script outside the code directory",
        {"entryPoint": {"module": DELETE, "script": "../shared/wsgi.py"}},
        "spec.entryPoint.script",
    ),
    InvalidCase(
        "script-absolute",
        "absolute script path",
        {"entryPoint": {"module": DELETE, "script": "/app/wsgi.py"}},
        "spec.entryPoint.script",
    ),
    InvalidCase(
        "script-not-python",
        "points at the settings directory",
        {"entryPoint": {"module": DELETE, "script": "shop/settings"}},
        "spec.entryPoint.script",
    ),
    InvalidCase(
        "module-dashes",
        "distribution name instead of module name",
        {"entryPoint": {"module": "my-shop.wsgi"}},
        "spec.entryPoint.module",
    ),
    InvalidCase(
        "module-dollar-home",
        "shell variable in the module",
        {"entryPoint": {"module": "$HOME.wsgi"}},
        "spec.entryPoint.module",
    ),
    InvalidCase(
        "module-with-callable",
        "module:callable in one string (gunicorn style)",
        {"entryPoint": {"module": "shop.wsgi:application"}},
        "spec.entryPoint.module",
    ),
    InvalidCase(
        "callable-call",
        "callable with parentheses",
        {"entryPoint": {"callable": "create_app()"}},
        "spec.entryPoint.callable",
    ),
    # --- code ---------------------------------------------------------------------
    InvalidCase(
        "code-two-sources",
        "both a ConfigMap and a PVC",
        {"code": {"configMap": {"name": "shop-code"}, "persistentVolumeClaim": {"claimName": "shop-code"}}},
        "spec.code",
    ),
    InvalidCase("code-path-root", "code mounted over /", {"code": {"path": "/"}}, "spec.code.path"),
    InvalidCase("code-path-tmp", "code under /tmp", {"code": {"path": "/tmp/app"}}, "spec.code.path"),
    InvalidCase("code-path-relative", "relative code path", {"code": {"path": "app"}}, "spec.code.path"),
    InvalidCase(
        "code-image-empty",
        "image volume without a reference",
        {"code": {"image": {"reference": ""}}},
        "spec.code.image.reference",
    ),
    InvalidCase(
        "code-configmap-bad-name",
        "ConfigMap name with an underscore",
        {"code": {"configMap": {"name": "shop_code"}}},
        "spec.code.configMap.name",
    ),
    InvalidCase(
        "working-directory-tmp",
        "working directory under /tmp",
        {"workingDirectory": "/tmp/shop"},
        "spec.workingDirectory",
    ),
    # --- writable directories -----------------------------------------------------
    InvalidCase(
        "writable-under-tmp", "uploads under /tmp", _dirs(("uploads", "/tmp/uploads")), "spec.writableDirs[0].mountPath"
    ),
    InvalidCase("writable-at-tmp", "a writable /tmp", _dirs(("tmp", "/tmp")), "spec.writableDirs[0].mountPath"),
    InvalidCase(
        "writable-at-root", "the whole filesystem writable", _dirs(("root", "/")), "spec.writableDirs[0].mountPath"
    ),
    InvalidCase(
        "writable-under-code", "media inside the code directory", _dirs(("media", "/app/media")), "spec.writableDirs"
    ),
    InvalidCase("writable-is-code", "the code directory itself writable", _dirs(("code", "/app")), "spec.writableDirs"),
    InvalidCase(
        "writable-contains-code",
        "a writable parent of the code directory",
        {"code": {"path": "/srv/shop/app"}, **_dirs(("srv", "/srv/shop"))},
        "spec.writableDirs",
    ),
    InvalidCase(
        "writable-nested",
        "one writable directory inside another",
        _dirs(("data", "/var/lib/shop"), ("media", "/var/lib/shop/media")),
        "spec.writableDirs",
    ),
    InvalidCase(
        "writable-same-path",
        "two volumes on one mount path",
        _dirs(("media", "/var/lib/shop"), ("cache", "/var/lib/shop")),
        "spec.writableDirs",
    ),
    InvalidCase(
        "writable-duplicate-names",
        "copy-pasted entry, name not changed",
        _dirs(("media", "/var/lib/shop/media"), ("media", "/var/cache/shop")),
        "spec.writableDirs",
    ),
    InvalidCase(
        "writable-under-etc-wsgi",
        "writable directory inside the operator's config",
        _dirs(("conf", "/etc/wsgi/extra")),
        "spec.writableDirs[0].mountPath",
    ),
    InvalidCase(
        "writable-server-root",
        "writable directory over the server root",
        _dirs(("run", "/var/run/wsgi")),
        "spec.writableDirs[0].mountPath",
    ),
    InvalidCase(
        "writable-name-not-dns",
        "volume name with capitals and underscore",
        _dirs(("Media_Files", "/var/lib/shop/media")),
        "spec.writableDirs[0].name",
    ),
    InvalidCase(
        "writable-size-lots",
        "sizeLimit in words",
        {"writableDirs": [{"name": "media", "mountPath": "/var/lib/shop/media", "sizeLimit": "lots"}]},
        "spec.writableDirs[0].sizeLimit",
    ),
    InvalidCase(
        "writable-medium-lowercase",
        "medium 'memory' instead of 'Memory'",
        {"writableDirs": [{"name": "cache", "mountPath": "/var/cache/shop", "medium": "memory"}]},
        "spec.writableDirs[0].medium",
    ),
    InvalidCase(
        "writable-name-too-long-for-volume",
        "63-character name: the rendered volume name rw-<name> exceeds 63 characters",
        _dirs(("m" * 63, "/var/lib/shop/media")),
        "spec.writableDirs[0].name",
    ),
    # --- environment --------------------------------------------------------------
    InvalidCase(
        "django-debug-on",
        "DJANGO_DEBUG=1 left in from development",
        {"env": [{"name": "DJANGO_DEBUG", "value": "1"}]},
        "spec.env",
    ),
    InvalidCase(
        "flask-debug-from-configmap",
        "FLASK_DEBUG read from a ConfigMap (value unknown, so refused)",
        {"env": [{"name": "FLASK_DEBUG", "valueFrom": {"configMapKeyRef": {"name": "flags", "key": "debug"}}}]},
        "spec.env",
    ),
    InvalidCase(
        "env-value-and-value-from",
        "both value and valueFrom",
        {"env": [{"name": "DB_PASSWORD", "value": "x", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]},
        "spec.env",
    ),
    InvalidCase(
        "env-name-with-space",
        "variable name with a space",
        {"env": [{"name": "DB HOST", "value": "db"}]},
        "spec.env[0].name",
    ),
    # --- scaling ------------------------------------------------------------------
    InvalidCase(
        "autoscaling-min-gt-max",
        "minReplicas above maxReplicas",
        {"autoscaling": {"minReplicas": 5, "maxReplicas": 3}},
        "spec.autoscaling.minReplicas",
    ),
    InvalidCase(
        "autoscaling-no-max",
        "autoscaling without maxReplicas",
        {"autoscaling": {"minReplicas": 2}},
        "spec.autoscaling.maxReplicas",
    ),
    InvalidCase(
        "pdb-both",
        "both maxUnavailable and minAvailable",
        {"disruptionBudget": {"maxUnavailable": 1, "minAvailable": 1}},
        "spec.disruptionBudget",
    ),
    InvalidCase(
        "pdb-percentage",
        "percentages are not supported",
        {"disruptionBudget": {"maxUnavailable": "25%"}},
        "spec.disruptionBudget.maxUnavailable",
    ),
    InvalidCase(
        "resources-bad-quantity",
        "memory limit written as '1 GB'",
        {"resources": {"limits": {"memory": "1 GB"}}},
        "spec.resources.limits.memory",
    ),
    # --- exposure -----------------------------------------------------------------
    InvalidCase("ingress-no-hosts", "ingress without hosts", {"ingress": {"hosts": []}}, "spec.ingress.hosts"),
    InvalidCase(
        "ingress-host-uppercase",
        "host in upper case",
        {"ingress": {"hosts": ["Shop.Example.com"]}},
        "spec.ingress.hosts[0]",
    ),
    InvalidCase(
        "ingress-host-underscore",
        "host with an underscore",
        {"ingress": {"hosts": ["shop_web.example.com"]}},
        "spec.ingress.hosts[0]",
    ),
    InvalidCase(
        "ingress-host-url",
        "a URL instead of a host",
        {"ingress": {"hosts": ["https://shop.example.com"]}},
        "spec.ingress.hosts[0]",
    ),
    InvalidCase(
        "ingress-path-relative",
        "path without a leading slash",
        {"ingress": {"hosts": ["shop.example.com"], "paths": [{"path": "api"}]}},
        "spec.ingress.paths[0].path",
    ),
    InvalidCase(
        "httproute-no-parents",
        "HTTPRoute attached to no Gateway",
        {"httpRoute": {"parentRefs": [], "hostnames": ["shop.example.com"]}},
        "spec.httpRoute.parentRefs",
    ),
    InvalidCase("service-port-0", "service port 0", {"service": {"port": 0}}, "spec.service.port"),
    InvalidCase(
        "peer-app-and-ipblock",
        "one peer naming an app and an ipBlock",
        {"networkPolicy": {"ingressFrom": [{"app": "api", "ipBlock": {"cidr": "10.0.0.0/8"}}]}},
        "spec.networkPolicy.ingressFrom[0]",
    ),
    InvalidCase(
        "peer-empty",
        "egress peer with only ports (would allow every destination)",
        {"networkPolicy": {"egressTo": [{"ports": [{"port": 5432}]}]}},
        "spec.networkPolicy.egressTo[0]",
    ),
    InvalidCase(
        "peer-bad-cidr",
        "database range with a /40 prefix",
        {"networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "10.20.0.0/40"}}]}},
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-port-protocol-lowercase",
        "protocol 'tcp' in lower case",
        {"networkPolicy": {"egressTo": [{"app": "api", "ports": [{"port": 8000, "protocol": "tcp"}]}]}},
        "spec.networkPolicy.egressTo[0].ports[0].protocol",
    ),
    InvalidCase(
        "peer-cidr-octet-256",
        "database range with a mistyped octet (NetworkPolicy would be refused)",
        {"networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "10.256.0.0/16"}}]}},
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    # --- pod template ---------------------------------------------------------------
    InvalidCase(
        "pod-label-value-with-space",
        "pod label value with a space (the Deployment would be refused)",
        {"podLabels": {"team": "Payments Team"}},
        "spec.podLabels",
    ),
    InvalidCase(
        "requests-above-limits",
        "memory request above the memory limit (the Deployment would be refused)",
        {"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}},
        "spec.resources",
    ),
    # --- rules with gaps, closed -----------------------------------------------
    InvalidCase(
        "umask-world-writable",
        "umask 0020 leaves new files writable by everyone",
        _sec(umask="0020"),
        "spec.security.umask",
    ),
    InvalidCase(
        "umask-masks-read-not-write",
        "umask 0025: others lose read but keep write",
        _sec(umask="0025"),
        "spec.security.umask",
    ),
    InvalidCase(
        "trusted-proxies-two-halves",
        "two /1 ranges: together they trust every IPv4 client",
        _sec(trustedProxies=["0.0.0.0/1", "128.0.0.0/1"], trustedProxyHeaders=["X-Forwarded-For"]),
        "spec.security.trustedProxies",
    ),
    InvalidCase(
        "flask-debug-off-word",
        'FLASK_DEBUG=off: Flask reads every value but "", 0, false and no as on',
        {"env": [{"name": "FLASK_DEBUG", "value": "off"}]},
        "spec.env",
    ),
    InvalidCase(
        "werkzeug-pin-off",
        "WERKZEUG_DEBUG_PIN=off disables the debugger's PIN",
        {"env": [{"name": "WERKZEUG_DEBUG_PIN", "value": "off"}]},
        "spec.env",
    ),
    InvalidCase(
        "request-body-unlimited",
        "limits.requestBody 0, which Apache reads as unlimited",
        {"limits": {"requestBody": 0}},
        "spec.limits.requestBody",
    ),
    InvalidCase(
        "module-with-keyword",
        "entry point module with a Python keyword segment",
        {"entryPoint": {"module": "shop.import.wsgi"}},
        "spec.entryPoint.module",
    ),
    InvalidCase(
        "callable-keyword",
        "WSGI callable named like a keyword",
        {"entryPoint": {"module": "shop.wsgi", "callable": "class"}},
        "spec.entryPoint.callable",
    ),
    InvalidCase(
        "request-timeout-a-day",
        "request timeout of a day: the pod's stop grace period would be days",
        {"timeouts": {"request": 86400}},
        "spec.timeouts.request",
    ),
    # --- JSON types: quoted numbers and booleans (offline validation is strict) ----
    InvalidCase("replicas-quoted", "replicas as a string", {"replicas": "3"}, "spec.replicas"),
    InvalidCase(
        "network-policy-enabled-quoted-false",
        'networkPolicy.enabled: "false" (lax parsing would drop the fence)',
        {"networkPolicy": {"enabled": "false"}},
        "spec.networkPolicy.enabled",
    ),
    InvalidCase(
        "pass-authorization-yes-string",
        'passAuthorization: "yes" as a string (lax parsing would pass Authorization)',
        {"security": {"passAuthorization": "yes"}},
        "spec.security.passAuthorization",
    ),
    InvalidCase("port-quoted", "server port as a string", {"server": {"port": "8000"}}, "spec.server.port"),
    # --- temp dir, url aliases, persistent dirs, release ---------------------------
    InvalidCase(
        "env-sets-tmpdir",
        "TMPDIR pointed at /tmp by hand, undoing the private temp dir",
        {"env": [{"name": "TMPDIR", "value": "/tmp"}]},
        "spec.env",
    ),
    InvalidCase(
        "writable-dir-in-temp-dir",
        "a writable dir mounted inside the operator's temp dir",
        _dirs(("cache", "/var/tmp/cache")),
        "spec.writableDirs[0].mountPath",
    ),
    InvalidCase(
        "code-in-temp-dir",
        "code path inside the temp dir",
        {"code": {"path": "/var/tmp/app"}},
        "spec.code.path",
    ),
    InvalidCase(
        "temp-dir-size-garbage",
        "temp dir size without a unit the API knows",
        {"tempDir": {"sizeLimit": "1 gig"}},
        "spec.tempDir.sizeLimit",
    ),
    InvalidCase(
        "alias-serves-the-code",
        "static alias pointing at the code path: would serve the Python source",
        {"urlAliases": [{"path": "/static", "directory": "/app"}]},
        "spec.urlAliases",
    ),
    InvalidCase(
        "alias-serves-a-parent-of-the-code",
        "static alias pointing at / (contains the code)",
        {"urlAliases": [{"path": "/files", "directory": "/usr"}]},
        "spec.urlAliases",
    ),
    InvalidCase(
        "alias-path-traversal",
        "alias directory climbing out with ..",
        {"urlAliases": [{"path": "/static", "directory": "/app/static/../.."}]},
        "spec.urlAliases[0].directory",
    ),
    InvalidCase(
        "alias-url-with-dot-segment",
        "alias URL path with a .. segment",
        {"urlAliases": [{"path": "/static/..", "directory": "/app/static"}]},
        "spec.urlAliases[0].path",
    ),
    InvalidCase(
        "alias-root-url",
        "alias of / (would hide the whole app)",
        {"urlAliases": [{"path": "/", "directory": "/app/static"}]},
        "spec.urlAliases[0].path",
    ),
    InvalidCase(
        "alias-undeclared-writable-dir",
        "media alias naming a writable dir that is not declared",
        {"urlAliases": [{"path": "/media", "writableDir": "media"}]},
        "spec.urlAliases",
    ),
    InvalidCase(
        "alias-both-sources",
        "alias with both a directory and a writable dir",
        deep_merge(
            _dirs(("media", "/var/lib/shop/media")),
            {"urlAliases": [{"path": "/media", "directory": "/app/media", "writableDir": "media"}]},
        ),
        "spec.urlAliases[0]",
    ),
    InvalidCase(
        "alias-directory-is-a-writable-dir",
        "serving a writable dir as if it were static files from the image",
        deep_merge(_dirs(("media", "/srv/media")), {"urlAliases": [{"path": "/media", "directory": "/srv/media"}]}),
        "spec.urlAliases",
    ),
    InvalidCase(
        "alias-duplicate-path",
        "the same URL path aliased twice",
        {"urlAliases": [{"path": "/static", "directory": "/app/a"}, {"path": "/static", "directory": "/app/b"}]},
        "spec.urlAliases",
    ),
    InvalidCase(
        "alias-hides-the-probe",
        "readiness probe path under a static alias: the probe would never reach the app",
        {"probes": {"path": "/static/health"}, "urlAliases": [{"path": "/static", "directory": "/app/static"}]},
        "spec.probes.path",
    ),
    InvalidCase(
        "alias-directory-in-etc",
        "alias serving /etc",
        {"urlAliases": [{"path": "/etc", "directory": "/etc"}]},
        "spec.urlAliases",
    ),
    InvalidCase(
        "pvc-with-memory-medium",
        "a claim-backed writable dir with an emptyDir medium",
        {
            "writableDirs": [
                {
                    "name": "data",
                    "mountPath": "/var/lib/shop/data",
                    "medium": "Memory",
                    "persistentVolumeClaim": {"claimName": "data"},
                }
            ]
        },
        "spec.writableDirs[0].medium",
    ),
    InvalidCase(
        "pvc-claim-name-invalid",
        "claim name with an underscore",
        {
            "writableDirs": [
                {"name": "data", "mountPath": "/var/lib/shop/data", "persistentVolumeClaim": {"claimName": "shop_data"}}
            ]
        },
        "spec.writableDirs[0].persistentVolumeClaim.claimName",
    ),
    InvalidCase(
        "release-empty-command",
        "release step with no command",
        {"release": {"command": []}},
        "spec.release.command",
    ),
    InvalidCase(
        "release-timeout-zero",
        "release Job that may never run",
        {"release": {"command": ["migrate"], "timeoutSeconds": 0}},
        "spec.release.timeoutSeconds",
    ),
    InvalidCase(
        "probe-host-wildcard",
        "probe Host header with a wildcard",
        {"probes": {"host": "*.example.com"}},
        "spec.probes.host",
    ),
    # --- probe overrides: typed like core/v1 Probe, host refused ------------------
    InvalidCase(
        "probe-http-host-metadata",
        "readiness probe aimed at the cloud metadata address from the node",
        _probe("readiness", _http(host="169.254.169.254")),
        "spec.probes.readiness.httpGet.host",
    ),
    InvalidCase(
        "probe-http-host-loopback",
        "liveness probe to the node's own loopback",
        _probe("liveness", _http(host="127.0.0.1")),
        "spec.probes.liveness.httpGet.host",
    ),
    InvalidCase(
        "probe-http-host-service-name",
        "startup probe naming another Service as host",
        _probe("startup", _http(host="admin.kube-system.svc")),
        "spec.probes.startup.httpGet.host",
    ),
    InvalidCase(
        "probe-tcp-host",
        "TCP probe that port-scans the database from the node",
        _probe("liveness", {"tcpSocket": {"port": 5432, "host": "10.0.0.5"}}),
        "spec.probes.liveness.tcpSocket.host",
    ),
    InvalidCase(
        "probe-tcp-host-readiness",
        "TCP readiness probe against the API server",
        _probe("readiness", {"tcpSocket": {"port": 443, "host": "kubernetes.default.svc"}}),
        "spec.probes.readiness.tcpSocket.host",
    ),
    InvalidCase(
        "probe-no-handler",
        "probe with timing only",
        _probe("readiness", {"periodSeconds": 5}),
        "spec.probes.readiness",
    ),
    InvalidCase(
        "probe-two-handlers",
        "probe with both httpGet and tcpSocket",
        _probe("liveness", {**_http(), "tcpSocket": {"port": 8000}}),
        "spec.probes.liveness",
    ),
    InvalidCase(
        "probe-port-out-of-range",
        "probe port above 65535",
        _probe("readiness", _http(port=70000)),
        "spec.probes.readiness.httpGet.port",
    ),
    InvalidCase(
        "probe-port-zero",
        "TCP probe on port 0",
        _probe("liveness", {"tcpSocket": {"port": 0}}),
        "spec.probes.liveness.tcpSocket.port",
    ),
    InvalidCase(
        "probe-port-unknown-name",
        "probe naming a port the container does not have",
        _probe("readiness", _http(port="web")),
        "spec.probes.readiness.httpGet.port",
    ),
    InvalidCase(
        "probe-port-quoted-number",
        "probe port number in quotes (a port name, which no port has)",
        _probe("startup", _http(port="8000")),
        "spec.probes.startup.httpGet.port",
    ),
    InvalidCase(
        "probe-port-boolean",
        "probe port true",
        _probe("readiness", _http(port=True)),
        "spec.probes.readiness.httpGet.port",
    ),
    InvalidCase(
        "probe-grpc-named-port",
        "gRPC probe with a named port (gRPC takes a number only)",
        _probe("liveness", {"grpc": {"port": "http"}}),
        "spec.probes.liveness.grpc.port",
    ),
    InvalidCase(
        "probe-scheme-lowercase",
        "scheme 'https' in lower case",
        _probe("readiness", _http(scheme="https")),
        "spec.probes.readiness.httpGet.scheme",
    ),
    InvalidCase(
        "probe-typo-field",
        "'hosts' misspelt inside httpGet (was silently kept)",
        _probe("readiness", _http(hosts="shop.example.com")),
        "spec.probes.readiness.httpGet.hosts",
    ),
    InvalidCase(
        "probe-period-zero",
        "probe period 0",
        _probe("readiness", {**_http(), "periodSeconds": 0}),
        "spec.probes.readiness.periodSeconds",
    ),
    InvalidCase(
        "probe-failure-threshold-negative",
        "negative failure threshold",
        _probe("liveness", {**_http(), "failureThreshold": -1}),
        "spec.probes.liveness.failureThreshold",
    ),
    InvalidCase(
        "probe-timeout-with-unit",
        "probe timeout written '5s'",
        _probe("readiness", {**_http(), "timeoutSeconds": "5s"}),
        "spec.probes.readiness.timeoutSeconds",
    ),
    InvalidCase(
        "probe-liveness-success-threshold",
        "liveness successThreshold 3 (Kubernetes takes only 1)",
        _probe("liveness", {**_http(), "successThreshold": 3}),
        "spec.probes.liveness.successThreshold",
    ),
    InvalidCase(
        "probe-startup-success-threshold",
        "startup successThreshold 2 (Kubernetes takes only 1)",
        _probe("startup", {**_http(), "successThreshold": 2}),
        "spec.probes.startup.successThreshold",
    ),
    InvalidCase(
        "probe-readiness-grace-period",
        "terminationGracePeriodSeconds on a readiness probe",
        _probe("readiness", {**_http(), "terminationGracePeriodSeconds": 30}),
        "spec.probes.readiness.terminationGracePeriodSeconds",
    ),
    InvalidCase(
        "probe-header-name-space",
        "probe header name with a space",
        _probe("readiness", _http(httpHeaders=[{"name": "X Probe", "value": "1"}])),
        "spec.probes.readiness.httpGet.httpHeaders[0].name",
    ),
    InvalidCase(
        "probe-header-value-crlf",
        "probe header value smuggling a second header",
        _probe("readiness", _http(httpHeaders=[{"name": "Host", "value": "shop\r\nX-Admin: 1"}])),
        "spec.probes.readiness.httpGet.httpHeaders[0].value",
    ),
    InvalidCase(
        "probe-exec-empty-command",
        "exec probe without a command",
        _probe("liveness", {"exec": {"command": []}}),
        "spec.probes.liveness.exec.command",
    ),
    InvalidCase(
        "probe-path-relative",
        "probe path without a leading slash",
        _probe("readiness", _http(path="healthz")),
        "spec.probes.readiness.httpGet.path",
    ),
    # --- pass-through annotations and labels: the refused classes ----------------
    InvalidCase(
        "pod-annotation-apparmor-unconfined",
        "AppArmor turned off with the beta annotation",
        _ann("container.apparmor.security.beta.kubernetes.io/wsgi", "unconfined"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-apparmor-localhost",
        "a custom AppArmor profile through the annotation (the class is refused, whatever the value)",
        _ann("container.apparmor.security.beta.kubernetes.io/wsgi", "localhost/custom"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-seccomp-pod",
        "seccomp unconfined with the alpha pod annotation",
        _ann("seccomp.security.alpha.kubernetes.io/pod", "unconfined"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-seccomp-container",
        "seccomp unconfined with the alpha container annotation",
        _ann("container.seccomp.security.alpha.kubernetes.io/wsgi", "unconfined"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-config-hash",
        "a fixed config hash, so config changes no longer roll the pods",
        _ann("wsgi-operator.io/config-hash", "0"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-restarted-at",
        "the operator's restart annotation pinned in the spec",
        _ann("wsgi-operator.io/restartedAt", "2024-01-01T00:00:00Z"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-operator-subdomain",
        "a key in a subdomain of the operator's (kopf's state)",
        _ann("operator.wsgi-operator.io/last-handled-configuration", "{}"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-kubectl-restarted-at",
        "kubectl's restartedAt pinned, undoing every `kubectl rollout restart`",
        _ann("kubectl.kubernetes.io/restartedAt", "2024-01-01T00:00:00Z"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-crio-devices",
        "CRI-O device passthrough",
        _ann("io.kubernetes.cri-o.Devices", "/dev/kmsg"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-crio-cpu-quota",
        "CRI-O cgroup override",
        _ann("cpu-quota.crio.io", "disable"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-cdi-device",
        "CDI device injection",
        _ann("cdi.k8s.io/gpu", "nvidia.com/gpu=all"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-kata-hypervisor",
        "Kata hypervisor path override",
        _ann("io.katacontainers.config.hypervisor.path", "/usr/bin/evil"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-nri-mounts",
        "NRI mount injection",
        _ann("mounts.nri.io/container.wsgi", "[]"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-istio-user-volume",
        "Istio injecting a hostPath volume",
        _ann("sidecar.istio.io/userVolume", '[{"name":"host","hostPath":{"path":"/"}}]'),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-linkerd-proxy-image",
        "Linkerd sidecar from another image",
        _ann("config.linkerd.io/proxy-image", "evil.example.com/proxy"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-key-with-space",
        "annotation key with a space (the Deployment would be refused)",
        _ann("team name", "payments"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotation-key-uppercase-prefix",
        "annotation key with an upper-case prefix (the Deployment would be refused)",
        _ann("Security.Beta.Kubernetes.io/x", "y"),
        "spec.podAnnotations",
    ),
    InvalidCase(
        "pod-annotations-too-many",
        "65 pod annotations",
        {"podAnnotations": {f"example.com/a{i}": "x" for i in range(65)}},
        "spec.podAnnotations",
    ),
    InvalidCase(
        "ingress-annotation-configuration-snippet",
        "ingress-nginx configuration snippet",
        _ingress_ann("nginx.ingress.kubernetes.io/configuration-snippet", "more_set_headers 'X: y';"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-server-snippet",
        "ingress-nginx server snippet",
        _ingress_ann("nginx.ingress.kubernetes.io/server-snippet", "location /x { return 200; }"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-auth-snippet",
        "ingress-nginx auth snippet",
        _ingress_ann("nginx.ingress.kubernetes.io/auth-snippet", "proxy_set_header X 1;"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-snippet-mixed-case",
        "a snippet key in mixed case",
        _ingress_ann("nginx.ingress.kubernetes.io/Server-Snippet", "return 200;"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-nginx-org-snippets",
        "NGINX Inc. controller server snippets",
        _ingress_ann("nginx.org/server-snippets", "return 200;"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-haproxy-snippet",
        "HAProxy backend config snippet",
        _ingress_ann("haproxy.org/backend-config-snippet", "http-request return status 200"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-haproxy-ingress-config",
        "haproxy-ingress raw backend config",
        _ingress_ann("haproxy-ingress.github.io/config-backend", "http-request return status 200"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-skipper-filter",
        "Skipper filter running Lua",
        _ingress_ann("zalando.org/skipper-filter", 'lua("function request(c, p) end")'),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-mirror-target",
        "ingress-nginx mirroring every request elsewhere",
        _ingress_ann("nginx.ingress.kubernetes.io/mirror-target", "https://collector.example.net$request_uri"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-ingress-class",
        "deprecated ingress.class annotation instead of className",
        _ingress_ann("kubernetes.io/ingress.class", "nginx"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "ingress-annotation-last-applied",
        "kubectl's last-applied-configuration on the Ingress",
        _ingress_ann("kubectl.kubernetes.io/last-applied-configuration", "{}"),
        "spec.ingress.annotations",
    ),
    InvalidCase(
        "service-annotation-haproxy-snippet",
        "HAProxy backend snippet on the Service (HAProxy reads Service annotations too)",
        {"service": {"annotations": {"haproxy.org/backend-config-snippet": "http-request deny"}}},
        "spec.service.annotations",
    ),
    InvalidCase(
        "service-annotation-operator",
        "an operator key on the Service",
        {"service": {"annotations": {"wsgi-operator.io/app": "other"}}},
        "spec.service.annotations",
    ),
    InvalidCase(
        "service-account-annotation-operator",
        "an operator key on the ServiceAccount",
        {"serviceAccountAnnotations": {"wsgi-operator.io/config-hash": "0"}},
        "spec.serviceAccountAnnotations",
    ),
    InvalidCase(
        "service-account-annotation-kubectl",
        "kubectl's key on the ServiceAccount",
        {"serviceAccountAnnotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec.serviceAccountAnnotations",
    ),
    InvalidCase(
        "pod-label-release-of",
        "server pods labelled as release pods (their NetworkPolicy would select them)",
        {"podLabels": {"wsgi-operator.io/release-of": APP}},
        "spec.podLabels",
    ),
    InvalidCase(
        "pod-label-managed-by",
        "pod label app.kubernetes.io/managed-by, which the operator sets",
        {"podLabels": {"app.kubernetes.io/managed-by": "helm"}},
        "spec.podLabels",
    ),
    InvalidCase(
        "priority-class-system-cluster-critical",
        "app pods as cluster-critical, preempting the cluster's own",
        {"priorityClassName": "system-cluster-critical"},
        "spec.priorityClassName",
    ),
    InvalidCase(
        "priority-class-system-node-critical",
        "app pods as node-critical",
        {"priorityClassName": "system-node-critical"},
        "spec.priorityClassName",
    ),
    # --- pass-through Kubernetes objects: typed, with the API server's value rules ----
    # NetworkPolicy peers: selectors are meta/v1 LabelSelectors.
    InvalidCase(
        "peer-pod-selector-bare-labels",
        "podSelector written as a label map ({app: x}) instead of matchLabels",
        _ingress_peer(podSelector={"app": "x"}),
        "spec.networkPolicy.ingressFrom[0].podSelector",
    ),
    InvalidCase(
        "peer-namespace-selector-bare-labels",
        "namespaceSelector written as a label map",
        {"networkPolicy": {"egressTo": [{"namespaceSelector": {"team": "data"}}]}},
        "spec.networkPolicy.egressTo[0].namespaceSelector",
    ),
    InvalidCase(
        "peer-selector-match-label-typo",
        "matchLabel instead of matchLabels",
        _ingress_peer(podSelector={"matchLabel": {"app": "x"}}),
        "spec.networkPolicy.ingressFrom[0].podSelector",
    ),
    InvalidCase(
        "peer-selector-in-without-values",
        "operator In and no values",
        _ingress_peer(podSelector={"matchExpressions": [_expr()]}),
        "spec.networkPolicy.ingressFrom[0].podSelector.matchExpressions[0].values",
    ),
    InvalidCase(
        "peer-selector-exists-with-values",
        "operator Exists with values",
        _ingress_peer(namespaceSelector={"matchExpressions": [_expr("team", "Exists", ["a"])]}),
        "spec.networkPolicy.ingressFrom[0].namespaceSelector.matchExpressions[0].values",
    ),
    InvalidCase(
        "peer-selector-operator-lowercase",
        "operator 'in' in lower case",
        _ingress_peer(podSelector={"matchExpressions": [_expr(operator="in", values=["x"])]}),
        "spec.networkPolicy.ingressFrom[0].podSelector.matchExpressions[0].operator",
    ),
    InvalidCase(
        "peer-selector-bad-key",
        "matchLabels key with a space",
        _ingress_peer(podSelector={"matchLabels": {"app name": "x"}}),
        "spec.networkPolicy.ingressFrom[0].podSelector.matchLabels",
    ),
    InvalidCase(
        "peer-selector-key-prefix-too-long",
        "matchLabels key whose prefix has 254 characters",
        _ingress_peer(podSelector={"matchLabels": {LONG_PREFIX_KEY: "x"}}),
        "spec.networkPolicy.ingressFrom[0].podSelector.matchLabels",
    ),
    InvalidCase(
        "peer-selector-name-part-64",
        "expression key whose name part has 64 characters",
        _ingress_peer(podSelector={"matchExpressions": [_expr("example.com/" + "a" * 64, "Exists")]}),
        "spec.networkPolicy.ingressFrom[0].podSelector.matchExpressions[0].key",
    ),
    InvalidCase(
        "peer-selector-bad-value",
        "matchLabels value with a slash",
        {"networkPolicy": {"egressTo": [{"podSelector": {"matchLabels": {"app": "shop/api"}}}]}},
        "spec.networkPolicy.egressTo[0].podSelector.matchLabels",
    ),
    InvalidCase(
        "peer-selector-bad-expression-value",
        "expression value of 64 characters",
        _ingress_peer(podSelector={"matchExpressions": [_expr(values=["a" * 64])]}),
        "spec.networkPolicy.ingressFrom[0].podSelector.matchExpressions[0].values[0]",
    ),
    # NetworkPolicy ipBlock: CIDRs as the NetworkPolicy reads them, and no ambiguous ones.
    InvalidCase(
        "peer-cidr-no-prefix",
        "database address without a prefix length (the NetworkPolicy would be refused)",
        _egress_block("10.20.30.40"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-ipv6-no-prefix",
        "IPv6 address without a prefix length",
        _egress_block("2001:db8::1"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-host-bits",
        "10.1.2.3/8: a network or one address? (ambiguous)",
        _egress_block("10.1.2.3/8"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-ipv6-host-bits",
        "2001:db8::1/64 (ambiguous)",
        _egress_block("2001:db8::1/64"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-leading-zero",
        "octet with a leading zero (octal to some parsers)",
        _egress_block("010.20.0.0/16"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-prefix-leading-zero",
        "prefix length /08",
        _egress_block("10.0.0.0/08"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-ipv4-mapped",
        "IPv4-mapped IPv6 range",
        _egress_block("::ffff:10.0.0.0/104"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-ipv6-two-double-colons",
        "IPv6 with two '::'",
        _egress_block("2001::db8::/64"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-cidr-ipv6-prefix-129",
        "IPv6 prefix /129",
        _egress_block("2001:db8::/129"),
        "spec.networkPolicy.egressTo[0].ipBlock.cidr",
    ),
    InvalidCase(
        "peer-except-outside-cidr",
        "except range outside its cidr (the NetworkPolicy would be refused)",
        _egress_block("10.20.0.0/16", "10.30.0.0/24"),
        "spec.networkPolicy.egressTo[0].ipBlock.except",
    ),
    InvalidCase(
        "peer-except-equals-cidr",
        "except range equal to its cidr (not a strict subset)",
        _egress_block("10.20.0.0/16", "10.20.0.0/16"),
        "spec.networkPolicy.egressTo[0].ipBlock.except",
    ),
    InvalidCase(
        "peer-except-wider-than-cidr",
        "except range containing its cidr",
        _egress_block("10.20.0.0/16", "10.0.0.0/8"),
        "spec.networkPolicy.egressTo[0].ipBlock.except",
    ),
    InvalidCase(
        "peer-except-other-family",
        "IPv6 except range in an IPv4 cidr",
        _egress_block("10.20.0.0/16", "fd00::/8"),
        "spec.networkPolicy.egressTo[0].ipBlock.except",
    ),
    InvalidCase(
        "peer-except-no-prefix",
        "except address without a prefix length",
        _egress_block("10.20.0.0/16", "10.20.1.1"),
        "spec.networkPolicy.egressTo[0].ipBlock.except[0]",
    ),
    InvalidCase(
        "peer-except-host-bits",
        "except range with bits after its prefix",
        _egress_block("10.20.0.0/16", "10.20.1.1/24"),
        "spec.networkPolicy.egressTo[0].ipBlock.except",
    ),
    InvalidCase(
        "peer-except-ipv6-outside",
        "IPv6 except range outside its cidr",
        _egress_block("2001:db8::/32", "2001:db9::/48"),
        "spec.networkPolicy.egressTo[0].ipBlock.except",
    ),
    # Tolerations.
    InvalidCase(
        "toleration-empty",
        "an empty toleration (no key and operator Equal)",
        {"tolerations": [{}]},
        "spec.tolerations[0].operator",
    ),
    InvalidCase(
        "toleration-exists-with-value",
        "operator Exists with a value",
        _toleration(key="dedicated", operator="Exists", value="web"),
        "spec.tolerations[0].value",
    ),
    InvalidCase(
        "toleration-seconds-without-no-execute",
        "tolerationSeconds on a NoSchedule toleration",
        _toleration(key="dedicated", value="web", effect="NoSchedule", tolerationSeconds=60),
        "spec.tolerations[0].effect",
    ),
    InvalidCase(
        "toleration-operator-lowercase",
        "operator 'exists' in lower case",
        _toleration(key="dedicated", operator="exists"),
        "spec.tolerations[0].operator",
    ),
    InvalidCase(
        "toleration-operator-gt",
        "operator Gt (alpha in 1.35, off by default)",
        _toleration(key="example.com/level", operator="Gt", value="3"),
        "spec.tolerations[0].operator",
    ),
    InvalidCase(
        "toleration-effect-typo",
        "effect NoScheduled",
        _toleration(key="dedicated", value="web", effect="NoScheduled"),
        "spec.tolerations[0].effect",
    ),
    InvalidCase(
        "toleration-value-with-space",
        "toleration value with a space",
        _toleration(key="dedicated", value="web team"),
        "spec.tolerations[0].value",
    ),
    InvalidCase(
        "toleration-bad-key",
        "toleration key with a trailing slash",
        _toleration(key="example.com/", operator="Exists"),
        "spec.tolerations[0].key",
    ),
    InvalidCase(
        "toleration-unknown-field",
        "tolerationSecond (typo)",
        _toleration(key="dedicated", operator="Exists", tolerationSecond=5),
        "spec.tolerations[0]",
    ),
    # Topology spread.
    InvalidCase("spread-max-skew-0", "maxSkew 0", _spread(maxSkew=0), "spec.topologySpreadConstraints[0].maxSkew"),
    InvalidCase(
        "spread-no-topology-key",
        "no topologyKey",
        _spread(topologyKey=DELETE),
        "spec.topologySpreadConstraints[0].topologyKey",
    ),
    InvalidCase(
        "spread-when-unsatisfiable-typo",
        "whenUnsatisfiable DoNotScheduled",
        _spread(whenUnsatisfiable="DoNotScheduled"),
        "spec.topologySpreadConstraints[0].whenUnsatisfiable",
    ),
    InvalidCase(
        "spread-empty",
        "an empty constraint",
        {"topologySpreadConstraints": [{}]},
        "spec.topologySpreadConstraints[0].maxSkew",
    ),
    InvalidCase(
        "spread-min-domains-schedule-anyway",
        "minDomains with whenUnsatisfiable ScheduleAnyway",
        _spread(whenUnsatisfiable="ScheduleAnyway", minDomains=3),
        "spec.topologySpreadConstraints[0].minDomains",
    ),
    InvalidCase(
        "spread-min-domains-0",
        "minDomains 0",
        _spread(minDomains=0),
        "spec.topologySpreadConstraints[0].minDomains",
    ),
    InvalidCase(
        "spread-duplicate",
        "two constraints on the same topologyKey and whenUnsatisfiable",
        {
            "topologySpreadConstraints": [
                _spread()["topologySpreadConstraints"][0],
                _spread(maxSkew=2)["topologySpreadConstraints"][0],
            ]
        },
        "spec.topologySpreadConstraints",
    ),
    InvalidCase(
        "spread-node-taints-policy-typo",
        "nodeTaintsPolicy honor in lower case",
        _spread(nodeTaintsPolicy="honor"),
        "spec.topologySpreadConstraints[0].nodeTaintsPolicy",
    ),
    InvalidCase(
        "spread-match-label-keys-without-selector",
        "matchLabelKeys with no labelSelector",
        _spread(matchLabelKeys=["pod-template-hash"]),
        "spec.topologySpreadConstraints[0].matchLabelKeys",
    ),
    InvalidCase(
        "spread-match-label-keys-in-selector",
        "matchLabelKeys naming a key of the labelSelector",
        _spread(labelSelector={"matchLabels": {"pod-template-hash": "x"}}, matchLabelKeys=["pod-template-hash"]),
        "spec.topologySpreadConstraints[0].matchLabelKeys",
    ),
    InvalidCase(
        "spread-selector-bare-labels",
        "labelSelector written as a label map",
        _spread(labelSelector={"app": "shop"}),
        "spec.topologySpreadConstraints[0].labelSelector",
    ),
    InvalidCase(
        "spread-topology-key-space",
        "topologyKey with a space",
        _spread(topologyKey="topology zone"),
        "spec.topologySpreadConstraints[0].topologyKey",
    ),
    # Affinity.
    InvalidCase(
        "affinity-unknown-field",
        "requiredDuringScheduling (truncated field name)",
        {"affinity": {"nodeAffinity": {"requiredDuringScheduling": {"nodeSelectorTerms": [{}]}}}},
        "spec.affinity.nodeAffinity",
    ),
    InvalidCase(
        "affinity-no-node-selector-terms",
        "required node affinity with no terms",
        {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}},
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
    ),
    InvalidCase(
        "affinity-node-in-without-values",
        "node expression In with no values",
        _node_term(_expr("kubernetes.io/arch")),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchExpressions[0].values",
    ),
    InvalidCase(
        "affinity-node-gt-two-values",
        "node expression Gt with two values",
        _node_term(_expr("example.com/cores", "Gt", ["4", "8"])),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchExpressions[0].values",
    ),
    InvalidCase(
        "affinity-node-does-not-exist-with-values",
        "node expression DoesNotExist with values",
        _node_term(_expr("example.com/gpu", "DoesNotExist", ["true"])),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchExpressions[0].values",
    ),
    InvalidCase(
        "affinity-node-operator-typo",
        "node expression operator Equals",
        _node_term(_expr("kubernetes.io/arch", "Equals", ["amd64"])),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchExpressions[0].operator",
    ),
    InvalidCase(
        "affinity-node-bad-value",
        "node label value with a space",
        _node_term(_expr("kubernetes.io/arch", "In", ["amd 64"])),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchExpressions[0].values[0]",
    ),
    InvalidCase(
        "affinity-match-fields-label",
        "matchFields on a label instead of metadata.name",
        _node_term(fields=[{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchFields[0].key",
    ),
    InvalidCase(
        "affinity-match-fields-two-names",
        "matchFields metadata.name In two nodes",
        _node_term(fields=[{"key": "metadata.name", "operator": "In", "values": ["node-1", "node-2"]}]),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchFields[0].values",
    ),
    InvalidCase(
        "affinity-preferred-weight-0",
        "preferred node term of weight 0",
        {
            "affinity": {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 0, "preference": {"matchExpressions": [_expr("disk", "In", ["ssd"])]}}
                    ]
                }
            }
        },
        "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
    ),
    InvalidCase(
        "affinity-pod-weight-101",
        "preferred pod anti-affinity term of weight 101",
        {
            "affinity": {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 101, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
                    ]
                }
            }
        },
        "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
    ),
    InvalidCase(
        "affinity-pod-no-topology-key",
        "pod anti-affinity term without topologyKey",
        _anti(topologyKey=DELETE, labelSelector={"matchLabels": {"app": "shop"}}),
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
    ),
    InvalidCase(
        "affinity-pod-empty-topology-key",
        "pod anti-affinity term with an empty topologyKey",
        _anti(topologyKey=""),
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
    ),
    InvalidCase(
        "affinity-pod-match-label-keys-without-selector",
        "matchLabelKeys with no labelSelector",
        _anti(matchLabelKeys=["pod-template-hash"]),
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys",
    ),
    InvalidCase(
        "affinity-pod-match-label-keys-in-selector",
        "matchLabelKeys naming a key the labelSelector matches already (every pod would be refused)",
        _anti(labelSelector={"matchLabels": {"app": "shop"}}, matchLabelKeys=["app"]),
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys",
    ),
    InvalidCase(
        "affinity-pod-match-label-keys-twice",
        "the same key twice in matchLabelKeys (every pod would be refused)",
        _anti(labelSelector={}, matchLabelKeys=["pod-template-hash", "pod-template-hash"]),
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys",
    ),
    InvalidCase(
        "spread-match-label-keys-twice",
        "the same key twice in matchLabelKeys",
        _spread(labelSelector={"matchLabels": {"app": "shop"}}, matchLabelKeys=["pod-template-hash"] * 2),
        "spec.topologySpreadConstraints[0].matchLabelKeys",
    ),
    InvalidCase(
        "affinity-pod-match-and-mismatch",
        "the same key in matchLabelKeys and mismatchLabelKeys",
        _anti(labelSelector={}, matchLabelKeys=["tenant"], mismatchLabelKeys=["tenant"]),
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys",
    ),
    InvalidCase(
        "affinity-pod-bad-namespace",
        "namespace name with capitals",
        {
            "affinity": {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"topologyKey": "kubernetes.io/hostname", "namespaces": ["Shop"]}
                    ]
                }
            }
        },
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces[0]",
    ),
    InvalidCase(
        "affinity-pod-selector-bare-labels",
        "labelSelector written as a label map",
        _anti(labelSelector={"app": "shop"}),
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector",
    ),
    # envFrom and env valueFrom.
    InvalidCase(
        "env-from-both",
        "one envFrom entry naming a ConfigMap and a Secret",
        {"envFrom": [{"configMapRef": {"name": "settings"}, "secretRef": {"name": "secrets"}}]},
        "spec.envFrom[0]",
    ),
    InvalidCase(
        "env-from-neither", "envFrom entry with only a prefix", {"envFrom": [{"prefix": "APP_"}]}, "spec.envFrom[0]"
    ),
    InvalidCase(
        "env-from-typo",
        "configmapRef (lower-case m)",
        {"envFrom": [{"configmapRef": {"name": "settings"}}]},
        "spec.envFrom[0]",
    ),
    InvalidCase(
        "env-from-bad-name",
        "ConfigMap name with an underscore",
        {"envFrom": [{"configMapRef": {"name": "shop_settings"}}]},
        "spec.envFrom[0].configMapRef.name",
    ),
    InvalidCase(
        "env-from-no-name",
        "secretRef without a name",
        {"envFrom": [{"secretRef": {"optional": True}}]},
        "spec.envFrom[0].secretRef.name",
    ),
    InvalidCase(
        "env-from-prefix-digit",
        "prefix starting with a digit",
        {"envFrom": [{"prefix": "1_", "configMapRef": {"name": "settings"}}]},
        "spec.envFrom[0].prefix",
    ),
    InvalidCase("value-from-empty", "valueFrom with no source", _value_from({}), "spec.env[0].valueFrom"),
    InvalidCase(
        "value-from-two-sources",
        "valueFrom with a ConfigMap and a Secret key",
        _value_from({"configMapKeyRef": {"name": "a", "key": "k"}, "secretKeyRef": {"name": "b", "key": "k"}}),
        "spec.env[0].valueFrom",
    ),
    InvalidCase(
        "value-from-typo",
        "secretKeyRefs (typo)",
        _value_from({"secretKeyRefs": {"name": "db", "key": "password"}}),
        "spec.env[0].valueFrom",
    ),
    InvalidCase(
        "value-from-key-dot-dot",
        "Secret key '..x'",
        _value_from({"secretKeyRef": {"name": "db", "key": "..x"}}),
        "spec.env[0].valueFrom.secretKeyRef.key",
    ),
    InvalidCase(
        "value-from-no-key",
        "configMapKeyRef without a key",
        _value_from({"configMapKeyRef": {"name": "flags"}}),
        "spec.env[0].valueFrom.configMapKeyRef.key",
    ),
    InvalidCase(
        "value-from-bad-secret-name",
        "Secret name in capitals",
        _value_from({"secretKeyRef": {"name": "DB", "key": "password"}}),
        "spec.env[0].valueFrom.secretKeyRef.name",
    ),
    InvalidCase(
        "value-from-field-path-unknown",
        "fieldRef to status.phase (not available to env)",
        _value_from({"fieldRef": {"fieldPath": "status.phase"}}),
        "spec.env[0].valueFrom.fieldRef.fieldPath",
    ),
    InvalidCase(
        "value-from-field-path-spec-host",
        "fieldRef spec.host (a pre-1.0 alias)",
        _value_from({"fieldRef": {"fieldPath": "spec.host"}}),
        "spec.env[0].valueFrom.fieldRef.fieldPath",
    ),
    InvalidCase(
        "value-from-field-path-bad-label",
        "fieldRef to a label key with a space",
        _value_from({"fieldRef": {"fieldPath": "metadata.labels['team name']"}}),
        "spec.env[0].valueFrom.fieldRef.fieldPath",
    ),
    InvalidCase(
        "value-from-field-path-long-prefix",
        "fieldRef to a label key whose prefix has 254 characters",
        _value_from({"fieldRef": {"fieldPath": f"metadata.labels['{LONG_PREFIX_KEY}']"}}),
        "spec.env[0].valueFrom.fieldRef.fieldPath",
    ),
    InvalidCase(
        "value-from-field-api-version",
        "fieldRef apiVersion v2",
        _value_from({"fieldRef": {"apiVersion": "v2", "fieldPath": "metadata.name"}}),
        "spec.env[0].valueFrom.fieldRef.apiVersion",
    ),
    InvalidCase(
        "value-from-resource-unknown",
        "resourceFieldRef to limits.gpu",
        _value_from({"resourceFieldRef": {"resource": "limits.gpu"}}),
        "spec.env[0].valueFrom.resourceFieldRef.resource",
    ),
    InvalidCase(
        "value-from-resource-divisor",
        "memory in millicores",
        _value_from({"resourceFieldRef": {"resource": "limits.memory", "divisor": "1m"}}),
        "spec.env[0].valueFrom.resourceFieldRef.divisor",
    ),
    InvalidCase(
        "value-from-resource-container",
        "resourceFieldRef naming the server's container (the release Job's is another)",
        _value_from({"resourceFieldRef": {"containerName": "wsgi", "resource": "limits.cpu"}}),
        "spec.env[0].valueFrom.resourceFieldRef.containerName",
    ),
    InvalidCase(
        "value-from-file-key-ref",
        "fileKeyRef into one of the server's own emptyDirs",
        _value_from({"fileKeyRef": {"volumeName": "server-root", "path": "env", "key": "X"}}),
        "spec.env[0].valueFrom.fileKeyRef",
    ),
    # Resources: the names a container may request, request <= limit for every resource.
    InvalidCase(
        "resources-unknown-name",
        "a resource name that is neither standard nor domain-qualified",
        {"resources": {"requests": {"gpu": "1"}}},
        "spec.resources.requests",
    ),
    InvalidCase(
        "resources-hugepages",
        "hugepages (the pods mount no hugepages volume)",
        {"resources": {"requests": {"hugepages-2Mi": "2Mi"}, "limits": {"hugepages-2Mi": "2Mi", "memory": "1Gi"}}},
        "spec.resources.requests",
    ),
    InvalidCase(
        "resources-ephemeral-storage-over-limit",
        "ephemeral-storage request above its limit",
        {"resources": {"requests": {"ephemeral-storage": "2Gi"}, "limits": {"ephemeral-storage": "1Gi"}}},
        "spec.resources.requests",
    ),
    InvalidCase(
        "resources-extended-without-limit",
        "an extended resource requested with no limit",
        {"resources": {"requests": {"example.com/gpu": "1"}}},
        "spec.resources.requests",
    ),
    InvalidCase(
        "resources-extended-request-below-limit",
        "an extended resource requested below its limit",
        {"resources": {"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "2"}}},
        "spec.resources.requests",
    ),
    InvalidCase(
        "resources-extended-fraction",
        "half a GPU",
        {"resources": {"limits": {"example.com/gpu": "500m"}}},
        "spec.resources.limits",
    ),
    InvalidCase(
        "resources-kubernetes-io-name",
        "a made-up resource in the kubernetes.io domain",
        {"resources": {"limits": {"kubernetes.io/batteries": "1"}}},
        "spec.resources.limits",
    ),
    # Label maps.
    InvalidCase(
        "node-selector-key-with-space",
        "nodeSelector key with a space (the Deployment would be refused)",
        {"nodeSelector": {"node type": "web"}},
        "spec.nodeSelector",
    ),
    InvalidCase(
        "node-selector-key-prefix-too-long",
        "nodeSelector key whose prefix has 254 characters",
        {"nodeSelector": {LONG_PREFIX_KEY: "web"}},
        "spec.nodeSelector",
    ),
    InvalidCase(
        "pod-label-name-part-64",
        "pod label key whose name has 64 characters",
        {"podLabels": {"example.com/" + "a" * 64: "x"}},
        "spec.podLabels",
    ),
    InvalidCase(
        "pod-label-key-upper-prefix",
        "pod label key with a capitalised prefix",
        {"podLabels": {"Example.com/team": "x"}},
        "spec.podLabels",
    ),
    # --- logging ------------------------------------------------------------------
    InvalidCase(
        "log-level-debug", "debug logging in production", {"logging": {"level": "debug"}}, "spec.logging.level"
    ),
    # --- whole manifest -----------------------------------------------------------
    InvalidCase(
        "name-too-long",
        "53-character name: <name>-config and label values would not fit",
        _with_metadata(name="a" * 53),
        "metadata.name",
    ),
    InvalidCase(
        "name-starts-with-digit",
        "name starting with a digit: the Service of the same name must be a DNS-1035 label",
        _with_metadata(name="3d-viewer"),
        "metadata.name",
    ),
    InvalidCase("name-uppercase", "CamelCase name", _with_metadata(name="ShopWeb"), "metadata.name"),
    InvalidCase(
        "api-version-typo",
        "apiVersion without the version (never reaches the WsgiApp schema)",
        _with_top(apiVersion="wsgi-operator.io"),
        "apiVersion",
        crd_rejects=False,
    ),
]

CASES_BY_ID: dict[str, InvalidCase] = {c.id: c for c in CASES}
assert len(CASES_BY_ID) == len(CASES), "duplicate case ids"
