"""The bot's only source of answers: the knowledge base's own search (the help center's)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.bot.dialogue import message_language
from sodam.bot.service import Candidate, KbAnswer
from sodam.config import get_settings
from sodam.core.errors import NotFound
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import engagement
from sodam.knowledge import service as knowledge

SNIPPET_CHARS = 280


def _snippet(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


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
        fused = result.confidence.mode == "fused"
        candidates = [
            Candidate(
                hit.article_id,
                hit.title,
                f"{help_center}/articles/{hit.article_id}",
                _snippet(hit.snippet),
                # Sure enough to answer with on its own (the next candidate after a "no").
                clear=(i == 0 and result.decision == "answer")
                or (fused and hit.score >= result.confidence.FUSED_ANSWER_AT),
            )
            for i, hit in enumerate(result.hits)
        ]
        return KbAnswer(
            decision=result.decision,
            candidates=candidates,
            intent=await self._intent(session, workspace_id, result),
        )

    async def _intent(self, session: AsyncSession, workspace_id: int, result) -> str | None:
        """The topic the question is about: the best article's category (for routing and reports)."""
        if not result.hits:
            return None
        top = result.hits[0]
        if top.category_id is None:
            return f"article:{top.article_id}"
        try:
            category = await kb_categories.get_category(
                session, workspace_id=workspace_id, category_id=top.category_id
            )
        except NotFound:
            return f"article:{top.article_id}"
        return category.slug

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


def _plain(markdown: str) -> str:
    """The first paragraph of a markdown body, without markup characters."""
    first = next((p for p in (markdown or "").split("\n\n") if p.strip()), "")
    return " ".join(first.replace("#", " ").replace("*", " ").replace("`", " ").split())
