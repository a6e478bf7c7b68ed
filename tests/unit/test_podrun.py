"""The pod -> ``docker run`` translation the runtime tests rely on (tests/support/podrun.py).

Pure: objects are rendered in memory and translated; nothing is written
(except by the ``write_files`` and volume-ownership tests, into tmp_path) and
Docker is not used (the stop sequence runs against a recording fake of it).
If this translation drifted from the pod, the runtime tests would prove
things about a container the operator never deploys.
"""

from __future__ import annotations

import copy
import os
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import invalid_specs
from support.podrun import (
    LABEL,
    MIN_GRACE_AFTER_PRESTOP,
    ClaimDir,
    KubeletStop,
    PodRun,
    Unsupported,
    expand,
    quantity_bytes,
    set_volume_ownership,
    translate,
    translate_job,
)
from support.rendered import container, flag_values, pod_spec
from wsgi_operator.api.validation import validate
from wsgi_operator.render import render
from wsgi_operator.render.job import release_job

HOST = Path("/host/pod")


def rendered(spec_patch: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """render() of the shared base manifest (uid/gid 20010) with ``spec_patch`` merged in."""
    return render(validate(invalid_specs.base_manifest(spec_patch)))


def options(run: PodRun) -> list[str]:
    """The docker run options: everything before the image."""
    return run.argv[: run.argv.index("--entrypoint") + 2]


def values(run: PodRun, flag: str) -> list[str]:
    """Every value given to ``flag`` among the options, in order."""
    return flag_values(options(run), flag)


def test_command_becomes_the_entrypoint_and_its_arguments() -> None:
    objects = rendered()
    command = container(objects)["command"]
    run = translate(objects, HOST)
    assert run.argv[:3] == ["/usr/bin/docker", "run", "--detach"]
    image_at = run.argv.index(container(objects)["image"])
    assert run.argv[image_at - 2 : image_at] == ["--entrypoint", command[0]]
    assert run.argv[image_at + 1 :] == command[1:]


def test_image_can_be_overridden() -> None:
    objects = rendered()
    run = translate(objects, HOST, image="local/other:dev")
    at = run.argv.index("local/other:dev")
    assert run.argv[at - 2] == "--entrypoint"
    assert container(objects)["image"] not in run.argv


def test_args_without_command_keep_the_image_entrypoint() -> None:
    objects = copy.deepcopy(rendered())
    c = container(objects)
    c["args"] = c.pop("command")[1:]
    run = translate(objects, HOST)
    assert "--entrypoint" not in run.argv
    assert run.argv[run.argv.index(c["image"]) + 1 :] == c["args"]


def test_security_context_becomes_user_groups_and_restrictions() -> None:
    objects = rendered({"security": {"fsGroup": 20012, "supplementalGroups": [20013, 20014]}})
    run = translate(objects, HOST)
    assert values(run, "--user") == ["20010:20010"]
    assert values(run, "--group-add") == ["20012", "20013", "20014"]
    assert "--read-only" in options(run)
    assert values(run, "--cap-drop") == ["ALL"]
    assert values(run, "--cap-add") == []
    # RuntimeDefault is Docker's default seccomp profile: nothing else is passed.
    assert values(run, "--security-opt") == ["no-new-privileges"]
    assert "--privileged" not in run.argv


def test_laxer_security_contexts_are_reproduced_as_laxer() -> None:
    objects = copy.deepcopy(rendered())
    sc = container(objects)["securityContext"]
    sc.update(readOnlyRootFilesystem=False, allowPrivilegeEscalation=True, seccompProfile={"type": "Unconfined"})
    sc["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    run = translate(objects, HOST)
    assert "--read-only" not in options(run)
    assert values(run, "--cap-add") == ["NET_BIND_SERVICE"]
    assert values(run, "--security-opt") == ["seccomp=unconfined"]


@pytest.mark.parametrize(
    ("where", "patch"),
    [
        ("container", {"privileged": True}),
        ("container", {"runAsUser": 0}),
        ("container", {"seccompProfile": {"type": "Localhost", "localhostProfile": "x.json"}}),
        ("pod", {"hostUsers": False}),
        ("container", {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}),
        ("container", {"envFrom": [{"configMapRef": {"name": "c"}}]}),
    ],
)
def test_what_docker_cannot_reproduce_is_refused(where: str, patch: dict[str, Any]) -> None:
    objects = copy.deepcopy(rendered())
    if where == "pod":
        pod_spec(objects).update(patch)
    elif "env" in patch or "envFrom" in patch:
        container(objects).update(patch)
    else:
        container(objects)["securityContext"].update(patch)
    with pytest.raises(Unsupported):
        translate(objects, HOST)


@pytest.mark.parametrize(
    "code",
    [{"configMap": {"name": "shop-code"}}, {"persistentVolumeClaim": {"claimName": "code"}}],
    ids=["configmap-not-rendered", "pvc"],
)
def test_code_volumes_that_are_not_local_are_refused(code: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        translate(rendered({"code": code}), HOST)


def test_empty_dirs_are_sized_tmpfs_volumes_owned_like_fs_group() -> None:
    objects = rendered(
        {
            "security": {"fsGroup": 20012},
            "writableDirs": [
                {"name": "uploads", "mountPath": "/var/lib/shop", "sizeLimit": "16Mi"},
                {"name": "cache", "mountPath": "/var/cache/shop", "medium": "Memory"},
            ],
        }
    )
    mounts = [m for m in values(translate(objects, HOST), "--mount") if m.startswith("type=volume")]
    by_target = {next(p for p in m.split(",") if p.startswith("destination=")).split("=", 1)[1]: m for m in mounts}
    assert sorted(by_target) == ["/var/cache/shop", "/var/lib/shop", "/var/run/wsgi", "/var/tmp"]
    for mount in mounts:
        assert "volume-opt=type=tmpfs" in mount
        # Not copied from the image (its /var/run/wsgi is 0700): the kubelet's
        # emptyDir is 0777 plus setgid, group fsGroup.
        assert "volume-nocopy" in mount
        assert '"volume-opt=o=mode=2777,uid=0,gid=20012,' in mount
        assert "noexec" not in mount
    assert "size=67108864" in by_target["/var/run/wsgi"]
    assert "size=16777216" in by_target["/var/lib/shop"]
    assert "size=268435456" in by_target["/var/cache/shop"]
    assert "--tmpfs" not in options(translate(objects, HOST))


def test_config_maps_are_written_like_the_kubelet_and_mounted_read_only() -> None:
    objects = rendered()
    run = translate(objects, HOST)
    cms = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    vols = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    binds = [m for m in values(run, "--mount") if m.startswith("type=bind")]
    for mount in container(objects)["volumeMounts"]:
        vol = vols[mount["name"]]
        if "configMap" not in vol:
            continue
        root = HOST / "volumes" / vol["name"]
        assert f"type=bind,source={root},target={mount['mountPath']},readonly" in binds
        files = {f.path: f for f in run.files}
        data = cms[vol["configMap"]["name"]]["data"]
        for key, content in data.items():
            # Each key is a symlink through ..data into the timestamped dir, as on a node.
            assert files[root / key].link == f"..data/{key}"
            real = next(f for f in run.files if f.path.name == key and f.content is not None and root in f.path.parents)
            assert real.content == content
            assert real.mode == vol["configMap"]["defaultMode"] == 0o444
        assert files[root / "..data"].link is not None


def test_write_files_creates_the_layout(tmp_path: Path) -> None:
    objects = rendered()
    run = translate(objects, tmp_path)
    run.write_files()
    conf = tmp_path / "volumes" / "config"
    include = (conf / "hardening.conf").read_text()
    assert include.startswith("# Generated by wsgi-operator")
    assert (conf / "hardening.conf").is_symlink()
    assert os.stat(conf / "envvars").st_mode & 0o777 == 0o444
    run.write_files()  # idempotent: a second write replaces the links


def test_env_resources_port_stop_and_label() -> None:
    objects = rendered({"env": [{"name": "GREETING", "value": "hi"}, {"name": "BOTH", "value": "$(GREETING)-x"}]})
    grace = pod_spec(objects)["terminationGracePeriodSeconds"]
    run = translate(objects, HOST, labels={LABEL: "run-1", "extra": "y"})
    assert values(run, "--env") == ["TMPDIR=/var/tmp", "GREETING=hi", "BOTH=hi-x"]
    assert values(run, "--cpus") == ["1"]
    assert values(run, "--memory") == [str(512 * 2**20)]
    assert values(run, "--cpu-shares") == ["102"]
    assert values(run, "--publish") == ["127.0.0.1::8000"]
    assert values(translate(objects, HOST, host_port=18080), "--publish") == ["127.0.0.1:18080:8000"]
    # The image's STOPSIGNAL (SIGWINCH) must stay in charge.
    assert "--stop-signal" not in run.argv
    assert values(run, "--stop-timeout") == [str(grace)]
    assert run.grace_seconds == grace
    assert values(run, "--label") == ["extra=y", f"{LABEL}=run-1"]
    assert run.container_port == 8000
    assert run.port("http") == 8000 and run.port(8000) == 8000


def test_command_references_to_env_are_expanded_like_kubernetes() -> None:
    objects = copy.deepcopy(rendered({"env": [{"name": "GROUP", "value": "web"}]}))
    c = container(objects)
    c["command"] = [*c["command"], "--setenv", "G", "$(GROUP)", "--x", "$$(GROUP)", "$(UNSET)"]
    assert translate(objects, HOST).argv[-5:] == ["G", "web", "--x", "$(GROUP)", "$(UNSET)"]


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$(A)", "1"),
        ("x$(A)y$(B)", "x1y2"),
        ("$$(A)", "$(A)"),
        ("$$", "$"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(A", "$(A"),
        ("$A", "$A"),
        ("cost: 5$", "cost: 5$"),
    ],
)
def test_expand(text: str, expanded: str) -> None:
    assert expand(text, {"A": "1", "B": "2"}) == expanded


@pytest.mark.parametrize(("text", "value"), [("64Mi", 64 * 2**20), ("1Gi", 2**30), ("500M", 500 * 10**6), ("1", 1)])
def test_quantity_bytes(text: str, value: int) -> None:
    assert quantity_bytes(text) == value


def test_kubelet_gives_the_stop_signal_what_is_left_of_the_grace_period() -> None:
    run = translate(rendered(), HOST)
    # Long past the grace period (a preStop that used it all): the kubelet still allows its minimum.
    late = KubeletStop("c", run, started=time.monotonic() - run.grace_seconds - 10)
    assert late.remaining_grace() == MIN_GRACE_AFTER_PRESTOP
    fresh = KubeletStop("c", run, started=time.monotonic())
    assert run.grace_seconds - 1 <= fresh.remaining_grace() <= run.grace_seconds


# --- PersistentVolumeClaims --------------------------------------------------------------------

_PVC_DIRS = {
    "writableDirs": [
        {"name": "data", "mountPath": "/var/lib/shop/data", "persistentVolumeClaim": {"claimName": "shop-data"}},
        {"name": "media", "mountPath": "/var/lib/shop/media", "persistentVolumeClaim": {"claimName": "shop-media"}},
    ],
    "security": {"fsGroup": 20012},
}
_CLAIMS = {"shop-data": Path("/host/claims/data"), "shop-media": Path("/host/claims/media")}


def test_claims_are_bind_mounted_host_directories() -> None:
    run = translate(rendered(_PVC_DIRS), HOST, claims=_CLAIMS)
    binds = [m for m in values(run, "--mount") if m.startswith("type=bind")]
    assert "type=bind,source=/host/claims/data,target=/var/lib/shop/data" in binds
    assert "type=bind,source=/host/claims/media,target=/var/lib/shop/media" in binds
    assert {c.claim_name: c for c in run.claims} == {
        "shop-data": ClaimDir("shop-data", _CLAIMS["shop-data"], 20012, False, "OnRootMismatch"),
        "shop-media": ClaimDir("shop-media", _CLAIMS["shop-media"], 20012, False, "OnRootMismatch"),
    }


def test_read_only_claims_are_mounted_read_only() -> None:
    objects = copy.deepcopy(rendered(_PVC_DIRS))
    vol = next(v for v in pod_spec(objects)["volumes"] if v["name"] == "rw-data")
    vol["persistentVolumeClaim"]["readOnly"] = True
    run = translate(objects, HOST, claims=_CLAIMS)
    assert "type=bind,source=/host/claims/data,target=/var/lib/shop/data,readonly" in values(run, "--mount")
    assert next(c for c in run.claims if c.claim_name == "shop-data").read_only


def test_a_claim_without_a_host_directory_is_refused() -> None:
    with pytest.raises(Unsupported, match="shop-media"):
        translate(rendered(_PVC_DIRS), HOST, claims={"shop-data": Path("/host/claims/data")})


def test_write_files_refuses_a_missing_claim_directory(tmp_path: Path) -> None:
    run = translate(rendered(_PVC_DIRS), tmp_path, claims={"shop-data": tmp_path / "a", "shop-media": tmp_path / "b"})
    with pytest.raises(Unsupported, match="does not exist"):
        run.write_files()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_volume_ownership_is_changed_like_the_kubelet_for_fs_group(tmp_path: Path) -> None:
    """Group fsGroup, group rw (+x and setgid on directories) on every entry; symlinks
    untouched. The group is our own, so this runs without root."""
    gid = os.getegid()
    vol = tmp_path / "vol"
    (vol / "sub").mkdir(parents=True)
    (vol / "sub" / "old.txt").write_text("x")
    (vol / "link").symlink_to("/etc/hostname")
    for path, mode in ((vol, 0o755), (vol / "sub", 0o700), (vol / "sub" / "old.txt", 0o600)):
        os.chmod(path, mode)
    set_volume_ownership(ClaimDir("c", vol, gid, read_only=False))
    assert _mode(vol) == 0o2775
    assert _mode(vol / "sub") == 0o2770
    assert _mode(vol / "sub" / "old.txt") == 0o660
    assert all(p.lstat().st_gid == gid for p in (vol, vol / "sub", vol / "sub" / "old.txt"))
    assert (vol / "link").is_symlink()

    # OnRootMismatch: a root that is already right means nothing below is touched.
    os.chmod(vol / "sub" / "old.txt", 0o600)
    set_volume_ownership(ClaimDir("c", vol, gid, read_only=False, change_policy="OnRootMismatch"))
    assert _mode(vol / "sub" / "old.txt") == 0o600
    set_volume_ownership(ClaimDir("c", vol, gid, read_only=False, change_policy="Always"))
    assert _mode(vol / "sub" / "old.txt") == 0o660

    # Read-only: group read only; without fsGroup nothing changes.
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o700)
    set_volume_ownership(ClaimDir("c", ro, None, read_only=False))
    assert _mode(ro) == 0o700
    set_volume_ownership(ClaimDir("c", ro, gid, read_only=True))
    assert _mode(ro) == 0o2750


# --- the release Job's pod -----------------------------------------------------------------------

_RELEASE = {"release": {"command": ["python", "manage.py", "migrate", "--noinput"], "timeoutSeconds": 120}}


def _job(spec_patch: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    app = validate(invalid_specs.base_manifest(spec_patch))
    job = release_job(app)
    assert job is not None
    return job, render(app)


def test_release_job_pod_runs_its_command_like_the_server_pod_without_a_port() -> None:
    job, objects = _job({**_RELEASE, **_PVC_DIRS})
    server = translate(objects, HOST, claims=_CLAIMS)
    run = translate_job(job, objects, HOST, claims=_CLAIMS)
    (c,) = job["spec"]["template"]["spec"]["containers"]
    # Its command, from the same image, in the working directory.
    at = run.argv.index("--entrypoint")
    assert run.argv[at + 1 :] == [c["command"][0], c["image"], *c["command"][1:]]
    assert c["command"][-3:] == ["manage.py", "migrate", "--noinput"]
    assert values(run, "--workdir") == [c["workingDir"]]
    # Nothing published; the same identity, restrictions, env and claims as the server.
    assert values(run, "--publish") == []
    assert run.container_port is None
    for flag in ("--user", "--group-add", "--cap-drop", "--security-opt", "--env"):
        assert values(run, flag) == values(server, flag), flag
    assert "--read-only" in options(run)
    assert run.claims == server.claims
    binds = [m for m in values(run, "--mount") if m.startswith("type=bind")]
    assert "type=bind,source=/host/claims/data,target=/var/lib/shop/data" in binds
    tmp = [m for m in values(run, "--mount") if "destination=/var/tmp" in m]
    assert len(tmp) == 1
    assert run.deadline_seconds == 120


def test_only_never_restarting_jobs_are_reproduced() -> None:
    job, objects = _job(_RELEASE)
    job = copy.deepcopy(job)
    job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    with pytest.raises(Unsupported, match="restartPolicy"):
        translate_job(job, objects, HOST)
    with pytest.raises(Unsupported, match="expected a Job"):
        translate_job(next(o for o in objects if o["kind"] == "Deployment"), objects, HOST)


# --- the kubelet's stop sequence -----------------------------------------------------------------


class FakeDocker:
    """Records docker calls in order; ``wait`` exits with ``exit_code``, or times out
    while ``hangs`` is true (a container that ignores its stop signal)."""

    def __init__(self, stop_signal: str = "SIGWINCH", exit_code: int = 0, hangs: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.stop_signal = stop_signal
        self.exit_code = exit_code
        self.hangs = hangs

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        self.calls.append((*args, timeout) if args[0] in ("wait", "exec") else args)
        if args[0] == "inspect":
            return subprocess.CompletedProcess(args, 0, self.stop_signal + "\n", "")
        if args[0] == "wait":
            if self.hangs:
                raise subprocess.TimeoutExpired(list(args), timeout)
            return subprocess.CompletedProcess(args, 0, f"{self.exit_code}\n", "")
        if args[0] == "kill" and args[1] == "--signal=SIGKILL":
            self.hangs, self.exit_code = False, 137
        return subprocess.CompletedProcess(args, 0, "", "")


def _sleep_pre_stop(seconds: int, stop_signal: str | None = None) -> PodRun:
    objects = copy.deepcopy(rendered())
    lifecycle: dict[str, Any] = {"preStop": {"sleep": {"seconds": seconds}}}
    if stop_signal:
        lifecycle["stopSignal"] = stop_signal
    container(objects)["lifecycle"] = lifecycle
    return translate(objects, HOST)


def test_sleep_pre_stop_then_the_image_stop_signal_once() -> None:
    """preStop sleep: the kubelet waits (nothing runs in the container), then the
    runtime sends the image's STOPSIGNAL once and waits what is left of the grace."""
    run = _sleep_pre_stop(5)
    fake = FakeDocker()
    slept: list[float] = []
    stop = KubeletStop("c1", run, runner=fake, sleep=slept.append)
    assert stop.pre_stop() is None
    assert slept == [5.0]
    assert fake.calls == []  # no exec in the container
    result = stop.stop()
    assert (result.signal, result.exit_code, result.killed) == ("SIGWINCH", 0, False)
    assert fake.calls[0] == ("inspect", "-f", "{{.Config.StopSignal}}", "c1")
    assert fake.calls[1] == ("kill", "--signal=SIGWINCH", "c1")
    assert fake.calls[2][:2] == ("wait", "c1")
    # The sleep was faked, so nearly all of the grace period is left for the signal.
    assert run.grace_seconds - 1 <= fake.calls[2][2] <= run.grace_seconds
    assert len(fake.calls) == 3
    assert stop.signal_sent is not None and stop.signal_sent[0] == "SIGWINCH"


def test_sigkill_when_the_grace_period_runs_out() -> None:
    run = _sleep_pre_stop(5)
    fake = FakeDocker(hangs=True)
    stop = KubeletStop("c1", run, runner=fake, sleep=lambda _: None)
    result = stop.run_sequence()
    assert (result.exit_code, result.killed) == (137, True)
    assert [c[:2] for c in fake.calls[1:]] == [
        ("kill", "--signal=SIGWINCH"),
        ("wait", "c1"),
        ("kill", "--signal=SIGKILL"),
        ("wait", "c1"),
    ]


def test_sleep_pre_stop_is_bounded_by_the_grace_period() -> None:
    run = _sleep_pre_stop(10_000)
    slept: list[float] = []
    KubeletStop("c1", run, runner=FakeDocker(), sleep=slept.append).pre_stop()
    assert run.grace_seconds - 1 <= slept[0] <= run.grace_seconds


def test_lifecycle_stop_signal_overrides_the_image() -> None:
    fake = FakeDocker(stop_signal="SIGWINCH")
    stop = KubeletStop("c1", _sleep_pre_stop(1, stop_signal="SIGQUIT"), runner=fake, sleep=lambda _: None)
    assert stop.run_sequence().signal == "SIGQUIT"
    assert ("kill", "--signal=SIGQUIT", "c1") in fake.calls
    assert not any(c[0] == "inspect" for c in fake.calls)


def test_image_without_stop_signal_gets_sigterm() -> None:
    fake = FakeDocker(stop_signal="")
    assert KubeletStop("c1", _sleep_pre_stop(1), runner=fake, sleep=lambda _: None).run_sequence().signal == "SIGTERM"


def test_exec_pre_stop_runs_in_the_container() -> None:
    objects = copy.deepcopy(rendered())
    container(objects)["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", "true"]}}}
    run = translate(objects, HOST)
    fake = FakeDocker()
    stop = KubeletStop("c1", run, runner=fake, sleep=lambda _: pytest.fail("exec hooks do not sleep"))
    assert stop.pre_stop() is not None
    assert fake.calls == [("exec", "c1", "/bin/sh", "-c", "true", run.grace_seconds)]


def test_rendered_pre_stop_is_reproduced() -> None:
    """Whatever preStop the renderer writes, KubeletStop knows how to run it."""
    run = translate(rendered(), HOST)
    hook = run.container["lifecycle"]["preStop"]
    assert set(hook) <= {"exec", "sleep"}
    KubeletStop("c1", run, runner=FakeDocker(), sleep=lambda _: None).pre_stop()
