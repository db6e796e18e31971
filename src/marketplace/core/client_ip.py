"""The client's address: the direct peer, or `X-Forwarded-For` when the peer is a
trusted proxy (walking right to left past every trusted hop)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def resolve_client_ip(scope: Scope, trusted: tuple[Network, ...]) -> str | None:
    client = scope.get("client")
    peer = str(client[0]) if client else None
    if peer is None or not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = Headers(scope=scope).get("x-forwarded-for")
    if not forwarded:
        return peer
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a forged or broken header: trust only what we saw
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def client_ip(scope: Scope) -> str | None:
    """The address resolved by the client-address middleware for this request."""
    state = scope.get("state", {})
    if "client_ip" in state:
        value = state["client_ip"]
        return str(value) if value is not None else None
    client = scope.get("client")
    return str(client[0]) if client else None
