"""A template fills its strings with %(name)s (Jinja's gettext), Python's gettext with {name}.
A {name} in a string a template fills was shown as is: the supervisor's queue read
"{minutes}분" for the longest wait (seen walking the console as a newcomer)."""

from __future__ import annotations

import re
from pathlib import Path

from sodam.core.i18n import catalog
from tests.test_console_helpers import console_client, csrf_of, seed_conversation

SRC = Path(__file__).resolve().parents[1] / "src" / "sodam"
CALL = re.compile(r"""\b_\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']\s*,([^)]*)\)""")


def test_strings_a_template_fills_use_the_template_placeholders():
    wrong = []
    for path in SRC.rglob("*.html"):
        for key, args in CALL.findall(path.read_text(encoding="utf-8")):
            for param in re.findall(r"(\w+)\s*=", args):
                for lang in ("ko", "en"):
                    text = catalog(lang).get(key, "")
                    if "{" + param + "}" in text:
                        wrong.append(f"{path.name} {key} ({lang}): {text}")
    assert not wrong, wrong


async def test_the_queue_shows_the_longest_wait_in_minutes(live_server, make_workspace):
    ws = await make_workspace()
    await seed_conversation(ws)  # one conversation waiting for a person (no bot in this inbox)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        for locale, unit in (("ko", "분"), ("en", "min")):
            await client.post(
                "/console/preferences/locale",
                data={"locale": locale, "next": "/console", "csrf_token": csrf_of(client)},
            )
            page = (await client.get("/console/queue")).text
            longest = re.search(r'id="queue-longest">([^<]*)<', page)
            assert longest, page[:500]
            assert re.fullmatch(rf"\d+ ?{unit}", longest.group(1).strip()), longest.group(1)
    finally:
        await client.aclose()
