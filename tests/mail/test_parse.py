"""Reading mail without a server: quoted history, HTML to text, robots, subjects."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from sodam.mail.parse import client_id_for, normalise_subject, parse_mail
from sodam.mail.quotes import split_quote
from sodam.mail.sanitise import sanitise_html


@pytest.mark.parametrize(
    ("text", "new", "quote_start"),
    [
        ("Thanks!\n\nOn Mon, Dec 1, 2026 at 3:02 PM Kim <kim@x.kr> wrote:\n> hello", "Thanks!", "On Mon"),
        # Gmail wraps a long attribution line
        (
            "Yes\n\nOn Mon, Dec 1, 2026 at 3:02 PM Sodam Support <\nhelp@shop.example> wrote:\n> hi",
            "Yes",
            "On Mon",
        ),
        (
            "네 감사합니다\n\n2026년 12월 1일 (화) 오후 3:02, 소담 <a@b.kr>님이 작성:\n> 안녕하세요",
            "네 감사합니다",
            "2026년",
        ),
        ("Fine\n\n-----Original Message-----\nFrom: Sodam\nSent: Monday\n\nold", "Fine", "-----Original"),
        (
            "확인했습니다\n\n________________________________\n보낸 사람: 소담 <s@x>\n보낸 날짜: 2026년 12월 1일\n"
            "받는 사람: 나\n제목: Re: 주문\n\n본문",
            "확인했습니다",
            "____",
        ),
        ("Answer\n> q1\ninline reply\n> q2\n> q3\n", "Answer\n> q1\ninline reply", "> q2"),
        (
            "No quote here.\nFrom: is just a word at the start",
            "No quote here.\nFrom: is just a word at the start",
            "",
        ),
    ],
)
def test_quoted_history_is_folded(text, new, quote_start):
    got_new, got_quote = split_quote(text)
    assert got_new == new
    assert got_quote.startswith(quote_start) if quote_start else got_quote == ""


def test_a_mail_that_is_only_a_quote_keeps_its_text():
    assert split_quote("> only\n> quoted") == ("> only\n> quoted", "")


def test_sanitised_html_keeps_formatting_and_drops_everything_active():
    out = sanitise_html(
        '<p style="x:expression(1)" onclick="a()">Hi <a href="javascript:x">j</a> <a href="mailto:a@b.kr">m</a>'
        '<svg onload="x"></svg><object data="x"></object><img src="cid:1"></p>'
    )
    assert out.startswith("<p>Hi ") and 'href="mailto:a@b.kr"' in out
    for bad in ("style", "onclick", "javascript", "<svg", "<object", "<img"):
        assert bad not in out


def test_robots_and_people():
    def mail(**headers):
        m = EmailMessage()
        m["From"] = "a@b.kr"
        m["Message-ID"] = "<x@b.kr>"
        for k, v in headers.items():
            m[k.replace("_", "-")] = v
        m.set_content("hi")
        return m.as_bytes()

    assert parse_mail(mail(Auto_Submitted="no")).robot is None
    assert parse_mail(mail(Auto_Submitted="auto-generated")).robot == "auto_submitted"
    assert parse_mail(mail(Precedence="junk")).robot == "precedence"
    assert parse_mail(mail(X_Autorespond="1")).robot == "autoreply"
    assert parse_mail(mail(List_Id="<l.b.kr>")).robot == "list"
    assert parse_mail(mail(), envelope_from="").robot == "null_sender"
    assert parse_mail(mail(), envelope_from="a@b.kr").robot is None


def test_a_mail_without_message_id_still_has_a_stable_key():
    m = EmailMessage()
    m["From"] = "a@b.kr"
    m.set_content("hi")
    raw = m.as_bytes()
    assert parse_mail(raw).message_id == parse_mail(raw).message_id
    assert len(client_id_for("x" * 900)) <= 64


def test_subjects():
    assert normalise_subject("Re: RE: Fwd: [문의] 배송") == "[문의] 배송"
    assert normalise_subject("답장: 회신: 주문") == "주문"
    assert normalise_subject("Reply needed") == "Reply needed"
