"""One-use socket tickets: the way a browser opens a socket without a credential in the URL.

The caller proves who it is over HTTP (header or cookie), gets an opaque ticket, and
opens the socket with `?ticket=`. The handshake consumes the ticket (DELETE ...
RETURNING: one use, whichever process serves the socket); an unused one expires after
TICKET_TTL_S. Only a hash is stored, so the table's contents open nothing.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sodam.core.security import hash_token
from sodam.db.session import raw_pool

TICKET_TTL_S = 60


async def issue(kind: str, claims: dict[str, Any]) -> str:
    """A new ticket of this kind carrying these claims (dropping long-expired ones on the way)."""
    ticket = "skt_" + secrets.token_urlsafe(24)
    pool = await raw_pool()
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO socket_tickets (ticket_hash, kind, claims, expires_at)"
            " VALUES (%s, %s, %s::jsonb, now() + make_interval(secs => %s))",
            (hash_token(ticket), kind, json.dumps(claims), TICKET_TTL_S),
        )
        # Cheap housekeeping: the expired rows are few and indexed.
        await conn.execute("DELETE FROM socket_tickets WHERE expires_at < now() - interval '5 minutes'")
    return ticket


async def redeem(kind: str, ticket: str | None) -> dict[str, Any] | None:
    """The claims of a valid ticket of this kind, consuming it; None if unknown, used or expired."""
    if not ticket or len(ticket) > 100:
        return None
    pool = await raw_pool()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM socket_tickets WHERE ticket_hash = %s RETURNING kind, claims, expires_at > now()",
            (hash_token(ticket),),
        )
        row = await cur.fetchone()
    if row is None or row[0] != kind or not row[2]:
        return None
    return row[1]
