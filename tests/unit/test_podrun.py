"""The pod -> ``docker run`` translation the runtime tests rely on (tests/support/podrun.py).

Pure: objects are rendered in memory and translated; nothing is written
(except by the one ``write_files`` test, into tmp_path) and Docker is not used.
If this translation drifted from the pod, the runtime tests would prove
things about a container the operator never deploys.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any

import pytest

import invalid_specs
from support.podrun import (
    LABEL,
    MIN_GRACE_AFTER_PRESTOP,
    KubeletStop,
    PodRun,
    Unsupported,
    expand,
    quantity_bytes,
    translate,
)
from support.rendered import container, flag_values, pod_spec
from wsgi_operator.api.validation import validate
from wsgi_operator.render import render

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
    assert sorted(by_target) == ["/var/cache/shop", "/var/lib/shop", "/var/run/wsgi"]
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
    assert values(run, "--env") == ["GREETING=hi", "BOTH=hi-x"]
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
