"""The operator's RBAC rules, generated from the table of kinds (``wsgi_operator.kinds``). Pure.

Two shapes, as `wsgi-operator rbac [--namespaced]` prints them and the Helm
chart installs them (charts/wsgi-operator/files/rbac/, checked by
tests/unit/test_chart.py):

- cluster-wide: ``clusterRole``, every rule, bound with a ClusterRoleBinding;
- namespaced: ``role``, put in each watched namespace with a RoleBinding, and
  ``clusterRole``, what is needed cluster-wide on top: nothing, since kopf's
  scanning (the CRD watch) is off in namespaced mode.
"""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from .kinds import Permission, permissions

#: The order verbs are listed in (kubectl's), so the generated rules are stable.
_VERB_ORDER = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")

Rule = dict[str, list[str]]


def rules(perms: Iterable[Permission]) -> list[Rule]:
    """PolicyRules granting exactly ``perms``: one rule per API group and set of verbs, in first-seen order."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for p in perms:
        verbs.setdefault((p.group, p.resource), set()).update(p.verbs)
    merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), vs in verbs.items():
        ordered = tuple(sorted(vs, key=_VERB_ORDER.index))
        merged.setdefault((group, ordered), []).append(resource)
    return [
        {"apiGroups": [group], "resources": resources, "verbs": list(vs)} for (group, vs), resources in merged.items()
    ]


def clusterwide() -> dict[str, list[Rule]]:
    """Cluster-wide mode: one ClusterRole."""
    return {"clusterRole": rules(permissions())}


def namespaced() -> dict[str, list[Rule]]:
    """Namespaced mode: a Role for each watched namespace, and the ClusterRole needed besides (none)."""
    # kopf's scanning (the CRD watch, the namespace list) is off in namespaced
    # mode (controller/handlers.py): it only watches the namespaces it is given.
    return {"role": rules(p for p in permissions() if not p.clusterwide_only), "clusterRole": []}


def rbac_yaml(namespaced_mode: bool = False) -> str:
    """What `wsgi-operator rbac [--namespaced]` prints: the rules as YAML, with a header saying where they go."""
    if namespaced_mode:
        header = (
            "# RBAC of `wsgi-operator run --namespace NS[,NS]` (`wsgi-operator rbac --namespaced`):\n"
            "# `role` goes into a Role bound in every watched namespace; `clusterRole` is what\n"
            "# is needed cluster-wide besides (empty: nothing).\n"
        )
        body = namespaced()
    else:
        header = (
            "# RBAC of `wsgi-operator run` watching every namespace (`wsgi-operator rbac`):\n"
            "# `clusterRole` goes into a ClusterRole bound with a ClusterRoleBinding.\n"
        )
        body = clusterwide()
    return header + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=1000)
