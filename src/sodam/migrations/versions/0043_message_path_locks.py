"""the message path: the conversation row locked FOR NO KEY UPDATE, the bot's jobs coalesced

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-04

sodam_post_message as 0027 defined it, with two changes found with `sodam bench messages`
(jobs on: p99 2-5 s against 60 ms with the jobs off):

- It locked the conversation FOR UPDATE, which also excludes FOR KEY SHARE: the lock every
  foreign-key check on a row that references the conversation takes. The sentiment job's
  UPDATE fires a trigger that writes conversation_sentiments (a foreign key to conversations),
  so a scoring transaction and a group-commit batch (dozens of conversations) waited on each
  other, and in a cycle (a deadlock, broken only after deadlock_timeout, 1 s). The function
  never deletes a conversation nor changes its id: FOR NO KEY UPDATE (what its own UPDATE
  takes anyway) still orders every writer of the conversation and lets key checks through.
- A job may say "coalesce": true (the bot's reply): it is not deferred while a job of that task
  with the same lock is still waiting to run; that job answers the conversation's latest
  message when it runs (bot.service.handle_customer_message). A customer typing ten lines
  before the bot has run costs one job, not ten.
- p_skip_locked (group commit's batches): a conversation another writer holds (the bot
  writing its reply under the row lock) is not waited for; the message's result is
  {"busy": true} and the committer stores it on its own, waiting (db/group_commit.py).
  Without this, one batch of dozens of conversations waited for any one of them.
- A batch job (sentiment) takes its reaction's lock, so two never run at once.
"""

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

FUNCTION = r"""
CREATE FUNCTION sodam_post_message(
    p_workspace_id bigint,
    p_inbox_id bigint,
    p_contact_id bigint,
    p_conversation_id bigint,
    p_sender_type sender_type,
    p_sender_id bigint,
    p_kind message_kind,
    p_content text,
    p_client_id text,
    p_payload jsonb,
    p_language text,
    p_jobs jsonb,
    p_preview_chars integer DEFAULT 140,
    p_skip_locked boolean DEFAULT false
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_existing messages%ROWTYPE;
    v_conv conversations%ROWTYPE;
    v_msg messages%ROWTYPE;
    v_now timestamptz := clock_timestamp();
    v_direction message_direction;
    v_reopen boolean := false;
    v_previous conversation_status;
    v_job jsonb;
    v_jobs procrastinate_job_to_defer_v1[] := ARRAY[]::procrastinate_job_to_defer_v1[];
    v_args jsonb;
    v_lock text;
    v_held bigint;
BEGIN
    IF p_client_id IS NOT NULL THEN
        SELECT * INTO v_existing FROM messages WHERE inbox_id = p_inbox_id AND client_id = p_client_id;
        IF FOUND THEN
            RETURN jsonb_build_object('created', false, 'message', to_jsonb(v_existing));
        END IF;
    END IF;

    IF p_conversation_id IS NOT NULL THEN
        SELECT * INTO v_conv FROM conversations
         WHERE id = p_conversation_id AND workspace_id = p_workspace_id FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'conversation % not found', p_conversation_id USING ERRCODE = 'no_data_found';
        END IF;
    ELSE
        IF p_skip_locked THEN
            -- A group-commit batch never waits for a conversation someone else is writing
            -- (the bot's reply): "busy", and this message commits on its own, waiting.
            SELECT id INTO v_held FROM conversations
             WHERE inbox_id = p_inbox_id AND contact_id = p_contact_id AND workspace_id = p_workspace_id
               AND status <> 'resolved'
             ORDER BY id DESC LIMIT 1;
            IF FOUND THEN
                PERFORM 1 FROM conversations WHERE id = v_held AND status <> 'resolved'
                    FOR NO KEY UPDATE SKIP LOCKED;
                IF NOT FOUND THEN
                    RETURN jsonb_build_object('busy', true);
                END IF;
            END IF;
        END IF;
        -- The contact's current conversation in this inbox, or a new one; the advisory
        -- lock makes two tabs sending at once share one conversation.
        SELECT * INTO v_conv FROM conversations
         WHERE inbox_id = p_inbox_id AND contact_id = p_contact_id AND workspace_id = p_workspace_id
           AND status <> 'resolved'
         ORDER BY id DESC LIMIT 1 FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            PERFORM pg_advisory_xact_lock(hashtext('conv:' || p_inbox_id || ':' || p_contact_id));
            SELECT * INTO v_conv FROM conversations
             WHERE inbox_id = p_inbox_id AND contact_id = p_contact_id AND workspace_id = p_workspace_id
               AND status <> 'resolved'
             ORDER BY id DESC LIMIT 1 FOR NO KEY UPDATE;
            IF NOT FOUND THEN
                INSERT INTO conversations (workspace_id, inbox_id, contact_id, status, priority, tags, language,
                                           last_seq, created_at, updated_at)
                VALUES (p_workspace_id, p_inbox_id, p_contact_id, 'open', 'none', '{}',
                        COALESCE(p_language, (SELECT language FROM contacts WHERE id = p_contact_id)), 0, v_now, v_now)
                RETURNING * INTO v_conv;
                INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data, created_at)
                VALUES (p_workspace_id, v_conv.id, 'conversation.created', p_sender_type::text, p_sender_id,
                        jsonb_build_object('inbox_id', p_inbox_id, 'contact_id', p_contact_id), v_now);
                PERFORM pg_notify('sodam_events', jsonb_build_object(
                    't', 'conversation.created', 'ws', p_workspace_id, 'conv', v_conv.id,
                    'contact', p_contact_id, 'inbox', p_inbox_id)::text);
            END IF;
        END IF;
    END IF;

    -- Under the conversation's row lock: a concurrent retry of this client_id waited
    -- here and now finds the message its twin stored.
    IF p_client_id IS NOT NULL THEN
        SELECT * INTO v_existing FROM messages WHERE inbox_id = v_conv.inbox_id AND client_id = p_client_id;
        IF FOUND THEN
            RETURN jsonb_build_object('created', false, 'message', to_jsonb(v_existing));
        END IF;
    END IF;

    IF p_sender_type = 'contact' THEN
        v_direction := 'incoming';
    ELSIF p_kind IN ('note', 'system') THEN
        v_direction := 'internal';
    ELSE
        v_direction := 'outgoing';
    END IF;
    v_previous := v_conv.status;
    v_reopen := p_sender_type = 'contact' AND v_conv.status IN ('resolved', 'snoozed');

    UPDATE conversations SET
        last_seq = last_seq + 1,
        updated_at = v_now,
        last_message_at = CASE WHEN p_kind = 'note' THEN last_message_at ELSE v_now END,
        last_message_preview = CASE WHEN p_kind = 'note' THEN last_message_preview
                                    ELSE left(p_content, p_preview_chars) END,
        status = CASE WHEN v_reopen THEN 'open'::conversation_status ELSE status END
     WHERE id = v_conv.id
     RETURNING * INTO v_conv;

    INSERT INTO messages (workspace_id, conversation_id, inbox_id, seq, direction, kind, sender_type, sender_id,
                          content, client_id, payload, created_at)
    VALUES (v_conv.workspace_id, v_conv.id, v_conv.inbox_id, v_conv.last_seq, v_direction, p_kind, p_sender_type,
            p_sender_id, p_content, p_client_id, p_payload, v_now)
    RETURNING * INTO v_msg;

    INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data, created_at)
    VALUES (v_conv.workspace_id, v_conv.id, 'message.created', p_sender_type::text, p_sender_id,
            jsonb_build_object('message_id', v_msg.id, 'kind', p_kind::text, 'seq', v_msg.seq), v_now);
    IF v_reopen THEN
        INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data, created_at)
        VALUES (v_conv.workspace_id, v_conv.id, 'status.changed', 'contact', p_sender_id,
                jsonb_build_object('from', v_previous::text, 'to', 'open'), v_now);
    END IF;

    -- Reactions chosen by the caller (bot, sentiment, ...), deferred in this transaction.
    IF p_jobs IS NOT NULL AND jsonb_array_length(p_jobs) > 0 THEN
        v_args := jsonb_build_object(
            'event', 'message.created', 'workspace_id', v_conv.workspace_id, 'conversation_id', v_conv.id,
            'inbox_id', v_conv.inbox_id, 'message_id', v_msg.id, 'sender_type', p_sender_type::text,
            'kind', p_kind::text);
        FOR v_job IN SELECT * FROM jsonb_array_elements(p_jobs) LOOP
            -- The bot's reply only while the bot has the conversation: after the handoff
            -- (or once an agent took it) the job would only find "not for the bot".
            CONTINUE WHEN v_job->>'if' = 'bot_handling'
                AND NOT (v_conv.bot_handling AND v_conv.assignee_id IS NULL);
            -- A batch job (sentiment): one pending job serves every message stored
            -- until it runs, instead of one job per message.
            IF v_job ? 'batch_seconds' THEN
                CONTINUE WHEN EXISTS (SELECT 1 FROM procrastinate_jobs
                                       WHERE task_name = v_job->>'task' AND status = 'todo');
                v_jobs := v_jobs || ROW(
                    v_job->>'queue', v_job->>'task', 0, v_job->>'lock', NULL, '{}'::jsonb,
                    v_now + make_interval(secs => (v_job->>'batch_seconds')::double precision)
                )::procrastinate_job_to_defer_v1;
                CONTINUE;
            END IF;
            v_lock := replace(v_job->>'lock', '{conversation_id}', v_conv.id::text);
            -- A coalesced job (the bot's): while one of this conversation's is still waiting,
            -- it will answer this message too (it reads the latest one when it runs).
            CONTINUE WHEN (v_job->>'coalesce')::boolean AND EXISTS (
                SELECT 1 FROM procrastinate_jobs
                 WHERE lock = v_lock AND status = 'todo' AND task_name = v_job->>'task');
            v_jobs := v_jobs || ROW(
                v_job->>'queue', v_job->>'task', 0, v_lock, NULL, v_args, NULL
            )::procrastinate_job_to_defer_v1;
        END LOOP;
        IF cardinality(v_jobs) > 0 THEN
            PERFORM procrastinate_defer_jobs_v1(v_jobs);
        END IF;
    END IF;

    PERFORM pg_notify('sodam_events', jsonb_build_object(
        't', 'message.created', 'ws', v_conv.workspace_id, 'conv', v_conv.id, 'contact', v_conv.contact_id,
        'inbox', v_conv.inbox_id, 'id', v_msg.id, 'seq', v_msg.seq, 'private', p_kind = 'note')::text);

    RETURN jsonb_build_object('created', true, 'message', to_jsonb(v_msg), 'conversation', to_jsonb(v_conv));
END
$$;
"""

# Finds a conversation's waiting bot job (the coalesce check) among all waiting jobs.
INDEX = """
CREATE INDEX IF NOT EXISTS ix_procrastinate_jobs_todo_lock ON procrastinate_jobs (lock)
    WHERE status = 'todo' AND lock IS NOT NULL;
"""


# 0027's signature (a new parameter makes a new function, and two would match a call).
OLD_SIGNATURE = (
    "sodam_post_message(bigint, bigint, bigint, bigint, sender_type, bigint, message_kind, text, text,"
    " jsonb, text, jsonb, integer)"
)
NEW_SIGNATURE = OLD_SIGNATURE.replace("integer)", "integer, boolean)")


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    op.execute(FUNCTION)
    op.execute(INDEX)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_procrastinate_jobs_todo_lock")
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    # The function as 0027 defined it.
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "m0027", Path(__file__).with_name("0027_batched_reactions.py")
    )
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(previous.FUNCTION)
