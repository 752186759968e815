"""the human queue holds only human work: conversations the bot is handling, and when the
wait for a person began

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02

conversations.bot_handling: the bot is handling it (a bot inbox, no handoff yet, no agent
has replied or taken it) — not unassigned work, no SLA clock, no queue place.
conversations.queued_at: when it entered the human queue (the handoff, or the start of a
conversation in an inbox without the bot); the first-reply clock, queue order and the
measured reply times start there.

A trigger sets both when a conversation is created, from its inbox's bot setting, so every
path that creates one (the message function, the API, the demo) agrees; another ends the
bot's part when an agent's first reply lands.
bot_conversations.tried_article_ids: the articles already answered for the current
question, so "그건 도움이 안 됐어요" moves on to the next candidate instead of repeating one.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "conversations", sa.Column("bot_handling", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("conversations", sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "bot_conversations",
        sa.Column("tried_article_ids", ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
    )
    # Existing conversations: the bot still has those it has not handed over and nobody answered.
    op.execute(
        """
        UPDATE conversations c SET bot_handling = true
          FROM inboxes i
         WHERE i.id = c.inbox_id AND coalesce((i.settings->>'bot_enabled')::boolean, false)
           AND c.status <> 'resolved' AND c.assignee_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.sender_type = 'agent')
           AND NOT EXISTS (SELECT 1 FROM bot_conversations b
                            WHERE b.conversation_id = c.id AND b.state = 'handed_off')
        """
    )
    op.execute(
        """
        UPDATE conversations c SET queued_at = coalesce(
            (SELECT min(e.created_at) FROM conversation_events e
              WHERE e.conversation_id = c.id AND e.type = 'bot.handed_off'),
            c.created_at)
         WHERE NOT c.bot_handling
        """
    )
    op.create_index(
        "ix_conversations_queue",
        "conversations",
        ["inbox_id", "queued_at", "id"],
        postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL AND NOT bot_handling"),
    )
    op.execute(
        """
        CREATE FUNCTION sodam_conversation_defaults() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.bot_handling := coalesce(
                (SELECT (settings->>'bot_enabled')::boolean FROM inboxes WHERE id = NEW.inbox_id), false);
            IF NOT NEW.bot_handling THEN
                NEW.queued_at := coalesce(NEW.queued_at, NEW.created_at, now());
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER conversations_defaults BEFORE INSERT ON conversations
            FOR EACH ROW EXECUTE FUNCTION sodam_conversation_defaults();

        CREATE FUNCTION sodam_agent_reply_ends_bot() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE conversations SET bot_handling = false, queued_at = coalesce(queued_at, NEW.created_at)
             WHERE id = NEW.conversation_id AND bot_handling;
            RETURN NULL;
        END $$;
        CREATE TRIGGER messages_agent_reply_ends_bot AFTER INSERT ON messages
            FOR EACH ROW WHEN (NEW.sender_type = 'agent' AND NEW.kind = 'text')
            EXECUTE FUNCTION sodam_agent_reply_ends_bot();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS messages_agent_reply_ends_bot ON messages")
    op.execute("DROP FUNCTION IF EXISTS sodam_agent_reply_ends_bot()")
    op.execute("DROP TRIGGER IF EXISTS conversations_defaults ON conversations")
    op.execute("DROP FUNCTION IF EXISTS sodam_conversation_defaults()")
    op.drop_index("ix_conversations_queue", table_name="conversations")
    op.drop_column("bot_conversations", "tried_article_ids")
    op.drop_column("conversations", "queued_at")
    op.drop_column("conversations", "bot_handling")
