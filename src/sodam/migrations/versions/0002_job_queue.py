"""job queue: procrastinate's schema

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Applies the schema shipped with the installed procrastinate (pinned to 3.10.x in
pyproject). Upgrading procrastinate means a new migration that applies its own
migration files from procrastinate/sql/migrations/.
"""

from importlib import resources

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = resources.files("procrastinate.sql").joinpath("schema.sql").read_text(encoding="utf-8")
    op.execute(schema)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers CASCADE")
    op.execute("DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type, procrastinate_job_status CASCADE")
    op.execute(
        """
        DO $$ DECLARE r record; BEGIN
          FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
            EXECUTE 'DROP FUNCTION ' || r.sig || ' CASCADE';
          END LOOP;
        END $$;
        """
    )
