"""segments (saved contact filters); the sentiment of a contact's last interaction kept per
conversation (one definition for the screen pop and segments); indexes for segment counts

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-02

conversation_sentiments: a conversation's score = the mean of (all its customer messages'
scores, its last five), rounded to 3 places — the screen pop's definition — kept by a trigger
when a customer message gets a score (the sentiment job's UPDATE; an INSERT that already
carries one). The message path inserts unscored messages, which the trigger's WHEN skips.
contact_sentiments: each contact's last interaction with a sentiment (the conversation with
the newest scored customer message), kept by statement triggers on conversation_sentiments
and following a conversation moved to another contact. The screen pop reads it for one
contact, a segment's sentiment condition for the workspace (index on workspace and score).

Indexes: a GIN (jsonb_path_ops) on contacts.custom_attributes for `equals` conditions
(`@>`); survey answers by (workspace, kind, contact, newest first) with the score, so "last
CSAT per contact" is an index-only DISTINCT ON; conversations by (workspace, created_at)
with the contact, for "conversations in the last N days" (columns a message never changes).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0023"
down_revision = "0026"
branch_labels = None
depends_on = None

SENTIMENT_SQL = """
CREATE TABLE conversation_sentiments (
    conversation_id bigint PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    workspace_id bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    contact_id bigint NOT NULL,
    score double precision,
    messages integer NOT NULL DEFAULT 0,
    last_scored_at timestamptz
);
CREATE INDEX ix_conversation_sentiments_contact
    ON conversation_sentiments (contact_id, last_scored_at DESC, conversation_id DESC);

-- Each contact's last interaction with a sentiment: the conversation with the newest scored
-- customer message. No foreign keys: rows follow conversation_sentiments (the triggers below),
-- including while a contact and its conversations are being deleted.
CREATE TABLE contact_sentiments (
    contact_id bigint PRIMARY KEY,
    workspace_id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    score double precision NOT NULL,
    messages integer NOT NULL,
    at timestamptz
);
CREATE INDEX ix_contact_sentiments_ws_score ON contact_sentiments (workspace_id, score);

-- A conversation's sentiment, recomputed when one of its customer messages gets (or loses) a
-- score: the mean of (all its scores, its last five), rounded to 3 places. The row is locked
-- before the messages are read, so two scoring jobs of one conversation cannot both miss the
-- other's score (each statement here reads the latest committed data).
CREATE FUNCTION sodam_conversation_sentiment_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer; mean double precision; recent double precision; latest timestamptz; who bigint;
BEGIN
    SELECT contact_id INTO who FROM conversations WHERE id = NEW.conversation_id;
    INSERT INTO conversation_sentiments (conversation_id, workspace_id, contact_id)
    VALUES (NEW.conversation_id, NEW.workspace_id, who) ON CONFLICT (conversation_id) DO NOTHING;
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
           messages = n, last_scored_at = latest, contact_id = who
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

-- Choose again the last interaction of these contacts (set-based). A few contacts (a scoring
-- job's) are locked first (advisory locks, in id order), so concurrent changes of one contact's
-- conversations apply one after the other and the last one sees them all; a bulk rebuild takes
-- no lock per contact (the lock table is not sized for it).
CREATE FUNCTION sodam_contact_sentiments_pick(contacts bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(contacts) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(contacts) <= 100 THEN
        PERFORM pg_advisory_xact_lock(23, (c % 2147483647)::integer)
           FROM (SELECT DISTINCT unnest(contacts) AS c ORDER BY 1) ids;
    END IF;
    DELETE FROM contact_sentiments t WHERE t.contact_id = ANY(contacts)
       AND NOT EXISTS (SELECT 1 FROM conversation_sentiments cs
                        WHERE cs.contact_id = t.contact_id AND cs.score IS NOT NULL);
    INSERT INTO contact_sentiments (contact_id, workspace_id, conversation_id, score, messages, at)
    SELECT DISTINCT ON (cs.contact_id) cs.contact_id, cs.workspace_id, cs.conversation_id, cs.score,
           cs.messages, cs.last_scored_at
      FROM conversation_sentiments cs
     WHERE cs.contact_id = ANY(contacts) AND cs.score IS NOT NULL
     ORDER BY cs.contact_id, cs.last_scored_at DESC, cs.conversation_id DESC
    ON CONFLICT (contact_id) DO UPDATE
       SET workspace_id = EXCLUDED.workspace_id, conversation_id = EXCLUDED.conversation_id,
           score = EXCLUDED.score, messages = EXCLUDED.messages, at = EXCLUDED.at;
END $$;

CREATE FUNCTION sodam_contact_sentiments_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM sodam_contact_sentiments_pick(ARRAY(SELECT DISTINCT contact_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM sodam_contact_sentiments_pick(ARRAY(SELECT DISTINCT contact_id FROM old_rows));
    ELSE
        PERFORM sodam_contact_sentiments_pick(ARRAY(
            SELECT contact_id FROM new_rows UNION SELECT contact_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;
-- conversation_sentiments is written by the scoring trigger only, never by the message path:
-- statement triggers, so a bulk rebuild chooses every contact's in one statement.
CREATE TRIGGER conversation_sentiments_insert AFTER INSERT ON conversation_sentiments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sodam_contact_sentiments_follow();
CREATE TRIGGER conversation_sentiments_update AFTER UPDATE ON conversation_sentiments
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sodam_contact_sentiments_follow();
CREATE TRIGGER conversation_sentiments_delete AFTER DELETE ON conversation_sentiments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sodam_contact_sentiments_follow();

-- A conversation moved to another contact (a merge): its sentiment follows it.
CREATE FUNCTION sodam_conversation_sentiment_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversation_sentiments SET contact_id = NEW.contact_id WHERE conversation_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_sentiment_owner AFTER UPDATE OF contact_id ON conversations FOR EACH ROW
    WHEN (OLD.contact_id IS DISTINCT FROM NEW.contact_id)
    EXECUTE FUNCTION sodam_conversation_sentiment_owner();

-- Every conversation's sentiment from its messages, set-based: the backfill here, and after a
-- bulk load that ran with the row trigger disabled (the benchmark's COPY).
CREATE FUNCTION sodam_conversation_sentiments_rebuild(ws bigint) RETURNS bigint LANGUAGE sql AS $$
    WITH scored AS (
        SELECT m.conversation_id, m.sentiment_score AS s, m.created_at,
               row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.created_at DESC, m.id DESC) AS back
          FROM messages m
         WHERE m.sender_type = 'contact' AND m.sentiment_score IS NOT NULL AND (ws IS NULL OR m.workspace_id = ws)
    ), rows AS (
        INSERT INTO conversation_sentiments
               (conversation_id, workspace_id, contact_id, score, messages, last_scored_at)
        SELECT c.id, c.workspace_id, c.contact_id,
               round(((avg(s) + avg(s) FILTER (WHERE back <= 5)) / 2)::numeric, 3)::double precision,
               count(*), max(scored.created_at)
          FROM scored JOIN conversations c ON c.id = scored.conversation_id
         GROUP BY c.id
        ON CONFLICT (conversation_id) DO UPDATE
           SET score = EXCLUDED.score, messages = EXCLUDED.messages,
               last_scored_at = EXCLUDED.last_scored_at, contact_id = EXCLUDED.contact_id
        RETURNING 1
    )
    SELECT count(*) FROM rows
$$;
SELECT sodam_conversation_sentiments_rebuild(NULL);
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
    # "Conversations started in the last N days" per contact: an index-only range scan. Only
    # columns a message never changes, so the message path's updates stay HOT.
    op.execute(
        "CREATE INDEX ix_conversations_ws_created ON conversations (workspace_id, created_at) INCLUDE (contact_id)"
    )
    op.execute(SENTIMENT_SQL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS conversations_sentiment_owner ON conversations")
    op.execute("DROP FUNCTION IF EXISTS sodam_conversation_sentiment_owner()")
    op.execute("DROP TABLE IF EXISTS contact_sentiments")
    op.execute("DROP TRIGGER IF EXISTS messages_sentiment_update ON messages")
    op.execute("DROP TRIGGER IF EXISTS messages_sentiment_insert ON messages")
    op.execute("DROP FUNCTION IF EXISTS sodam_conversation_sentiment_refresh()")
    op.execute("DROP FUNCTION IF EXISTS sodam_conversation_sentiments_rebuild(bigint)")
    op.execute("DROP TABLE IF EXISTS conversation_sentiments")
    op.execute("DROP FUNCTION IF EXISTS sodam_contact_sentiments_follow()")
    op.execute("DROP FUNCTION IF EXISTS sodam_contact_sentiments_pick(bigint[])")
    op.execute("DROP INDEX IF EXISTS ix_conversations_ws_created")
    op.execute("DROP INDEX IF EXISTS ix_survey_answers_last")
    op.execute("DROP INDEX IF EXISTS ix_contacts_custom_attributes")
    op.drop_table("segments")
