"""rate limits: GCRA buckets shared by every process, login throttling, agent notices

Revision ID: 0009
Revises: 0010
Create Date: 2026-11-26

- `rate_limit_buckets` (UNLOGGED: no WAL, so a check costs no disk flush; a crash or a
  fail-over empties it, which only forgets who was recently busy). One row per key
  holding the GCRA "theoretical arrival time"; `tat` is not indexed so every update is
  HOT. `sodam_rate_hit()` is the whole check in one statement: it reads the
  workspace's override, upserts the bucket and answers allowed / remaining / retry.
- `workspaces.rate_limits`: per-workspace overrides {"rule": {"limit", "period_s"}}.
- `login_throttles` (logged: a lock must survive a restart): failures per account and
  per IP, the next allowed attempt, the lock.
- `agent_notices`: durable notices an agent sees in the console (e.g. "your account
  was locked after failed sign-ins"); there is no outbound mail yet.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None


# Migration 0046 replaces its body and restores it on the way down.
RATE_HIT_MANY = """
        CREATE FUNCTION sodam_rate_hit_many(
            p_callers integer[], p_keys text[], p_rules text[], p_workspace_ids bigint[],
            p_limits integer[], p_periods double precision[], p_nows double precision[]
        ) RETURNS TABLE (caller integer, idx integer, allowed boolean, rule_limit integer,
                         period_s double precision, remaining integer, retry_after_s double precision,
                         reset_s double precision)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_refused integer := NULL;
            r record;
        BEGIN
            INSERT INTO rate_limit_buckets (key, tat, allowed)
            SELECT k, 0, true FROM (SELECT DISTINCT unnest(p_keys) AS k) keys ORDER BY k
            ON CONFLICT (key) DO NOTHING;
            PERFORM 1 FROM rate_limit_buckets b WHERE b.key = ANY (p_keys) ORDER BY b.key FOR UPDATE;
            FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
                CONTINUE WHEN p_callers[i] IS NOT DISTINCT FROM v_refused;
                SELECT * INTO r FROM sodam_rate_hit(
                    p_keys[i], p_rules[i], p_workspace_ids[i], p_limits[i], p_periods[i], 1, p_nows[i]);
                caller := p_callers[i]; idx := i; allowed := r.allowed; rule_limit := r.rule_limit;
                period_s := r.period_s; remaining := r.remaining; retry_after_s := r.retry_after_s;
                reset_s := r.reset_s;
                RETURN NEXT;
                IF NOT r.allowed THEN v_refused := p_callers[i]; END IF;
            END LOOP;
        END
        $$
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_limit_buckets (
            key text PRIMARY KEY,
            tat double precision NOT NULL,
            allowed boolean NOT NULL
        ) WITH (fillfactor = 70)
        """
    )
    op.add_column(
        "workspaces",
        sa.Column("rate_limits", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
    )
    # GCRA (generic cell rate algorithm): a bucket of `limit` requests per `period`
    # refilled smoothly, kept as one timestamp. A request is allowed when, after it,
    # the bucket would be at most `period` ahead of now. Refused requests change nothing.
    op.execute(
        """
        CREATE FUNCTION sodam_rate_hit(
            p_key text, p_rule text, p_workspace_id bigint, p_limit integer,
            p_period_s double precision, p_cost integer DEFAULT 1, p_now double precision DEFAULT NULL
        ) RETURNS TABLE (allowed boolean, rule_limit integer, period_s double precision,
                         remaining integer, retry_after_s double precision, reset_s double precision)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_now double precision := coalesce(p_now, extract(epoch FROM clock_timestamp()));
            v_limit integer := p_limit;
            v_period double precision := p_period_s;
            v_override jsonb;
            v_step double precision;
            v_tat double precision;
            v_allowed boolean;
        BEGIN
            IF p_workspace_id IS NOT NULL THEN
                SELECT w.rate_limits -> p_rule INTO v_override FROM workspaces w WHERE w.id = p_workspace_id;
                IF jsonb_typeof(v_override) = 'object' THEN
                    v_limit := coalesce((v_override ->> 'limit')::integer, v_limit);
                    v_period := coalesce((v_override ->> 'period_s')::double precision, v_period);
                END IF;
            END IF;
            v_limit := greatest(v_limit, 1);
            v_period := greatest(v_period, 0.001);
            v_step := v_period / v_limit;
            INSERT INTO rate_limit_buckets AS b (key, tat, allowed)
            VALUES (p_key, v_now + v_step * p_cost, p_cost <= v_limit)
            ON CONFLICT (key) DO UPDATE SET
                allowed = greatest(b.tat, v_now) + v_step * p_cost - v_now <= v_period + 1e-9,
                tat = CASE WHEN greatest(b.tat, v_now) + v_step * p_cost - v_now <= v_period + 1e-9
                           THEN greatest(b.tat, v_now) + v_step * p_cost ELSE b.tat END
            RETURNING b.tat, b.allowed INTO v_tat, v_allowed;
            RETURN QUERY SELECT
                v_allowed,
                v_limit,
                v_period,
                greatest(0, floor((v_period - (v_tat - v_now)) / v_step + 1e-9))::integer,
                CASE WHEN v_allowed THEN 0::double precision
                     ELSE greatest(0, v_tat + v_step * p_cost - v_period - v_now) END,
                greatest(0, v_tat - v_now);
        END
        $$
        """
    )
    # Many callers' checks in one statement (sodam.core.ratelimit batches the checks that
    # arrive while one is under way, as group commit does for messages). Each caller's
    # checks run in order and stop at its first refusal, so a refused request does not
    # also spend its later, wider buckets. Every key of the batch is locked first, in key
    # order: two batches never wait on each other in a cycle.
    op.execute(RATE_HIT_MANY)
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
    )
    # One console sign-in attempt, counted before the password is checked (so parallel
    # guesses cannot all slip in before the first failure is written): refused while any
    # key is locked or waiting; otherwise every key's count goes up, and from `delay_after`
    # on the next attempt must wait 2^(n - delay_after + 1) s, from `lock_after` on the key
    # is locked. A success then gives the attempt back (sodam_login_succeeded).
    op.execute(
        """
        CREATE FUNCTION sodam_login_attempt(
            p_keys text[], p_delay_after integer[], p_lock_after integer[], p_lock_s double precision,
            p_max_delay_s double precision, p_window_s double precision, p_now timestamptz
        ) RETURNS TABLE (allowed boolean, locked boolean, retry_after_s double precision, failures integer[])
        LANGUAGE plpgsql AS $$
        DECLARE
            v_now timestamptz := coalesce(p_now, clock_timestamp());
            v_wait double precision := 0;
            v_locked boolean := false;
            v_counts integer[] := '{}';
            v_f integer;
            r record;
        BEGIN
            INSERT INTO login_throttles (key, failures, last_failure_at)
            SELECT k, 0, v_now FROM unnest(p_keys) AS k ON CONFLICT (key) DO NOTHING;
            FOR r IN SELECT t.* FROM login_throttles t WHERE t.key = ANY (p_keys) ORDER BY t.key FOR UPDATE LOOP
                IF r.locked_until > v_now THEN
                    v_locked := true;
                    v_wait := greatest(v_wait, extract(epoch FROM r.locked_until - v_now));
                ELSIF r.next_attempt_at > v_now THEN
                    v_wait := greatest(v_wait, extract(epoch FROM r.next_attempt_at - v_now));
                END IF;
            END LOOP;
            IF v_wait > 0 THEN
                RETURN QUERY SELECT false, v_locked, v_wait, NULL::integer[];
                RETURN;
            END IF;
            FOR i IN 1 .. array_length(p_keys, 1) LOOP
                UPDATE login_throttles t SET
                    failures = CASE WHEN t.last_failure_at < v_now - make_interval(secs => p_window_s)
                                    THEN 1 ELSE t.failures + 1 END,
                    last_failure_at = v_now
                WHERE t.key = p_keys[i]
                RETURNING t.failures INTO v_f;
                UPDATE login_throttles t SET
                    next_attempt_at = CASE WHEN v_f >= p_delay_after[i] THEN v_now + make_interval(
                        secs => least(p_max_delay_s, power(2, v_f - p_delay_after[i] + 1))) END,
                    locked_until = CASE WHEN v_f >= p_lock_after[i]
                                        THEN v_now + make_interval(secs => p_lock_s) END
                WHERE t.key = p_keys[i];
                v_counts := v_counts || v_f;
            END LOOP;
            RETURN QUERY SELECT true, false, 0::double precision, v_counts;
        END
        $$
        """
    )
    # A success: the account starts afresh; the other keys (the IP) get this attempt back.
    op.execute(
        """
        CREATE FUNCTION sodam_login_succeeded(
            p_account_key text, p_other_keys text[], p_delay_after integer[], p_lock_after integer[]
        ) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM login_throttles WHERE key = p_account_key;
            FOR i IN 1 .. coalesce(array_length(p_other_keys, 1), 0) LOOP
                UPDATE login_throttles t SET
                    failures = greatest(t.failures - 1, 0),
                    next_attempt_at = CASE WHEN t.failures - 1 < p_delay_after[i] THEN NULL ELSE t.next_attempt_at END,
                    locked_until = CASE WHEN t.failures - 1 < p_lock_after[i] THEN NULL ELSE t.locked_until END
                WHERE t.key = p_other_keys[i];
            END LOOP;
        END
        $$
        """
    )
    op.create_table(
        "agent_notices",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("details", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_agent_notices_workspace_id", "agent_notices", ["workspace_id"])
    op.create_index(
        "ix_agent_notices_unread", "agent_notices", ["agent_id"], postgresql_where=sa.text("read_at IS NULL")
    )


def downgrade() -> None:
    op.drop_table("agent_notices")
    op.execute(
        "DROP FUNCTION sodam_login_attempt(text[], integer[], integer[], double precision,"
        " double precision, double precision, timestamptz)"
    )
    op.execute("DROP FUNCTION sodam_login_succeeded(text, text[], integer[], integer[])")
    op.drop_table("login_throttles")
    op.execute(
        "DROP FUNCTION sodam_rate_hit_many(integer[], text[], text[], bigint[], integer[],"
        " double precision[], double precision[])"
    )
    op.execute("DROP FUNCTION sodam_rate_hit(text, text, bigint, integer, double precision, integer, double precision)")
    op.drop_column("workspaces", "rate_limits")
    op.execute("DROP TABLE rate_limit_buckets")
