"""rate limits: the batched check updates each bucket in place

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-06

`sodam_rate_hit_many` (0009) answers a batch of callers' checks; every widget message asks it
two (its visitor and its address). Per key it called `sodam_rate_hit` as a query: a nested
set-returning call that read the workspace's override and upserted the bucket (INSERT … ON
CONFLICT DO UPDATE), although the batch had inserted and locked every bucket already. On the
message path that was about a third of PostgreSQL's CPU beside the message function itself
(wait samples of `sodam bench messages`). Same signature, same answers: the overrides of the
batch's workspaces are read once, and each check is one UPDATE of its locked row. A bucket that
`purge()` deleted between the insert and the lock has no row to update: that check falls back
to `sodam_rate_hit`, which upserts it.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def _m0009():
    spec = importlib.util.spec_from_file_location("m0009", Path(__file__).with_name("0009_rate_limits.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


INLINE = """
CREATE OR REPLACE FUNCTION sodam_rate_hit_many(
    p_callers integer[], p_keys text[], p_rules text[], p_workspace_ids bigint[],
    p_limits integer[], p_periods double precision[], p_nows double precision[]
) RETURNS TABLE (caller integer, idx integer, allowed boolean, rule_limit integer,
                 period_s double precision, remaining integer, retry_after_s double precision,
                 reset_s double precision)
LANGUAGE plpgsql AS $$
DECLARE
    v_refused integer := NULL;
    v_overrides jsonb;
    v_override jsonb;
    v_now double precision;
    v_step double precision;
BEGIN
    INSERT INTO rate_limit_buckets (key, tat, allowed)
    SELECT k, 0, true FROM (SELECT DISTINCT unnest(p_keys) AS k) keys ORDER BY k
    ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM rate_limit_buckets b WHERE b.key = ANY (p_keys) ORDER BY b.key FOR UPDATE;
    SELECT jsonb_object_agg(w.id::text, w.rate_limits) INTO v_overrides
    FROM workspaces w WHERE w.id = ANY (p_workspace_ids) AND w.rate_limits <> '{}'::jsonb;
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        CONTINUE WHEN p_callers[i] IS NOT DISTINCT FROM v_refused;
        caller := p_callers[i];
        idx := i;
        v_now := coalesce(p_nows[i], extract(epoch FROM clock_timestamp()));
        rule_limit := p_limits[i];
        period_s := p_periods[i];
        v_override := v_overrides -> (p_workspace_ids[i]::text) -> p_rules[i];
        IF jsonb_typeof(v_override) = 'object' THEN
            rule_limit := coalesce((v_override ->> 'limit')::integer, rule_limit);
            period_s := coalesce((v_override ->> 'period_s')::double precision, period_s);
        END IF;
        rule_limit := greatest(rule_limit, 1);
        period_s := greatest(period_s, 0.001);
        v_step := period_s / rule_limit;
        -- GCRA as in sodam_rate_hit: allowed when, after it, the bucket is at most one
        -- period ahead of now; a refusal changes nothing.
        UPDATE rate_limit_buckets b SET
            allowed = greatest(b.tat, v_now) + v_step - v_now <= period_s + 1e-9,
            tat = CASE WHEN greatest(b.tat, v_now) + v_step - v_now <= period_s + 1e-9
                       THEN greatest(b.tat, v_now) + v_step ELSE b.tat END
        WHERE b.key = p_keys[i]
        RETURNING b.allowed,
                  greatest(0, floor((period_s - (b.tat - v_now)) / v_step + 1e-9))::integer,
                  CASE WHEN b.allowed THEN 0::double precision
                       ELSE greatest(0, b.tat + v_step - period_s - v_now) END,
                  greatest(0, b.tat - v_now)
        INTO allowed, remaining, retry_after_s, reset_s;
        IF NOT FOUND THEN  -- purged between the insert and the lock
            SELECT h.allowed, h.rule_limit, h.period_s, h.remaining, h.retry_after_s, h.reset_s
              INTO allowed, rule_limit, period_s, remaining, retry_after_s, reset_s
              FROM sodam_rate_hit(p_keys[i], p_rules[i], p_workspace_ids[i], p_limits[i],
                                  p_periods[i], 1, p_nows[i]) h;
        END IF;
        RETURN NEXT;
        IF NOT allowed THEN v_refused := p_callers[i]; END IF;
    END LOOP;
END
$$
"""


def nested() -> str:
    """0009's definition of the function (a nested sodam_rate_hit per check), replacing."""
    return _m0009().RATE_HIT_MANY.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.execute(INLINE)


def downgrade() -> None:
    op.execute(nested())
