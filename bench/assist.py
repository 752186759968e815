"""Agent assist as the agent types: suggest_p99_ms over 10,000 articles and 100,000 past replies.

`sodam bench assist` (or .venv/bin/python -m bench.assist). In process, no database: the CPU
path of one suggestion (assist.service._compute, what runs in the worker thread per keystroke)
over a workspace's knowledge index (sodam.knowledge.index.WorkspaceIndex, the bot's) and its
past-replies index (assist.engine.ReplyIndex), plus the canned-reply pick over 200 replies.

Generated data: articles and past questions / replies are built from Korean and English
templates (topics × objects × phrasings, so the lexical statistics look like a help center's
and most terms are shared by many documents). Their sentence vectors are random unit vectors
of the real dimensions (e5-small 384, USE 512): encoding 100,000 texts would take this
machine hours and the search cost does not depend on the values. The customer questions are
encoded by the real encoders (when installed) — once per question, as in the product. With
random vectors every similarity is near 0, so the bench keeps every candidate (no score floor):
30 articles and 30 past replies re-ranked per keystroke, the most the product ever does.

Each conversation: the panel opens (draft ""), then the agent types a reply character by
character (a request per keystroke after the 250 ms debounce is modelled as every 3rd
prefix). `open_p99_ms` is the first call for a new question (its vector and candidates are
computed); `suggest_p99_ms` the calls as the agent types. The last line is one JSON object.
"""

from __future__ import annotations

import json
import random
import time

import numpy as np

from sodam.assist import engine, service
from sodam.knowledge import index as kb_index
from sodam.knowledge import vectors as kb_vectors
from sodam.nlp import encoders
from sodam.replies.search import Candidate as CannedCandidate
from sodam.replies.search import terms_of

KO_TOPICS = [
    "배송",
    "환불",
    "교환",
    "결제",
    "쿠폰",
    "포인트",
    "회원가입",
    "비밀번호",
    "주문 취소",
    "영수증",
    "멤버십",
    "알림",
]
KO_OBJECTS = [
    "운동화",
    "노트북",
    "커피머신",
    "가방",
    "이어폰",
    "냉장고",
    "화장품",
    "책상",
    "의자",
    "카메라",
    "모니터",
    "자전거",
]
KO_ASKS = [
    "{o} {t}은 어떻게 하나요?",
    "{o} {t} 언제 되나요?",
    "{t} 관련해서 {o} 문의드려요",
    "{o} 주문했는데 {t} 확인 부탁드립니다",
    "{t}이 안 돼요 {o}",
]
KO_ANSWERS = [
    "{o} {t}은 마이페이지 > 주문 내역에서 신청하실 수 있습니다. 처리까지 2~3영업일이 걸립니다.",
    "확인해 보니 {o} 건은 {t} 절차가 진행 중입니다. 완료되면 알림으로 안내해 드리겠습니다.",
    "{t} 관련 안내드립니다. {o}의 경우 고객센터 앱에서 바로 처리하실 수 있습니다.",
]
EN_TOPICS = [
    "shipping",
    "refund",
    "exchange",
    "payment",
    "coupon",
    "points",
    "sign up",
    "password",
    "cancel",
    "invoice",
]
EN_OBJECTS = [
    "sneakers",
    "laptop",
    "coffee machine",
    "bag",
    "earbuds",
    "fridge",
    "desk",
    "chair",
    "camera",
    "monitor",
]
EN_ASKS = [
    "How do I get a {t} for my {o}?",
    "When will the {t} for my {o} happen?",
    "{t} problem with my {o}",
]
EN_ANSWERS = [
    "You can request the {t} for your {o} under Orders. It takes 2-3 business days.",
    "I checked: the {t} for your {o} is in progress and you'll get a notification when done.",
]
DRAFTS_KO = ["안녕하세요 고객님, 불편을 드려 죄송합니다. 주문 내역을 확인해 보니 배송이 지연되고 있습니다."]
DRAFTS_EN = ["Hi, sorry for the trouble. I checked your order and the refund is on its way."]


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _text(rng: random.Random, templates, topics, objects) -> tuple[str, str, str]:
    t, o = rng.choice(topics), rng.choice(objects)
    return rng.choice(templates).format(t=t, o=o), t, o


def build_articles(n: int, rng: random.Random, nrng: np.random.Generator) -> kb_index.WorkspaceIndex:
    texts = []
    for i in range(n):
        ko = i % 5 != 0
        topics, objects = (KO_TOPICS, KO_OBJECTS) if ko else (EN_TOPICS, EN_OBJECTS)
        title, t, o = _text(rng, KO_ASKS if ko else EN_ASKS, topics, objects)
        body = " ".join(_text(rng, KO_ANSWERS if ko else EN_ANSWERS, topics, objects)[0] for _ in range(3))
        units = kb_vectors.units_of(f"{title} #{i}", body, ())
        found = {}
        for channel, key in zip(units.channels, units.keys, strict=True):
            found[key] = _unit(nrng, 1, 512 if channel == "use" else 384)[0]
        texts.append(
            kb_index.ArticleText(i + 1, "ko" if ko else "en", f"{title} #{i}", None, body, (), units, found)
        )
    built = kb_index.WorkspaceIndex(workspace_id=1)
    built.put_many(texts)
    return built


def build_replies(n: int, rng: random.Random, nrng: np.random.Generator) -> engine.ReplyIndex:
    index = engine.ReplyIndex(1)
    vecs = _unit(nrng, n, 384)
    batch = []
    for i in range(n):
        ko = i % 5 != 0
        topics, objects = (KO_TOPICS, KO_OBJECTS) if ko else (EN_TOPICS, EN_OBJECTS)
        q = _text(rng, KO_ASKS if ko else EN_ASKS, topics, objects)[0]
        a = _text(rng, KO_ANSWERS if ko else EN_ANSWERS, topics, objects)[0]
        batch.append(engine.PastReply(i + 1, "ko" if ko else "en", q, a, i // 3 + 1, vecs[i]))
        if len(batch) == 10_000:
            index.add_many(batch)
            batch = []
    index.add_many(batch)
    return index


def canned(n: int = 200) -> list[CannedCandidate]:
    out = []
    for i in range(n):
        t, o = KO_TOPICS[i % len(KO_TOPICS)], KO_OBJECTS[i % len(KO_OBJECTS)]
        title, body = f"{t} 안내 {i}", f"{o} {t}은 마이페이지에서 확인하실 수 있습니다."
        out.append(
            CannedCandidate(i + 1, f"{t}{i}", title, body, tuple(terms_of(f"{t}{i}", title, body)), i % 17)
        )
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def main(articles: int = 10_000, replies: int = 100_000, conversations: int = 40, seed: int = 7) -> dict:
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    # Random vectors score near 0: keep every candidate (30 per source), the most re-ranking work.
    service.ARTICLE_MIN_FUSED = service.ARTICLE_MIN_LEXICAL = -1.0
    engine.MIN_REPLY_SCORE = -1.0
    engine.RELATIVE_FLOOR = -1.0
    t0 = time.perf_counter()
    kb = build_articles(articles, rng, nrng)
    t1 = time.perf_counter()
    past = build_replies(replies, rng, nrng)
    t2 = time.perf_counter()
    pool = canned()
    print(f"built {articles} articles in {t1 - t0:.1f} s, {replies} past replies in {t2 - t1:.1f} s")
    encoder_on = bool(encoders.available_channels())
    if encoder_on:  # load the encoders before timing (a server has them loaded)
        encoders.query_vectors("warm up", encoders.available_channels())
    opened, typing = [], []
    for c in range(conversations):
        ko = c % 4 != 0
        question = _text(
            rng, KO_ASKS if ko else EN_ASKS, *((KO_TOPICS, KO_OBJECTS) if ko else (EN_TOPICS, EN_OBJECTS))
        )[0]
        question += f" (주문 {1000 + c})" if ko else f" (order {1000 + c})"
        locale = "ko" if ko else "en"
        draft_full = (DRAFTS_KO if ko else DRAFTS_EN)[0]
        prefixes = [""] + [draft_full[:i] for i in range(3, len(draft_full) + 1, 3)]
        for j, draft in enumerate(prefixes):
            start = time.perf_counter()
            out = service._compute(
                workspace_id=1,
                question=question,
                locale=locale,
                draft=draft,
                kb=kb,
                replies=past,
                canned=pool,
            )
            ms = (time.perf_counter() - start) * 1000
            (opened if j == 0 else typing).append(ms)
        assert out["articles"] and out["replies"], "no suggestion at all: the generated data is off"
    result = {
        "bench": "assist",
        "articles": articles,
        "past_replies": replies,
        "conversations": conversations,
        "keystroke_requests": len(typing),
        "encoder": ",".join(encoders.available_channels()) or "off",
        "suggest_p50_ms": round(pct(typing, 50), 2),
        "suggest_p99_ms": round(pct(typing, 99), 2),
        "open_p50_ms": round(pct(opened, 50), 2),
        "open_p99_ms": round(pct(opened, 99), 2),
        "build_s": round(t2 - t0, 1),
        "target_suggest_p99_ms": 50,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
