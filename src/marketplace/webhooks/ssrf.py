"""Server-side request forgery protection for webhook URLs.

A webhook URL is a request the platform makes on a tenant's behalf, so it must never
reach the platform's own network: loopback, private (RFC 1918, ULA), link-local,
CGNAT, multicast, reserved, unspecified and cloud metadata addresses are refused.
The check runs when an endpoint is registered or changed and again before every
delivery, and the delivery connects to exactly the address that was checked (pinned;
the Host header and TLS server name stay the URL's host), so a DNS answer that
changes between check and connect (DNS rebinding) cannot redirect it. Redirects are
never followed.

Rules:
- scheme `https`; `http` only in development (or for an allow-listed host);
- no user name or password; a host name or a canonical IP address (numeric hosts in
  other notations, such as `2130706433`, `0x7f000001` or `127.1`, are refused
  rather than guessed at: resolvers disagree about them);
- port 80, 443 or 1024-65535 (the privileged ports of other services are refused);
- every address the host resolves to must be public.

Hosts in WEBHOOK_ALLOWED_HOSTS skip the address rules (and may use http); the list is
honoured in development and test only, for receivers on the local machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from marketplace.core.i18n import _
from marketplace.settings import Environment, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT_SECONDS = 5.0

# Not public, whatever `is_global` says about them in this Python version.
_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local (fd00:ec2::254, the AWS IPv6 metadata address)
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
        "2001:db8::/32",  # documentation
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Hosts made of digits, dots and hex: an IP address, in some notation.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*$", re.IGNORECASE)
_ALLOWED_PORTS = (80, 443)
_MIN_UNPRIVILEGED_PORT = 1024


class UrlRefused(Exception):
    """The URL may not be used; `reason` is a translatable message id."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason if not detail else f"{reason} ({detail})")
        self.reason = reason
        self.detail = detail  # for the server log only: may name internal addresses


MUST_BE_HTTPS = _("The URL must start with https://.")
MUST_BE_HTTP_OR_HTTPS = _("The URL must start with https:// or http://.")
NO_CREDENTIALS = _("The URL must not contain a user name or password.")
NO_HOST = _("The URL must name a host.")
INVALID_URL = _("The URL is not valid.")
UNUSUAL_NOTATION = _("Write the URL's IP address in standard notation.")
BAD_PORT = _("The URL's port must be 80, 443 or between 1024 and 65535.")
# One message for "does not resolve" and "resolves to a private address", so that the
# check cannot be used to explore the platform's internal DNS names.
NOT_PUBLIC = _("The URL's host must resolve to a public internet address.")


@dataclass(frozen=True)
class WebhookUrl:
    """A syntactically acceptable webhook URL, before any DNS lookup."""

    url: str
    scheme: str
    host: str  # lower-case ASCII (IDNA), IPv6 without brackets
    port: int
    target: str  # path and query, what goes on the request line
    is_allow_listed: bool


@dataclass(frozen=True)
class CheckedTarget:
    url: WebhookUrl
    address: IPAddress  # the checked address to connect to


def allow_list(settings: Settings) -> frozenset[str]:
    if settings.environment is Environment.PRODUCTION:
        return frozenset()
    return frozenset(host.strip().lower().rstrip(".") for host in settings.webhook_allowed_hosts)


def parse_webhook_url(url: str, settings: Settings) -> WebhookUrl:
    """Every rule that needs no DNS; raises `UrlRefused`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UrlRefused(INVALID_URL, str(error)) from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused(MUST_BE_HTTP_OR_HTTPS if settings.is_development else MUST_BE_HTTPS)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused(NO_CREDENTIALS)
    host = _normalise_host(parts)
    allowed = host in allow_list(settings)
    if scheme == "http" and not (settings.is_development or allowed):
        raise UrlRefused(MUST_BE_HTTPS)
    if port is None:
        port = 443 if scheme == "https" else 80
    if not allowed and port not in _ALLOWED_PORTS and port < _MIN_UNPRIVILEGED_PORT:
        raise UrlRefused(BAD_PORT)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return WebhookUrl(
        url=url.strip(),
        scheme=scheme,
        host=host,
        port=port,
        target=target,
        is_allow_listed=allowed,
    )


def _normalise_host(parts: SplitResult) -> str:
    raw = parts.hostname
    if not raw:
        raise UrlRefused(NO_HOST)
    if any(character in raw for character in "%\\ \t\r\n"):
        raise UrlRefused(INVALID_URL)
    if ":" in raw:  # IPv6 literal (urlsplit removed the brackets)
        try:
            return str(ipaddress.IPv6Address(raw))
        except ValueError as error:
            raise UrlRefused(INVALID_URL, str(error)) from error
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise UrlRefused(INVALID_URL, str(error)) from error
    host = host.rstrip(".")
    if not host:
        raise UrlRefused(NO_HOST)
    if _NUMERIC_HOST.match(host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError as error:
            raise UrlRefused(UNUSUAL_NOTATION, host) from error
    return host


def is_public_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one is judged as that IPv4 address.
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
        if address.teredo is not None:
            return False
    if not address.is_global:
        return False
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    return not any(
        address.version == network.version and address in network for network in _BLOCKED_NETWORKS
    )


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, in the order the system resolver prefers them."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            answers = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
    except (OSError, TimeoutError, UnicodeError) as error:
        raise UrlRefused(NOT_PUBLIC, f"{host} does not resolve: {error!r}") from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UrlRefused(NOT_PUBLIC, f"{host} has no address")
    return addresses


async def check_webhook_url(url: str, settings: Settings) -> CheckedTarget:
    """Every rule, DNS included: the address to connect to, or `UrlRefused`. Every
    address of the host must be public (one private answer among public ones is
    refused too), unless the host is allow-listed."""
    parsed = parse_webhook_url(url, settings)
    addresses = await resolve(parsed.host, parsed.port)
    if not parsed.is_allow_listed:
        for address in addresses:
            if not is_public_address(address):
                raise UrlRefused(NOT_PUBLIC, f"{parsed.host} resolves to {address}")
    return CheckedTarget(url=parsed, address=addresses[0])
