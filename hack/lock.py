#!/usr/bin/env python3
"""The lock files: every Python package the project installs, pinned by version and sha256.

`make lock` runs this script with the venv's Python; uv (a dev dependency,
itself locked) resolves. Each lock is `uv pip compile --universal
--python-version 3.11 --generate-hashes`: one file that holds on every
platform for Python >= 3.11, so Debian bookworm's python3.11 in the images
and the machine's python3 in the venv install from the same pins. Every
sha256 of every wheel and sdist of a pinned version is listed, and pip
installs it with --require-hashes.

Each lock's header records the sha256 of its inputs (the requirements it is
resolved from, the options below, the pins of the locks it is constrained
by). tests/unit/test_locks.py recomputes it, offline, and fails when an input
changed without `make lock`.

    hack/lock.py                          re-resolve; what the inputs still allow keeps its pin
    hack/lock.py --upgrade-package NAME   NAME (repeatable) to its newest allowed version
    hack/lock.py --upgrade                every package to its newest allowed version
    hack/lock.py --check                  exit 1 when a lock is stale (no network)

The operator's lock and the dev tools' lock are resolved together, as the one
venv that installs both, then split: requirements/operator.txt holds the
operator's runtime dependencies (the closure images/operator installs),
requirements/dev.txt everything else the venv needs. So the venv tests the
exact pins the operator image ships. requirements/build.txt is the project's
build backend, resolved on its own: pip installs it only into the isolated
environment where it builds the project (the dev tools hold `packaging` at a
version that setuptools >= 77 cannot use, so the two must not share a venv).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = "pyproject.toml"
# Debian bookworm's python3 (the images) and pyproject's requires-python.
PYTHON = "3.11"
UV_OPTIONS = ("--universal", "--python-version", PYTHON, "--generate-hashes")
INPUTS_PREFIX = "# inputs-sha256: "

# The requirement lists of pyproject.toml a lock is resolved from, by name.
DEPENDENCIES = "[project] dependencies"
DEV = "[project.optional-dependencies] dev"
BUILD = "[build-system] requires"
_PYPROJECT_KEYS = {
    DEPENDENCIES: ("project", "dependencies"),
    DEV: ("project", "optional-dependencies", "dev"),
    BUILD: ("build-system", "requires"),
}


class LockError(Exception):
    """A lock file or an input that cannot be what it should."""


@dataclass(frozen=True)
class Pin:
    """One requirement line of a lock: `name==version [; marker]` and its hashes."""

    name: str  # canonical (PEP 503)
    version: str
    marker: str | None
    hashes: tuple[str, ...]  # sha256 hex digests


@dataclass(frozen=True)
class Lock:
    """One lock file: where it is, what it is resolved from, who installs it."""

    path: str  # relative to the repository root
    purpose: str  # the header's first line
    declares: tuple[str, ...]  # what it must pin: pyproject lists (by name) and .in files
    inputs: tuple[str, ...]  # what it is resolved from (its staleness key): the same kinds
    installed_by: tuple[str, ...]  # the files that pip install it with --require-hashes
    context: str = ""  # the build context its installers see it in (relative path)
    constraints: tuple[str, ...] = ()  # locks whose pins it must agree with
    installed_with: tuple[str, ...] = ()  # locks installed beside it (the declared pins may be there)
    only_binary: bool = False  # wheels only (the image installs with --only-binary=:all:)

    @property
    def file(self) -> Path:
        return ROOT / self.path

    def requirements(self) -> list[Requirement]:
        """The requirements this lock must pin (with a version its specifier allows)."""
        return [req for source in self.declares for req in declared(source)]

    def inputs_sha256(self) -> str:
        """sha256 over everything the resolution depends on, in a stable JSON form."""
        key = {
            "uv": [*UV_OPTIONS, *(["--only-binary", ":all:"] if self.only_binary else [])],
            "inputs": {source: [str(req) for req in declared(source)] for source in self.inputs},
            "constraints": {
                path: [[p.name, p.version, p.marker, list(p.hashes)] for p in read_pins(ROOT / path)]
                for path in self.constraints
            },
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


OPERATOR = Lock(
    path="requirements/operator.txt",
    purpose="the operator's runtime dependencies (images/operator, the dev venv)",
    declares=(DEPENDENCIES,),
    inputs=(DEPENDENCIES, DEV),
    installed_by=("hack/bootstrap.sh", "images/operator/Dockerfile"),
)
DEV_TOOLS = Lock(
    path="requirements/dev.txt",
    purpose="the dev and test tools: the rest of the dev venv (requirements/operator.txt is the other part)",
    declares=(DEV,),
    inputs=(DEPENDENCIES, DEV),
    installed_by=("hack/bootstrap.sh",),
    constraints=(OPERATOR.path,),
    installed_with=(OPERATOR.path,),
)
BUILD_BACKEND = Lock(
    path="requirements/build.txt",
    purpose="the project's build backend, for pip's isolated build of the project (the dev venv, images/operator)",
    declares=(BUILD,),
    inputs=(BUILD,),
    installed_by=("hack/bootstrap.sh", "images/operator/Dockerfile"),
    only_binary=True,
)
RUNTIME_BUILD = Lock(
    path="images/runtime/requirements-build.txt",
    purpose="images/runtime's build stage: the backend that compiles mod_wsgi (installed first)",
    declares=("images/runtime/requirements-build.in",),
    inputs=("images/runtime/requirements-build.in",),
    installed_by=("images/runtime/Dockerfile",),
    context="images/runtime",
    only_binary=True,
)
RUNTIME = Lock(
    path="images/runtime/requirements.txt",
    purpose="images/runtime's venv (/opt/wsgi): mod_wsgi",
    declares=("images/runtime/requirements.in",),
    inputs=("images/runtime/requirements.in",),
    installed_by=("images/runtime/Dockerfile",),
    context="images/runtime",
    constraints=(RUNTIME_BUILD.path,),
)
DJANGO = Lock(
    path="examples/django/requirements.txt",
    purpose="the Django example (images/django), installed into the runtime image's venv",
    declares=("examples/django/requirements.in",),
    inputs=("examples/django/requirements.in",),
    installed_by=("images/django/Dockerfile",),
    context="examples/django",
    constraints=(RUNTIME_BUILD.path, RUNTIME.path),
    only_binary=True,
)
BENCH_SERVERS = Lock(
    path="bench/images/servers/requirements.txt",
    purpose="the HTTP benchmark's other servers (bench/images/servers), installed into the app images' venv",
    declares=("bench/images/servers/requirements.in",),
    inputs=("bench/images/servers/requirements.in",),
    installed_by=("bench/images/servers/Dockerfile",),
    context="bench/images/servers",
    constraints=(RUNTIME_BUILD.path, RUNTIME.path, DJANGO.path),
    only_binary=True,
)
# In the order `make lock` writes them: a lock after the ones it is constrained by.
LOCKS = (OPERATOR, DEV_TOOLS, BUILD_BACKEND, RUNTIME_BUILD, RUNTIME, DJANGO, BENCH_SERVERS)


# --- reading -----------------------------------------------------------------------------------


def declared(source: str) -> list[Requirement]:
    """The requirements of a pyproject.toml list (by name) or of a .in file."""
    if source in _PYPROJECT_KEYS:
        data = tomllib.loads((ROOT / PYPROJECT).read_text())
        for key in _PYPROJECT_KEYS[source]:
            data = data.get(key, {})
        lines = list(data or [])
    else:
        lines = []
        for raw in (ROOT / source).read_text().splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                raise LockError(f"{source}: options are not supported in .in files: {line!r}")
            lines.append(line)
    try:
        return [Requirement(line) for line in lines]
    except InvalidRequirement as e:
        raise LockError(f"{source}: {e}") from e


_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def read_pins(path: Path) -> list[Pin]:
    """Every requirement of a lock file; LockError for a line that is not `name==version` with hashes."""
    pins: list[Pin] = []
    logical = re.sub(r"\\\n", " ", path.read_text())
    for number, line in enumerate(logical.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, options = line.partition(" --")
        options = "--" + options if options else ""
        hashes = tuple(_HASH.findall(options))
        rest = _HASH.sub("", options).strip()
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: logical line {number}"
        if rest:
            raise LockError(f"{where}: unexpected options {rest!r}")
        if not hashes:
            raise LockError(f"{where}: {head.strip()!r} has no --hash")
        try:
            req = Requirement(head.strip())
        except InvalidRequirement as e:
            raise LockError(f"{where}: {e}") from e
        specs = list(req.specifier)
        if req.url or req.extras or len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            raise LockError(f"{where}: {head.strip()!r} is not pinned as name==version")
        try:
            Version(specs[0].version)
        except InvalidVersion as e:
            raise LockError(f"{where}: {e}") from e
        pins.append(Pin(canonicalize_name(req.name), specs[0].version, str(req.marker) if req.marker else None, hashes))
    return pins


def recorded_sha256(lock: Lock) -> str | None:
    """The inputs-sha256 of the lock's header (None when it has none)."""
    for line in lock.file.read_text().splitlines():
        if line.startswith(INPUTS_PREFIX):
            return line[len(INPUTS_PREFIX) :].strip()
        if not line.startswith("#"):
            return None
    return None


def stale() -> list[str]:
    """The locks whose recorded inputs-sha256 is not that of their inputs now."""
    return [lock.path for lock in LOCKS if not lock.file.exists() or recorded_sha256(lock) != lock.inputs_sha256()]


# --- writing -----------------------------------------------------------------------------------


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise LockError("uv not found: run `make venv` (requirements/dev.txt installs it)")
    return found


def _compile(
    lock: Lock,
    out: Path,
    sources: list[str],
    *,
    stdin: str | None = None,
    extras: tuple[str, ...] = (),
    constraints: tuple[str, ...] = (),
    no_emit: tuple[str, ...] = (),
    upgrade: list[str],
) -> None:
    """One `uv pip compile` into out (whose current pins, if any, are the preferred versions)."""
    _keep_versions_only(out)
    cmd = [_uv(), "pip", "compile", *sources, *UV_OPTIONS, "--no-header", "--quiet", "-o", str(out)]
    if lock.only_binary:
        cmd += ["--only-binary", ":all:"]
    for extra in extras:
        cmd += ["--extra", extra]
    for path in constraints:
        cmd += ["--constraints", path]
    for name in no_emit:
        cmd += ["--no-emit-package", name]
    cmd += upgrade
    result = subprocess.run(cmd, cwd=ROOT, input=stdin, text=True, capture_output=True)
    if result.returncode != 0:
        raise LockError(f"{lock.path}: uv pip compile failed:\n{result.stderr}")


def _keep_versions_only(path: Path) -> None:
    """Leave only `name==version ; marker` lines in a lock about to be regenerated.

    uv takes the pins of the output file as preferred versions, and would also
    take their hashes as they stand: this way every hash is the index's again.
    """
    if not path.exists():
        return
    try:
        pins = read_pins(path)
    except LockError:
        pins = []  # unreadable: no preferences
    path.write_text("".join(f"{p.name}=={p.version}{f' ; {p.marker}' if p.marker else ''}\n" for p in pins))


def _write_header(lock: Lock) -> None:
    version = subprocess.run([_uv(), "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    header = [
        f"# {lock.path}: {lock.purpose}.",
        f"# Generated by `make lock` (hack/lock.py: uv {version} pip compile {' '.join(UV_OPTIONS)}"
        + (" --only-binary :all:" if lock.only_binary else "")
        + "); do not edit.",
        "# docs/development.md says how to add or bump a dependency.",
        "# inputs: " + ", ".join([*lock.inputs, *(f"the pins of {path}" for path in lock.constraints)]),
        f"{INPUTS_PREFIX}{lock.inputs_sha256()}",
    ]
    body = lock.file.read_text()
    lock.file.write_text("\n".join(header) + "\n" + body)


def _pin_keys(pins: list[Pin]) -> set[tuple[str, str, str | None]]:
    return {(p.name, p.version, p.marker) for p in pins}


def lock_venv(upgrade: list[str]) -> None:
    """requirements/operator.txt and requirements/dev.txt: resolved as one venv, then split."""
    with tempfile.TemporaryDirectory() as tmp:
        # 1. The whole venv: the project with its dev extra (the current pins of
        #    both locks are the preferred versions).
        venv = Path(tmp) / "venv.txt"
        venv.write_text("".join(lock.file.read_text() for lock in (OPERATOR, DEV_TOOLS) if lock.file.exists()))
        _compile(OPERATOR, venv, [PYPROJECT], extras=("dev",), upgrade=upgrade)
        whole = read_pins(venv)
        # 2. The operator's part, preferring the venv's versions (the dev tools
        #    may hold a shared dependency back: the image ships what the venv tests).
        OPERATOR.file.parent.mkdir(parents=True, exist_ok=True)
        OPERATOR.file.write_text(venv.read_text())
        _compile(OPERATOR, OPERATOR.file, [PYPROJECT], upgrade=[])
        operator_names = tuple(sorted({p.name for p in read_pins(OPERATOR.file)}))
        # 3. The rest: the same resolution, without what operator.txt holds.
        DEV_TOOLS.file.write_text(venv.read_text())
        _compile(
            DEV_TOOLS,
            DEV_TOOLS.file,
            [PYPROJECT],
            extras=("dev",),
            constraints=(OPERATOR.path,),
            no_emit=operator_names,
            upgrade=[],
        )
    split = _pin_keys(read_pins(OPERATOR.file)) | _pin_keys(read_pins(DEV_TOOLS.file))
    if split != _pin_keys(whole):
        raise LockError(
            "the operator and dev locks together differ from the venv's resolution: "
            f"only in the split {sorted(split - _pin_keys(whole))}, only in the venv {sorted(_pin_keys(whole) - split)}"
        )
    for lock in (OPERATOR, DEV_TOOLS):
        _write_header(lock)


def lock_one(lock: Lock, upgrade: list[str]) -> None:
    """A lock of its own: from a .in file, or from a pyproject.toml list (given on stdin)."""
    (source,) = lock.inputs
    if source in _PYPROJECT_KEYS:
        stdin = "".join(f"{req}\n" for req in declared(source))
        _compile(lock, lock.file, ["-"], stdin=stdin, constraints=lock.constraints, upgrade=upgrade)
    else:
        _compile(lock, lock.file, [source], constraints=lock.constraints, upgrade=upgrade)
    _write_header(lock)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upgrade", action="store_true", help="every package to its newest allowed version")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME", help="repeatable")
    parser.add_argument("--check", action="store_true", help="only report stale locks (exit 1 if any)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            old = stale()
            for path in old:
                print(f"stale: {path} (run `make lock`)", file=sys.stderr)
            return 1 if old else 0
        upgrade = ["--upgrade"] if args.upgrade else []
        for name in args.upgrade_package:
            upgrade += ["--upgrade-package", name]
        lock_venv(upgrade)
        print(f"locked {OPERATOR.path} and {DEV_TOOLS.path}", file=sys.stderr)
        for lock in LOCKS:
            if lock not in (OPERATOR, DEV_TOOLS):
                lock_one(lock, upgrade)
                print(f"locked {lock.path}", file=sys.stderr)
    except LockError as e:
        print(f"lock.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
