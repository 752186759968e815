"""surveys (CSAT / NPS / CES / custom), their recipients, answers and escalations; anonymous
employee feedback; indexes for the screen pop and the contact timeline

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

survey_answers: one row per recipient (uq_survey_answers_recipient): a second submit updates.
staff_answers: an agent's anonymous answer — a random uuid, the day, the answers; nothing
that names the agent. staff_answered: that an agent answered (no time, no answer reference).
No new index on conversations or conversation_events: the screen pop and the timeline find a
contact's conversations by ix_conversations_contact_inbox and their events by
ix_conversation_events_conv (an index on last_message_at would cost every message's update).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _created():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("audience", sa.String(10), nullable=False, server_default="customers"),
        sa.Column("questions", JSONB(), nullable=False, server_default="[]"),
        sa.Column("on_resolve_inbox_ids", ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        sa.Column("escalate_at", sa.Integer(), nullable=True),
        sa.Column("escalate", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column("expires_after_hours", sa.Integer(), nullable=False, server_default="168"),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default="true"),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('csat', 'nps', 'ces', 'custom')", name="kind"),
        sa.CheckConstraint("audience IN ('customers', 'agents')", name="audience"),
    )
    op.create_index("ix_surveys_workspace_id", "surveys", ["workspace_id"])
    op.create_table(
        "survey_recipients",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("survey_id", sa.BigInteger(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="ko"),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _created(),
    )
    op.create_index("ix_survey_recipients_workspace_id", "survey_recipients", ["workspace_id"])
    op.create_index("ix_survey_recipients_contact", "survey_recipients", ["contact_id"])
    op.create_index(
        "uq_survey_recipients_conversation",
        "survey_recipients",
        ["survey_id", "conversation_id"],
        unique=True,
        postgresql_where=sa.text("conversation_id IS NOT NULL"),
    )
    op.create_index(
        "ix_survey_recipients_due", "survey_recipients", ["send_at"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("survey_id", sa.BigInteger(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "recipient_id",
            sa.BigInteger(),
            sa.ForeignKey("survey_recipients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("answers", JSONB(), nullable=False, server_default="{}"),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("comment_sentiment", sa.Float(), nullable=True),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("recipient_id", name="uq_survey_answers_recipient"),
    )
    op.create_index("ix_survey_answers_workspace_id", "survey_answers", ["workspace_id"])
    op.create_index("ix_survey_answers_survey", "survey_answers", ["survey_id", "id"])
    op.create_index("ix_survey_answers_contact", "survey_answers", ["contact_id", "created_at"])
    op.create_table(
        "survey_escalations",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column(
            "answer_id",
            sa.BigInteger(),
            sa.ForeignKey("survey_answers.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("survey_id", sa.BigInteger(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("assignee_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("reason", sa.String(20), nullable=False),
        _created(),
    )
    op.create_index("ix_survey_escalations_workspace_id", "survey_escalations", ["workspace_id"])
    op.create_table(
        "staff_answers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        _ws(),
        sa.Column("survey_id", sa.BigInteger(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False, server_default=sa.func.current_date()),
        sa.Column("answers", JSONB(), nullable=False, server_default="{}"),
    )
    op.create_index("ix_staff_answers_workspace_id", "staff_answers", ["workspace_id"])
    op.create_index("ix_staff_answers_survey", "staff_answers", ["survey_id"])
    op.create_table(
        "staff_answered",
        _ws(),
        sa.Column(
            "survey_id", sa.BigInteger(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_staff_answered_workspace_id", "staff_answered", ["workspace_id"])


def downgrade() -> None:
    for table in ("staff_answered", "staff_answers", "survey_escalations", "survey_answers", "survey_recipients", "surveys"):
        op.drop_table(table)
