"""automations: rules ("when EVENT and CONDITIONS then STEPS"), their runs (multi-step journeys
resumed by time), each step's outcome (the contact's timeline), the event outbox and the
workspace's settings (daily cap, quiet hours)

Revision ID: 0029
Revises: 0022
Create Date: 2026-12-10

- `automation_rules`: one rule per row; the trigger, its config, the conditions and the steps
  as validated JSON (automations/rules.py). A partial index on (workspace, trigger) of the
  enabled ones is what the outbox triggers probe.
- `automation_settings`: per workspace, the daily cap of automated messages per contact, the
  quiet hours and their time zone, and `version` (bumped on every rule change: every process's
  in-memory index of rules is rebuilt when it sees a newer one).
- `automation_events`: the outbox. Triggers write a row in the writer's transaction, only when
  the workspace has an enabled rule for that trigger (one index probe otherwise): a
  conversation created / resolved / reopened, a customer message, a survey answer, a contact
  created or its attributes changed, a widget page opened. The API writes custom events
  (`POST /api/v1/events`, idempotency key unique per workspace). The engine takes rows with
  SKIP LOCKED and marks them processed; processed rows are purged after 7 days.
- `automation_runs`: one per (rule, trigger key) — the unique key makes every rule run once per
  trigger, whichever worker gets there first. `step` and `next_at` carry a journey across waits
  and restarts.
- `automation_run_steps`: what each step did (done, held, skipped over the cap, failed): the
  contact's timeline and the cap's count.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0029"
down_revision = "0022"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _at(name: str = "created_at"):
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


TRIGGERS = """
CREATE FUNCTION sodam_automation_wanted(p_ws bigint, p_types text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM automation_rules r
                    WHERE r.workspace_id = p_ws AND r.enabled AND r.trigger_type = ANY (p_types))
$$;

CREATE FUNCTION sodam_automation_from_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_type text;
    v_types text[];
    v_contact bigint;
BEGIN
    IF NEW.type = 'conversation.created' THEN
        v_type := 'conversation.created';
        v_types := ARRAY['conversation.created', 'conversation.nth'];
    ELSIF NEW.type = 'status.changed' AND NEW.data->>'to' = 'resolved' THEN
        v_type := 'conversation.resolved';
    ELSIF NEW.type = 'status.changed' AND NEW.data->>'from' = 'resolved' AND NEW.data->>'to' = 'open' THEN
        v_type := 'conversation.reopened';
    ELSIF NEW.type = 'message.created' AND NEW.actor_type = 'contact' THEN
        v_type := 'message.received';
    ELSE
        RETURN NULL;
    END IF;
    -- One index probe on a small table when no rule listens: all the message path pays.
    IF NOT sodam_automation_wanted(NEW.workspace_id, coalesce(v_types, ARRAY[v_type])) THEN
        RETURN NULL;
    END IF;
    SELECT contact_id INTO v_contact FROM conversations WHERE id = NEW.conversation_id;
    INSERT INTO automation_events (workspace_id, type, contact_id, conversation_id, data, occurred_at)
    VALUES (NEW.workspace_id, v_type, v_contact, NEW.conversation_id,
            NEW.data || jsonb_build_object('actor_type', NEW.actor_type, 'actor_id', NEW.actor_id,
                                           'log_id', NEW.id),
            NEW.created_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER automation_from_event AFTER INSERT ON conversation_events
    FOR EACH ROW EXECUTE FUNCTION sodam_automation_from_event();

CREATE FUNCTION sodam_automation_from_contact() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_changed jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF sodam_automation_wanted(NEW.workspace_id, ARRAY['contact.created']) THEN
            INSERT INTO automation_events (workspace_id, type, contact_id, data, occurred_at)
            VALUES (NEW.workspace_id, 'contact.created', NEW.id, '{}'::jsonb, NEW.created_at);
        END IF;
        RETURN NULL;
    END IF;
    IF NEW.custom_attributes IS NOT DISTINCT FROM OLD.custom_attributes THEN
        RETURN NULL;
    END IF;
    IF NOT sodam_automation_wanted(NEW.workspace_id, ARRAY['contact.attribute_changed']) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(jsonb_agg(k ORDER BY k), '[]'::jsonb) INTO v_changed
      FROM (SELECT key AS k FROM jsonb_each(coalesce(NEW.custom_attributes, '{}'::jsonb)) n
             WHERE n.value IS DISTINCT FROM coalesce(OLD.custom_attributes, '{}'::jsonb)->n.key
            UNION
            SELECT key FROM jsonb_each(coalesce(OLD.custom_attributes, '{}'::jsonb)) o
             WHERE NOT coalesce(NEW.custom_attributes, '{}'::jsonb) ? o.key) keys;
    INSERT INTO automation_events (workspace_id, type, contact_id, data, occurred_at)
    VALUES (NEW.workspace_id, 'contact.attribute_changed', NEW.id,
            jsonb_build_object('keys', v_changed), now());
    RETURN NULL;
END
$$;

CREATE TRIGGER automation_from_contact_insert AFTER INSERT ON contacts
    FOR EACH ROW EXECUTE FUNCTION sodam_automation_from_contact();
CREATE TRIGGER automation_from_contact_update AFTER UPDATE OF custom_attributes ON contacts
    FOR EACH ROW EXECUTE FUNCTION sodam_automation_from_contact();

CREATE FUNCTION sodam_automation_from_page() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF sodam_automation_wanted(NEW.workspace_id, ARRAY['page.visited']) THEN
        INSERT INTO automation_events (workspace_id, type, contact_id, data, occurred_at)
        VALUES (NEW.workspace_id, 'page.visited', NEW.contact_id,
                jsonb_build_object('url', NEW.url, 'title', NEW.title, 'inbox_id', NEW.inbox_id),
                NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER automation_from_page AFTER INSERT ON visitor_pages
    FOR EACH ROW EXECUTE FUNCTION sodam_automation_from_page();

CREATE FUNCTION sodam_automation_from_answer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.contact_id IS NOT NULL AND sodam_automation_wanted(NEW.workspace_id, ARRAY['survey.answered']) THEN
        INSERT INTO automation_events (workspace_id, type, contact_id, conversation_id, data, occurred_at)
        VALUES (NEW.workspace_id, 'survey.answered', NEW.contact_id, NEW.conversation_id,
                jsonb_build_object('score', NEW.score, 'kind', NEW.kind, 'survey_id', NEW.survey_id,
                                   'answer_id', NEW.id),
                NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER automation_from_answer AFTER INSERT ON survey_answers
    FOR EACH ROW EXECUTE FUNCTION sodam_automation_from_answer();
"""


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(1000)),
        sa.Column("trigger_type", sa.String(40), nullable=False),
        sa.Column("trigger_config", JSONB(), nullable=False, server_default="{}"),
        sa.Column("conditions", JSONB(), nullable=False, server_default="[]"),
        sa.Column("steps", JSONB(), nullable=False, server_default="[]"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("marketing", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("business_hours", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("template_key", sa.String(60)),
        sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        _at(),
        _at("updated_at"),
    )
    op.create_index("ix_automation_rules_workspace", "automation_rules", ["workspace_id", "id"])
    op.create_index(
        "ix_automation_rules_enabled_trigger",
        "automation_rules",
        ["workspace_id", "trigger_type"],
        postgresql_where=sa.text("enabled"),
    )
    op.create_table(
        "automation_settings",
        sa.Column(
            "workspace_id",
            sa.BigInteger(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("daily_cap", sa.Integer(), nullable=False, server_default="3"),
        sa.Column("quiet_start", sa.SmallInteger(), nullable=False, server_default="20"),
        sa.Column("quiet_end", sa.SmallInteger(), nullable=False, server_default="8"),
        sa.Column("timezone", sa.String(60), nullable=False, server_default="Asia/Seoul"),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "automation_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100)),
        sa.Column("contact_id", sa.BigInteger()),
        sa.Column("conversation_id", sa.BigInteger()),
        sa.Column("data", JSONB(), nullable=False, server_default="{}"),
        sa.Column("key", sa.String(200)),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_automation_events_pending",
        "automation_events",
        ["id"],
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_index("ix_automation_events_processed", "automation_events", ["processed_at"])
    op.create_index(
        "uq_automation_events_key",
        "automation_events",
        ["workspace_id", "key"],
        unique=True,
        postgresql_where=sa.text("key IS NOT NULL"),
    )
    op.create_table(
        "automation_runs",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column(
            "rule_id",
            sa.BigInteger(),
            sa.ForeignKey("automation_rules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("trigger_key", sa.String(200), nullable=False),
        sa.Column("trigger_type", sa.String(40), nullable=False),
        sa.Column("context", JSONB(), nullable=False, server_default="{}"),
        sa.Column("status", sa.String(12), nullable=False, server_default="waiting"),
        sa.Column("step", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.String(500)),
        _at(),
        _at("updated_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("rule_id", "trigger_key", name="uq_automation_runs_rule_key"),
    )
    op.create_index(
        "ix_automation_runs_due",
        "automation_runs",
        ["next_at"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.create_index("ix_automation_runs_rule", "automation_runs", ["rule_id", "id"])
    op.create_index("ix_automation_runs_contact", "automation_runs", ["contact_id"])
    op.create_table(
        "automation_run_steps",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column(
            "run_id", sa.BigInteger(), sa.ForeignKey("automation_runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", JSONB(), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_automation_run_steps_contact", "automation_run_steps", ["contact_id", "created_at"])
    op.create_index("ix_automation_run_steps_run", "automation_run_steps", ["run_id", "id"])
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS automation_from_answer ON survey_answers")
    op.execute("DROP TRIGGER IF EXISTS automation_from_page ON visitor_pages")
    op.execute("DROP TRIGGER IF EXISTS automation_from_contact_update ON contacts")
    op.execute("DROP TRIGGER IF EXISTS automation_from_contact_insert ON contacts")
    op.execute("DROP TRIGGER IF EXISTS automation_from_event ON conversation_events")
    for fn in (
        "sodam_automation_from_answer()",
        "sodam_automation_from_page()",
        "sodam_automation_from_contact()",
        "sodam_automation_from_event()",
        "sodam_automation_wanted(bigint, text[])",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for table in (
        "automation_run_steps",
        "automation_runs",
        "automation_events",
        "automation_settings",
        "automation_rules",
    ):
        op.drop_table(table)
