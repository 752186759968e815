"""Markdown → safe HTML. The stored body is markdown; HTML is produced on every read and
sanitised with nh3, so a stored or imported <script> can never reach a page."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Sequence
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

from sodam.knowledge import videos

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


def _clean(raw: str) -> str:
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )


def render(
    body: str, video_hosts: Sequence[str] | None = videos.DEFAULT_VIDEO_HOSTS, video_title: str = "Video"
) -> str:
    """Sanitised HTML of a markdown body (links get rel="noopener noreferrer nofollow").

    A line `@[video](https://…)` whose link is an allowed video becomes a sandboxed iframe
    built by `videos.iframe`; any other video line renders as nothing. The iframes are put in
    after sanitising, in place of a marker paragraph the author cannot guess (a fresh random
    token per render), so no markup from the body ever reaches the page unsanitised.
    """
    body = body or ""
    lines = videos.video_lines(body) if "@[video]" in body else []
    if not lines:
        return _clean(_md().render(body))
    token = "SODAMVIDEO" + secrets.token_hex(8)
    players: dict[str, str] = {}
    rows = body.split("\n")
    for n, video in enumerate(lines):
        marker = f"{token}X{n}"
        item = videos.embed(video.url, video_hosts or ())
        players[marker] = videos.iframe(item, video_title) if item else ""
        rows[video.line - 1] = f"\n{marker}\n"
    out = _clean(_md().render("\n".join(rows)))
    for marker, player in players.items():
        out = out.replace(f"<p>{marker}</p>", player).replace(marker, "")
    return out


def plain_text(body: str) -> str:
    """The body's words without markup: what search indexes and snippets show."""
    text = nh3.clean(render(body, video_hosts=()), tags=set())
    return _SPACE.sub(" ", html.unescape(text)).strip()


def snippet(body: str, length: int = 160) -> str:
    text = plain_text(body)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
