"""The Django example (examples/django.yaml) on the real node, and storage for its claims.

The local cluster has no storage provisioner, so whoever runs the example
there provides the PersistentVolumes itself: one hostPath volume per claim of
``examples/django/deploy/pvc.yaml``, pre-bound to that claim by ``claimRef``,
on a host directory made writable for the pod (:func:`hostpath_volumes`).

**Why the directory is chowned here.** The kubelet manages ownership only for
volume types that support it (emptyDir, Secrets and other projected volumes,
``local`` volumes, most CSI filesystems): for those it makes the volume's root
group ``fsGroup``, group read-write-execute and setgid (``fsGroupChangePolicy``).
A hostPath volume is not one of them: the kubelet bind-mounts the directory as
it finds it and ignores ``fsGroup`` (checked on the real node: a root-owned 0755
hostPath stays so, and the pod's write fails with EACCES; with
``type: DirectoryOrCreate`` the kubelet would create it like that itself). So
the directory gets, up front, what the kubelet would have given a freshly
provisioned volume: owner root, group ``fsGroup``, mode 2770 (group rwx and
setgid, nothing for others).
What the pod creates there is then owned by its UID and group ``fsGroup``, as
on real storage; ``fsGroupChangePolicy: OnRootMismatch`` would find nothing to
change. The kubelet runs in the host's mount namespace (``hack/k8s/node.sh``
enters only the node's network namespace), so a host path is a path the node
sees.

Each PersistentVolume also carries node affinity for the real node: a hostPath
is local to one machine, and the scheduler then never places a pod that uses it
on the kwok node.

For ``hack/demo.sh`` (no test fixtures)::

    PYTHONPATH=tests .venv/bin/python -m support.django_node volumes \\
        --namespace django --root /var/tmp/wsgi-operator-demo/django \\
      | kubectl apply --server-side -f -
    PYTHONPATH=tests .venv/bin/python -m support.django_node app \\
        --namespace django --host django.demo.localhost | kubectl apply --server-side -f -

The first creates the directories and prints the PersistentVolumes and the
claims (a ``v1 List``); the second prints the WsgiApp.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from support.kubectl import Kubectl
from support.realnode import GATEWAY, INGRESS_CLASS, NODE_LABEL, ON_REAL_NODE, Namespace
from support.rendered import pod_spec
from support.waiting import wait_for
from wsgi_operator.api.validation import validate
from wsgi_operator.render import render

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "django.yaml"
EXAMPLE_CLAIMS = REPO_ROOT / "examples" / "django" / "deploy" / "pvc.yaml"
#: images/django on examples/django, built by hack/docker/build-images.sh django.
DJANGO_IMAGE = "local/wsgi-django:dev"
#: The mode of a volume's root after the kubelet's fsGroup treatment, minus world access.
VOLUME_MODE = 0o2770


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def django_app(namespace: str, host: str, route_host: str | None = None) -> dict[str, Any]:
    """examples/django.yaml as it runs on the real node: in ``namespace``, with the
    locally built image, the node's nodeSelector and toleration, the Ingress (class
    traefik) for ``host`` and, with ``route_host``, an HTTPRoute on the node's
    Gateway. ALLOWED_HOSTS names those hosts and the Service's in-cluster name
    (the first is also the probes' Host). Everything else is the example's."""
    (app,) = _documents(EXAMPLE)
    app = copy.deepcopy(app)
    app["metadata"]["namespace"] = namespace
    spec = app["spec"]
    spec.update(image=DJANGO_IMAGE, imagePullPolicy="IfNotPresent", **copy.deepcopy(ON_REAL_NODE))
    spec["ingress"] = {**spec["ingress"], "className": INGRESS_CLASS, "hosts": [host]}
    hosts = [host]
    if route_host:
        spec["httpRoute"] = {"parentRefs": [dict(GATEWAY)], "hostnames": [route_host]}
        hosts.append(route_host)
    hosts.append(f"{app['metadata']['name']}.{namespace}.svc")
    (allowed,) = [e for e in spec["env"] if e["name"] == "ALLOWED_HOSTS"]
    allowed["value"] = ",".join(hosts)
    return app


def example_claims(namespace: str) -> list[dict[str, Any]]:
    """examples/django/deploy/pvc.yaml's claims, in ``namespace``, otherwise unchanged."""
    claims = _documents(EXAMPLE_CLAIMS)
    for claim in claims:
        claim["metadata"]["namespace"] = namespace
    return claims


@dataclass(frozen=True)
class PodIdentity:
    """Who the app's pods (server and release Job alike) run as, from the rendered Deployment."""

    uid: int
    gid: int
    fs_group: int


def pod_identity(app: Mapping[str, Any]) -> PodIdentity:
    """The UID, GID and fsGroup the operator renders for WsgiApp manifest ``app``."""
    sc = pod_spec(render(validate(copy.deepcopy(dict(app)))))["securityContext"]
    return PodIdentity(sc["runAsUser"], sc["runAsGroup"], sc["fsGroup"])


def prepare_volume_dir(path: Path, fs_group: int) -> Path:
    """Make ``path`` (and missing parents, root-only) the root of a volume for a pod
    with ``fs_group``: owner root, group ``fs_group``, mode 2770 (see the module
    docstring: the kubelet does not do this for hostPath). An existing directory
    keeps its contents; only its own ownership and mode are set."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(path, 0, fs_group)
    os.chmod(path, VOLUME_MODE)  # after chown, which may clear setgid
    return path


def hostpath_volume(
    name: str,
    claim: Mapping[str, Any],
    path: Path,
    *,
    node_labels: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A PersistentVolume on host directory ``path`` (which must exist), pre-bound to
    ``claim`` (a PersistentVolumeClaim manifest): its size, access modes, volume mode
    and storage class ("" when the claim names none), reclaim policy Retain (nothing
    here could delete the directory), node affinity to ``node_labels``."""
    spec = claim["spec"]
    pv_spec: dict[str, Any] = {
        "capacity": {"storage": spec["resources"]["requests"]["storage"]},
        "accessModes": list(spec["accessModes"]),
        "volumeMode": spec.get("volumeMode", "Filesystem"),
        "storageClassName": spec.get("storageClassName") or "",
        "persistentVolumeReclaimPolicy": "Retain",
        "hostPath": {"path": str(path), "type": "Directory"},
        "claimRef": {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "namespace": claim["metadata"]["namespace"],
            "name": claim["metadata"]["name"],
        },
    }
    if node_labels:
        expressions = [{"key": k, "operator": "In", "values": [v]} for k, v in node_labels.items()]
        pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": expressions}]}}
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": metadata, "spec": pv_spec}


def hostpath_volumes(
    claims: Sequence[Mapping[str, Any]],
    root: Path,
    fs_group: int,
    *,
    labels: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """For each claim: a directory ``root/<claim>`` made for ``fs_group`` and a
    PersistentVolume ``<namespace>-<claim>`` pre-bound to the claim, with node
    affinity for the real node. Returns (PersistentVolumes, claim name -> directory)."""
    volumes, dirs = [], {}
    for claim in claims:
        meta = claim["metadata"]
        path = prepare_volume_dir(root / meta["name"], fs_group)
        dirs[meta["name"]] = path
        volumes.append(
            hostpath_volume(
                f"{meta['namespace']}-{meta['name']}", claim, path, node_labels={NODE_LABEL: "true"}, labels=labels
            )
        )
    return volumes, dirs


def bind_claims(
    kubectl: Kubectl, ns: Namespace, volumes: Sequence[Mapping[str, Any]], claims: Sequence[Mapping[str, Any]]
) -> None:
    """Apply the PersistentVolumes (cluster-scoped) and the claims (in ``ns``) that
    :func:`hostpath_volumes` made, and wait until each claim is Bound to its own volume."""
    for pv in volumes:
        kubectl("apply", "--server-side", "--field-manager=e2e", "-f", "-", input=json.dumps(pv))
    for claim in claims:
        ns.apply(claim)

    def bound() -> bool:
        return all(
            (ns.get("pvc", c["metadata"]["name"]) or {}).get("status", {}).get("phase") == "Bound" for c in claims
        )

    wait_for("the claims to bind to their hostPath volumes", bound, 60, interval=0.5)
    for claim in claims:
        pvc = ns.get("pvc", claim["metadata"]["name"]) or {}
        assert pvc["spec"]["volumeName"] == f"{ns.name}-{claim['metadata']['name']}", pvc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m support.django_node", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    vol = sub.add_parser("volumes", help="make the claims' directories; print PersistentVolumes and claims")
    vol.add_argument("--namespace", default="django")
    vol.add_argument("--root", type=Path, required=True, help="a new directory per claim is made under it")
    app = sub.add_parser("app", help="print the WsgiApp (django_app) for --namespace and --host")
    app.add_argument("--namespace", default="django")
    app.add_argument("--host", required=True)
    args = parser.parse_args(argv)
    if args.command == "app":
        json.dump(django_app(args.namespace, args.host), sys.stdout, indent=2)
        print()
        return 0
    claims = example_claims(args.namespace)
    identity = pod_identity(django_app(args.namespace, "django.example.com"))
    volumes, _ = hostpath_volumes(claims, args.root.resolve(), identity.fs_group)
    json.dump({"apiVersion": "v1", "kind": "List", "items": [*volumes, *claims]}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
