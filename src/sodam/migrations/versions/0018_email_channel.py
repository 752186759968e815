"""e-mail channel: an inbox's address and relay, the message-ids of each conversation, subjects

Revision ID: 0018
Revises: 0021
Create Date: 2026-12-02

- mail_inboxes: one row per e-mail inbox: its address (unique: RCPT TO routes by it), the
  outbound SMTP relay (host, port, security, user; the password here, never in the inbox's
  `settings` that the API returns), Reply-To, the ko/en signatures, and an optional IMAP
  mailbox to poll (with the last UID read).
- mail_message_ids: every Message-ID of a conversation, the customer's and ours (threading:
  In-Reply-To / References find the conversation; a bounce finds our message).
- conversations.subject: the e-mail subject, shown as the conversation's title.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0021"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "mail_inboxes",
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
        _ws(),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("smtp_host", sa.String(255), nullable=True),
        sa.Column("smtp_port", sa.Integer(), nullable=False, server_default="587"),
        sa.Column("smtp_security", sa.String(10), nullable=False, server_default="starttls"),
        sa.Column("smtp_username", sa.String(320), nullable=True),
        sa.Column("smtp_password", sa.String(500), nullable=True),
        sa.Column("reply_to", sa.String(320), nullable=True),
        sa.Column("signature_ko", sa.Text(), nullable=False, server_default=""),
        sa.Column("signature_en", sa.Text(), nullable=False, server_default=""),
        # Optional IMAP polling of a mailbox Sodam cannot receive for directly.
        sa.Column("imap_host", sa.String(255), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=False, server_default="993"),
        sa.Column("imap_security", sa.String(10), nullable=False, server_default="tls"),
        sa.Column("imap_username", sa.String(320), nullable=True),
        sa.Column("imap_password", sa.String(500), nullable=True),
        sa.Column("imap_folder", sa.String(200), nullable=False, server_default="INBOX"),
        sa.Column("imap_uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("imap_last_uid", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("imap_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imap_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("uq_mail_inboxes_address", "mail_inboxes", ["address"], unique=True)
    op.create_index("ix_mail_inboxes_workspace_id", "mail_inboxes", ["workspace_id"])
    op.create_table(
        "mail_message_ids",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_id", sa.BigInteger(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=True),
        sa.Column("mail_id", sa.String(998), nullable=False),
        sa.Column("ours", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("uq_mail_message_ids_inbox_mail_id", "mail_message_ids", ["inbox_id", "mail_id"], unique=True)
    op.create_index("ix_mail_message_ids_conversation", "mail_message_ids", ["conversation_id", "id"])
    op.create_index("ix_mail_message_ids_message", "mail_message_ids", ["message_id"])
    op.add_column("conversations", sa.Column("subject", sa.String(300), nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "subject")
    op.drop_table("mail_message_ids")
    op.drop_table("mail_inboxes")
