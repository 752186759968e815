"""the phone line: phone inboxes, their lines (IVR tree, the provider's auth token), calls,
answered webhook steps, incident announcements and callbacks (전화 예약)

Revision ID: 0026
Revises: 0020
Create Date: 2026-12-02

channel_type gains 'phone' (ADD VALUE IF NOT EXISTS: no later statement of this migration
uses it, so it may run inside the migration's transaction).
call_steps: one row per (inbox, CallSid, step) answered: a provider's retry gets the same
TwiML and changes nothing. calls: unique per (inbox, CallSid); the contact timeline reads
them by ix_calls_contact. callbacks: the slot model counts booked callbacks per inbox and
slot (ix_callbacks_inbox_slot).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0026"
down_revision = "0028"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _created():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _updated():
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _inbox(primary_key: bool = False):
    return sa.Column(
        "inbox_id",
        sa.BigInteger(),
        sa.ForeignKey("inboxes.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.execute("ALTER TYPE channel_type ADD VALUE IF NOT EXISTS 'phone'")
    op.create_table(
        "phone_lines",
        _inbox(primary_key=True),
        _ws(),
        sa.Column("number", sa.String(40), nullable=True),
        sa.Column("auth_token", sa.String(200), nullable=False),
        sa.Column("ivr", JSONB(), nullable=False, server_default="{}"),
        sa.Column("team_id", sa.BigInteger(), sa.ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
        sa.Column("callbacks_per_slot", sa.Integer(), nullable=True),
        _created(),
        _updated(),
    )
    op.create_index("ix_phone_lines_workspace_id", "phone_lines", ["workspace_id"])
    op.create_table(
        "calls",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        _inbox(),
        sa.Column("call_sid", sa.String(64), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "conversation_id",
            sa.BigInteger(),
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("direction", sa.String(10), nullable=False, server_default="inbound"),
        sa.Column("from_number", sa.String(40), nullable=False, server_default=""),
        sa.Column("to_number", sa.String(40), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="ringing"),
        sa.Column("language", sa.String(8), nullable=False, server_default="ko"),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("path", JSONB(), nullable=False, server_default="[]"),
        _created(),
        sa.UniqueConstraint("inbox_id", "call_sid", name="uq_calls_inbox_call_sid"),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('answered', 'voicemail', 'abandoned', 'forwarded',"
            " 'callback_requested')",
            name="outcome",
        ),
    )
    op.create_index("ix_calls_workspace_id", "calls", ["workspace_id"])
    op.create_index("ix_calls_contact", "calls", ["contact_id", "started_at"])
    op.create_table(
        "call_steps",
        _inbox(primary_key=True),
        sa.Column("call_sid", sa.String(64), primary_key=True),
        sa.Column("step", sa.String(300), primary_key=True),
        _ws(),
        sa.Column("response", sa.Text(), nullable=False),
        _created(),
    )
    op.create_index("ix_call_steps_workspace_id", "call_steps", ["workspace_id"])
    op.create_table(
        "phone_announcements",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column("text_ko", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False, server_default=""),
        _created(),
        _updated(),
    )
    op.create_index("ix_phone_announcements_workspace_id", "phone_announcements", ["workspace_id"])
    op.create_table(
        "callbacks",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        _inbox(),
        sa.Column(
            "contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="scheduled"),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="ko"),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("team_id", sa.BigInteger(), sa.ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "origin_conversation_id",
            sa.BigInteger(),
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "task_conversation_id",
            sa.BigInteger(),
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("history", JSONB(), nullable=False, server_default="[]"),
        _created(),
        _updated(),
        sa.CheckConstraint(
            "status IN ('scheduled', 'due', 'done', 'no_answer', 'cancelled')", name="status"
        ),
        sa.CheckConstraint("source IN ('widget', 'ivr', 'api')", name="source"),
    )
    op.create_index("ix_callbacks_workspace_id", "callbacks", ["workspace_id"])
    op.create_index("ix_callbacks_inbox_slot", "callbacks", ["inbox_id", "slot_at"])
    op.create_index("ix_callbacks_contact", "callbacks", ["contact_id"])
    op.create_index("ix_callbacks_task", "callbacks", ["task_conversation_id"])


def downgrade() -> None:
    for table in ("callbacks", "phone_announcements", "call_steps", "calls", "phone_lines"):
        op.drop_table(table)
    # A value cannot be removed from an enum type; 'phone' stays (unused).
