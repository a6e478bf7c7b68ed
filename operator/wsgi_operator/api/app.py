"""Where the application's code comes from and how mod_wsgi finds its entry point."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import DNS_LABEL, PY_DOTTED, PY_IDENT, AbsPath, ApiModel, ImageRef, Name, Quantity, Rule, under


class EntryPoint(ApiModel):
    """The WSGI callable. Exactly one of ``module`` or ``script``."""

    module: Annotated[str, StringConstraints(pattern=PY_DOTTED, max_length=200)] | None = Field(
        None, description="Python module holding the WSGI callable, e.g. `mysite.wsgi`."
    )
    script: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]+\.(py|wsgi)$", max_length=200)] | None = Field(
        None,
        description="Path of a WSGI script file, relative to `code.path` (e.g. `wsgi.py`). "
        "It is loaded by a generated entry script, never served from the code directory.",
    )
    callable: Annotated[str, StringConstraints(pattern=PY_IDENT, max_length=100)] = Field(
        "application", description="Name of the WSGI callable inside the module or script."
    )

    cel_rules = (
        Rule(
            "has(self.module) != has(self.script)",
            "spec.entryPoint: set exactly one of module (e.g. mysite.wsgi) or script (e.g. wsgi.py)",
        ),
        Rule(
            "!has(self.script) || (!self.script.startsWith('/') && !self.script.contains('..'))",
            "spec.entryPoint.script must be a relative path inside spec.code.path without '..'",
            ".script",
        ),
    )


class ConfigMapCode(ApiModel):
    """Code shipped in a ConfigMap (small apps, scripts)."""

    name: Name = Field(description="Name of the ConfigMap in the WsgiApp's namespace.")


class PvcCode(ApiModel):
    """Code on a PersistentVolumeClaim, always mounted read-only."""

    claim_name: Name = Field(description="Name of the PersistentVolumeClaim in the WsgiApp's namespace.")


class ImageVolumeCode(ApiModel):
    """Code in an OCI image mounted as a read-only image volume (Kubernetes >= 1.33)."""

    reference: ImageRef = Field(description="OCI image (or artifact) holding the code.")
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Pull policy of the code image."
    )


class CodeSource(ApiModel):
    """Where the code lives. With no source set the code is baked into `spec.image`."""

    path: AbsPath = Field(
        "/app",
        description="Directory holding the code inside the container. It is put on the "
        "Python path and is always read-only.",
    )
    config_map: ConfigMapCode | None = Field(None, description="Mount the code from a ConfigMap.")
    persistent_volume_claim: PvcCode | None = Field(
        None, description="Mount the code from a PersistentVolumeClaim, read-only."
    )
    image: ImageVolumeCode | None = Field(None, description="Mount the code from an OCI image volume.")

    cel_rules = (
        Rule(
            "(has(self.configMap) ? 1 : 0) + (has(self.persistentVolumeClaim) ? 1 : 0)"
            " + (has(self.image) ? 1 : 0) <= 1",
            "spec.code: set at most one of configMap, persistentVolumeClaim or image "
            "(none means the code is baked into spec.image)",
        ),
        Rule(
            f"!({under('self.path', '/tmp')} || {under('self.path', '/etc/wsgi')}"
            f" || {under('self.path', '/var/run/wsgi')})",
            "spec.code.path must not be /tmp or under it, nor under /etc/wsgi or /var/run/wsgi (reserved)",
            ".path",
        ),
    )


class WritableDir(ApiModel):
    """A writable directory, backed by an emptyDir; everything else is read-only."""

    # 60, not 63: the volume is called rw-<name>.
    name: Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=60)] = Field(
        description="Volume name (DNS label, at most 60 characters), unique within the WsgiApp."
    )
    mount_path: AbsPath = Field(
        description="Where the directory is mounted. Not under /tmp, the code path, or another writable directory."
    )
    size_limit: Quantity = Field("256Mi", description="emptyDir sizeLimit.")
    medium: Literal["", "Memory"] = Field(
        "", description="emptyDir medium: '' (node disk) or Memory (tmpfs, counts against memory)."
    )

    cel_rules = (
        Rule(
            f"!{under('self.mountPath', '/tmp')}",
            "spec.writableDirs[].mountPath must not be /tmp or under it: /tmp is shared and "
            "predictable; use e.g. /var/lib/app/uploads",
            ".mountPath",
        ),
        Rule(
            f"!({under('self.mountPath', '/etc/wsgi')} || {under('self.mountPath', '/var/run/wsgi')})",
            "spec.writableDirs[].mountPath must not be under /etc/wsgi or /var/run/wsgi (reserved for the operator)",
            ".mountPath",
        ),
    )
