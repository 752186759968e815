"""campaigns to segments, their recipients, and one announcement model for every surface

Revision ID: 0030
Revises: 0022
Create Date: 2026-12-03

`phone_announcements` (the IVR's) becomes `announcements`, with a severity, a start and an
end and the time it was cleared: the widget banner, the bot, the first auto-reply and the
IVR read the same rows. Campaign recipients are unique per (campaign, contact); a customer's
message in a campaign's conversation counts as a reply and opens it to the team (a trigger,
so the message path itself stays one statement).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0030"
down_revision = "0031"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _ts(name: str, nullable: bool = True, default: bool = False):
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default else None,
    )


# The primary key's name depends on how 0026 was run (naming convention or PostgreSQL's).
_RENAME_PK = """
DO $$
DECLARE v_name text;
BEGIN
    SELECT conname INTO v_name FROM pg_constraint
     WHERE conrelid = '{new}'::regclass AND contype = 'p' AND conname LIKE '%{old}%';
    IF v_name IS NOT NULL THEN
        EXECUTE format('ALTER TABLE {new} RENAME CONSTRAINT %I TO %I', v_name, replace(v_name, '{old}', '{new}'));
    END IF;
END $$;
"""

REPLY_TRIGGER = """
CREATE FUNCTION sodam_campaign_reply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The first answer to a campaign message: counted, and the conversation (고객 응답 대기
    -- since the campaign) starts waiting for the team.
    UPDATE campaign_recipients SET replied_at = NEW.created_at
     WHERE conversation_id = NEW.conversation_id AND replied_at IS NULL;
    IF FOUND THEN
        UPDATE conversations SET status = 'open', queued_at = NEW.created_at, updated_at = NEW.created_at
         WHERE id = NEW.conversation_id AND status = 'pending';
        IF FOUND THEN
            INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data, created_at)
            VALUES (NEW.workspace_id, NEW.conversation_id, 'status.changed', 'contact', NEW.sender_id,
                    jsonb_build_object('from', 'pending', 'to', 'open', 'campaign_reply', true), NEW.created_at);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_campaign_reply AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.sender_type = 'contact')
    EXECUTE FUNCTION sodam_campaign_reply();
"""


def upgrade() -> None:
    op.rename_table("phone_announcements", "announcements")
    op.execute("ALTER INDEX ix_phone_announcements_workspace_id RENAME TO ix_announcements_workspace_id")
    op.execute("ALTER SEQUENCE IF EXISTS phone_announcements_id_seq RENAME TO announcements_id_seq")
    op.execute(_RENAME_PK.format(old="phone_announcements", new="announcements"))
    op.add_column(
        "announcements", sa.Column("severity", sa.String(10), nullable=False, server_default="major")
    )
    op.add_column("announcements", _ts("starts_at"))
    op.add_column("announcements", _ts("ends_at"))
    op.add_column("announcements", _ts("cleared_at"))
    op.add_column(
        "announcements",
        sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
    )
    op.create_index(
        "ix_announcements_live", "announcements", ["workspace_id", "id"], postgresql_where=sa.text("active")
    )

    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("segment_id", sa.BigInteger(), sa.ForeignKey("segments.id", ondelete="SET NULL")),
        sa.Column(
            "inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subject_ko", sa.String(200), nullable=False, server_default=""),
        sa.Column("subject_en", sa.String(200), nullable=False, server_default=""),
        sa.Column("body_ko", sa.Text(), nullable=False, server_default=""),
        sa.Column("body_en", sa.Text(), nullable=False, server_default=""),
        sa.Column("template_code", sa.String(64)),
        sa.Column("template_variables", JSONB(), nullable=False, server_default="{}"),
        sa.Column("rate_per_s", sa.Integer(), nullable=False, server_default="50"),
        sa.Column("status", sa.String(12), nullable=False, server_default="draft"),
        _ts("scheduled_at"),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Seoul"),
        _ts("ends_at"),
        sa.Column("links", JSONB(), nullable=False, server_default="[]"),
        sa.Column("materialized", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        _ts("started_at"),
        _ts("finished_at"),
        sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
    )
    op.create_index("ix_campaigns_workspace_id", "campaigns", ["workspace_id"])
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column(
            "campaign_id", sa.BigInteger(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(10), nullable=False, server_default="queued"),
        sa.Column("reason", sa.String(40)),
        sa.Column("language", sa.String(8)),
        sa.Column("conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("message_id", sa.BigInteger()),
        _ts("sent_at"),
        _ts("opened_at"),
        _ts("clicked_at"),
        _ts("replied_at"),
        sa.UniqueConstraint("campaign_id", "contact_id", name="uq_campaign_recipients_campaign_contact"),
    )
    op.create_index("ix_campaign_recipients_workspace_id", "campaign_recipients", ["workspace_id"])
    op.create_index(
        "ix_campaign_recipients_todo",
        "campaign_recipients",
        ["campaign_id", "id"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index("ix_campaign_recipients_conversation", "campaign_recipients", ["conversation_id"])
    op.create_index("ix_campaign_recipients_message", "campaign_recipients", ["message_id"])
    op.execute(REPLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS messages_campaign_reply ON messages")
    op.execute("DROP FUNCTION IF EXISTS sodam_campaign_reply()")
    op.drop_table("campaign_recipients")
    op.drop_table("campaigns")
    op.drop_index("ix_announcements_live", table_name="announcements")
    for column in ("created_by", "cleared_at", "ends_at", "starts_at", "severity"):
        op.drop_column("announcements", column)
    op.rename_table("announcements", "phone_announcements")
    op.execute(_RENAME_PK.format(old="announcements", new="phone_announcements"))
    op.execute("ALTER SEQUENCE IF EXISTS announcements_id_seq RENAME TO phone_announcements_id_seq")
    op.execute("ALTER INDEX ix_announcements_workspace_id RENAME TO ix_phone_announcements_workspace_id")
