"""The lock files (`make lock`, hack/lock.py), offline: each is current, pins every declared
requirement by version and sha256, and every installer (the dev venv, each Dockerfile) installs
from it with --require-hashes; the venv holds exactly its pins.

"Current" means: the sha256 of a lock's inputs (the requirements it is resolved from, the uv
options, the pins of the locks that constrain it), recorded in its header when `make lock` wrote
it, is the sha256 of those inputs now. A lock edited by hand, or an input changed without
`make lock`, fails here with the command that fixes it.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import Marker

REPO = Path(__file__).resolve().parents[2]


def _load_lock_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wsgi_operator_hack_lock", REPO / "hack" / "lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


lock = _load_lock_module()
LOCKS = {spec.path: spec for spec in lock.LOCKS}
FIX = "run `make lock` (docs/development.md: Dependencies)"


def pins_of(*paths: str) -> list:
    return [pin for path in paths for pin in lock.read_pins(REPO / path)]


@pytest.mark.parametrize("path", LOCKS)
def test_lock_is_current(path: str) -> None:
    spec = LOCKS[path]
    assert spec.file.is_file(), f"{path} is missing: {FIX}"
    recorded = lock.recorded_sha256(spec)
    assert recorded is not None, f"{path} has no `{lock.INPUTS_PREFIX.strip()}` header line: {FIX}"
    assert recorded == spec.inputs_sha256(), (
        f"{path} is stale: {', '.join(spec.inputs)} or the locks it is constrained by changed since "
        f"it was generated: {FIX}"
    )


@pytest.mark.parametrize("path", LOCKS)
def test_every_line_is_pinned_and_hashed(path: str) -> None:
    # read_pins refuses a line without --hash, a range, a URL, an editable or another option.
    pins = lock.read_pins(LOCKS[path].file)
    assert pins, f"{path} pins nothing"
    for pin in pins:
        assert pin.hashes, pin
    keys = [(pin.name, pin.marker) for pin in pins]
    assert len(keys) == len(set(keys)), f"{path} pins a package twice under the same marker"


@pytest.mark.parametrize("path", LOCKS)
def test_declared_requirements_are_pinned_within_their_specifiers(path: str) -> None:
    spec = LOCKS[path]
    pins = pins_of(path, *spec.installed_with)
    for req in spec.requirements():
        name = lock.canonicalize_name(req.name)
        versions = [pin.version for pin in pins if pin.name == name]
        assert versions, f"{req} ({', '.join(spec.declares)}) is not in {path}: {FIX}"
        for version in versions:
            assert req.specifier.contains(version, prereleases=True), (
                f"{path} pins {name}=={version}, outside {req}: {FIX}"
            )


@pytest.mark.parametrize("path", [path for path, spec in LOCKS.items() if spec.constraints])
def test_constrained_locks_agree_with_their_constraints(path: str) -> None:
    spec = LOCKS[path]
    mine = {(pin.name, pin.marker): pin for pin in pins_of(path)}
    for other in pins_of(*spec.constraints):
        pin = mine.get((other.name, other.marker))
        if pin is not None:
            assert (pin.version, pin.hashes) == (other.version, other.hashes), (pin, other)


def test_operator_and_dev_locks_split_one_venv() -> None:
    """dev.txt leaves out what operator.txt pins: pip installs both, each package from one of them."""
    operator = {pin.name for pin in pins_of(lock.OPERATOR.path)}
    dev = {pin.name for pin in pins_of(lock.DEV_TOOLS.path)}
    assert not operator & dev, sorted(operator & dev)
    # The build backend is not part of the venv (tools there hold `packaging` too old for it).
    assert "setuptools" not in operator | dev


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    """The tests run against the pins the operator image ships (`make venv` reinstalls on a lock change)."""
    wrong = []
    for pin in pins_of(lock.OPERATOR.path, lock.DEV_TOOLS.path):
        if pin.marker and not Marker(pin.marker).evaluate():
            continue
        try:
            have = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            have = None
        if have != pin.version:
            wrong.append(f"{pin.name}: {have} installed, {pin.version} locked")
    assert not wrong, "the venv is not the lock's: run `make venv`\n" + "\n".join(wrong)


# --- the installers ------------------------------------------------------------------------------

# `pip install|download ARGS` (pip by any path, or "${pip[@]}"), with the VAR=value assignments before it.
_PIP = re.compile(
    r"(?P<env>(?:\b[A-Z_]+=\S+\s+)*)\S*pip[\"']?(?:\[@\]\}\")?\s+(?P<verb>install|download)\b(?P<args>[^;&|\n]*)"
)


def pip_commands(text: str) -> list[tuple[str, str, str]]:
    """Every `pip install|download ...` of a shell script or Dockerfile: (env assignments, verb, args)."""
    joined = re.sub(r"\\\n", " ", text)
    joined = "\n".join(line for line in joined.splitlines() if not line.lstrip().startswith("#"))
    return [(m["env"], m["verb"], m["args"]) for m in _PIP.finditer(joined)]


INSTALLERS = sorted({installer for spec in LOCKS.values() for installer in spec.installed_by})


@pytest.mark.parametrize("installer", INSTALLERS)
def test_every_pip_command_is_hash_checked(installer: str) -> None:
    """Each pip command takes a lock with --require-hashes, or installs the project itself
    without dependencies, and then either with no index (PIP_NO_INDEX: only hash-checked
    files) or with no build isolation (the build backend came from a lock)."""
    commands = pip_commands((REPO / installer).read_text())
    assert commands, f"{installer} runs no pip command"
    for env, verb, args in commands:
        if "--require-hashes" in args:
            assert re.search(r"(?:^|\s)-r\s", args), f"{installer}: {verb}{args}: --require-hashes without -r LOCK"
            continue
        assert verb == "install" and "--no-deps" in args, f"{installer}: pip {verb}{args} is not hash-checked"
        assert "PIP_NO_INDEX=1" in env or "--no-build-isolation" in args, (
            f"{installer}: pip {verb}{args} may fetch an unpinned build backend"
        )


@pytest.mark.parametrize("path", LOCKS)
def test_each_lock_is_installed_by_its_installers(path: str) -> None:
    spec = LOCKS[path]
    seen_as = str(Path(path).relative_to(spec.context)) if spec.context else path
    for installer in spec.installed_by:
        text = (REPO / installer).read_text()
        assert seen_as in text, f"{installer} does not install {seen_as}"


def test_the_operator_image_sees_its_locks() -> None:
    """Its build context is the repository root, narrowed by Dockerfile.dockerignore; its cache key
    (hack/docker/build-images.sh) must change with the locks too."""
    ignore = (REPO / "images" / "operator" / "Dockerfile.dockerignore").read_text().split()
    script = (REPO / "hack" / "docker" / "build-images.sh").read_text()
    (op_inputs,) = re.findall(r"^\s*op_inputs=\((.*)\)$", script, re.M)
    for spec in LOCKS.values():
        if "images/operator/Dockerfile" in spec.installed_by:
            assert f"!{spec.path}" in ignore, spec.path
            assert spec.path in op_inputs.split(), spec.path


def test_the_runtime_image_labels_the_locked_mod_wsgi() -> None:
    dockerfile = (REPO / "images" / "runtime" / "Dockerfile").read_text()
    args = re.findall(r"^ARG MOD_WSGI_VERSION=(\S+)$", dockerfile, re.M)
    (locked,) = [pin.version for pin in pins_of(lock.RUNTIME.path) if pin.name == "mod-wsgi"]
    assert args and set(args) == {locked}, f"MOD_WSGI_VERSION {args} in images/runtime/Dockerfile, {locked} locked"


# --- the checks themselves ------------------------------------------------------------------------


def test_read_pins_refuses_what_is_not_a_hash_pin(tmp_path: Path) -> None:
    good = "six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n"
    (tmp_path / "good.txt").write_text(good)
    (pin,) = lock.read_pins(tmp_path / "good.txt")
    assert (pin.name, pin.version, pin.hashes) == ("six", "1.17.0", ("a" * 64,))
    for bad in (
        "six==1.17.0\n",  # no hash
        "six>=1.17 --hash=sha256:" + "a" * 64 + "\n",  # a range
        "six==1.* --hash=sha256:" + "a" * 64 + "\n",  # a wildcard
        "-e . --hash=sha256:" + "a" * 64 + "\n",  # an editable
        "six==1.17.0 --hash=sha256:" + "a" * 64 + " --index-url https://example.invalid\n",  # an option
        "six @ https://example.invalid/six.whl --hash=sha256:" + "a" * 64 + "\n",  # a URL
    ):
        (tmp_path / "bad.txt").write_text(bad)
        with pytest.raises(lock.LockError):
            lock.read_pins(tmp_path / "bad.txt")


def test_a_changed_input_makes_its_lock_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    before = {spec.path: spec.inputs_sha256() for spec in lock.LOCKS}
    real = lock.declared

    def with_one_more(source: str):
        reqs = real(source)
        return [*reqs, lock.Requirement("example-added>=1")] if source == lock.DEV else reqs

    monkeypatch.setattr(lock, "declared", with_one_more)
    after = {spec.path: spec.inputs_sha256() for spec in lock.LOCKS}
    changed = {path for path in before if before[path] != after[path]}
    assert changed == {lock.OPERATOR.path, lock.DEV_TOOLS.path}


def test_pip_commands_finds_the_installs() -> None:
    script = (
        'x=1\n"${pip[@]}" install --require-hashes \\\n  -r a.txt -r b.txt\n'
        'PIP_NO_INDEX=1 "${pip[@]}" install --no-deps -e .\n'
    )
    assert pip_commands(script) == [
        ("", "install", " --require-hashes    -r a.txt -r b.txt"),
        ("PIP_NO_INDEX=1 ", "install", " --no-deps -e ."),
    ]


def test_make_lock_fetches_every_hash_again(tmp_path: Path) -> None:
    """uv would keep the hashes of the file it regenerates; hack/lock.py leaves it only the versions."""
    out = tmp_path / "lock.txt"
    out.write_text("# header\nsix==1.17.0 ; python_version >= '3.11' \\\n    --hash=sha256:" + "0" * 64 + "\n")
    lock._keep_versions_only(out)
    assert out.read_text() == 'six==1.17.0 ; python_version >= "3.11"\n'
