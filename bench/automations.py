"""Automation rules: domain events evaluated through 50 rules, per event.

.venv/bin/python -m bench.automations [--events 1000000] [--rules 50]
sodam bench automations --events 1000000

What is measured is the engine's matching, the part that runs for every event of the
workspace: the workspace's rule index picked by event type (rules grouped by the outbox event
they listen to, built once and rebuilt only when a rule changes), then each candidate rule's
trigger filter and compiled conditions (plain closures: language, attributes, company plan,
conversation channel/priority/tags, weekday, event properties) over an in-memory view of the
contact and conversation. It excludes the database (reading the outbox batch and the
contacts, one statement each per 500 events, and the INSERT of the runs). Last line: one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sodam.automations.rules import EvalContext, build_index, check_conditions, check_steps, check_trigger

EVENT_TYPES = [
    "message.received",
    "conversation.created",
    "conversation.resolved",
    "conversation.reopened",
    "survey.answered",
    "contact.created",
    "contact.attribute_changed",
    "page.visited",
    "custom",
]
TRIGGERS = [
    ("message.received", {}),
    ("conversation.created", {}),
    ("conversation.resolved", {}),
    ("conversation.reopened", {}),
    ("survey.answered", {}),
    ("contact.created", {}),
    ("contact.attribute_changed", {"key": "plan"}),
    ("page.visited", {"url_contains": "/pricing"}),
    ("event.custom", {"name": "order.shipped"}),
    ("event.custom", {"name": "payment.failed"}),
    ("conversation.nth", {"count": 3, "days": 7}),
]
CONDITION_POOL = [
    {"field": "contact.language", "op": "in", "value": ["ko"]},
    {"field": "contact.attribute", "key": "tier", "op": "eq", "value": "VIP"},
    {"field": "contact.attribute", "key": "seats", "op": "gte", "value": 10},
    {"field": "company.plan", "op": "in", "value": ["pro", "enterprise"]},
    {"field": "conversation.channel", "op": "in", "value": ["web_widget", "email"]},
    {"field": "conversation.priority", "op": "not_in", "value": ["urgent"]},
    {"field": "conversation.tag", "op": "has_not", "value": "spam"},
    {"field": "time.weekday", "op": "in", "value": [0, 1, 2, 3, 4]},
    {"field": "event.property", "key": "score", "op": "lt", "value": 4},
    {"field": "event.property", "key": "amount", "op": "gt", "value": 50000},
    {"field": "contact.tag", "op": "has", "value": "beta"},
]
STEPS = [{"type": "message", "text": {"ko": "안녕하세요", "en": "Hello"}}]


def make_rules(n: int, rng: random.Random) -> list[SimpleNamespace]:
    rules = []
    for i in range(n):
        trigger_type, config = TRIGGERS[i % len(TRIGGERS)]
        conds = rng.sample(CONDITION_POOL, rng.randint(0, 4))
        rules.append(
            SimpleNamespace(
                id=i + 1,
                workspace_id=1,
                name=f"rule {i}",
                trigger_type=trigger_type,
                trigger_config=check_trigger(trigger_type, config),
                conditions=check_conditions(conds),
                steps=check_steps(STEPS),
                marketing=False,
                business_hours=False,
            )
        )
    return rules


def make_contacts(n: int, rng: random.Random) -> list[tuple[dict, dict | None]]:
    out = []
    for i in range(n):
        contact = {
            "id": i,
            "language": rng.choice(["ko", "ko", "en", None]),
            "attributes": {
                "tier": rng.choice(["VIP", "Gold", None]),
                "seats": rng.randint(1, 40),
                "tags": rng.choice([["beta"], [], ["beta", "vip"]]),
            },
            "company": None,
        }
        company = {"plan": rng.choice(["free", "pro", "enterprise"]), "attributes": {}} if i % 3 else None
        out.append((contact, company))
    return out


def main(*, events: int = 100_000, rules: int = 50, seed: int = 7) -> dict:
    rng = random.Random(seed)
    started = time.perf_counter()
    index = build_index(make_rules(rules, rng), version=1)
    build_ms = (time.perf_counter() - started) * 1000
    people = make_contacts(5000, rng)
    tz = ZoneInfo("Asia/Seoul")
    base = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
    convs = [
        {"channel": c, "inbox_id": i % 5 + 1, "priority": p, "tags": t}
        for i, (c, p, t) in enumerate(
            (
                rng.choice(["web_widget", "email", "api"]),
                rng.choice(["none", "high", "urgent"]),
                rng.choice([[], ["spam"], ["refund"]]),
            )
            for _ in range(2000)
        )
    ]
    samples = []
    matched = 0
    names = ["order.shipped", "payment.failed", "delivery.delayed"]
    urls = ["https://shop.example/pricing", "https://shop.example/cart", "https://shop.example/"]
    print(f"rules: {rules} (index built in {build_ms:.2f} ms), events: {events:,}")
    perf = time.perf_counter_ns
    t0 = time.perf_counter()
    for i in range(events):
        etype = EVENT_TYPES[i % len(EVENT_TYPES)]
        contact, company = people[i % len(people)]
        data = {"score": i % 6, "amount": (i * 7919) % 100000, "url": urls[i % 3], "keys": ["plan"]}
        ctx = EvalContext(
            event={"type": etype, "name": names[i % 3] if etype == "custom" else None, "data": data},
            contact=contact,
            company=company,
            conversation=convs[i % len(convs)]
            if etype.startswith(("conversation", "message", "survey"))
            else None,
            now=base + timedelta(minutes=i % 10080),
            tz=tz,
        )
        start = perf()
        for rule in index.for_event(etype):
            if rule.matches(ctx):
                matched += 1
        samples.append(perf() - start)
        if events >= 200_000 and (i + 1) % 200_000 == 0:
            print(f"  {i + 1:,} events…")
    wall = time.perf_counter() - t0
    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))] / 1e6

    result = {
        "benchmark": "automations",
        "events": events,
        "rules": rules,
        "matches": matched,
        "rule_eval_p50_ms": round(pct(0.50), 5),
        "rule_eval_p99_ms": round(pct(0.99), 5),
        "rule_eval_max_ms": round(samples[-1] / 1e6, 4),
        "rule_eval_mean_ms": round(statistics.fmean(samples) / 1e6, 5),
        "events_per_s": round(events / wall),
    }
    print(
        f"matched {matched:,} (rule, event) pairs; {result['events_per_s']:,} events/s including set-up of each context"
    )
    print(
        f"per event: p50 {result['rule_eval_p50_ms']} ms, p99 {result['rule_eval_p99_ms']} ms, max {result['rule_eval_max_ms']} ms"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=50)
    args = parser.parse_args()
    main(events=args.events, rules=args.rules)
