"""Agent assist: what the panel beside the reply box shows for a conversation, and how often
agents use it. Plain async functions (keyword-only, never commit); every query is scoped to
the workspace, and the CPU work (encoding, ranking) runs in one worker thread per call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.assist import empathy, engine
from sodam.assist import index as replies_index
from sodam.assist.models import KINDS, AssistUsage
from sodam.config import get_settings
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.core.i18n import gettext
from sodam.knowledge import index as kb_index
from sodam.nlp import encoders
from sodam.nlp.hits import Confidence
from sodam.nlp.text import customer_query, normalize
from sodam.replies import service as canned_replies
from sodam.replies.search import rank as rank_canned
from sodam.replies.search import terms_of

ARTICLES, REPLIES = 3, 3
REMIND_WITHIN = timedelta(minutes=15)
REPEAT_WINDOW = timedelta(days=7)
DRAFT_MAX = 2000
CANNED_DRAFT_CHARS = 24  # a longer draft is a reply being written, not a search for one
MIN_CANNED_OVERLAP = 2  # content terms a canned reply shares with the question to be offered
ARTICLE_MIN_LEXICAL = 0.05  # two-way match (or 0.7 × body coverage): the agent judges, so a low bar
# With sentence vectors a hit's score is the bot decision's answer probability: an article is
# suggested to the agent from where the bot itself would offer it. (0.5 was this bar when the
# score was a fused similarity; against the probability it hid articles the bot answers with,
# "배송 언제 와요? 주문한 지 일주일이 넘었는데 너무 늦네요": 0.495 for the shipping article.)
ARTICLE_MIN_FUSED = Confidence.FUSED_CHOICES_AT
SNIPPET = 160

_vectors = engine.LruCache(size=1024, ttl_s=1800)  # question text -> its vectors per channel
_candidates = engine.LruCache(size=2048, ttl_s=600)  # (source, ws, version, question) -> candidates


@dataclass(frozen=True)
class CannedPick:
    id: int
    shortcut: str
    title: str
    preview: str


def _question_of(messages: list[Message]) -> tuple[str, int | None]:
    """The customer's last question: their messages since the last agent / bot answer (up to two)."""
    asked: list[Message] = []
    for m in messages:  # newest first
        if m.sender_type == SenderType.contact and m.kind == MessageKind.text:
            asked.append(m)
            if len(asked) == 2:
                break
        elif m.sender_type in (SenderType.agent, SenderType.bot) and m.kind != MessageKind.note:
            if (m.payload or {}).get("lead"):
                asked.clear()  # answers to the bot's lead form (an e-mail, a phone number), not a question
                continue
            if asked:
                break
    if not asked:
        return "", None
    return " ".join(m.content.strip() for m in reversed(asked))[:1000], asked[0].id


def _query_vectors(question: str, channels: list[str]) -> dict[str, Any]:
    """The question's vectors on the channels asked (encoded once per question text)."""
    key = (question, tuple(sorted(channels)))
    return _vectors.get_or(key, lambda: encoders.query_vectors(question, channels) if channels else {})


def _article_candidates(kb: kb_index.WorkspaceIndex, question: str, locale: str) -> list[engine.Candidate]:
    idx = kb.by_locale.get(locale)
    if idx is None or not len(idx) or not question:
        return []
    query = customer_query(question)
    channels = idx.channels if idx.has_vectors else []
    wanted = sorted(set(channels) | ({replies_index.VECTOR_CHANNEL} & set(encoders.available_channels())))
    vectors = _query_vectors(query, wanted) if wanted else {}
    asked = customer_query(question, expand=False)  # what the decision reads (ranking.LexicalIndex.query)
    result = idx.query(query, 10, {c: v for c, v in vectors.items() if c in channels} or None, asked=asked)
    out = []
    for hit in result.hits:
        article = kb.articles.get(int(hit.doc_id))
        if article is None:
            continue
        fused = hit.dense >= 0
        score = hit.score if fused else max(hit.match, 0.7 * hit.body_coverage)
        if score >= (ARTICLE_MIN_FUSED if fused else ARTICLE_MIN_LEXICAL):
            out.append(
                engine.Candidate(("article", article.id), float(score), f"{article.title} {article.snippet}")
            )
    return out


def _compute(
    *,
    workspace_id: int,
    question: str,
    locale: str,
    draft: str,
    kb: kb_index.WorkspaceIndex,
    replies: engine.ReplyIndex,
    canned: list,
) -> dict[str, Any]:
    """The CPU part of one suggestion (thread): candidates per question (cached), the draft's re-rank."""
    kb_key = ("kb", workspace_id, id(kb), kb.signature, len(kb.articles), locale, question)
    articles = _candidates.get_or(kb_key, lambda: engine.warm(_article_candidates(kb, question, locale)))
    rp_key = ("rp", workspace_id, id(replies), replies.version, locale, question)

    def reply_candidates() -> list[engine.Candidate]:
        if not question or not len(replies):
            return []
        query = customer_query(question)
        vector = None
        if replies.dim:
            vector = _query_vectors(query, [replies_index.VECTOR_CHANNEL]).get(replies_index.VECTOR_CHANNEL)
        return replies.candidates(question, locale, vector)

    past = _candidates.get_or(rp_key, lambda: engine.warm(reply_candidates()))
    terms = engine.draft_terms(draft)
    return {
        "articles": engine.rerank(articles, terms, ARTICLES),
        "replies": engine.rerank(past, terms, REPLIES),
        "canned": _pick_canned(canned, question, draft, workspace_id),
    }


def _pick_canned(candidates: list, question: str, draft: str, workspace_id: int = 0) -> Any:
    """While the draft is short (a shortcut or a few words), its best canned reply by the `/`
    picker's ranking; else the reply sharing most content terms with the customer's question
    (computed once per question and set of replies)."""
    if not candidates:
        return None
    typed = draft.strip()
    if typed and len(typed) <= CANNED_DRAFT_CHARS:
        ranked = rank_canned(candidates, typed)
        if ranked:
            return ranked[0][1]
    if not question:
        return None
    key = ("cn", workspace_id, question, hash(tuple((c.id, c.usage_count) for c in candidates)))
    return _candidates.get_or(key, lambda: _canned_for_question(candidates, question))


def _canned_for_question(candidates: list, question: str) -> Any:
    q_terms = set(terms_of(question))
    best, best_n = None, 0
    for c in candidates:
        n = len(q_terms & set(c.terms))
        if n > best_n or (n == best_n and best is not None and c.usage_count > best.usage_count):
            best, best_n = c, n
    return best if best_n >= MIN_CANNED_OVERLAP else None


async def _sentiment(
    session: AsyncSession, conversation: Conversation
) -> tuple[float | None, str | None, float | None]:
    score = await session.scalar(
        text("SELECT score FROM conversation_sentiments WHERE workspace_id = :ws AND conversation_id = :c"),
        {"ws": conversation.workspace_id, "c": conversation.id},
    )
    last = (
        await session.execute(
            select(Message.sentiment_label, Message.sentiment_score)
            .where(
                Message.workspace_id == conversation.workspace_id,
                Message.conversation_id == conversation.id,
                Message.sender_type == SenderType.contact,
                Message.sentiment_label.is_not(None),
            )
            .order_by(Message.seq.desc())
            .limit(1)
        )
    ).first()
    return score, (last[0] if last else None), (last[1] if last else None)


async def _repeated_contact(session: AsyncSession, conversation: Conversation, now: datetime) -> bool:
    others = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.workspace_id == conversation.workspace_id,
            Conversation.contact_id == conversation.contact_id,
            Conversation.id != conversation.id,
            Conversation.created_at >= now - REPEAT_WINDOW,
        )
    )
    return bool(others)


def reminder(conversation: Conversation, now: datetime, locale: str) -> dict[str, Any] | None:
    """The promised time closest to now (SLA first / next response or resolution due, as told to
    the customer by the auto-reply and the bot) when it is within REMIND_WITHIN or past."""
    best = None
    for kind, clock in (conversation.sla_clocks or {}).items():
        try:
            due = datetime.fromisoformat(clock["due"])
        except (KeyError, TypeError, ValueError):
            continue
        if best is None or due < best[1]:
            best = (kind, due, bool(clock.get("breached")))
    if best is None:
        return None
    kind, due, breached = best
    left = due - now
    if left > REMIND_WITHIN:
        return None
    minutes = int(left.total_seconds() // 60)
    overdue = breached or left.total_seconds() <= 0
    keys = {
        "first_response": ("assist.reminder.first_response", "assist.reminder.first_response_overdue"),
        "next_response": ("assist.reminder.next_response", "assist.reminder.next_response_overdue"),
        "resolution": ("assist.reminder.resolution", "assist.reminder.resolution_overdue"),
    }
    soon, late = keys.get(kind, keys["next_response"])
    message = (
        gettext(locale, late, minutes=max(0, -minutes))
        if overdue
        else gettext(locale, soon, minutes=max(1, minutes))
    )
    return {
        "kind": kind,
        "due_at": due.astimezone(UTC).isoformat(),
        "minutes_left": minutes,
        "overdue": overdue,
        "message": message,
    }


def _snippet(text_: str) -> str:
    flat = " ".join(text_.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1].rstrip() + "…"


async def suggest(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    agent_id: int,
    role: str,
    draft: str = "",
    ui_locale: str = "ko",
    now: datetime | None = None,
) -> dict[str, Any]:
    """{question, locale, articles, replies, canned, empathy, reminder} for a conversation of the
    workspace (404 otherwise). `draft` is what the agent has typed so far."""
    now = now or datetime.now(UTC)
    draft = normalize(draft or "")[:DRAFT_MAX]
    conversation = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=conversation_id
    )
    recent = list(
        await session.scalars(
            select(Message)
            .where(Message.workspace_id == workspace_id, Message.conversation_id == conversation_id)
            .order_by(Message.seq.desc())
            .limit(20)
        )
    )
    question, question_id = _question_of(recent)
    locale = conversation.language if conversation.language in ("ko", "en") else engine.locale_of(question)
    kb = await kb_index.registry.get(session, workspace_id)
    replies = await replies_index.registry.get(session, workspace_id)
    viewer = await canned_replies.viewer(session, workspace_id=workspace_id, agent_id=agent_id, role=role)
    pool = await canned_replies.find(
        session, workspace_id=workspace_id, viewer=viewer, query="", own_teams_only=True
    )
    from sodam.replies.search import Candidate as CannedCandidate

    canned_pool = [
        CannedCandidate(r.id, r.shortcut, r.title, r.body, tuple(r.search_terms or ()), r.usage_count)
        for _, r in pool
    ]
    computed = await asyncio.to_thread(
        _compute,
        workspace_id=workspace_id,
        question=question,
        locale=locale,
        draft=draft,
        kb=kb,
        replies=replies,
        canned=canned_pool,
    )
    help_center = ""
    if computed["articles"]:
        workspace = await accounts.get_workspace(session, workspace_id=workspace_id)
        help_center = f"{get_settings().base_url()}/help/{workspace.slug}"
    articles = []
    for cand, score in computed["articles"]:
        article = kb.articles.get(cand.key[1])
        if article is None:
            continue
        url = f"{help_center}/articles/{article.id}"
        articles.append(
            {
                "id": article.id,
                "title": article.title,
                "snippet": article.snippet,
                "url": url,
                "score": round(score, 4),
                "insert_text": f"{article.title}\n{url}",
            }
        )
    past = []
    for cand, score in computed["replies"]:
        row = replies.rows.get(cand.key[1])
        if row is None:
            continue
        past.append(
            {
                "id": row.id,
                "question": _snippet(row.question),
                "reply": row.reply,
                "conversation_id": row.conversation_id,
                "score": round(score, 4),
                "insert_text": row.reply,
            }
        )
    canned = None
    if computed["canned"] is not None:
        c = computed["canned"]
        canned = {"id": c.id, "shortcut": c.shortcut, "title": c.title, "preview": _snippet(c.body)}
    conv_score, last_label, last_score = await _sentiment(session, conversation)
    empathy_out = None
    if empathy.is_negative(conv_score, last_label, last_score):
        texts = [
            m.content for m in recent if m.sender_type == SenderType.contact and m.kind == MessageKind.text
        ][:5]
        situation = empathy.situation(
            texts, repeated_contact=await _repeated_contact(session, conversation, now)
        )
        score = conv_score if conv_score is not None else last_score
        empathy_out = {
            "situation": situation,
            "sentiment": None if score is None else round(float(score), 3),
            "insert_text": empathy.prompt(locale, situation),
        }
    return {
        "conversation_id": conversation.id,
        "question": question,
        "question_message_id": question_id,
        "locale": locale,
        "articles": articles,
        "replies": past,
        "canned": canned,
        "empathy": empathy_out,
        "reminder": reminder(conversation, now, ui_locale),
    }


async def record(
    session: AsyncSession,
    *,
    workspace_id: int,
    shown: dict[str, int] | None = None,
    inserted: dict[str, int] | None = None,
    day: date | None = None,
) -> None:
    """Add to the day's shown / inserted counters (per kind)."""
    day = day or datetime.now(UTC).date()
    kinds = set(shown or {}) | set(inserted or {})
    for kind in sorted(kinds):
        if kind not in KINDS:
            continue
        s = max(0, int((shown or {}).get(kind, 0)))
        i = max(0, int((inserted or {}).get(kind, 0)))
        if not s and not i:
            continue
        stmt = insert(AssistUsage).values(workspace_id=workspace_id, day=day, kind=kind, shown=s, inserted=i)
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace_id", "day", "kind"],
            set_={"shown": AssistUsage.shown + s, "inserted": AssistUsage.inserted + i},
        )
        await session.execute(stmt)


async def stats(session: AsyncSession, *, workspace_id: int, since: date, until: date) -> dict[str, Any]:
    """Shown / inserted per kind and per day over [since, until], with the insert rate."""
    rows = (
        await session.execute(
            select(AssistUsage.day, AssistUsage.kind, AssistUsage.shown, AssistUsage.inserted)
            .where(
                AssistUsage.workspace_id == workspace_id, AssistUsage.day >= since, AssistUsage.day <= until
            )
            .order_by(AssistUsage.day, AssistUsage.kind)
        )
    ).all()
    by_kind = {k: {"shown": 0, "inserted": 0} for k in KINDS}
    days: dict[str, dict[str, dict[str, int]]] = {}
    for day, kind, shown, inserted in rows:
        by_kind.setdefault(kind, {"shown": 0, "inserted": 0})
        by_kind[kind]["shown"] += shown
        by_kind[kind]["inserted"] += inserted
        days.setdefault(day.isoformat(), {})[kind] = {"shown": shown, "inserted": inserted}
    total_shown = sum(v["shown"] for v in by_kind.values())
    total_inserted = sum(v["inserted"] for v in by_kind.values())
    for v in by_kind.values():
        v["rate"] = round(v["inserted"] / v["shown"], 4) if v["shown"] else None
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "kinds": by_kind,
        "total": {
            "shown": total_shown,
            "inserted": total_inserted,
            "rate": round(total_inserted / total_shown, 4) if total_shown else None,
        },
        "days": [{"day": d, "kinds": k} for d, k in sorted(days.items())],
    }
