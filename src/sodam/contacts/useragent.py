"""Browser, OS and device from a User-Agent header (ua-parser's rules, off the event loop).

Korean in-app browsers (KakaoTalk, NAVER, Whale, Samsung Internet) are named as people
say them; the first parse loads the rules (~0.2 s), so it runs in the thread pool.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from functools import lru_cache

IN_APP = (
    (re.compile(r"KAKAOTALK", re.I), "KakaoTalk"),
    (re.compile(r"NAVER\(inapp", re.I), "NAVER app"),
    (re.compile(r"Instagram", re.I), "Instagram"),
    (re.compile(r"FBAN|FBAV", re.I), "Facebook"),
    (re.compile(r"Line/", re.I), "LINE"),
)


@dataclass(frozen=True)
class Agent:
    browser: str | None
    os: str | None
    device: str | None  # mobile | tablet | desktop


def _version(family: str | None, major: str | None, minor: str | None = None) -> str | None:
    if not family or family == "Other":
        return None
    if major:
        return f"{family} {major}" + (f".{minor}" if minor and minor != "0" else "")
    return family


@lru_cache(maxsize=2048)
def parse(user_agent: str) -> Agent:
    """Parse one User-Agent (cached: the same few strings come back all day)."""
    if not user_agent:
        return Agent(None, None, None)
    from ua_parser import parse as ua_parse  # the rules load on first use

    result = ua_parse(user_agent[:1000])
    browser = None
    for pattern, name in IN_APP:
        if pattern.search(user_agent):
            browser = name
            break
    if browser is None and result.user_agent:
        ua = result.user_agent
        browser = _version(ua.family, ua.major)
    os_name = _version(result.os.family, result.os.major, result.os.minor) if result.os else None
    lowered = user_agent.lower()
    if "ipad" in lowered or "tablet" in lowered or ("android" in lowered and "mobile" not in lowered):
        device = "tablet"
    elif "mobi" in lowered or "iphone" in lowered:
        device = "mobile"
    else:
        device = "desktop"
    return Agent(browser=browser and browser[:80], os=os_name and os_name[:80], device=device)


async def parse_async(user_agent: str) -> Agent:
    return await asyncio.to_thread(parse, user_agent)
