"""The embedding job's work: sentence vectors for articles' units, computed in the
background (never inside a request) and stored once per model and text."""

from __future__ import annotations

import asyncio

from sodam.db.session import session_scope
from sodam.knowledge import index, vectors
from sodam.nlp import encoders


async def embed_articles(workspace_id: int, article_ids: list[int] | None = None) -> int:
    """Encode the units of the workspace's published articles (or these) that have no stored
    vector yet; the indexes of every process reload those articles. Returns the units encoded."""
    if not encoders.available_channels():
        return 0
    async with session_scope() as session:
        articles = await index.load_published(
            session, workspace_id, ids=set(article_ids) if article_ids else None
        )
        texts = await index.article_texts(session, workspace_id, articles)
    wanted: dict[str, tuple[str, str]] = {}
    touched: list[int] = []
    for article in texts:
        units = article.units
        missing = [
            (k, c, t)
            for k, c, t in zip(units.keys, units.channels, units.texts, strict=True)
            if k not in article.found
        ]
        if missing:
            touched.append(article.id)
            wanted.update({k: (c, t) for k, c, t in missing})
    if not wanted:
        return 0
    computed = await asyncio.to_thread(vectors.encode_missing, wanted)
    async with session_scope() as session:
        await vectors.save(session, workspace_id, computed)
        for article_id in touched:
            await index.changed(session, workspace_id=workspace_id, article_id=article_id, embed=False)
    return len(computed)
