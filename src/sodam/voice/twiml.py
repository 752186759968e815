"""TwiML (Twilio Markup Language) responses: the XML a Twilio-compatible provider executes.

Only the verbs the IVR uses, built with ElementTree so every text and attribute is escaped.
Korean prompts are spoken with language="ko-KR", English with "en-US"; the voice names are
the provider's (Polly.Seoyeon / Polly.Joanna on Twilio) and can be changed per line.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

LANGUAGES = {"ko": "ko-KR", "en": "en-US"}
VOICES = {"ko": "Polly.Seoyeon", "en": "Polly.Joanna"}


class Response:
    """<Response> with verbs appended in order; str() is the XML document."""

    def __init__(self) -> None:
        self.root = ET.Element("Response")

    def say(self, text: str, language: str = "ko", parent: ET.Element | None = None) -> Response:
        el = ET.SubElement(
            self.root if parent is None else parent,
            "Say",
            {"language": LANGUAGES.get(language, "ko-KR"), "voice": VOICES.get(language, VOICES["ko"])},
        )
        el.text = text
        return self

    def gather(self, action: str, prompts: list[tuple[str, str]], *, num_digits: int = 1, timeout: int = 5):
        """<Gather> one key press (posted to `action` as Digits), saying the prompts meanwhile.
        With no key pressed the provider goes on to the next verb (a <Redirect>)."""
        el = ET.SubElement(
            self.root,
            "Gather",
            {
                "input": "dtmf",
                "numDigits": str(num_digits),
                "timeout": str(timeout),
                "action": action,
                "method": "POST",
            },
        )
        for text, language in prompts:
            self.say(text, language, parent=el)
        return self

    def dial(self, number: str, action: str, caller_id: str | None = None, timeout: int = 30) -> Response:
        attrs = {"action": action, "method": "POST", "timeout": str(timeout)}
        if caller_id:
            attrs["callerId"] = caller_id
        ET.SubElement(self.root, "Dial", attrs).append(_number(number))
        return self

    def enqueue(self, queue: str, action: str, wait_url: str | None = None) -> Response:
        attrs = {"action": action, "method": "POST"}
        if wait_url:
            attrs["waitUrl"] = wait_url
        ET.SubElement(self.root, "Enqueue", attrs).text = queue
        return self

    def record(self, action: str, max_length: int = 120) -> Response:
        ET.SubElement(
            self.root,
            "Record",
            {
                "action": action,
                "method": "POST",
                "maxLength": str(max_length),
                "finishOnKey": "#",
                "playBeep": "true",
            },
        )
        return self

    def redirect(self, url: str) -> Response:
        ET.SubElement(self.root, "Redirect", {"method": "POST"}).text = url
        return self

    def pause(self, seconds: int = 1) -> Response:
        ET.SubElement(self.root, "Pause", {"length": str(seconds)})
        return self

    def hangup(self) -> Response:
        ET.SubElement(self.root, "Hangup")
        return self

    def __str__(self) -> str:
        return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(self.root, encoding="unicode")


def _number(number: str) -> ET.Element:
    el = ET.Element("Number")
    el.text = number
    return el
