"""The one WsgiApp manifest builder of every tier: unit, runtime, cluster and the benchmarks.

:func:`wsgiapp_manifest` returns a small valid WsgiApp (an image and a module
entry point) with spec patches deep-merged in. A tier that always wants the
same spec (its own image, say) keeps that as a patch and passes it first:
``invalid_specs.base_manifest`` (unit and cluster), ``harness.hello_manifest``
(runtime, http bench).

Merge rules (:func:`deep_merge`): dicts merge recursively, anything else (lists
included) replaces the base value, and :data:`DELETE` removes the key, e.g.
``{"entryPoint": {"module": DELETE, "script": "wsgi.py"}}``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from wsgi_operator import API_VERSION, KIND

#: The spec every manifest starts from: the two fields a WsgiApp needs.
DEFAULT_SPEC: dict[str, Any] = {"image": "registry.example.com/test/app:1", "entryPoint": {"module": "app.wsgi"}}


class _Delete:
    """Marker: remove this key from the base."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()


def deep_merge(base: Any, patch: Any) -> Any:
    """``patch`` merged into a copy of ``base`` (see the module docstring)."""
    if not (isinstance(base, Mapping) and isinstance(patch, Mapping)):
        return copy.deepcopy(patch)
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if value is DELETE:
            out.pop(key, None)
        elif key in out:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def wsgiapp_manifest(
    name: str = "app",
    namespace: str = "default",
    *spec_patches: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A WsgiApp: :data:`DEFAULT_SPEC` with each of ``spec_patches`` deep-merged into
    its spec, in order, and ``metadata`` (labels, annotations, uid, ...) into its
    metadata. A fresh object each call."""
    spec: Any = DEFAULT_SPEC
    for patch in spec_patches:
        if patch:
            spec = deep_merge(spec, patch)
    meta: Any = {"name": name, "namespace": namespace}
    if metadata:
        meta = deep_merge(meta, metadata)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": meta, "spec": copy.deepcopy(spec)}
