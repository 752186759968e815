"""sentiment scores: one statement trigger per UPDATE of messages instead of two row triggers

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-04

The sentiment job writes a few hundred scores in one UPDATE. Each scored row fired
messages_sentiment_update (0023: two aggregates over all of the conversation's scored messages,
an upsert and an UPDATE of conversation_sentiments, whose statement trigger chose the contact's
last interaction again) and report_dirty_sentiment (0024: a report_dirty row per message). A
conversation with n scored messages cost O(n) per new score, so a busy conversation's scores
cost O(n^2), and `python -m bench.sentiment_write` measured 418 µs of PostgreSQL CPU per scored
message, about as much as storing the message (530 µs): PostgreSQL's share of the two cores
that `sodam bench messages` with the jobs on is short of.

Now one statement trigger with transition tables (a column list is not allowed with them, so
it sees every UPDATE of messages; they are few: redaction, merges, the mail and Kakao
delivery status) does it per statement: one report_dirty row per conversation whose labels
changed, and each such conversation's sentiment recomputed once, set-based, with the same
formula as the row trigger and sodam_conversation_sentiments_rebuild. The insert trigger
(a message stored with its score already) is unchanged.
"""

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

UP = r"""
-- These conversations' sentiment from their scored customer messages, as the row trigger
-- computed it: the mean of (all the scores, the last five), rounded to 3 places. The rows are
-- created and locked first, in id order, so two writers of one conversation's scores apply
-- one after the other and the second sees the first's (each statement reads the latest
-- committed data).
CREATE FUNCTION sodam_conversation_sentiments_refresh(convs bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(convs) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO conversation_sentiments (conversation_id, workspace_id, contact_id)
    SELECT c.id, c.workspace_id, c.contact_id FROM conversations c WHERE c.id = ANY(convs) ORDER BY c.id
    ON CONFLICT (conversation_id) DO NOTHING;
    PERFORM 1 FROM conversation_sentiments WHERE conversation_id = ANY(convs) ORDER BY conversation_id FOR UPDATE;
    WITH scored AS (
        SELECT m.conversation_id, m.sentiment_score AS s, m.created_at,
               row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.created_at DESC, m.id DESC) AS back
          FROM messages m
         WHERE m.conversation_id = ANY(convs) AND m.sender_type = 'contact' AND m.sentiment_score IS NOT NULL
    ), agg AS (
        SELECT conversation_id,
               round(((avg(s) + avg(s) FILTER (WHERE back <= 5)) / 2)::numeric, 3)::double precision AS score,
               count(*) AS n, max(created_at) AS latest
          FROM scored GROUP BY conversation_id
    )
    UPDATE conversation_sentiments cs
       SET score = agg.score, messages = agg.n, last_scored_at = agg.latest, contact_id = c.contact_id
      FROM agg JOIN conversations c ON c.id = agg.conversation_id
     WHERE cs.conversation_id = agg.conversation_id;
    DELETE FROM conversation_sentiments cs
     WHERE cs.conversation_id = ANY(convs)
       AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = cs.conversation_id
                          AND m.sender_type = 'contact' AND m.sentiment_score IS NOT NULL);
END $$;

CREATE FUNCTION sodam_messages_sentiment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Reports: the conversations whose labels changed (sentiment is scored after the insert).
    INSERT INTO report_dirty (workspace_id, conversation_id)
    SELECT DISTINCT n.workspace_id, n.conversation_id
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE n.sentiment_label IS DISTINCT FROM o.sentiment_label;
    PERFORM sodam_conversation_sentiments_refresh(ARRAY(
        SELECT DISTINCT n.conversation_id
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.sentiment_score IS DISTINCT FROM o.sentiment_score AND n.sender_type = 'contact'
         ORDER BY 1));
    RETURN NULL;
END $$;

DROP TRIGGER messages_sentiment_update ON messages;
DROP TRIGGER report_dirty_sentiment ON messages;
CREATE TRIGGER messages_sentiment_changed AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sodam_messages_sentiment_changed();
"""

DOWN = r"""
DROP TRIGGER IF EXISTS messages_sentiment_changed ON messages;
DROP FUNCTION IF EXISTS sodam_messages_sentiment_changed();
DROP FUNCTION IF EXISTS sodam_conversation_sentiments_refresh(bigint[]);
CREATE TRIGGER messages_sentiment_update AFTER UPDATE OF sentiment_score ON messages FOR EACH ROW
    WHEN (NEW.sentiment_score IS DISTINCT FROM OLD.sentiment_score AND NEW.sender_type = 'contact')
    EXECUTE FUNCTION sodam_conversation_sentiment_refresh();
CREATE TRIGGER report_dirty_sentiment AFTER UPDATE OF sentiment_label ON messages
    FOR EACH ROW WHEN (OLD.sentiment_label IS DISTINCT FROM NEW.sentiment_label)
    EXECUTE FUNCTION sodam_report_dirty_conversation();
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
