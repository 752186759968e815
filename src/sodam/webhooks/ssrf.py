"""Where a webhook may be sent: http(s) to a public address, unless an operator allows a
network (SODAM_WEBHOOK_ALLOW_NETWORKS). Checked when a URL is saved and again before every
try (a name may resolve elsewhere later)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from sodam.core.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=16)
def allowed_networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in raw.split(",") if n.strip())


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def address_allowed(address: Address, allow: str) -> bool:
    """Public addresses, or ones inside an allowed network."""
    return _public(address) or any(address in net for net in allowed_networks(allow))


def check_shape(url: str) -> tuple[str, int]:
    """http(s), a host, no credentials in the URL; returns (host, port). 422 otherwise."""
    if not isinstance(url, str) or len(url) > 2000 or any(c.isspace() or c == "\x00" for c in url):
        raise Invalid("the URL is not valid", code="invalid_url")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # "Invalid IPv6 URL" and the like
        raise Invalid("the URL is not valid", code="invalid_url") from exc
    if parts.scheme not in ("http", "https"):
        raise Invalid("only http and https URLs can receive webhooks", code="invalid_url_scheme")
    if not hostname:
        raise Invalid("the URL has no host", code="invalid_url")
    if parts.username or parts.password:
        raise Invalid("put no credentials in the URL: deliveries are signed", code="url_credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Invalid("the URL's port is not valid", code="invalid_url") from exc
    return hostname, port


async def resolve(host: str, port: int) -> list[Address]:
    """Every address the host name stands for (an IP literal: itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):  # unknown name; a name no resolver accepts (IDNA, NUL)
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


async def check_url(url: str, *, allow: str) -> None:
    """Refuse (422 url_not_allowed) a URL whose host is, or resolves to, a non-public address."""
    host, port = check_shape(url)
    addresses = await resolve(host, port)
    if not addresses:
        raise Invalid("the URL's host name does not resolve", code="url_unresolvable", details={"host": host})
    refused = [str(a) for a in addresses if not address_allowed(a, allow)]
    if refused:
        raise Invalid(
            "webhooks cannot be sent to loopback, private, link-local or reserved addresses",
            code="url_not_allowed",
            details={"host": host, "addresses": refused},
        )
