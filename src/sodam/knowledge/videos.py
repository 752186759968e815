"""Video embeds in article markdown: a line `@[video](https://…)` becomes a sandboxed iframe,
only for hosts on the workspace's allow-list, never from arbitrary HTML.

The body stays markdown. `check()` refuses a body naming a host off the list (at save, 422
with the line); `embed()` is used on every render, so a line stored by an older path (an
import, a list that has shrunk since) is still never rendered from a host that is not
allowed now. The iframe is built here from a parsed and re-serialised URL — YouTube and
Vimeo links become their player URLs (youtube-nocookie when allowed) — and every attribute
value is escaped; the rest of the body goes through markdown-it (raw HTML off) and nh3.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from sodam.core.errors import Invalid

# Matched as "the host or any of its subdomains" (youtube.com covers www.youtube.com).
DEFAULT_VIDEO_HOSTS: tuple[str, ...] = ("youtube.com", "youtu.be", "youtube-nocookie.com", "vimeo.com")
MAX_HOSTS = 50
SANDBOX = "allow-scripts allow-same-origin allow-presentation"
ALLOW = "encrypted-media; picture-in-picture; fullscreen"
REFERRER_POLICY = "strict-origin-when-cross-origin"

VIDEO_LINE = re.compile(r"^ {0,3}@\[video\]\(\s*<?([^\s<>]*?)>?\s*\)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_VIMEO_ID = re.compile(r"^[0-9]{1,12}$")
_YOUTUBE = ("youtube.com", "youtu.be", "youtube-nocookie.com")


@dataclass(frozen=True)
class VideoLine:
    line: int  # 1-based line number in the body
    url: str


@dataclass(frozen=True)
class Embed:
    src: str  # the player URL the iframe loads
    host: str  # the iframe's host (for frame-src)


def clean_hosts(hosts: Iterable[str]) -> list[str]:
    """Lower-cased host names (a pasted URL keeps only its host); invalid entries refused."""
    out: list[str] = []
    for raw in hosts:
        text = (raw or "").strip().lower()
        if not text:
            continue
        if "//" in text:
            text = urlsplit(text).hostname or ""
        text = text.strip(".").removeprefix("*.")
        if not _HOST.match(text):
            raise Invalid(f"'{raw.strip()[:80]}' is not a host name", code="invalid_video_host")
        if text not in out:
            out.append(text)
    if len(out) > MAX_HOSTS:
        raise Invalid(f"at most {MAX_HOSTS} video hosts", code="too_many_video_hosts")
    return out


def host_allowed(host: str, hosts: Sequence[str]) -> bool:
    host = (host or "").lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in hosts)


def video_lines(body: str) -> list[VideoLine]:
    """The body's video lines (outside fenced code blocks)."""
    found, fenced = [], False
    for number, line in enumerate((body or "").split("\n"), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced and (m := VIDEO_LINE.match(line)):
            found.append(VideoLine(number, m.group(1)))
    return found


def _youtube_id(parts) -> str | None:
    host = (parts.hostname or "").lower()
    path = [p for p in parts.path.split("/") if p]
    if host == "youtu.be" or host.endswith(".youtu.be"):
        candidate = path[0] if path else ""
    elif path[:1] == ["watch"]:
        candidate = (parse_qs(parts.query).get("v") or [""])[0]
    elif len(path) >= 2 and path[0] in ("embed", "shorts", "live", "v"):
        candidate = path[1]
    else:
        return None
    return candidate if _YOUTUBE_ID.match(candidate) else None


def _start(parts) -> int | None:
    raw = (parse_qs(parts.query).get("t") or parse_qs(parts.query).get("start") or [""])[0].rstrip("s")
    return int(raw) if raw.isdigit() and int(raw) < 100_000 else None


def embed(url: str, hosts: Sequence[str]) -> Embed | None:
    """The player URL for a video line, or None when the link is not an allowed video."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or parts.username or parts.password or port is not None:
        return None
    if not host_allowed(host, hosts):
        return None
    if any(host_allowed(host, [y]) for y in _YOUTUBE):
        video_id = _youtube_id(parts)
        if video_id is None:
            return None
        start = _start(parts)
        query = f"?start={start}" if start else ""
        for player in ("www.youtube-nocookie.com", "www.youtube.com"):
            if host_allowed(player, hosts):
                return Embed(f"https://{player}/embed/{video_id}{query}", player)
        return None
    if host_allowed(host, ["vimeo.com"]):
        path = [p for p in parts.path.split("/") if p]
        video_id = path[1] if path[:1] == ["video"] and len(path) > 1 else (path[0] if path else "")
        if not _VIMEO_ID.match(video_id) or not host_allowed("player.vimeo.com", hosts):
            return None
        return Embed(f"https://player.vimeo.com/video/{video_id}", "player.vimeo.com")
    # Another host the workspace allowed: its own player URL, re-serialised.
    path = quote(parts.path or "/", safe="/-_.~%")
    query = quote(parts.query, safe="=&-_.~%+") if parts.query else ""
    return Embed(f"https://{host}{path}" + (f"?{query}" if query else ""), host)


def host_of(url: str) -> str:
    try:
        return (urlsplit((url or "").strip()).hostname or "").lower()
    except ValueError:
        return ""


def check(body: str, hosts: Sequence[str]) -> None:
    """Refuse a body with a video line that is not an allowed video (422 naming the line)."""
    for video in video_lines(body):
        if embed(video.url, hosts) is not None:
            continue
        host = host_of(video.url)
        details = {"line": video.line, "url": video.url[:300], "host": host}
        if host and not host_allowed(host, hosts):
            raise Invalid(
                f"line {video.line}: {host} is not on the video allow-list",
                code="video_host_not_allowed",
                details=details,
            )
        raise Invalid(
            f"line {video.line}: not a video link Sodam can embed", code="invalid_video", details=details
        )


def iframe(item: Embed, title: str = "Video") -> str:
    """The sandboxed player (every value escaped; no markup from the author)."""
    src = html.escape(item.src, quote=True)
    return (
        '<div class="video-embed">'
        f'<iframe src="{src}" title="{html.escape(title, quote=True)}" sandbox="{SANDBOX}" '
        f'allow="{ALLOW}" referrerpolicy="{REFERRER_POLICY}" loading="lazy" allowfullscreen>'
        "</iframe></div>"
    )


def frame_hosts(body: str, hosts: Sequence[str]) -> list[str]:
    """The player hosts an article's allowed video lines load (the page's CSP frame-src)."""
    out: list[str] = []
    for video in video_lines(body):
        item = embed(video.url, hosts)
        if item is not None and item.host not in out:
            out.append(item.host)
    return out
