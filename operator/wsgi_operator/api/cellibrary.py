"""The subset of the Kubernetes CEL libraries the rules use, on plain Python values.

The API server's CEL environment adds libraries to standard CEL
(k8s.io/apiserver pkg/cel/library): the rules here use ``quantity()`` with
``compareTo()``, and the CIDR library (``isCIDR``, ``cidr``, ``containsCIDR``,
``prefixLength``, ``masked``). Each function takes and returns plain values
(str, int, bool, float, ``Cidr``) and raises ValueError or TypeError where CEL
gives an evaluation error. celcompile.py calls them; the tests' cel-python
reference (tests/support/celpy_reference.py) wraps the same functions.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

_SUFFIX = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")


def quantity_value(text: str) -> float:
    """The number a Kubernetes quantity string stands for ("512Mi" -> 536870912.0)."""
    match = _QUANTITY.match(text)
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


class Cidr:
    """A value of the Kubernetes CEL library's CIDR type (k8s.io/apiserver pkg/cel/library/cidr.go):
    an address and a prefix length, as Go's netip.Prefix; equal when both are."""

    def __init__(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, bits: int) -> None:
        self.address = address
        self.bits = bits
        self.network = ipaddress.ip_network((address, bits), strict=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cidr) and (self.address, self.bits) == (other.address, other.bits)

    def __hash__(self) -> int:
        return hash((self.address, self.bits))


#: What Go's netip.ParsePrefix reads: an address, '/', a prefix length without leading zeros.
_PREFIX = re.compile(r"^([0-9a-fA-F:.]+)/(0|[1-9][0-9]{0,2})$")


def parse_cidr(text: str) -> Cidr:
    """``cidr(text)`` of the Kubernetes CEL library: netip.ParsePrefix, IPv4-mapped IPv6 refused.
    ValueError when it does not parse (an evaluation error in CEL)."""
    match = _PREFIX.match(str(text))
    if not match:
        raise ValueError(f"not a CIDR: {text!r}")
    # ipaddress, like netip, refuses IPv4 octets with leading zeros; a zone ('%') cannot match _PREFIX.
    address = ipaddress.ip_address(match.group(1))
    bits = int(match.group(2))
    if bits > address.max_prefixlen:
        raise ValueError(f"prefix length out of range: {text!r}")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    return Cidr(address, bits)


def _string(value: Any) -> str:
    # The library's overloads take a CEL string: anything else is "no such overload".
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _cidr_arg(value: Any) -> Cidr:
    return value if isinstance(value, Cidr) else parse_cidr(_string(value))


def is_cidr(text: Any) -> bool:
    """``isCIDR(string)``."""
    try:
        parse_cidr(_string(text))
    except ValueError:
        return False
    return True


def contains_cidr(outer: Any, inner: Any) -> bool:
    """``cidr.containsCIDR(cidr|string)``: Overlaps and a prefix no longer than the other's
    (other lies inside cidr, same family)."""
    outer, other = _cidr_arg(outer), _cidr_arg(inner)
    same_family = outer.network.version == other.network.version
    return same_family and outer.bits <= other.bits and other.network.subnet_of(outer.network)  # type: ignore[arg-type]


def masked(value: Any) -> Cidr:
    """``cidr.masked()``: the prefix with the host bits cleared."""
    c = _cidr_arg(value)
    return Cidr(c.network.network_address, c.bits)


def compare_to(a: Any, b: Any) -> int:
    """``quantity.compareTo(quantity)``: -1, 0 or 1."""
    if not isinstance(a, float) or not isinstance(b, float):
        raise TypeError("compareTo takes two quantities")
    return (a > b) - (a < b)


#: Global functions (``name(args)``) of the library.
FUNCTIONS = {
    "quantity": lambda text: quantity_value(_string(text)),
    "isCIDR": is_cidr,
    "cidr": lambda text: parse_cidr(_string(text)),
}

#: Member functions (``receiver.name(args)``) of the library; the receiver is the first argument.
METHODS = {
    "compareTo": compare_to,
    "containsCIDR": contains_cidr,
    "prefixLength": lambda c: _cidr_arg(c).bits,
    "masked": masked,
}
