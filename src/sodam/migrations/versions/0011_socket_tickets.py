"""socket tickets: short-lived, one-use credentials for opening a WebSocket

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02

Browsers cannot set headers on a WebSocket handshake, so the credential used to
travel in the URL (?access_token=, ?visitor=), and URLs end up in logs. A ticket
is fetched over HTTP with the credential in a header, lives 60 seconds and is
consumed by the handshake. UNLOGGED: a crash loses only tickets nobody has used
yet, and clients fetch a new one when they reconnect.
"""

from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE socket_tickets (
            ticket_hash text PRIMARY KEY,
            kind text NOT NULL,
            claims jsonb NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_socket_tickets_expires_at ON socket_tickets (expires_at)")


def downgrade() -> None:
    op.execute("DROP TABLE socket_tickets")
