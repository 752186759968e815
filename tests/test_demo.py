"""The demo workspace a fresh install shows: Korean and English content, the bot switched on."""

from sqlalchemy import func, select

from sodam import demo
from sodam.accounts import service as accounts
from sodam.channels import service as inboxes
from sodam.conversations.models import Conversation
from sodam.db.session import session_scope
from sodam.knowledge.models import KbArticle


async def test_demo_seed_is_complete_and_idempotent(db):
    async with session_scope() as session:
        first = await demo.seed(session)
    async with session_scope() as session:
        again = await demo.seed(session)
        assert again.workspace_id == first.workspace_id and not again.created
        agent = await accounts.authenticate(session, email=first.admin_email, password=first.admin_password)
        assert agent is not None and agent.workspace_id == first.workspace_id
        (inbox,) = await inboxes.list_(session, workspace_id=first.workspace_id)
        assert inbox.settings["bot_enabled"] is True and inbox.public_token == first.inbox_token
        languages = set(
            await session.scalars(
                select(Conversation.language).where(Conversation.workspace_id == first.workspace_id)
            )
        )
        assert {"ko", "en"} <= languages
        locales = dict(
            (
                await session.execute(
                    select(KbArticle.locale, func.count())
                    .where(KbArticle.workspace_id == first.workspace_id, KbArticle.status == "published")
                    .group_by(KbArticle.locale)
                )
            ).all()
        )
        assert locales.get("ko", 0) > 0 and locales.get("en", 0) > 0


async def test_demo_has_canned_replies_in_both_languages(db):
    from sodam.replies import service as replies

    async with session_scope() as session:
        info = await demo.seed(session)
    async with session_scope() as session:
        minji = await accounts.get_agent_by_email(session, email="minji@sodam.local")
        viewer = await replies.viewer(
            session, workspace_id=info.workspace_id, agent_id=minji.id, role="agent"
        )
        shown = await replies.list_(session, workspace_id=info.workspace_id, viewer=viewer)
        assert {r.scope for r in shown} == {"personal", "team", "workspace"}
        assert any(r.shortcut == "hello" for r in shown) and any(r.shortcut == "배송" for r in shown)
        found = await replies.find(session, workspace_id=info.workspace_id, viewer=viewer, query="환불해")
        assert found and found[0][1].shortcut == "환불"
