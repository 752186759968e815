"""Server-side SVG charts (no JavaScript, nothing vendored): a line chart of one or more series
over days, horizontal bars, and the weekday × hour heatmap. Each draws exactly the rows of a
report table, which the page shows beside it and offers as CSV. The SVG scales to its box
(viewBox + width 100 %), so it fits a 390 px phone as well as a desk screen. Labels are
escaped; values are numbers."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

COLORS = ("#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#1098ad", "#f08c00", "#c92a2a")
W, H = 640, 220
PAD_L, PAD_R, PAD_T, PAD_B = 52, 12, 12, 28


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** len(str(int(value))) / 10
    for k in (1, 2, 2.5, 5, 10):
        if value <= k * step:
            return k * step
    return value


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.3g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def line_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, title: str, chart_id: str
) -> Markup:
    """Lines over the labels (days); a None value breaks the line. Y axis from 0."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = _nice_max(max(values, default=0))
    n = max(len(labels), 1)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def x(i: int) -> float:
        return PAD_L + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return PAD_T + plot_h * (1 - v / top)

    parts = [_open(chart_id, title)]
    for k in range(5):
        v = top * k / 4
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{PAD_L - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="axis">{_fmt(v)}</text>'
        )
    every = max(1, n // 7)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{H - 8}" text-anchor="middle" class="axis">{escape(label)}</text>'
            )
    for s, (name, vs) in enumerate(series):
        color = COLORS[s % len(COLORS)]
        runs: list[list[str]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(run)}"/>'
                )
            for point in run:
                cx, cy = point.split(",")
                parts.append(
                    f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"><title>{escape(name)}</title></circle>'
                )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="legend-item"><i style="background:{COLORS[s % len(COLORS)]}"></i>{escape(name)}</span>'
        for s, (name, _) in enumerate(series)
    )
    # Every label in parts and legend went through escape(); the rest is numbers and our markup.
    return Markup("".join(parts) + f'<div class="chart-legend">{legend}</div>')  # noqa: S704


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str, chart_id: str) -> Markup:
    """Horizontal bars, one per label, with the value at the end."""
    rows = max(len(labels), 1)
    bar_h, gap, label_w = 18, 8, 180
    height = rows * (bar_h + gap) + gap
    top = _nice_max(max((v or 0 for v in values), default=0))
    span = W - label_w - 60
    parts = [_open(chart_id, title, height=height)]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        yy = gap + i * (bar_h + gap)
        width = span * (v or 0) / top
        text = escape(str(label))
        short = text if len(text) <= 22 else escape(str(label)[:21]) + Markup("…")
        parts.append(
            f'<text x="{label_w - 6}" y="{yy + 13}" text-anchor="end" class="axis"><title>{text}</title>{short}</text>'
            f'<rect x="{label_w}" y="{yy}" width="{width:.1f}" height="{bar_h}" fill="{COLORS[0]}" rx="3"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{yy + 13}" class="value">{"—" if v is None else _fmt(v)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - labels escaped above


def heatmap(rows: Sequence[str], grid: Sequence[Sequence[int]], *, title: str, chart_id: str) -> Markup:
    """Seven rows (weekdays) × 24 columns (hours); darker = more conversations."""
    cell_w, cell_h, label_w, head = 24, 22, 40, 18
    width, height = label_w + 24 * cell_w + 4, head + len(rows) * cell_h + 4
    top = max((v for r in grid for v in r), default=0) or 1
    parts = [_open(chart_id, title, width=width, height=height)]
    for h in range(0, 24, 3):
        parts.append(
            f'<text x="{label_w + h * cell_w + cell_w / 2}" y="12" text-anchor="middle" class="axis">{h}</text>'
        )
    for r, (label, values) in enumerate(zip(rows, grid, strict=True)):
        yy = head + r * cell_h
        parts.append(
            f'<text x="{label_w - 6}" y="{yy + 15}" text-anchor="end" class="axis">{escape(label)}</text>'
        )
        for h, v in enumerate(values):
            alpha = 0.06 + 0.94 * (v / top) if v else 0.0
            parts.append(
                f'<rect x="{label_w + h * cell_w}" y="{yy}" width="{cell_w - 2}" height="{cell_h - 2}" rx="3"'
                f' fill="{COLORS[0]}" fill-opacity="{alpha:.2f}" class="cell"><title>{escape(label)} {h}:00 · {v}</title></rect>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - labels escaped above


def _open(chart_id: str, title: str, *, width: int = W, height: int = H) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>'
    )


def flow(
    columns: Sequence[Sequence[tuple[str, str, float]]],
    links: Sequence[tuple[int, str, str, float]],
    *,
    title: str,
    chart_id: str,
) -> Markup:
    """A Sankey-like flow: columns of nodes (key, label, value) stacked by value, and bands
    (column, from key, to key, value) from one column's node to the next's, as wide as their value."""
    height = 260
    top_pad, gap, node_w = 8, 10, 12
    n_cols = max(len(columns), 1)
    xs = [40 + i * (W - 80 - node_w) / max(n_cols - 1, 1) for i in range(n_cols)]
    tallest = max((sum(v for _, _, v in col) for col in columns), default=0) or 1
    most_nodes = max((len(col) for col in columns), default=1)
    scale = (height - 2 * top_pad - gap * (most_nodes - 1)) / tallest
    pos: dict[tuple[int, str], list[float]] = {}  # (col, key) -> [y, out offset, in offset, colour index]
    parts = [_open(chart_id, title, height=height)]
    nodes = []
    for c, col in enumerate(columns):
        y = top_pad
        for i, (key, label, value) in enumerate(col):
            h = max(value * scale, 1.5)
            pos[(c, key)] = [y, 0.0, 0.0, i if c == 0 else -1]
            nodes.append((c, y, h, label, value, i))
            y += h + gap
    for c, src, dst, value in links:
        a, b = pos.get((c, src)), pos.get((c + 1, dst))
        if a is None or b is None or value <= 0:
            continue
        h = value * scale
        x0, x1 = xs[c] + node_w, xs[c + 1]
        y0, y1 = a[0] + a[1], b[0] + b[2]
        a[1] += h
        b[2] += h
        if b[3] < 0:
            b[3] = a[3]
        xm = (x0 + x1) / 2
        colour = COLORS[a[3] % len(COLORS)] if a[3] >= 0 else COLORS[0]
        parts.append(
            f'<path d="M{x0:.1f},{y0:.1f} C{xm:.1f},{y0:.1f} {xm:.1f},{y1:.1f} {x1:.1f},{y1:.1f}'
            f' L{x1:.1f},{y1 + h:.1f} C{xm:.1f},{y1 + h:.1f} {xm:.1f},{y0 + h:.1f} {x0:.1f},{y0 + h:.1f} Z"'
            f' fill="{colour}" fill-opacity="0.28" class="band"><title>{escape(src)} → {escape(dst)} · {_fmt(value)}</title></path>'
        )
    for c, y, h, label, value, i in nodes:
        last = c == n_cols - 1
        colour = COLORS[i % len(COLORS)] if c == 0 else "#495057"
        tx = xs[c] - 4 if last else xs[c] + node_w + 4
        parts.append(
            f'<rect x="{xs[c]:.1f}" y="{y:.1f}" width="{node_w}" height="{h:.1f}" fill="{colour}" rx="2"/>'
            f'<text x="{tx:.1f}" y="{y + min(h / 2, 14) + 4:.1f}" class="value" text-anchor="{"end" if last else "start"}">'
            f"{escape(label)} · {_fmt(value)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - labels escaped above
