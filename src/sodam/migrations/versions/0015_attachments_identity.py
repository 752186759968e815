"""attachments, visitor pages, identity verification, snooze time, agents' public face

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

- attachments: one row per uploaded file (sniffed type, sanitised name, size, sha256,
  storage key); linked to its message when the message is stored. attachment_blobs is the
  PostgreSQL store's table (SODAM_ATTACHMENT_STORE=postgres).
- workspaces.attachment_policy: {"max_bytes": N, "allowed": ["images", ...]}.
- inboxes.identity_secret: the HMAC key of identity verification (Sodam("boot", {hash})).
- visitor_pages: the pages a widget visitor opened (URL, title, referrer, browser, OS).
- conversations.snoozed_until: when a snoozed conversation opens again.
- agents.display_name / agents.avatar_id: what customers see in the widget.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("public_id", sa.String(40), nullable=False, unique=True),
        sa.Column("purpose", sa.String(12), nullable=False, server_default="message"),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=True),
        sa.Column("contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True),
        sa.Column("conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True),
        sa.Column("message_id", sa.BigInteger(), sa.ForeignKey("messages.id", ondelete="SET NULL"), nullable=True),
        sa.Column("uploader_type", sa.String(10), nullable=False),
        sa.Column("uploader_id", sa.BigInteger(), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("store", sa.String(12), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_attachments_workspace_id", "attachments", ["workspace_id"])
    op.create_index("ix_attachments_message_id", "attachments", ["message_id"])
    op.create_index("ix_attachments_contact_id", "attachments", ["contact_id"])
    op.create_table(
        "attachment_blobs",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.add_column(
        "workspaces",
        sa.Column("attachment_policy", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
    )
    op.add_column("inboxes", sa.Column("identity_secret", sa.String(80), nullable=True))
    op.add_column("conversations", sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_conversations_snoozed_until",
        "conversations",
        ["snoozed_until"],
        postgresql_where=sa.text("status = 'snoozed'"),
    )
    op.add_column("agents", sa.Column("display_name", sa.String(200), nullable=True))
    op.add_column("agents", sa.Column("avatar_id", sa.String(40), nullable=True))
    op.create_table(
        "visitor_pages",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("visit_id", sa.String(40), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("title", sa.String(300), nullable=True),
        sa.Column("referrer", sa.String(2000), nullable=True),
        sa.Column("browser", sa.String(80), nullable=True),
        sa.Column("os", sa.String(80), nullable=True),
        sa.Column("device", sa.String(20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_visitor_pages_contact", "visitor_pages", ["contact_id", "id"])
    op.create_index("ix_visitor_pages_workspace_id", "visitor_pages", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("visitor_pages")
    op.drop_column("agents", "avatar_id")
    op.drop_column("agents", "display_name")
    op.drop_index("ix_conversations_snoozed_until", table_name="conversations")
    op.drop_column("conversations", "snoozed_until")
    op.drop_column("inboxes", "identity_secret")
    op.drop_column("workspaces", "attachment_policy")
    op.drop_table("attachment_blobs")
    op.drop_table("attachments")
