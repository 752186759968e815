"""The query adapter moves the ranking's query vectors; the decision keeps reading the encoders'."""

import numpy as np
import pytest

from sodam.nlp import encoders, fusion, query_adapter, ranking
from sodam.nlp.ranking import Document, LexicalIndex


def test_the_shipped_korean_adapter_moves_each_encoder_s_vector_once():
    adapter = query_adapter.for_language("ko")
    assert adapter is not None
    assert query_adapter.for_language("en") is None and query_adapter.for_language(None) is None
    rng = np.random.default_rng(0)
    e5 = rng.normal(size=384).astype(np.float32)
    e5 /= np.linalg.norm(e5)
    use = rng.normal(size=512).astype(np.float32)
    use /= np.linalg.norm(use)
    moved = adapter.move({"e5q": e5, "e5p": e5, "e5s": e5, "use": use})
    # the e5 channels share one query vector, moved once; unit length again; really moved
    assert moved["e5q"] is moved["e5p"] is moved["e5s"]
    for channel, before in (("e5q", e5), ("use", use)):
        assert abs(np.linalg.norm(moved[channel]) - 1.0) < 1e-5
        assert 0.5 < float(moved[channel] @ before) < 0.9999
    # another model's vectors (another width) are left as they are
    other = rng.normal(size=256).astype(np.float32)
    assert adapter.move({"e5q": other})["e5q"] is other


def test_fuse_ranks_by_the_ranking_similarities_and_decides_on_the_channel_ones():
    channel = {"e5q": np.array([0.90, 0.80, 0.70, 0.60, 0.50, 0.40])}
    ranking = {"e5q": np.array([0.50, 0.95, 0.60, 0.55, 0.52, 0.51])}
    bm25 = np.zeros(6)
    plain = fusion.fuse(channel, bm25, 2)
    moved = fusion.fuse(channel, bm25, 2, ranking_sims=ranking)
    assert plain.slots[0] == 0 and moved.slots[0] == 1
    # article 1's decision features are its own similarity and z-score on the channel's values
    assert moved.features[0]["e5q"] == pytest.approx(0.80)
    assert moved.features[0]["z_e5q"] == pytest.approx(plain.features[1]["z_e5q"])
    assert moved.features[0] == plain.features[1]
    # ... with the decision fitted on adapted rankings
    assert moved.answer[0] == pytest.approx(fusion.answer_probability(plain.features[1], adapted=True))
    assert plain.answer[1] == pytest.approx(fusion.answer_probability(plain.features[1]))


needs_e5 = pytest.mark.skipif("e5q" not in encoders.available_channels(), reason="no e5 encoder installed")

# Fourteen articles: over BACKGROUND_PRIOR_ARTICLES, so the base ranks with the adapter.
ARTICLES = [
    (
        "seat",
        "사전 좌석 지정 서비스",
        "출발 48시간 전까지 앱에서 원하는 좌석을 유료로 미리 지정하실 수 있습니다.",
    ),
    (
        "bag",
        "위탁 수하물 무료 허용량",
        "국내선은 15kg, 국제선은 운임에 따라 15~23kg까지 무료로 부치실 수 있습니다.",
    ),
    ("pet", "반려동물 운송 안내", "7kg 이하의 반려동물은 케이지에 넣어 기내에 동반하실 수 있습니다."),
    ("refund", "환불 금액 입금 기간", "카드 결제는 취소 후 3~5영업일 안에 카드사를 통해 환불됩니다."),
    (
        "change",
        "항공권 날짜 변경",
        "출발 전까지 앱의 예약 내역에서 날짜를 변경하실 수 있으며 수수료가 부과됩니다.",
    ),
    ("delay", "지연·결항 보상 기준", "항공사 사정으로 3시간 이상 지연되면 규정에 따라 보상해 드립니다."),
    ("checkin", "온라인 체크인", "출발 24시간 전부터 1시간 전까지 앱에서 체크인하실 수 있습니다."),
    ("infant", "유아 동반 탑승", "만 2세 미만 유아는 보호자 무릎에 앉아 국내선 무료로 탑승할 수 있습니다."),
    ("name", "영문 이름 수정", "여권과 다른 영문 이름은 출발 전 고객센터에서 한 번 수정해 드립니다."),
    ("points", "포인트 적립 기준", "탑승 후 운임의 5%가 포인트로 적립됩니다."),
    ("receipt", "영수증 발급", "예약 내역에서 영수증과 탑승 확인서를 발급하실 수 있습니다."),
    ("meal", "기내식 사전 주문", "출발 72시간 전까지 기내식을 미리 주문하실 수 있습니다."),
    ("lost", "수하물 분실 신고", "도착 공항의 수하물 카운터에서 분실 신고서를 작성해 주세요."),
    ("leave", "회원 탈퇴", "마이페이지 > 설정에서 탈퇴하실 수 있으며 포인트는 소멸됩니다."),
]


def airline_index() -> LexicalIndex:
    """ARTICLES as a Korean base, embedded with the installed encoders as the live index is."""
    channels = encoders.available_channels()
    docs = []
    for doc_id, title, body in ARTICLES:
        vectors: dict[str, list] = {}
        for channel, text in encoders.article_units(title, body, ()):
            if channel in channels:
                kind, passage = encoders.CHANNELS[channel]
                enc = encoders.get_encoder(kind)
                vectors.setdefault(channel, []).append((enc.passages if passage else enc.queries)([text])[0])
        docs.append(Document(doc_id, title, body, (), vectors={c: np.stack(v) for c, v in vectors.items()}))
    index = LexicalIndex(language="ko")
    index.add_many(docs)
    return index


@needs_e5
def test_a_korean_base_ranks_with_the_moved_query_and_decides_on_the_encoders_own(monkeypatch):
    channels = encoders.available_channels()
    index = airline_index()
    question = "댕댕이 데리고 비행기 탈 수 있어요?"
    vectors = {c: encoders.get_encoder(encoders.CHANNELS[c][0]).queries([question])[0] for c in channels}
    seen, fused = [], []
    adapter = query_adapter.for_language("ko")
    monkeypatch.setattr(query_adapter, "for_language", lambda lang: seen.append(lang) or adapter)
    inner = ranking.fuse
    monkeypatch.setattr(ranking, "fuse", lambda *a, **k: fused.append(inner(*a, **k)) or fused[-1])
    moved = index.query(question, 3, vectors)
    assert seen == ["ko"]
    assert moved.hits[0].doc_id == "pet"
    monkeypatch.setenv("SODAM_QUERY_ADAPTER", "off")
    index.query(question, 14, vectors)
    assert seen == ["ko"]  # off: not asked
    # The decision's features of the article it answers with are the same numbers whichever
    # vectors ranked it: the encoders' own similarities and z-scores.
    slot = fused[0].slots[0]
    plain = fused[-1]
    assert fused[0].features[0] == plain.features[plain.slots.index(slot)]


def test_a_base_large_enough_for_the_approximate_search_ranks_with_the_encoders_vectors(monkeypatch):
    from sodam.nlp import dense

    rng = np.random.default_rng(1)

    def units() -> dense.DenseUnits:
        u = dense.DenseUnits()
        for slot in range(3):
            v = rng.normal(size=(2, 384)).astype(np.float32)
            u.add(slot, v / np.linalg.norm(v, axis=1, keepdims=True))
        return u

    query = {"e5q": (rng.normal(size=384) / 20).astype(np.float32)}
    small = units()
    assert not small.approximate_ready
    moved = query_adapter.similarities({"e5q": small}, query, 3, np.zeros(3), "ko")
    assert moved is not None and moved.sims["e5q"].shape == (3,)
    monkeypatch.setattr(dense, "APPROX_MIN_ARTICLES", 2)
    large = units()
    assert large.approximate_ready
    assert query_adapter.similarities({"e5q": large}, query, 3, np.zeros(3), "ko") is None
    monkeypatch.setenv("SODAM_QUERY_ADAPTER", "off")
    assert query_adapter.similarities({"e5q": small}, query, 3, np.zeros(3), "ko") is None
