"""Which annotation (and pod label) keys a spec may pass through to the objects the operator creates.

A WsgiApp author may annotate the pods, the Service, the Ingress and the
ServiceAccount, and the operator then writes those objects with its own rights.
Some keys are not metadata but configuration read by something more powerful
than the author: the kubelet and the container runtime (AppArmor, seccomp,
devices), a mesh's injector (volumes and images added to the pod after the
operator rendered it), or an ingress controller (configuration code run with
the controller's rights over every host it serves). Others belong to the
operator itself or to kubectl, and a value in the spec would fight them.

Each refused class is one ``KeyClass``: a regular expression matched against
the whole key, case-insensitively, and the reason given to the author. The
classes become CEL rules on the model that holds the map (``annotation_rules``),
so the API server refuses them when it admits the WsgiApp and
``wsgi-operator validate`` refuses the same keys offline. docs/hardening.md
("What a WsgiApp author cannot do") lists them.

The patterns are RE2 (the API server, and google-re2 offline: celcompile.py),
written without backslashes (a literal dot is ``[.]``) and without lookaround.
Every key must also be a qualified name ([prefix/]name, as the API server
requires of annotation keys), so a variant with a space or an upper-case
prefix cannot slip past a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import QUALIFIED_NAME, Rule

#: The most keys an annotation map of the spec may hold (bounds the CEL rules' cost too).
MAX_ANNOTATIONS = 64


@dataclass(frozen=True)
class KeyClass:
    """A class of refused keys."""

    id: str
    title: str
    #: Regular expressions, any of which refuses a key (matched with (?i)).
    patterns: tuple[str, ...]
    #: Why it is refused and what to do instead, shown to the author.
    reason: str

    @property
    def regex(self) -> str:
        return "(?i)(" + "|".join(self.patterns) + ")"


OPERATOR_OWN = KeyClass(
    "operator",
    "keys of the operator's own domain (wsgi-operator.io and its subdomains)",
    ("^([a-z0-9-]+[.])*wsgi-operator[.]io/",),
    "the operator writes these itself (the config hash and restartedAt on the pod template, kopf's state "
    "under operator.wsgi-operator.io, the labels that select the pods for the Service and the NetworkPolicies); "
    "a value from the spec would override or forge them",
)
KUBECTL = KeyClass(
    "kubectl",
    "kubectl's keys (kubectl.kubernetes.io/*)",
    ("^kubectl[.]kubernetes[.]io/",),
    "kubectl keeps its own state there (last-applied-configuration, restartedAt of `kubectl rollout restart`); "
    "a fixed value in the spec would fight kubectl apply and undo restarts",
)
SECURITY_PROFILE = KeyClass(
    "security-profile",
    "AppArmor and seccomp annotations (container.apparmor.security.beta.kubernetes.io/*, "
    "seccomp.security.alpha.kubernetes.io/pod, container.seccomp.security.alpha.kubernetes.io/*)",
    ("^([a-z0-9-]+[.])*security[.](alpha|beta)[.]kubernetes[.]io/",),
    "they can switch the pod's confinement to unconfined; the operator sets seccompProfile RuntimeDefault in "
    "the securityContext and the node's default AppArmor profile applies",
)
RUNTIME = KeyClass(
    "runtime",
    "container runtime and device injection annotations (io.kubernetes.cri-o.*, *.crio.io, io.containerd.*, "
    "io.katacontainers.*, run.oci.*, dev.gvisor.*, cdi.k8s.io/*, *.nri.io/*)",
    (
        "^io[.]kubernetes[.]cri-o[.]",
        "^io[.]kubernetes[.]cri[.]",
        "(^|[.])(crio|cri-o)[.]io(/|$)",
        "^io[.]containerd[.]",
        "^io[.]katacontainers[.]",
        "^run[.]oci[.]",
        "^dev[.]gvisor[.]",
        "^cdi[.]k8s[.]io/",
        "(^|[.])nri[.]io/",
    ),
    "the container runtime reads them below Kubernetes (devices, host mounts, cgroups, user namespaces, "
    "seccomp, the sandbox's hypervisor) where neither the securityContext nor Pod Security admission sees them",
)
SIDECAR_INJECTION = KeyClass(
    "sidecar-injection",
    "service mesh injection overrides (sidecar.istio.io/userVolume, userVolumeMount, proxyImage, "
    "bootstrapOverride; config.linkerd.io/proxy-image, init-image, debug-image, enable-debug-sidecar)",
    (
        "^sidecar[.]istio[.]io/(userVolume|userVolumeMount|proxyImage|bootstrapOverride)$",
        "^config[.]linkerd[.]io/(proxy-image|init-image|debug-image|enable-debug-sidecar)$",
    ),
    "they make the mesh's injector add volumes (hostPath included), images or sidecars to the pod after the "
    "operator rendered and checked it; the mesh's own defaults apply",
)
CONTROLLER_CONFIG = KeyClass(
    "controller-config",
    "ingress controller configuration code (any *snippet* key such as nginx.ingress.kubernetes.io/"
    "configuration-snippet, server-snippet, auth-snippet, nginx.org/server-snippets, haproxy.org/"
    "backend-config-snippet; haproxy-ingress config-*; Skipper filters, predicates and routes; "
    "nginx.ingress.kubernetes.io/mirror-*)",
    (
        "(^|/)[^/]*snippet[^/]*$",
        "^(haproxy-ingress[.]github[.]io|ingress[.]kubernetes[.]io)/config-",
        "^zalando[.]org/skipper-(filter|predicate|routes)$",
        "^nginx[.]ingress[.]kubernetes[.]io/mirror-",
    ),
    "the controller pastes them into its own configuration and runs them with its rights over every host "
    "it serves and, for ingress-nginx, its Secrets (CVE-2021-25742, CVE-2025-1974); mirroring copies every "
    "request, credentials included, to another address. Ask the cluster's operators for a controller-wide "
    "setting instead",
)
INGRESS_CLASS = KeyClass(
    "ingress-class",
    "the deprecated kubernetes.io/ingress.class annotation",
    ("^kubernetes[.]io/ingress[.]class$",),
    "set spec.ingress.className instead (the API server refuses an Ingress whose annotation and className differ)",
)

#: The refused classes of each annotation map of the spec, by field.
POD_ANNOTATIONS = (OPERATOR_OWN, KUBECTL, SECURITY_PROFILE, RUNTIME, SIDECAR_INJECTION)
SERVICE_ANNOTATIONS = (OPERATOR_OWN, KUBECTL, CONTROLLER_CONFIG)
INGRESS_ANNOTATIONS = (OPERATOR_OWN, KUBECTL, CONTROLLER_CONFIG, INGRESS_CLASS)
SERVICE_ACCOUNT_ANNOTATIONS = (OPERATOR_OWN, KUBECTL)

#: Pod labels the renderer sets itself, besides the operator's domain.
OPERATOR_POD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
)


def annotation_rules(field: str, where: str, classes: tuple[KeyClass, ...]) -> tuple[Rule, ...]:
    """CEL rules for the annotation map ``self.<field>`` (reported as ``where``):
    qualified-name keys, and none of ``classes``."""
    rules = [
        Rule(
            f"self.{field}.all(k, k.matches('{QUALIFIED_NAME}'))",
            f"{where} keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            f".{field}",
        )
    ]
    rules += [
        Rule(
            f"self.{field}.all(k, !k.matches('{c.regex}'))",
            f"{where} must not set {c.title}: {c.reason}",
            f".{field}",
        )
        for c in classes
    ]
    return tuple(rules)


def pod_label_rules(field: str, where: str) -> tuple[Rule, ...]:
    """CEL rule for the pod labels ``self.<field>``: none the operator sets itself."""
    own = "[" + ", ".join(f"'{k}'" for k in OPERATOR_POD_LABELS) + "]"
    return (
        Rule(
            f"self.{field}.all(k, !k.matches('{OPERATOR_OWN.regex}') && !(k in {own}))",
            f"{where} must not set the labels the operator sets (wsgi-operator.io/*, "
            + ", ".join(OPERATOR_POD_LABELS)
            + "): they select the pods for the Service, the NetworkPolicies and the release Job's policy; "
            "set app.kubernetes.io/part-of on the WsgiApp's own labels",
            f".{field}",
        ),
    )
