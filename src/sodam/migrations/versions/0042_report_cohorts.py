"""reports: the cohort rollup (retention reads a few thousand rows, not every customer's activity)

Revision ID: 0042
Revises: 0039
Create Date: 2026-12-03

- report_contact_activity.first_hour: the customer's first hour in that slice (the same for all
  their rows of the slice); the hour index includes it, so "who was active in the last N days,
  by cohort" is one index-only range scan of the window.
- report_cohort_days: per slice, cohort month (of the first conversation, Korea's months) and
  day, the customers of the cohort whose first conversation **of that day's month** was on that
  day. Any month's active customers up to any day are then a sum of days (distinct customers are
  not summable, first-of-the-month days are). Kept by reports.refresh for the customers a batch
  touches (old contribution out, new in); filled here from the activity rows.
"""

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0039"
branch_labels = None
depends_on = None

# As rollup.COHORT_DAYS_SQL had it when this migration was written.
COHORT_DAYS = """
INSERT INTO report_cohort_days (workspace_id, dim, value, cohort, day, customers)
SELECT workspace_id, dim, value, cohort, day, count(*)
  FROM (SELECT a.workspace_id, a.dim, a.value,
               date_trunc('month', a.first_hour AT TIME ZONE 'Asia/Seoul')::date AS cohort,
               (min(a.hour) AT TIME ZONE 'Asia/Seoul')::date AS day
          FROM report_contact_activity a
         GROUP BY a.workspace_id, a.contact_id, a.dim, a.value, 4,
                  date_trunc('month', a.hour AT TIME ZONE 'Asia/Seoul')) x
 GROUP BY 1, 2, 3, 4, 5
"""


def upgrade() -> None:
    op.add_column("report_contact_activity", sa.Column("first_hour", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE report_contact_activity a SET first_hour = f.first_hour"
        " FROM (SELECT contact_id, dim, value, min(hour) AS first_hour FROM report_contact_activity"
        "       GROUP BY 1, 2, 3) f"
        " WHERE (a.contact_id, a.dim, a.value) = (f.contact_id, f.dim, f.value)"
    )
    op.execute("DROP INDEX ix_report_contact_activity_hour")
    op.execute(
        "CREATE INDEX ix_report_contact_activity_hour ON report_contact_activity"
        " (workspace_id, dim, value, hour) INCLUDE (contact_id, next_hour, first_hour)"
    )
    op.create_table(
        "report_cohort_days",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("dim", sa.String(40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "dim", "value", "cohort", "day", name="pk_report_cohort_days"),
    )
    op.execute(COHORT_DAYS)


def downgrade() -> None:
    op.drop_table("report_cohort_days")
    op.execute("DROP INDEX ix_report_contact_activity_hour")
    op.execute(
        "CREATE INDEX ix_report_contact_activity_hour ON report_contact_activity"
        " (workspace_id, dim, value, hour) INCLUDE (contact_id, next_hour)"
    )
    op.drop_column("report_contact_activity", "first_hour")
