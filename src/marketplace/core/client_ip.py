"""The client's address: the direct peer, or `X-Forwarded-For` when the peer is a
trusted proxy (walking right to left past every trusted hop).

Addresses come out normalised (`ipaddress` text form, IPv4-mapped IPv6 as IPv4), so
that one client has one spelling in limits, blocks, rules and logs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# One IPv6 subscriber usually holds a whole /64; limiting single addresses in it
# would let one client rotate through 2^64 identities.
IPV6_LIMIT_PREFIX = 64


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


# Parsing costs microseconds and every request needs it several times (limits, rules,
# blocks) for the few addresses that are active at once: remembered, bounded.
@lru_cache(maxsize=4096)
def parse_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)


def resolve_client_ip(scope: Scope, trusted: tuple[Network, ...]) -> str | None:
    client = scope.get("client")
    if not client:
        return None
    peer = parse_address(str(client[0]))
    if peer is None:
        return str(client[0])  # not an IP (a unix socket path, a test client name)
    if not trusted or not _is_trusted(peer, trusted):
        return str(peer)
    forwarded = Headers(scope=scope).getlist("x-forwarded-for")
    hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
    if not hops:
        return str(peer)
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return str(peer)  # a forged or broken header: trust only what we saw
        if not _is_trusted(address, trusted):
            return str(address)
    # Every hop is one of our proxies: the leftmost is the closest we know to the client.
    leftmost = parse_address(hops[0])
    return str(leftmost) if leftmost is not None else str(peer)


def client_ip(scope: Scope) -> str | None:
    """The address resolved by the client-address middleware for this request."""
    state = scope.get("state", {})
    if "client_ip" in state:
        value = state["client_ip"]
        return str(value) if value is not None else None
    client = scope.get("client")
    return str(client[0]) if client else None


@lru_cache(maxsize=4096)
def limit_key(ip: str) -> str:
    """The identity that per-address limits and blocks count: the address itself for
    IPv4, its /64 network for IPv6."""
    address = parse_address(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_LIMIT_PREFIX), strict=False))
    return str(address) if address is not None else ip
