"""Churn risk per customer: a logistic regression over a few explainable features, trained on
the workspace's own history with a time split, its accuracy (AUC) measured on a later period
it never saw.

Population at an instant T: customers active at T (a conversation in the ACTIVE_DAYS before
T). Label: churned = no conversation in [T, T + WINDOW_DAYS). Features at T (all read from the
rollups and the survey answers, nothing after T):

- `days_since_last`: days from the last conversation before T to T;
- `conversations_30d`, `conversations_prev_60d`: conversations started in the 30 days before T,
  and in the 60 days before those (the trend is the pair);
- `csat_last`, `nps_last`: the last CSAT (1–5) and NPS (0–10) answer before T, with
  `csat_missing` / `nps_missing` (a missing score is set to the scale's middle);
- `negative_share`: conversations with a negative customer message ÷ scored conversations in
  the 180 days before T (0 with none scored);
- `reopened_180d`: conversations reopened after their first resolution, 180 days before T;
- `unanswered_180d`: conversations still without an agent reply, 180 days before T;
- `wait_hours`: mean first-response wait (hours) over the 180 days before T (0 with none).

Time split (see docs/metrics.md): train on snapshot T1 = now − 2·WINDOW (labels from
[T1, T1 + WINDOW), all before T2); evaluate on snapshot T2 = now − WINDOW (labels from
[T2, now)) — a later period the model never saw. Fixed settings (standardised features, L2,
C = 1.0, balanced classes): nothing is tuned, on T2 or anywhere. The model then scored is refit
on T2 with the same settings (the latest labelled history) and applied to the customers
active now. The AUC stored with it is the T1 → T2 figure.

Training (scikit-learn) and scoring (numpy) run off the event loop (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg

ACTIVE_DAYS = 90
WINDOW_DAYS = 60
FEATURES = (
    "days_since_last",
    "conversations_30d",
    "conversations_prev_60d",
    "csat_last",
    "csat_missing",
    "nps_last",
    "nps_missing",
    "negative_share",
    "reopened_180d",
    "unanswered_180d",
    "wait_hours",
)
MIN_CLASS = 5  # each class needs this many customers to train or to measure

# One row per customer active at %(t)s (a conversation in [t − active, t)).
FEATURES_SQL = """
WITH pop AS MATERIALIZED (
    SELECT a.contact_id, max(a.hour) AS last_hour
      FROM report_contact_activity a
     WHERE a.workspace_id = %(ws)s AND a.dim = '' AND a.value = ''
       AND a.hour >= %(t)s - make_interval(days => %(active)s) AND a.hour < %(t)s
     GROUP BY a.contact_id
)
SELECT pop.contact_id,
       extract(epoch FROM %(t)s - pop.last_hour) / 86400.0,
       conv.c30, conv.c60, csat.score, nps.score,
       coalesce(fx.negative::float / nullif(fx.scored, 0), 0),
       coalesce(fx.reopened, 0), coalesce(fx.unanswered, 0),
       coalesce(fx.frt_ms::float / nullif(fx.frt_n, 0) / 3600000.0, 0),
       %(label)s::boolean AND NOT EXISTS (
           SELECT 1 FROM report_contact_activity b
            WHERE b.workspace_id = %(ws)s AND b.contact_id = pop.contact_id AND b.dim = '' AND b.value = ''
              AND b.hour >= %(t)s AND b.hour < %(t)s + make_interval(days => %(window)s))
  FROM pop
  CROSS JOIN LATERAL (
        SELECT coalesce(sum(a.conversations) FILTER (WHERE a.hour >= %(t)s - interval '30 days'), 0) AS c30,
               coalesce(sum(a.conversations) FILTER (WHERE a.hour < %(t)s - interval '30 days'), 0) AS c60
          FROM report_contact_activity a
         WHERE a.workspace_id = %(ws)s AND a.contact_id = pop.contact_id AND a.dim = '' AND a.value = ''
           AND a.hour >= %(t)s - interval '90 days' AND a.hour < %(t)s) conv
  CROSS JOIN LATERAL (
        SELECT sum(f.scored) AS scored, sum(f.negative) AS negative, sum(f.reopened) AS reopened,
               sum(f.unanswered) AS unanswered, sum(f.frt_count) AS frt_n, sum(f.frt_sum_ms) AS frt_ms
          FROM report_facts f
         WHERE f.workspace_id = %(ws)s AND f.contact_id = pop.contact_id
           AND f.hour >= %(t)s - interval '180 days' AND f.hour < %(t)s) fx
  LEFT JOIN LATERAL (
        SELECT s.score FROM survey_answers s
         WHERE s.workspace_id = %(ws)s AND s.contact_id = pop.contact_id AND s.kind = 'csat'
           AND s.score IS NOT NULL AND s.created_at < %(t)s
         ORDER BY s.created_at DESC LIMIT 1) csat ON true
  LEFT JOIN LATERAL (
        SELECT s.score FROM survey_answers s
         WHERE s.workspace_id = %(ws)s AND s.contact_id = pop.contact_id AND s.kind = 'nps'
           AND s.score IS NOT NULL AND s.created_at < %(t)s
         ORDER BY s.created_at DESC LIMIT 1) nps ON true
 ORDER BY pop.contact_id
"""


@dataclass
class Snapshot:
    at: datetime
    contact_ids: list[int]
    x: np.ndarray  # rows × FEATURES
    y: np.ndarray  # 1 = churned within the window (all 0 when unlabelled)
    raw: list[dict[str, Any]] = field(default_factory=list)


def _vector(row: tuple) -> tuple[list[float], dict[str, Any]]:
    _, days, c30, c60, csat, nps, neg, reopened, unanswered, wait = row[:10]
    named = {
        "days_since_last": round(float(days), 2),
        "conversations_30d": int(c30),
        "conversations_prev_60d": int(c60),
        "csat_last": csat,
        "nps_last": nps,
        "negative_share": round(float(neg), 3),
        "reopened_180d": int(reopened),
        "unanswered_180d": int(unanswered),
        "wait_hours": round(float(wait), 2),
    }
    vec = [
        float(days),
        float(c30),
        float(c60),
        3.0 if csat is None else float(csat),
        1.0 if csat is None else 0.0,
        5.0 if nps is None else float(nps),
        1.0 if nps is None else 0.0,
        float(neg),
        float(reopened),
        float(unanswered),
        float(wait),
    ]
    return vec, named


async def snapshot(
    conn: psycopg.AsyncConnection,
    *,
    workspace_id: int,
    at: datetime,
    labelled: bool,
    active_days: int = ACTIVE_DAYS,
    window_days: int = WINDOW_DAYS,
) -> Snapshot:
    """The features of the customers active at `at` (and their labels when `labelled`)."""
    cur = await conn.execute(
        FEATURES_SQL,
        {"ws": workspace_id, "t": at, "active": active_days, "window": window_days, "label": labelled},
    )
    rows = await cur.fetchall()
    vectors, raw = [], []
    for row in rows:
        vec, named = _vector(row)
        vectors.append(vec)
        raw.append(named)
    x = np.array(vectors, dtype=float).reshape(len(rows), len(FEATURES))
    y = np.array([1 if row[10] else 0 for row in rows], dtype=int)
    return Snapshot(at, [row[0] for row in rows], x, y, raw)


def auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (the Mann–Whitney statistic, ties counted half); None without
    both classes."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=float)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def fit(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """A logistic regression with fixed settings (standardised, L2, C = 1, balanced classes),
    as plain numbers: means, scales, coefficients (per standard deviation), intercept."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit((x - mean) / scale, y)
    return {
        "features": list(FEATURES),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def predict(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Probability of churn for each row."""
    z = ((x - np.array(model["mean"])) / np.array(model["scale"])) @ np.array(model["coef"]) + model[
        "intercept"
    ]
    return 1.0 / (1.0 + np.exp(-z))


def explain(model: dict[str, Any], x_row: np.ndarray, top: int = 3) -> list[dict[str, Any]]:
    """The features pushing this customer's risk up most (coefficient × standardised value),
    each with its direction: "high" when the customer's value is above the average."""
    centred = x_row - np.array(model["mean"])
    z = centred / np.array(model["scale"]) * np.array(model["coef"])
    order = np.argsort(-z)
    return [
        {
            "feature": model["features"][i],
            "direction": "high" if centred[i] > 0 else "low",
            "weight": round(float(z[i]), 3),
        }
        for i in order[:top]
        if z[i] > 0
    ]


@dataclass
class Evaluation:
    train_at: datetime
    test_at: datetime
    n_train: int
    n_test: int
    churned_train: int
    churned_test: int
    auc: float | None
    model: dict[str, Any] | None  # refit on the test snapshot (the latest labelled history)
    baseline_auc: float | None = None  # days since last activity alone, for comparison


def _evaluate(train: Snapshot, test: Snapshot) -> Evaluation:
    ev = Evaluation(
        train.at, test.at, len(train.y), len(test.y), int(train.y.sum()), int(test.y.sum()), None, None
    )
    enough = (
        min(int(train.y.sum()), len(train.y) - int(train.y.sum())) >= MIN_CLASS
        and min(int(test.y.sum()), len(test.y) - int(test.y.sum())) >= MIN_CLASS
    )
    if not enough:
        return ev
    held = fit(train.x, train.y)
    ev.auc = auc(test.y, predict(held, test.x))
    ev.baseline_auc = auc(test.y, test.x[:, 0])
    ev.model = fit(test.x, test.y)
    return ev


async def evaluate(
    conn: psycopg.AsyncConnection,
    *,
    workspace_id: int,
    now: datetime | None = None,
    active_days: int = ACTIVE_DAYS,
    window_days: int = WINDOW_DAYS,
) -> Evaluation:
    """Train at now − 2·window, measure AUC at now − window (held out, later)."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    t2 = now - timedelta(days=window_days)
    t1 = t2 - timedelta(days=window_days)
    kw = {
        "workspace_id": workspace_id,
        "labelled": True,
        "active_days": active_days,
        "window_days": window_days,
    }
    train = await snapshot(conn, at=t1, **kw)
    test = await snapshot(conn, at=t2, **kw)
    return await asyncio.to_thread(_evaluate, train, test)


async def retrain(
    conn: psycopg.AsyncConnection, *, workspace_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Evaluate, keep the model (with its held-out AUC) and score every customer active now;
    the caller's connection commits (autocommit or its transaction)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    ev = await evaluate(conn, workspace_id=workspace_id, now=now)
    if ev.model is None:
        return {"trained": False, "n_train": ev.n_train, "n_test": ev.n_test, "auc": None}
    current = await snapshot(conn, workspace_id=workspace_id, at=now, labelled=False)
    risks = await asyncio.to_thread(predict, ev.model, current.x) if len(current.y) else np.array([])
    stored = {
        **ev.model,
        "baseline_auc": ev.baseline_auc,
        "train_at": ev.train_at.isoformat(),
        "test_at": ev.test_at.isoformat(),
        "churned_test": ev.churned_test,
        "active_days": ACTIVE_DAYS,
        "window_days": WINDOW_DAYS,
    }
    await conn.execute(
        "INSERT INTO churn_models (workspace_id, trained_at, model, auc, n_train, n_test)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (workspace_id, now, json.dumps(stored), ev.auc, ev.n_train, ev.n_test),
    )
    await conn.execute("DELETE FROM churn_scores WHERE workspace_id = %s", (workspace_id,))
    rows = []
    for i, contact_id in enumerate(current.contact_ids):
        risk = float(risks[i])
        if math.isnan(risk):
            continue
        features = {**current.raw[i], "top": explain(ev.model, current.x[i])}
        rows.append((workspace_id, contact_id, round(risk, 4), json.dumps(features), now))
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO churn_scores (workspace_id, contact_id, risk, features, scored_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
    return {"trained": True, "auc": ev.auc, "n_train": ev.n_train, "n_test": ev.n_test, "scored": len(rows)}


async def latest_model(conn: psycopg.AsyncConnection, workspace_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT trained_at, auc, n_train, n_test, model FROM churn_models WHERE workspace_id = %s"
        " ORDER BY trained_at DESC, id DESC LIMIT 1",
        (workspace_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    trained_at, auc_value, n_train, n_test, model = row
    return {
        "trained_at": trained_at.isoformat(),
        "auc": None if auc_value is None else round(auc_value, 3),
        "baseline_auc": None if model.get("baseline_auc") is None else round(model["baseline_auc"], 3),
        "n_train": n_train,
        "n_test": n_test,
        "train_at": model.get("train_at"),
        "test_at": model.get("test_at"),
        "coefficients": dict(zip(model["features"], [round(c, 3) for c in model["coef"]], strict=True)),
    }


async def at_risk(
    conn: psycopg.AsyncConnection,
    *,
    workspace_id: int,
    limit: int = 50,
    min_risk: float = 0.0,
    contact_ids: tuple[int, ...] | None = None,
) -> list[dict[str, Any]]:
    """Customers by risk, highest first (with the name and the features behind the score)."""
    where = "s.workspace_id = %(ws)s AND s.risk >= %(min)s"
    params: dict[str, Any] = {"ws": workspace_id, "min": min_risk, "limit": limit}
    if contact_ids is not None:
        where += " AND s.contact_id = ANY(%(contacts)s)"
        params["contacts"] = list(contact_ids)
    cur = await conn.execute(
        "SELECT s.contact_id, c.name, s.risk, s.features, s.scored_at FROM churn_scores s"
        f" JOIN contacts c ON c.id = s.contact_id AND c.workspace_id = s.workspace_id WHERE {where}"
        " ORDER BY s.risk DESC, s.contact_id LIMIT %(limit)s",
        params,
    )
    return [
        {
            "contact_id": cid,
            "name": name,
            "risk": round(risk, 3),
            "features": features,
            "scored_at": at.isoformat(),
        }
        for cid, name, risk, features, at in await cur.fetchall()
    ]
