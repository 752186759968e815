"""The bot's only source of answers: the knowledge base's own search (the help center's)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.bot.dialogue import message_language
from sodam.bot.service import Candidate, KbAnswer
from sodam.channels.models import Inbox
from sodam.config import get_settings
from sodam.core.errors import NotFound
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import engagement
from sodam.knowledge import service as knowledge
from sodam.knowledge.tasks import build_indexes

SNIPPET_CHARS = 280


def _snippet(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


# After "that didn't help", the next article is answered only when the ranking could hardly tell
# it from the one that did not help: its answer probability passes the answer threshold and is at
# least this share of the first's. A base of a few articles once gave every article the standing
# of a right top one, so an unrelated second article could pass the threshold alone ("How long
# does it take to get a reset link?": reset 0.61, shipping 0.34); it now reads its z-scores
# against a shipped background (nlp.background), and this rule stays for bases of any size.
NEXT_CLEAR_SHARE = 0.8
# ... and never an article that holds none of what the question asks about (its topic words,
# SearchHit.lacks = 1): two articles can tie on the question's frame alone ("How long does it
# take to get a reset link?": the shipping article), and after the customer turned down the one
# that held the topic, a person is the better next step. (Holding at least half, lacks ≤ 0.5,
# cost too many right next answers: bench/README.md, session 18.)


def _clear(result, i: int) -> bool:
    """Whether hit `i` is sure enough to answer with on its own: the first when the decision is
    "answer"; a later one (the next candidate after a "no") only when it passes the same
    threshold, stands as close to the first as choices would (NEXT_CLEAR_SHARE) and holds some of
    the question's topic."""
    hits, confidence = result.hits, result.confidence
    if i == 0:
        return result.decision == "answer"
    if confidence.mode != "fused":
        return False  # lexical: the margin that made the first an answer puts the others below it
    hit, top = hits[i], hits[0]
    return (
        hit.score >= confidence.FUSED_ANSWER_AT
        and hit.score >= NEXT_CLEAR_SHARE * top.score
        and hit.lacks < 1.0
    )


class KnowledgeBaseSource:
    """Adapts knowledge.service.search to the bot's answer / choices / handoff decision."""

    async def _help_center(self, session: AsyncSession, workspace_id: int) -> str:
        workspace = await accounts.get_workspace(session, workspace_id=workspace_id)
        return f"{get_settings().base_url()}/help/{workspace.slug}"

    async def _url(self, session: AsyncSession, workspace_id: int, article_id: int) -> str:
        return f"{await self._help_center(session, workspace_id)}/articles/{article_id}"

    def start_search(self, workspace_id: int, text: str) -> None:
        """Start the CPU work of searching `text` (CPU work itself: the bot calls it in a thread
        as soon as it has read the message); search() picks it up. The language is the one
        read_message will find unless the text has no letters at all (then the conversation's)."""
        knowledge.start_search(workspace_id, text, message_language(text, "ko"))

    async def search(self, session: AsyncSession, workspace_id: int, text: str, language: str) -> KbAnswer:
        result = await knowledge.search(
            session, workspace_id=workspace_id, query=text, locale=language, limit=3
        )
        help_center = await self._help_center(session, workspace_id) if result.hits else ""
        candidates = [
            Candidate(
                hit.article_id,
                hit.title,
                f"{help_center}/articles/{hit.article_id}",
                _snippet(hit.snippet),
                clear=_clear(result, i),
            )
            for i, hit in enumerate(result.hits)
        ]
        intent, names = await self._intent(session, workspace_id, result)
        return KbAnswer(decision=result.decision, candidates=candidates, intent=intent, intent_names=names)

    async def _intent(self, session: AsyncSession, workspace_id: int, result) -> tuple[str | None, dict]:
        """The topic the question is about: the best article's category (for routing and
        reports), with the category's names (the handoff note shows the name, not the slug)."""
        if not result.hits:
            return None, {}
        top = result.hits[0]
        # An article outside any category: the handoff note names it by its title ("*": any language).
        if top.category_id is None:
            return f"article:{top.article_id}", {"*": top.title}
        try:
            category = await kb_categories.get_category(
                session, workspace_id=workspace_id, category_id=top.category_id
            )
        except NotFound:
            return f"article:{top.article_id}", {"*": top.title}
        return category.slug, dict(category.names or {})

    async def candidate(
        self, session: AsyncSession, workspace_id: int, article_id: int, language: str
    ) -> Candidate | None:
        try:
            article = await knowledge.get_published(session, workspace_id=workspace_id, article_id=article_id)
        except NotFound:
            return None
        return Candidate(
            article.id,
            article.title,
            await self._url(session, workspace_id, article.id),
            _snippet(_plain(article.body)),
        )

    async def feedback(
        self, session: AsyncSession, workspace_id: int, article_id: int, helpful: bool
    ) -> None:
        await engagement.record_bot_feedback(
            session, workspace_id=workspace_id, article_id=article_id, helpful=helpful
        )


async def load_indexes() -> int:
    """Build the search index of every workspace whose inboxes run the bot, one after another,
    when a worker starts: otherwise its first question waits for the build (about 25 s at
    10,000 articles, mostly Kiwi's analysis of every article). Returns how many were built."""
    async with session_scope() as session:
        bot_on = Inbox.settings["bot_enabled"].as_boolean().is_(True)
        workspace_ids = list(await session.scalars(select(Inbox.workspace_id).where(bot_on).distinct()))
    await build_indexes(workspace_ids)
    return len(workspace_ids)


def _plain(markdown: str) -> str:
    """The first paragraph of a markdown body, without markup characters."""
    first = next((p for p in (markdown or "").split("\n\n") if p.strip()), "")
    return " ".join(first.replace("#", " ").replace("*", " ").replace("`", " ").split())
