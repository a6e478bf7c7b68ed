"""Where the application's code comes from and how mod_wsgi finds its entry point."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import DNS_LABEL, PY_DOTTED, PY_IDENT, AbsPath, ApiModel, ImageRef, Name, Quantity, Rule, under

#: A dotted path segment that is a Python keyword (keyword.kwlist): never importable.
_KEYWORD_SEGMENT = (
    "(^|[.])(False|None|True|and|as|assert|async|await|break|class|continue|def|del|elif|else|except|"
    "finally|for|from|global|if|import|in|is|lambda|nonlocal|not|or|pass|raise|return|try|while|with|yield)([.]|$)"
)


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
            f"!has(self.module) || !self.module.matches('{_KEYWORD_SEGMENT}')",
            "spec.entryPoint.module must not contain a Python keyword as a segment (e.g. `import`, `class`): "
            "it cannot be imported",
            ".module",
        ),
        Rule(
            f"!self.callable.matches('{_KEYWORD_SEGMENT}')",
            "spec.entryPoint.callable must not be a Python keyword",
            ".callable",
        ),
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


#: Where TempDir is mounted; TMPDIR names it. Not /tmp (the guide), not the code.
TEMP_DIR = "/var/tmp"


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
            f" || {under('self.path', '/var/run/wsgi')} || {under('self.path', TEMP_DIR)})",
            f"spec.code.path must not be /tmp or under it, nor under /etc/wsgi, /var/run/wsgi or {TEMP_DIR} (reserved)",
            ".path",
        ),
    )


class WritableDir(ApiModel):
    """A writable directory, backed by an emptyDir or an existing PVC; everything else is read-only."""

    # 60, not 63: the volume is called rw-<name>.
    name: Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=60)] = Field(
        description="Volume name (DNS label, at most 60 characters), unique within the WsgiApp."
    )
    mount_path: AbsPath = Field(
        description="Where the directory is mounted. Not under /tmp, the code path, or another writable directory."
    )
    size_limit: Quantity = Field("256Mi", description="emptyDir sizeLimit (ignored with persistentVolumeClaim).")
    medium: Literal["", "Memory"] = Field(
        "", description="emptyDir medium: '' (node disk) or Memory (tmpfs, counts against memory)."
    )
    persistent_volume_claim: PvcCode | None = Field(
        None,
        description="Back the directory with this existing PersistentVolumeClaim instead of an emptyDir, so "
        "its data outlives the pod. ReadWriteOncePod claims are refused, ReadWriteOnce ones with more than "
        "one replica too (the pods may land on different nodes): use ReadWriteMany to share it.",
    )

    cel_rules = (
        Rule(
            "!has(self.persistentVolumeClaim) || self.medium == ''",
            "spec.writableDirs[].medium applies to emptyDirs only: remove it, or the persistentVolumeClaim",
            ".medium",
        ),
        Rule(
            f"!{under('self.mountPath', '/tmp')}",
            "spec.writableDirs[].mountPath must not be /tmp or under it: /tmp is shared and "
            "predictable; use e.g. /var/lib/app/uploads",
            ".mountPath",
        ),
        Rule(
            f"!({under('self.mountPath', '/etc/wsgi')} || {under('self.mountPath', '/var/run/wsgi')}"
            f" || {under('self.mountPath', TEMP_DIR)})",
            f"spec.writableDirs[].mountPath must not be under /etc/wsgi, /var/run/wsgi or {TEMP_DIR} "
            "(reserved for the operator)",
            ".mountPath",
        ),
    )


class TempDir(ApiModel):
    """The pod's private temporary directory: an emptyDir at /var/tmp, with TMPDIR pointing at it.

    Python's tempfile (and so Django's large uploads) needs one; /tmp stays
    read-only because the guide warns against a shared, predictable /tmp.
    """

    size_limit: Quantity = Field(
        "256Mi", description="emptyDir sizeLimit: room for the largest upload or temporary file at once."
    )
    medium: Literal["", "Memory"] = Field(
        "", description="emptyDir medium: '' (node disk) or Memory (tmpfs, counts against memory)."
    )


_URL_PATH = r"^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$"


class UrlAlias(ApiModel):
    """A URL path Apache serves straight from a directory, before the app sees it (static files, media).

    Exactly one of ``directory`` (read-only, in the image) or ``writableDir``
    (the name of a writable directory, e.g. uploaded media).
    """

    path: Annotated[str, StringConstraints(pattern=_URL_PATH, max_length=200)] = Field(
        description="URL path prefix, e.g. /static (no trailing slash, no '.' or '..' segments)."
    )
    directory: AbsPath | None = Field(
        None,
        description="A directory of the image: a subdirectory of spec.code.path (e.g. /app/staticfiles), "
        "or one under /srv or /var/www. Never the code path itself or a parent of it.",
    )
    writable_dir: Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=60)] | None = Field(
        None, description="Name of a spec.writableDirs entry to serve (e.g. media uploads)."
    )
    max_age: int = Field(3600, ge=0, le=31536000, description="Cache-Control max-age in seconds of the files served.")

    cel_rules = (
        Rule(
            "has(self.directory) != has(self.writableDir)",
            "spec.urlAliases[]: set exactly one of directory (in the image) or writableDir (a writable dir's name)",
        ),
    )


class Release(ApiModel):
    """A release step (e.g. database migrations) run as a Job before a new version serves."""

    command: list[Annotated[str, StringConstraints(min_length=1, max_length=1024)]] = Field(
        min_length=1,
        max_length=64,
        description="Command and arguments, run from spec.image with the app's environment, writable "
        "directories and hardened pod settings (no shell unless you name one), e.g. "
        "[python, manage.py, migrate, --noinput].",
    )
    timeout_seconds: int = Field(600, ge=1, le=86400, description="The Job's activeDeadlineSeconds.")
    backoff_limit: int = Field(0, ge=0, le=10, description="Retries of a failed release before it counts as failed.")
