"""A web server builds the search index of every large knowledge base when it starts, so that
the help center's first search after a start does not wait for the build; small bases (built
within a search's time) and drafts do not count."""

from __future__ import annotations

from sodam.db.session import session_scope
from sodam.knowledge import index
from sodam.knowledge import service as knowledge
from sodam.knowledge.tasks import load_large_indexes


async def _articles(ws, published: int, drafts: int = 0) -> None:
    async with session_scope() as session:
        for n in range(published + drafts):
            await knowledge.create_article(
                session,
                workspace_id=ws.workspace_id,
                title=f"안내 {n}번: 배송은 얼마나 걸리나요?",
                body="결제 후 2~3영업일 안에 받아보실 수 있습니다.",
                status="published" if n < published else "draft",
            )


async def test_only_large_bases_are_built_ahead(make_workspace):
    large, small = await make_workspace(), await make_workspace()
    await _articles(large, published=4)
    await _articles(small, published=3, drafts=2)  # five articles, three of them published
    index.registry.forget()
    built = await load_large_indexes(min_articles=4)
    assert large.workspace_id in built
    assert small.workspace_id not in built
    assert index.registry.loaded(large.workspace_id)
    assert not index.registry.loaded(small.workspace_id)
    assert len(index.registry.peek(large.workspace_id).articles) == 4
