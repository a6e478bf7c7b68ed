"""Identity and request-trust settings of the workload."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from .base import ApiModel, Cidr, HeaderName, Rule

#: UIDs/GIDs the guide forbids: root and the accounts shared with the rest of a
#: host (www-data, apache, nobody). Anything below 1000 is a system account too.
FORBIDDEN_IDS = (0, 33, 48, 65534)
_ID_RULE = "self >= 1000 && self != 65534"
#: IDs below this are warned about: the node's own users and groups live there
#: (login.defs UID_MIN 1000 and up), and checkov (CKV_K8S_40) asks for 10000+.
HIGH_ID = 10000
#: The pod runs in a user namespace: its IDs are not the node's.
_IN_USER_NAMESPACE = "(has(self.hostUsers) && !self.hostUsers)"


def _id(default: int | None, what: str) -> object:
    return Field(
        default,
        ge=1000,
        le=2_147_483_647,
        description=f"{what}. Must be a dedicated ID >= 1000, not 65534 (nobody); "
        "0 (root), 33 (www-data) and 48 (apache) are system accounts.",
    )


class SecuritySpec(ApiModel):
    """Who the daemon runs as and what it trusts."""

    run_as_user: int = _id(10001, "UID of every process in the pod")
    run_as_group: int = _id(10001, "Primary GID of every process in the pod")
    fs_group: int | None = _id(None, "GID owning writable volumes (defaults to runAsGroup)")
    supplemental_groups: list[Annotated[int, Field(ge=1000, le=2_147_483_647)]] = Field(
        default_factory=list,
        max_length=16,
        description="Extra groups for the daemon (the guide's supplementary-groups=), e.g. to "
        "read a shared socket directory. IDs >= 1000, not 65534.",
    )
    # The last digit must mask "others may write" (2): no world-writable files.
    umask: Annotated[str, StringConstraints(pattern=r"^0?[0-7]{2}[2367]$")] = Field(
        "0027",
        description="umask of the server and daemon processes: 0027 makes new files 0640. It must keep "
        "files from being world-writable (last digit 2, 3, 6 or 7).",
    )
    host_users: bool | None = Field(
        None,
        description="Pod hostUsers. false runs the pod in a user namespace (needs node support); "
        "unset leaves the cluster default.",
    )
    pass_authorization: bool = Field(
        False,
        description="Pass the Authorization header to the application (WSGIPassAuthorization). "
        "Off by default: only apps that authenticate requests themselves need it.",
    )
    trusted_proxies: list[Cidr] = Field(
        default_factory=list,
        max_length=32,
        description="--trust-proxy: IPs/CIDRs of the proxies (ingress controller) allowed to set trustedProxyHeaders.",
    )
    trusted_proxy_headers: list[HeaderName] = Field(
        default_factory=list,
        max_length=16,
        description="--trust-proxy-header: e.g. X-Forwarded-For, X-Forwarded-Proto. Needs "
        "trustedProxies, or every client could spoof them.",
    )
    allow_debug_env: bool = Field(
        False,
        description="Allow framework debug switches (DJANGO_DEBUG, FLASK_DEBUG, ...) in env. "
        "Debug pages leak source and secrets; leave false in production.",
    )

    cel_rules = (
        Rule(
            "self.trustedProxies.all(p, !p.matches('/[0-7]$'))",
            "spec.security.trustedProxies must not contain ranges wider than /8: that trusts a large part of "
            "the Internet (two /1 ranges are a /0); list the ingress controller's addresses",
            ".trustedProxies",
        ),
        Rule(
            "size(self.trustedProxyHeaders) == 0 || size(self.trustedProxies) > 0",
            "spec.security.trustedProxyHeaders needs spec.security.trustedProxies: without "
            "trusted proxies every client could spoof the headers",
            ".trustedProxyHeaders",
        ),
        Rule(
            "self.runAsUser != 65534",
            "spec.security.runAsUser must not be 65534 (nobody): use a dedicated UID >= 1000",
            ".runAsUser",
        ),
        Rule(
            "self.runAsGroup != 65534",
            "spec.security.runAsGroup must not be 65534 (nogroup): use a dedicated GID >= 1000",
            ".runAsGroup",
        ),
        Rule(
            "!has(self.fsGroup) || self.fsGroup != 65534",
            "spec.security.fsGroup must not be 65534 (nogroup): use a dedicated GID >= 1000",
            ".fsGroup",
        ),
        Rule(
            "self.supplementalGroups.all(g, g != 65534)",
            "spec.security.supplementalGroups must not contain 65534 (nogroup)",
            ".supplementalGroups",
        ),
        Rule.warning(
            f"self.runAsUser >= {HIGH_ID} || {_IN_USER_NAMESPACE}",
            f"below {HIGH_ID}, the range of the node's own users: a process that escapes the container acts as "
            f"that user on the node; use a UID >= {HIGH_ID} (the default is 10001) or hostUsers: false",
            ".runAsUser",
        ),
        Rule.warning(
            f"(self.runAsGroup >= {HIGH_ID} && (!has(self.fsGroup) || self.fsGroup >= {HIGH_ID}))"
            f" || {_IN_USER_NAMESPACE}",
            f"runAsGroup or fsGroup below {HIGH_ID}, the range of the node's own groups: a process that escapes the "
            f"container gets that group's files on the node; use GIDs >= {HIGH_ID} or hostUsers: false",
        ),
    )


#: Environment variables that switch on framework debug pages.
DEBUG_ENV_NAMES = (
    "DEBUG",
    "DJANGO_DEBUG",
    "FLASK_DEBUG",
    "FLASK_ENV",
    "WERKZEUG_DEBUG_PIN",
    "PYRAMID_DEBUG_ALL",
    "BOTTLE_DEBUG",
    "FALCON_DEBUG",
)
