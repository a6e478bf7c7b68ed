"""Generated WsgiApp specs for the differential test: offline validation against the API server.

Each spec is a valid base manifest with one field set to a value chosen from
the field's own schema in the generated CRD: its boundaries and one past them,
its enum members and a near miss, its default, values of the wrong JSON type,
strings that break patterns (empty, too long, upper case, shell and YAML
metacharacters, a newline) and null. Fields the base does not have are
created (with an item 0 for lists), so optional sub-objects are reached too.
Half the time a field is set in a base that already has the object around it
(``PASS_THROUGH_SPEC`` has every typed Kubernetes object the spec passes through,
valid), so a value deep in an affinity term or a selector is judged next to
valid siblings rather than next to missing required fields. Generation is
seeded: the same seed gives the same specs on every machine.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from invalid_specs import base_manifest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"

#: Strings that break patterns, lengths and formats in different ways.
STRINGS = (
    "",
    "x",
    "UPPER",
    "a-b",
    "a.b",
    "a_b",
    "-lead",
    "trail-",
    "a" * 64,
    "a" * 254,
    "with space",
    "new\nline",
    "$(id)",
    "${HOME}",
    "`id`",
    "semi;colon",
    'quo"te',
    "back\\slash",
    "/abs/path",
    "rel/path",
    "../up",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "1.2.3.4",
    "::/0",
    "100m",
    "1Gi",
    "1.5",
    "-1",
    "yes",
    "true",
    "http",
    "TCP",
    "Always",
    "☃",
    "example.com",
    "a:b",
    "key=value",
)
#: A spec patch that sets every Kubernetes object the WsgiApp passes through (env sources,
#: scheduling, NetworkPolicy peers) to a valid value, each field of each type used at least once.
PASS_THROUGH_SPEC: dict[str, Any] = {
    "env": [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_ZONE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['zone']"}}},
        {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
        {
            "name": "FEATURES",
            "valueFrom": {"configMapKeyRef": {"name": "shop-flags", "key": "features", "optional": True}},
        },
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "password"}}},
    ],
    "envFrom": [
        {"prefix": "SHOP_", "configMapRef": {"name": "shop-settings"}},
        {"secretRef": {"name": "shop-secrets", "optional": True}},
    ],
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
    ],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}
                        ],
                        "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["node-1"]}],
                    }
                ]
            },
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 50,
                    "preference": {
                        "matchExpressions": [{"key": "example.com/cpu-gen", "operator": "Gt", "values": ["3"]}]
                    },
                }
            ],
        },
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "topology.kubernetes.io/zone",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "cache"}},
                    "namespaces": ["shop"],
                }
            ],
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 10,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
                        "namespaceSelector": {"matchLabels": {"team": "shop"}},
                        "mismatchLabelKeys": ["tenant"],
                    },
                }
            ],
        },
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {
                        "matchExpressions": [{"key": "wsgi-operator.io/app", "operator": "In", "values": ["shop"]}]
                    },
                    "matchLabelKeys": ["pod-template-hash"],
                }
            ],
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "topology.kubernetes.io/zone",
                        "labelSelector": {"matchLabels": {"wsgi-operator.io/app": "shop"}},
                    },
                }
            ],
        },
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "minDomains": 2,
            "labelSelector": {"matchLabels": {"wsgi-operator.io/app": "shop"}},
            "matchLabelKeys": ["pod-template-hash"],
            "nodeAffinityPolicy": "Honor",
            "nodeTaintsPolicy": "Ignore",
        },
        {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"},
    ],
    "networkPolicy": {
        "ingressFrom": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["prometheus"]}]},
            }
        ],
        "egressTo": [
            {"ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.1.0/24"]}, "ports": [{"port": 5432}]},
            {"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}},
            {"podSelector": {"matchLabels": {"app": "redis"}}, "ports": [{"port": 6379}]},
        ],
    },
}
#: A DNS subdomain of exactly 253 characters: the longest label key prefix.
PREFIX_253 = ".".join(["a" * 63] * 3 + ["a" * 61])
#: Valid spec patches next to the boundary of each rule of the pass-through types (unit
#: test_passthrough.py; the differential test sends them to the API server too).
PASS_THROUGH_NEAR_MISSES: dict[str, dict[str, Any]] = {
    "toleration-everything": {"tolerations": [{"operator": "Exists"}]},
    "toleration-empty-operator": {"tolerations": [{"key": "dedicated", "operator": "", "value": "web"}]},
    "toleration-equal-empty-value": {"tolerations": [{"key": "dedicated", "operator": "Equal"}]},
    "toleration-exists-empty-value": {"tolerations": [{"key": "dedicated", "operator": "Exists", "value": ""}]},
    "toleration-empty-effect": {"tolerations": [{"key": "dedicated", "operator": "Exists", "effect": ""}]},
    "toleration-negative-seconds": {
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": -1}]
    },
    "toleration-key-prefix-253": {"tolerations": [{"key": f"{PREFIX_253}/k", "operator": "Exists"}]},
    "spread-min-domains": {
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 1}
        ]
    },
    "spread-same-key-other-action": {
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"},
        ]
    },
    "spread-match-label-keys-empty-without-selector": {
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "matchLabelKeys": []}
        ]
    },
    "affinity-empty-parts": {"affinity": {"nodeAffinity": {}, "podAffinity": {}, "podAntiAffinity": {}}},
    "affinity-empty-term": {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}}
    },
    "affinity-lt-one-value": {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["9"]}]}]
                }
            }
        }
    },
    "affinity-weights-1-and-100": {
        "affinity": {
            "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}]},
            "podAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
                ]
            },
        }
    },
    "affinity-mismatch-key-in-selector": {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"tenant": "a"}},
                        "mismatchLabelKeys": ["tenant"],
                    }
                ]
            }
        }
    },
    "peer-selectors-everything": {
        "networkPolicy": {"egressTo": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": []}}]}
    },
    "peer-selector-not-in": {
        "networkPolicy": {
            "ingressFrom": [
                {"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x", ""]}]}}
            ]
        }
    },
    "peer-selector-key-prefix-253": {
        "networkPolicy": {"ingressFrom": [{"podSelector": {"matchLabels": {f"{PREFIX_253}/app": "x"}}}]}
    },
    "peer-cidr-one-address": {"networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "10.20.30.40/32"}}]}},
    "peer-cidr-everything-but-one": {
        "networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}
    },
    "peer-cidr-ipv6": {
        "networkPolicy": {
            "egressTo": [{"ipBlock": {"cidr": "2001:DB8::/32", "except": ["2001:db8:ffff::/48", "2001:db8::1/128"]}}]
        }
    },
    "peer-cidr-ipv6-full-form": {"networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "2001:db8:0:0:0:0:0:0/32"}}]}},
    "env-field-annotation-any-case": {
        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['Example.com/Team']"}}}]
    },
    "env-field-label-prefix-253": {
        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{PREFIX_253}/x']"}}}]
    },
    "env-field-status-pod-ips": {"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.podIPs"}}}]},
    "env-resource-hugepages": {
        "env": [
            {"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "requests.hugepages-2Mi", "divisor": "1Mi"}}},
            {"name": "B", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Gi"}}},
            {
                "name": "C",
                "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1", "containerName": ""}},
            },
        ]
    },
    "env-secret-key-dot-prefix": {"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": ".pw"}}}]},
    "env-from-prefix-only-dots": {"envFrom": [{"prefix": "shop.", "secretRef": {"name": "db"}}]},
    "resources-extended": {
        "resources": {
            "requests": {"cpu": "100m", "example.com/gpu": "1"},
            "limits": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "1Gi", "example.com/gpu": "1"},
        }
    },
    "resources-extended-limit-only": {"resources": {"limits": {"memory": "512Mi", "example.com/fpga": "2k"}}},
    "resources-ephemeral-storage-equal": {
        "resources": {"requests": {"ephemeral-storage": "1Gi"}, "limits": {"ephemeral-storage": "1Gi", "cpu": "1"}}
    },
    "node-selector-prefix-253": {"nodeSelector": {f"{PREFIX_253}/zone": "a"}},
    "image-localhost-port": {"image": "localhost:5000/x:y"},
    "image-ipv6-registry": {"image": "[::1]:5000/shop/web:1"},
    "image-local": {"image": "local/wsgi-hello:dev"},
    "image-separators": {"image": "registry.example.com/a__b/c---d/e.f_g:V1.2-rc_3"},
    "image-tag-128": {"image": "shop/web:" + "a" * 128},
    "image-sha512": {"image": "shop/web@sha512:" + "0" * 128},
}
#: Values of every JSON type, for a field of another type.
WRONG_TYPES = ("3", 3, 1.5, True, [], {}, None)


@dataclass(frozen=True)
class Mutation:
    """One field of a base spec set to one value."""

    base: str
    path: tuple[str | int, ...]
    value: Any

    def field(self) -> str:
        """The field's path as the API server writes it: ``spec.a.b[0].c``."""
        return "spec" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)

    def describe(self) -> str:
        """``base: spec.a.b[0].c = value``."""
        return f"{self.base}: {self.field()} = {self.value!r}"


def _type(schema: Mapping[str, Any]) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    return str(schema.get("type", "object" if "properties" in schema else "any"))


def field_paths(schema: Mapping[str, Any], prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, dict]]:
    """Every (path, schema) of the spec schema, lists entered at item 0."""
    for key, sub in (schema.get("properties") or {}).items():
        path = (*prefix, key)
        yield path, sub
        if _type(sub) == "array" and isinstance(sub.get("items"), dict):
            yield (*path, 0), sub["items"]
            yield from field_paths(sub["items"], (*path, 0))
        elif "properties" in sub:
            yield from field_paths(sub, path)


def candidate_values(schema: Mapping[str, Any]) -> list[Any]:
    """Values worth trying in a field with ``schema``: valid ones and near misses."""
    kind = _type(schema)
    values: list[Any] = list(WRONG_TYPES)
    if "default" in schema:
        values.append(copy.deepcopy(schema["default"]))
    for member in schema.get("enum") or ():
        values += [member, f"{member}x"]
    if kind in ("integer", "number", "int-or-string"):
        low, high = schema.get("minimum"), schema.get("maximum")
        for bound in (low, high):
            if bound is not None:
                values += [bound, bound - 1, bound + 1]
        values += [0, 1, -1, 80, 8080, 65535, 65536, 3600, 2**31, 2**63 - 1]
    if kind in ("string", "int-or-string"):
        values += list(STRINGS)
        length = schema.get("maxLength")
        if length:
            values += ["a" * length, "a" * (length + 1)]
    if kind == "array":
        values += [[], ["a"], [1], [{}]]
    if kind == "object":
        values += [{}, {"unknown": 1}, {"a": "b"}, {"a": 1}]
    return values


def set_path(spec: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Set ``spec[path] = value``, creating dicts and an item 0 on the way."""
    node: Any = spec
    for here, nxt in itertools.pairwise(path):
        empty: Any = [] if isinstance(nxt, int) else {}
        if isinstance(here, int):
            if not isinstance(node, list):
                return
            if not node:
                node.append(empty)
            node = node[0]
        else:
            if not isinstance(node, dict):
                return
            if not isinstance(node.get(here), list if isinstance(nxt, int) else dict):
                node[here] = empty
            node = node[here]
    last = path[-1]
    if isinstance(last, int):
        if isinstance(node, list):
            node[:] = [value]
    elif isinstance(node, dict):
        node[last] = value


def has_parent(spec: Any, path: tuple[str | int, ...]) -> bool:
    """True when the object holding the last field of ``path`` exists in ``spec`` (lists at item 0)."""
    node = spec
    for part in path[:-1]:
        if isinstance(part, int):
            if not isinstance(node, list) or not node:
                return False
            node = node[0]
        else:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
    return isinstance(node, list if isinstance(path[-1], int) else dict)


def mutations(
    spec_schema: Mapping[str, Any], bases: Mapping[str, Mapping[str, Any]], count: int, seed: int
) -> list[tuple[Mutation, dict[str, Any]]]:
    """``count`` (mutation, manifest) pairs, drawn with ``seed`` over every field and base."""
    rng = random.Random(seed)
    fields = list(field_paths(spec_schema))
    out: list[tuple[Mutation, dict[str, Any]]] = []
    seen: set[str] = set()
    while len(out) < count:
        path, schema = rng.choice(fields)
        value = rng.choice(candidate_values(schema))
        around = [b for b in sorted(bases) if has_parent(bases[b]["spec"], path)]
        base = rng.choice(around if around and rng.random() < 0.5 else sorted(bases))
        mutation = Mutation(base, path, value)
        key = repr((base, path, value))
        if key in seen:
            continue
        seen.add(key)
        manifest = copy.deepcopy(dict(bases[base]))
        set_path(manifest["spec"], path, copy.deepcopy(value))
        out.append((mutation, manifest))
    return out


def bases() -> dict[str, dict[str, Any]]:
    """Valid manifests to mutate: the invalid table's base, the same with every pass-through
    Kubernetes object set, and every example WsgiApp."""
    out = {"base": base_manifest(), "pass-through": base_manifest(PASS_THROUGH_SPEC)}
    for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "WsgiApp":
                out[f"{path.stem}/{doc['metadata']['name']}"] = doc
    return out
