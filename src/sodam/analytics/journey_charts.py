"""The retention and journey screens' charts: the cohort triangle's colour scale, the
Sankey-like flow from first channel to outcome, one customer's satisfaction over time. Each
draws exactly the rows of its report table (the page shows the table and offers it as CSV)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from sodam.analytics import charts


def shade(table: dict[str, Any]) -> list[list[float | None]]:
    """The cohort triangle's colour scale: each month's share as the cell's opacity."""
    months = [i for i, c in enumerate(table["columns"]) if c[:1] == "m" and c[1:].isdigit()]
    return [
        [
            (0.08 + 0.72 * v / 100) if i in months and isinstance(v, int | float) else None
            for i, v in enumerate(row)
        ]
        for row in table["rows"]
    ]


def flow_chart(t: Callable[..., str], channel_label: Callable[[str], str], table: dict[str, Any]) -> Markup:
    """First channel → conversation count → outcome, from the paths table."""
    cols = table["columns"]
    ci, bi, oi, ni = (cols.index(c) for c in ("channel", "bucket", "outcome", "customers"))
    sums: list[dict[str, float]] = [{}, {}, {}]
    links: dict[tuple[int, str, str], float] = {}
    for row in table["rows"]:
        ch, b, o, n = row[ci], row[bi], row[oi], row[ni]
        for c, key in enumerate((ch, b, o)):
            sums[c][key] = sums[c].get(key, 0) + n
        links[(0, ch, b)] = links.get((0, ch, b), 0) + n
        links[(1, b, o)] = links.get((1, b, o), 0) + n
    order = [["1", "2-3", "4-9", "10+"], ["loyal", "active", "churned"]]
    columns = [
        [(k, channel_label(k), v) for k, v in sorted(sums[0].items(), key=lambda kv: -kv[1])],
        [(k, t("reports.bucket", n=k), sums[1][k]) for k in order[0] if k in sums[1]],
        [(k, t("reports.outcome." + k), sums[2][k]) for k in order[1] if k in sums[2]],
    ]
    return charts.flow(
        columns,
        [(c, a, b, v) for (c, a, b), v in links.items()],
        title=t("reports.table.paths"),
        chart_id="chart-paths",
    )


def satisfaction_chart(t: Callable[..., str], table: dict[str, Any]) -> Markup:
    """One customer's answers over time: CSAT (1-5), NPS (0-10), CES (1-7) by day."""
    days = sorted({row[0] for row in table["rows"]})
    series = []
    for kind in ("csat", "nps", "ces"):
        by_day = {row[0]: row[2] for row in table["rows"] if row[1] == kind}
        if by_day:
            series.append((t("reports.kind." + kind), [by_day.get(d) for d in days]))
    return charts.line_chart(
        [d[2:] for d in days],
        series,
        title=t("reports.table.satisfaction"),
        chart_id="chart-satisfaction",
    )
