"""conversation search (morpheme index), notification settings and @mentions in notes

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-02

message_search holds, per message, its search terms (Korean content morphemes from
kiwipiepy, English stems) as a tsvector without positions, written by a background
indexer after the message is committed — the message path itself does no extra work.
A message whose text changes (redaction) leaves the index at once (trigger).
search_index_state is the indexer's high-water mark.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_search",
        sa.Column(
            "message_id",
            sa.BigInteger(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terms", TSVECTOR(), nullable=False),
    )
    op.execute("CREATE INDEX ix_message_search_terms ON message_search USING gin (terms)")
    op.execute(
        "CREATE INDEX ix_message_search_ws_created ON message_search"
        " (workspace_id, created_at DESC, message_id DESC)"
    )
    op.create_table(
        "search_index_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last_message_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.execute("INSERT INTO search_index_state (id, last_message_id) VALUES (1, 0)")
    op.execute(
        """
        CREATE FUNCTION sodam_message_search_forget() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM message_search WHERE message_id = NEW.id;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER messages_search_forget AFTER UPDATE OF content ON messages"
        " FOR EACH ROW WHEN (OLD.content IS DISTINCT FROM NEW.content)"
        " EXECUTE FUNCTION sodam_message_search_forget()"
    )

    op.create_table(
        "notification_settings",
        sa.Column("agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("settings", JSONB(), nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_table(
        "note_mentions",
        sa.Column("message_id", sa.BigInteger(), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("mentioned_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_note_mentions_agent", "note_mentions", ["agent_id", "created_at"])


def downgrade() -> None:
    op.drop_table("note_mentions")
    op.drop_table("notification_settings")
    op.execute("DROP TRIGGER IF EXISTS messages_search_forget ON messages")
    op.execute("DROP FUNCTION IF EXISTS sodam_message_search_forget()")
    op.drop_table("search_index_state")
    op.drop_table("message_search")
