"""Looking into what ``render()`` returned: the Deployment's pod spec, its container, its command.

Every helper takes either ``render()``'s list of objects or the same objects
keyed by kind (:func:`by_kind`, what the unit tests' ``render_kinds`` fixture
returns). The paths are written down here independently of
``wsgi_operator.render.layout``, so a test notices when one moves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

#: Rendered objects keyed by kind; the two ConfigMaps are ``ConfigMap/entry`` and ``ConfigMap/config``.
Kinds = dict[str, dict[str, Any]]
#: The unit tests' ``render_kinds`` fixture: (spec patch, settings=, **metadata) -> Kinds.
RenderKinds = Callable[..., Kinds]
Objects = Mapping[str, dict[str, Any]] | Sequence[dict[str, Any]]

SERVER_ROOT = "/var/run/wsgi"
ENTRY_DIR = "/etc/wsgi/entry"
CONF_DIR = "/etc/wsgi/conf"


def by_kind(objects: Iterable[dict[str, Any]]) -> Kinds:
    """Rendered objects keyed by kind (each kind appears at most once per app)."""
    out: Kinds = {}
    for obj in objects:
        kind = obj["kind"]
        if kind == "ConfigMap":
            kind = "ConfigMap/" + obj["metadata"]["name"].rsplit("-", 1)[1]
        assert kind not in out, f"two {kind} objects rendered"
        out[kind] = obj
    return out


def deployment(objects: Objects) -> dict[str, Any]:
    """The Deployment."""
    if isinstance(objects, Mapping):
        return objects["Deployment"]
    (found,) = [o for o in objects if o["kind"] == "Deployment"]
    return found


def pod_spec(objects: Objects) -> dict[str, Any]:
    """The Deployment's pod spec."""
    return deployment(objects)["spec"]["template"]["spec"]


def container(objects: Objects) -> dict[str, Any]:
    """The pod's one container."""
    (c,) = pod_spec(objects)["containers"]
    return c


def command(objects: Objects) -> list[str]:
    """The container's command: the whole mod_wsgi-express command line."""
    return container(objects)["command"]


def flag_values(argv: list[str], flag: str) -> list[str]:
    """Values following every occurrence of ``flag``."""
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def volume(objects: Objects, name: str) -> dict[str, Any] | None:
    """The pod's volume called ``name``, if any."""
    return next((v for v in pod_spec(objects)["volumes"] if v["name"] == name), None)


def mount_at(objects: Objects, path: str) -> dict[str, Any] | None:
    """The container's volume mount at ``path``, if any."""
    return next((m for m in container(objects)["volumeMounts"] if m["mountPath"] == path), None)


def include_conf(kinds: Kinds) -> list[str]:
    """The lines of the Apache include file."""
    return kinds["ConfigMap/config"]["data"]["hardening.conf"].splitlines()
