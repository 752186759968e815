"""A mail's HTML made safe to show (nh3), and plain text derived from it.

What survives: text formatting, lists, tables, links (http, https, mailto only, opened in a
new tab without referrer). What does not: scripts, event handlers, styles (no CSS
expressions), forms, frames and every image (a remote image is a tracking pixel; an inline
`cid:` image arrives as an attachment anyway).
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

MAX_HTML_CHARS = 256 * 1024

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def sanitise_html(html: str) -> str:
    """The HTML with nothing that runs, loads or restyles the page around it."""
    return nh3.clean(
        html[: MAX_HTML_CHARS * 4],
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template", "object"},
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )[:MAX_HTML_CHARS]


_BLOCK = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
    "blockquote", "pre", "hr", "dd", "dt",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "noscript", "template"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.depth_quote = 0
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag == "blockquote":
            self._newline()
            self.depth_quote += 1
        elif tag in _BLOCK:
            self._newline()
        elif tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.depth_quote = max(0, self.depth_quote - 1)
            self._newline()
        elif tag in _BLOCK:
            self._newline()

    def handle_data(self, data):
        if self.skip:
            return
        text = re.sub(r"\s+", " ", data)
        if not text.strip() and (not self.out or self.out[-1].endswith("\n")):
            return
        if not self.out or self.out[-1].endswith("\n"):
            text = "> " * self.depth_quote + text.lstrip()
        self.out.append(text)

    def _newline(self):
        if self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")
        elif self.depth_quote == 0 and self.out and not "".join(self.out[-2:]).endswith("\n\n"):
            self.out.append("\n")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail; blockquotes become "> " lines (so they fold)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return unescape(re.sub(r"\n{3,}", "\n\n", text)).strip()
