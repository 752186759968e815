"""KakaoTalk 상담톡 / 알림톡 on the API channel

Revision ID: 0025
Revises: 0020
Create Date: 2026-12-02

- `kakao_channels`: an API inbox connected to a KakaoTalk channel profile (`sender_key`) through
  a dealer (딜러사): the dealer's API address and key, and the secret that signs its events.
- `kakao_sessions`: one row per (inbox, user_key): the 상담톡 session's state (opened, the
  user's last message, ended when and by whom, blocked).
- `kakao_events`: the dealer's events by `serial_number` (unique per inbox): a repeated event
  returns what the first one stored.
- `kakao_templates`: 알림톡 templates per inbox with `#{변수}` placeholders and their approval
  state as the dealer reports it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _inbox():
    return sa.Column(
        "inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False
    )


def _created():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "kakao_channels",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        _inbox(),
        sa.Column("sender_key", sa.String(80), nullable=False),
        sa.Column("dealer_url", sa.String(500), nullable=False),
        sa.Column("dealer_api_key", sa.String(200), nullable=False),
        sa.Column("inbound_secret", sa.String(80), nullable=False),
        _created(),
        sa.UniqueConstraint("inbox_id", name="uq_kakao_channels_inbox"),
        sa.UniqueConstraint("sender_key", name="uq_kakao_channels_sender_key"),
    )
    op.create_table(
        "kakao_sessions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        _inbox(),
        sa.Column("user_key", sa.String(120), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("opened_at", sa.DateTime(timezone=True)),
        sa.Column("last_user_message_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("ended_by", sa.String(20)),
        sa.Column("blocked", sa.Boolean(), server_default="false", nullable=False),
        _created(),
        sa.UniqueConstraint("inbox_id", "user_key", name="uq_kakao_sessions_inbox_user"),
    )
    op.create_index("ix_kakao_sessions_contact", "kakao_sessions", ["contact_id"])
    op.create_table(
        "kakao_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        _inbox(),
        sa.Column("serial_number", sa.String(80), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("conversation_id", sa.BigInteger()),
        sa.Column("message_id", sa.BigInteger()),
        _created(),
        sa.UniqueConstraint("inbox_id", "serial_number", name="uq_kakao_events_inbox_serial"),
    )
    op.create_table(
        "kakao_templates",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        _inbox(),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("buttons", JSONB(), server_default="[]", nullable=False),
        sa.Column("status", sa.String(20), server_default="registered", nullable=False),
        sa.Column("reject_reason", sa.String(500)),
        sa.Column("synced_at", sa.DateTime(timezone=True)),
        _created(),
        sa.UniqueConstraint("inbox_id", "code", name="uq_kakao_templates_inbox_code"),
    )
    for table in ("kakao_channels", "kakao_sessions", "kakao_events", "kakao_templates"):
        op.create_index(f"ix_{table}_workspace_id", table, ["workspace_id"])


def downgrade() -> None:
    for table in ("kakao_templates", "kakao_events", "kakao_sessions", "kakao_channels"):
        op.drop_table(table)
