"""A worker builds the bot's search indexes when it starts, not at the first customer's question
(about 25 s at 10,000 articles): every workspace whose inboxes run the bot, and no other."""

from __future__ import annotations

from sodam.bot.knowledge_source import load_indexes
from sodam.db.session import session_scope
from sodam.knowledge import index
from sodam.knowledge import service as knowledge


async def _article(ws) -> None:
    async with session_scope() as session:
        await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="배송은 얼마나 걸리나요?",
            body="결제 후 2~3영업일 안에 받아보실 수 있습니다.",
            status="published",
        )


async def test_the_workspaces_that_run_the_bot_have_their_index_built_ahead(make_workspace):
    with_bot, without = await make_workspace(bot_enabled=True), await make_workspace()
    await _article(with_bot)
    await _article(without)
    index.registry.forget()
    assert await load_indexes() >= 1
    assert index.registry.loaded(with_bot.workspace_id)
    assert not index.registry.loaded(without.workspace_id)
    built = index.registry.peek(with_bot.workspace_id)
    assert [a.title for a in built.articles.values()] == ["배송은 얼마나 걸리나요?"]
