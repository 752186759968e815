"""Markdown → safe HTML. The stored body is markdown; HTML is produced on every read and
sanitised with nh3, so a stored or imported <script> can never reach a page."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # html=False: raw HTML in the markdown is shown as text, never passed through.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def render(body: str) -> str:
    """Sanitised HTML of a markdown body (links get rel="noopener noreferrer nofollow")."""
    raw = _md().render(body or "")
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )


def plain_text(body: str) -> str:
    """The body's words without markup: what search indexes and snippets show."""
    text = nh3.clean(render(body), tags=set())
    return _SPACE.sub(" ", html.unescape(text)).strip()


def snippet(body: str, length: int = 160) -> str:
    text = plain_text(body)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
