"""Mail in through the built-in SMTP listener: `sodam bench mail [--mails N --clients C]`.

A private database (migrated), one workspace with one e-mail inbox, the listener in this
process on a loopback port, and C SMTP clients (stdlib smtplib, one connection each, on
threads) sending N mails from N/5 senders: new subjects, replies that thread by In-Reply-To,
and 10 % redeliveries of a mail already accepted. Each mail is timed from the start of DATA to
the listener's 250 (it answers only after the commit). Then the database is counted.

Prints the figures; the last line is one JSON object: mails, mails_per_s, accept_p50_ms,
accept_p99_ms, stored (must equal the distinct mails), duplicates (must be 0), lost (must be 0),
conversations.
"""

from __future__ import annotations

import asyncio
import json
import random
import smtplib
import statistics
import threading
import time
from email import policy
from email.message import EmailMessage

import psycopg

from bench.common import console, private_database, server_version


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mails(n: int, address: str, rng: random.Random) -> tuple[list[EmailMessage], int]:
    """(the mails to send, with redeliveries; how many distinct ones)."""
    senders = [f"customer{i}@bench.example" for i in range(max(1, n // 5))]
    sent_by: dict[str, list[str]] = {}
    out: list[EmailMessage] = []
    for i in range(n):
        sender = rng.choice(senders)
        msg = EmailMessage()
        msg["From"] = f"고객 {sender.split('@')[0]} <{sender}>"
        msg["To"] = address
        msg["Message-ID"] = f"<bench-{i}@bench.example>"
        previous = sent_by.get(sender)
        if previous and rng.random() < 0.5:
            msg["Subject"] = "Re: 배송 문의"
            msg["In-Reply-To"] = previous[-1]
            msg["References"] = " ".join(previous[-5:])
        else:
            msg["Subject"] = rng.choice(["배송 문의", "환불 요청", "Order question", "결제 오류"]) + f" {i}"
        msg.set_content(
            "안녕하세요, 주문한 물건이 아직 안 왔어요. 확인 부탁드립니다.\n\n"
            "2026년 12월 1일 (화) 오후 3:02, 소담 <help@bench.example>님이 작성:\n> 주문 감사합니다\n"
        )
        msg.add_alternative(
            "<p>안녕하세요, 주문한 물건이 <b>아직</b> 안 왔어요.</p><blockquote>주문 감사합니다</blockquote>",
            subtype="html",
        )
        sent_by.setdefault(sender, []).append(msg["Message-ID"])
        out.append(msg)
    distinct = len(out)
    out += [rng.choice(out[: max(1, distinct)]) for _ in range(distinct // 10)]
    rng.shuffle(out)
    return out, distinct


def _send_all(port: int, mails: list[EmailMessage], clients: int) -> list[float]:
    """Send on `clients` threads, one SMTP connection each; the DATA → 250 times (s)."""
    times: list[float] = []
    lock = threading.Lock()
    queue = list(mails)

    def worker():
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo()
            while True:
                with lock:
                    if not queue:
                        return
                    msg = queue.pop()
                raw = msg.as_bytes(policy=policy.SMTP)
                smtp.mail("sender@bench.example")
                smtp.rcpt(msg["To"])
                started = time.perf_counter()
                code, reply = smtp.data(raw)
                elapsed = time.perf_counter() - started
                if code != 250:
                    raise RuntimeError(f"the listener answered {code} {reply!r}")
                with lock:
                    times.append(elapsed)

    failures: list[BaseException] = []

    def guarded():
        try:
            worker()
        except BaseException as exc:  # reported after the run, not lost on a thread
            failures.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} SMTP client(s) failed: {failures[0]!r}")
    return times


async def _run(url: str, mails: int, clients: int) -> dict:

    from sodam.accounts import service as accounts
    from sodam.channels import service as inboxes
    from sodam.channels.models import ChannelType
    from sodam.db.session import dispose_engine, init_engine, session_scope
    from sodam.mail import service as mail
    from sodam.mail.listener import start_server

    init_engine(url, pool_size=clients + 2)
    try:
        async with session_scope() as session:
            ws = await accounts.create_workspace(session, name="Bench 메일", slug="bench-mail")
            inbox = await inboxes.create(
                session, workspace_id=ws.id, name="메일 문의", channel_type=ChannelType.email
            )
            await mail.set_config(
                session, workspace_id=ws.id, inbox_id=inbox.id, address="help@bench.example"
            )
        to_send, distinct = _mails(mails, "help@bench.example", random.Random(13))
        port = _free_port()
        server = await start_server("127.0.0.1", port)
        console.print(f"sending {len(to_send):,} mails ({distinct:,} distinct) on {clients} SMTP connections")
        started = time.perf_counter()
        times = await asyncio.to_thread(_send_all, port, to_send, clients)
        elapsed = time.perf_counter() - started
        server.close()
        await server.wait_closed()
    finally:
        await dispose_engine()
    with psycopg.connect(url) as conn:
        stored, unique_ids = conn.execute(
            "SELECT count(*), count(DISTINCT client_id) FROM messages WHERE inbox_id = %s", (inbox.id,)
        ).fetchone()
        conversations = conn.execute(
            "SELECT count(*) FROM conversations WHERE inbox_id = %s", (inbox.id,)
        ).fetchone()[0]
    times.sort()
    return {
        "mails": len(to_send),
        "mails_per_s": round(len(to_send) / elapsed, 1),
        "accept_p50_ms": round(statistics.median(times) * 1000, 1),
        "accept_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 1),
        "stored": stored,
        "duplicates": stored - unique_ids,
        "lost": distinct - unique_ids,
        "conversations": conversations,
    }


def main(*, mails: int = 2000, clients: int = 8) -> None:
    from sodam.db.migrate import upgrade

    with private_database() as db:
        upgrade(db.url)
        console.print(f"PostgreSQL {server_version(db.url)} ({db.kind})")
        figures = asyncio.run(_run(db.url, mails, clients))
    for key, value in figures.items():
        console.print(f"{key:>15}: {value}")
    print(json.dumps(figures))
