"""Every KPI in one place: its key, unit, Korean and English label, the formula in words, and
how it is computed from the summed counters of the hourly rollup (`report_hourly`).

A KPI is a function of sums only, so any filter (period, inbox, channel, team, agent,
language) gives its figure by summing the matching rollup rows and applying the formula:
no report reads the raw event log at request time. A ratio whose denominator is zero is
None (shown as "—"), never an error and never 0 %.

docs/metrics.md lists the same definitions for people; tests/analytics checks each formula
on a hand-built fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

# The additive counters of report_hourly / report_facts (migration 0024).
COUNTERS: tuple[str, ...] = (
    "conversations",
    "bot_conversations",
    "bot_decided",
    "bot_confirmed",
    "bot_assumed",
    "bot_contained",
    "handoffs",
    "frt_count",
    "unanswered",
    "resolved",
    "fcr",
    "reopened",
    "scored",
    "negative",
    "csat_n",
    "csat_pos",
    "nps_n",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "ces_n",
    "ces_sum",
    "frt_sum_ms",
    "frt_business_sum_ms",
    "resolution_sum_ms",
    "resolution_business_sum_ms",
)
DIMENSIONS: tuple[str, ...] = ("inbox_id", "channel", "team_id", "agent_id", "language")

Sums = Mapping[str, int | float]


@dataclass(frozen=True)
class Kpi:
    key: str
    unit: str  # count | seconds | percent | score
    label_ko: str
    label_en: str
    formula: str
    compute: Callable[[Sums], float | int | None]
    # True: a rise is good news (the overview colours the change); False: a fall is.
    higher_is_better: bool = True

    def label(self, locale: str) -> str:
        return self.label_ko if locale == "ko" else self.label_en


def _ratio(part: str, whole: str, scale: float = 100.0) -> Callable[[Sums], float | None]:
    def compute(s: Sums) -> float | None:
        d = s.get(whole, 0) or 0
        return round(scale * (s.get(part, 0) or 0) / d, 1) if d else None

    return compute


def _mean_seconds(total_ms: str, count: str) -> Callable[[Sums], float | None]:
    def compute(s: Sums) -> float | None:
        n = s.get(count, 0) or 0
        return round((s.get(total_ms, 0) or 0) / n / 1000.0, 1) if n else None

    return compute


def _nps(s: Sums) -> float | None:
    n = s.get("nps_n", 0) or 0
    if not n:
        return None
    return round(100.0 * ((s.get("nps_promoters", 0) or 0) - (s.get("nps_detractors", 0) or 0)) / n, 1)


def _ces(s: Sums) -> float | None:
    n = s.get("ces_n", 0) or 0
    return round((s.get("ces_sum", 0) or 0) / n, 2) if n else None


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "conversations",
        "count",
        "대화 수",
        "Conversations",
        "Conversations created in the period.",
        lambda s: int(s.get("conversations", 0) or 0),
    ),
    Kpi(
        "first_response_s",
        "seconds",
        "평균 첫 응답 시간",
        "Average first response time",
        "Mean of (first agent reply − clock start) over conversations whose first agent reply falls "
        "in the period; the clock starts at the bot's handoff, else at the first customer message. "
        "Unanswered conversations are excluded and counted separately.",
        _mean_seconds("frt_sum_ms", "frt_count"),
        higher_is_better=False,
    ),
    Kpi(
        "first_response_business_s",
        "seconds",
        "평균 첫 응답 시간(운영 시간 기준)",
        "Average first response time (business hours)",
        "As first response time, counting only the inbox's business hours (inboxes without hours: "
        "calendar time).",
        _mean_seconds("frt_business_sum_ms", "frt_count"),
        higher_is_better=False,
    ),
    Kpi(
        "unanswered",
        "count",
        "응답 없는 대화",
        "Unanswered conversations",
        "Conversations whose human clock started in the period with no agent reply yet.",
        lambda s: int(s.get("unanswered", 0) or 0),
        higher_is_better=False,
    ),
    Kpi(
        "resolved",
        "count",
        "해결된 대화",
        "Resolved conversations",
        "Conversations first resolved in the period.",
        lambda s: int(s.get("resolved", 0) or 0),
    ),
    Kpi(
        "resolution_s",
        "seconds",
        "평균 해결 시간",
        "Average resolution time",
        "Mean of (first resolution − creation) over conversations first resolved in the period.",
        _mean_seconds("resolution_sum_ms", "resolved"),
        higher_is_better=False,
    ),
    Kpi(
        "resolution_business_s",
        "seconds",
        "평균 해결 시간(운영 시간 기준)",
        "Average resolution time (business hours)",
        "As resolution time, counting only the inbox's business hours.",
        _mean_seconds("resolution_business_sum_ms", "resolved"),
        higher_is_better=False,
    ),
    Kpi(
        "fcr_pct",
        "percent",
        "첫 접촉 해결률(FCR)",
        "First contact resolution (FCR)",
        "Resolved conversations never reopened ÷ all conversations first resolved in the period × 100.",
        _ratio("fcr", "resolved"),
    ),
    Kpi(
        "reopen_pct",
        "percent",
        "재오픈율",
        "Reopen rate",
        "Resolved conversations reopened at least once ÷ conversations first resolved in the period × 100.",
        _ratio("reopened", "resolved"),
        higher_is_better=False,
    ),
    Kpi(
        "csat_pct",
        "percent",
        "고객 만족도(CSAT)",
        "CSAT",
        "CSAT answers of 4 or 5 ÷ CSAT answers (1–5) given in the period × 100.",
        _ratio("csat_pos", "csat_n"),
    ),
    Kpi(
        "nps",
        "score",
        "순추천지수(NPS)",
        "NPS",
        "% promoters (9–10) − % detractors (0–6) of NPS answers given in the period (−100…100).",
        _nps,
    ),
    Kpi(
        "ces",
        "score",
        "고객 노력 점수(CES)",
        "CES",
        "Mean CES answer (1–7, higher = easier) given in the period.",
        _ces,
    ),
    Kpi(
        "bot_containment_pct",
        "percent",
        "봇 자체 해결률",
        "Bot containment",
        "Bot conversations the bot closed without a person (confirmed or assumed, no agent reply) ÷ "
        "bot conversations with an outcome in the period × 100.",
        _ratio("bot_contained", "bot_decided"),
    ),
    Kpi(
        "bot_confirmed_pct",
        "percent",
        "봇 해결률(고객 확인)",
        "Bot resolution (confirmed)",
        "Bot outcomes where the customer said the answer helped ÷ bot outcomes in the period × 100.",
        _ratio("bot_confirmed", "bot_decided"),
    ),
    Kpi(
        "bot_assumed_pct",
        "percent",
        "봇 해결률(추정)",
        "Bot resolution (assumed)",
        "Bot outcomes counted because the customer went quiet after an answer ÷ bot outcomes × 100.",
        _ratio("bot_assumed", "bot_decided"),
    ),
    Kpi(
        "handoff_pct",
        "percent",
        "상담원 연결률",
        "Handoff rate",
        "Bot outcomes that were a handoff to a person ÷ bot outcomes in the period × 100.",
        _ratio("handoffs", "bot_decided"),
        higher_is_better=False,
    ),
    Kpi(
        "negative_pct",
        "percent",
        "부정 감정 대화 비율",
        "Negative-sentiment share",
        "Conversations created in the period with at least one negative customer message ÷ those "
        "with at least one scored customer message × 100.",
        _ratio("negative", "scored"),
        higher_is_better=False,
    ),
)
BY_KEY: dict[str, Kpi] = {k.key: k for k in KPIS}

# Churn is not a sum of hourly counters (it needs each customer's activity before and after),
# so it is computed by its own query (queries.churn); its definition lives here with the rest.
CHURN = Kpi(
    "churn_pct",
    "percent",
    "고객 이탈률",
    "Churn rate",
    "Customers active at the period's start (a conversation in the N days before it, N = 90 by "
    "default) with no conversation in the N days before its end ÷ customers active at its start × 100.",
    lambda s: None,
    higher_is_better=False,
)


def figures(sums: Sums) -> dict[str, float | int | None]:
    """Every rollup KPI's value for these sums."""
    return {k.key: k.compute(sums) for k in KPIS}


def change(current: float | int | None, previous: float | int | None) -> float | None:
    """Relative change in % (None when either side is missing or the previous value is 0)."""
    if current is None or previous is None or previous == 0:
        return None
    return round(100.0 * (current - previous) / abs(previous), 1)
