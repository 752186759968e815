"""Placeholders: Korean and English first names, fallbacks, unknown placeholders left visible,
and no template engine on user text."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sodam.replies.placeholders import fill, first_name, reply_language, values_for


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("김민지", "민지"),
        ("남궁민지", "민지"),
        ("남궁민", "민"),
        ("김 민지", "민지"),
        ("이준", "이준"),  # two syllables: the full name reads better than 준님
        ("Minji Kim", "Minji"),
        ("Kim, Minji", "Minji"),
        ("  Alex  ", "Alex"),
        ("", None),
        (None, None),
        ("someone@example.com", None),
    ],
)
def test_first_name(name, expected):
    assert first_name(name) == expected


def contact(**kw):
    base = {
        "name": None,
        "email": None,
        "phone": None,
        "company": None,
        "language": None,
        "custom_attributes": {},
    }
    return SimpleNamespace(**{**base, **kw})


def test_fill_known_and_unknown_placeholders():
    values = values_for(
        contact=contact(
            name="김민지", email="minji@example.com", custom_attributes={"tier": "VIP", "주문번호": 1234}
        ),
        agent_name="박상담",
        language="ko",
    )
    body = (
        "{{contact.first_name}}님, 안녕하세요. {{ agent.name }}입니다.\n"
        "{{contact.name}} / {{contact.email}} / {{contact.tier}} / {{contact.주문번호}} / {{contact.unknown}} / {{order.id}}"
    )
    assert fill(body, values) == (
        "민지님, 안녕하세요. 박상담입니다.\n"
        "김민지 / minji@example.com / VIP / 1234 / {{contact.unknown}} / {{order.id}}"
    )


def test_nameless_contact_gets_a_polite_word_in_the_reply_language():
    ko = values_for(
        contact=contact(), agent_name="Sam", language=reply_language("{{contact.name}}님 안녕하세요")
    )
    assert fill("{{contact.name}}님 안녕하세요", ko) == "고객님 안녕하세요"
    en = values_for(contact=None, agent_name="Sam", language=reply_language("Hi {{contact.first_name}},"))
    assert fill("Hi {{contact.first_name}}, I'm {{agent.name}}.", en) == "Hi there, I'm Sam."
    # A missing e-mail stays visible so the agent notices before sending.
    assert fill("{{contact.email}}", en) == "{{contact.email}}"


def test_no_template_engine_runs_on_user_text():
    values = values_for(contact=contact(name="{{agent.name}}"), agent_name="X", language="en")
    # A value is inserted as it is, never expanded again; expressions are not evaluated.
    assert fill("{{contact.name}} {{ 7*7 }} {% if 1 %}x{% endif %} {{contact.__class__}}", values) == (
        "{{agent.name}} {{ 7*7 }} {% if 1 %}x{% endif %} {{contact.__class__}}"
    )
