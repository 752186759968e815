"""segments (saved contact filters); the sentiment of a contact's last interaction kept per
conversation (one definition for the screen pop and segments); indexes for segment counts

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-02

conversation_sentiments: a conversation's score = the mean of (all its customer messages'
scores, its last five), rounded to 3 places — the screen pop's definition — kept by a trigger
when a customer message gets a score (the sentiment job's UPDATE; an INSERT that already
carries one). The message path inserts unscored messages, which the trigger's WHEN skips.
contact_sentiments (view): of a contact's scored conversations, the latest by activity. The
screen pop reads it for one contact, a segment's sentiment condition for the workspace.

Indexes: a GIN (jsonb_path_ops) on contacts.custom_attributes for `equals` conditions
(`@>`); survey answers by (workspace, kind, contact, newest first) with the score, so "last
CSAT per contact" is an index-only DISTINCT ON.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None

SENTIMENT_SQL = """
CREATE TABLE conversation_sentiments (
    conversation_id bigint PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    workspace_id bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    score double precision,
    messages integer NOT NULL DEFAULT 0,
    last_scored_at timestamptz
);

-- A conversation's sentiment, recomputed when one of its customer messages gets (or loses) a
-- score: the mean of (all its scores, its last five), rounded to 3 places. The row is locked
-- before the messages are read, so two scoring jobs of one conversation cannot both miss the
-- other's score (each statement here reads the latest committed data).
CREATE FUNCTION sodam_conversation_sentiment_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer; mean double precision; recent double precision; latest timestamptz;
BEGIN
    INSERT INTO conversation_sentiments (conversation_id, workspace_id)
    VALUES (NEW.conversation_id, NEW.workspace_id) ON CONFLICT (conversation_id) DO NOTHING;
    PERFORM 1 FROM conversation_sentiments WHERE conversation_id = NEW.conversation_id FOR UPDATE;
    SELECT count(*), avg(sentiment_score), max(created_at) INTO n, mean, latest
      FROM messages WHERE conversation_id = NEW.conversation_id
       AND sender_type = 'contact' AND sentiment_score IS NOT NULL;
    IF n = 0 THEN
        DELETE FROM conversation_sentiments WHERE conversation_id = NEW.conversation_id;
        RETURN NULL;
    END IF;
    SELECT avg(s) INTO recent FROM (
        SELECT sentiment_score AS s FROM messages WHERE conversation_id = NEW.conversation_id
           AND sender_type = 'contact' AND sentiment_score IS NOT NULL
         ORDER BY created_at DESC, id DESC LIMIT 5) l;
    UPDATE conversation_sentiments
       SET score = round(((mean + recent) / 2)::numeric, 3)::double precision,
           messages = n, last_scored_at = latest
     WHERE conversation_id = NEW.conversation_id;
    RETURN NULL;
END $$;

-- The message path inserts unscored messages: the WHEN clause keeps it free of this trigger.
CREATE TRIGGER messages_sentiment_insert AFTER INSERT ON messages FOR EACH ROW
    WHEN (NEW.sentiment_score IS NOT NULL AND NEW.sender_type = 'contact')
    EXECUTE FUNCTION sodam_conversation_sentiment_refresh();
CREATE TRIGGER messages_sentiment_update AFTER UPDATE OF sentiment_score ON messages FOR EACH ROW
    WHEN (NEW.sentiment_score IS DISTINCT FROM OLD.sentiment_score AND NEW.sender_type = 'contact')
    EXECUTE FUNCTION sodam_conversation_sentiment_refresh();

-- Every conversation's sentiment from its messages, set-based: the backfill here, and after a
-- bulk load that ran with the row trigger disabled (the benchmark's COPY).
CREATE FUNCTION sodam_conversation_sentiments_rebuild(ws bigint) RETURNS bigint LANGUAGE sql AS $$
    WITH scored AS (
        SELECT conversation_id, workspace_id, sentiment_score AS s, created_at,
               row_number() OVER (PARTITION BY conversation_id ORDER BY created_at DESC, id DESC) AS back
          FROM messages
         WHERE sender_type = 'contact' AND sentiment_score IS NOT NULL AND (ws IS NULL OR workspace_id = ws)
    ), rows AS (
        INSERT INTO conversation_sentiments (conversation_id, workspace_id, score, messages, last_scored_at)
        SELECT conversation_id, min(workspace_id),
               round(((avg(s) + avg(s) FILTER (WHERE back <= 5)) / 2)::numeric, 3)::double precision,
               count(*), max(created_at)
          FROM scored GROUP BY conversation_id
        ON CONFLICT (conversation_id) DO UPDATE
           SET score = EXCLUDED.score, messages = EXCLUDED.messages, last_scored_at = EXCLUDED.last_scored_at
        RETURNING 1
    )
    SELECT count(*) FROM rows
$$;
SELECT sodam_conversation_sentiments_rebuild(NULL);

-- "The sentiment of the last interaction" of every contact: of the contact's conversations
-- with a score, the latest by activity. The screen pop reads it for one contact (the filters
-- push down to the contact's conversations), segments for a whole workspace.
CREATE VIEW contact_sentiments AS
SELECT DISTINCT ON (c.workspace_id, c.contact_id)
       c.workspace_id, c.contact_id, c.id AS conversation_id, cs.score, cs.messages,
       cs.last_scored_at AS at
  FROM conversation_sentiments cs JOIN conversations c ON c.id = cs.conversation_id
 WHERE cs.score IS NOT NULL
 ORDER BY c.workspace_id, c.contact_id, coalesce(c.last_message_at, c.created_at) DESC, c.id DESC;
"""


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            sa.BigInteger(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(1000)),
        sa.Column("filter", JSONB(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_segments_workspace_name"),
    )
    op.create_index("ix_segments_workspace_id", "segments", ["workspace_id"])
    op.execute(
        "CREATE INDEX ix_contacts_custom_attributes ON contacts USING gin (custom_attributes jsonb_path_ops)"
    )
    op.execute(
        "CREATE INDEX ix_survey_answers_last ON survey_answers"
        " (workspace_id, kind, contact_id, created_at DESC) INCLUDE (score)"
    )
    op.execute(SENTIMENT_SQL)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS contact_sentiments")
    op.execute("DROP TRIGGER IF EXISTS messages_sentiment_update ON messages")
    op.execute("DROP TRIGGER IF EXISTS messages_sentiment_insert ON messages")
    op.execute("DROP FUNCTION IF EXISTS sodam_conversation_sentiment_refresh()")
    op.execute("DROP FUNCTION IF EXISTS sodam_conversation_sentiments_rebuild(bigint)")
    op.execute("DROP TABLE IF EXISTS conversation_sentiments")
    op.execute("DROP INDEX IF EXISTS ix_survey_answers_last")
    op.execute("DROP INDEX IF EXISTS ix_contacts_custom_attributes")
    op.drop_table("segments")
