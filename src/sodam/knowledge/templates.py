"""Built-in article templates (ko/en): what a category's template can start from.

A category's own template (`kb_categories.template`, edited in the console) is what a new
article in it starts from; these are the presets offered there (and given to the demo).
"""

from __future__ import annotations

from sodam.core.errors import Invalid

MAX_TEMPLATE_CHARS = 20_000

BUILTIN: dict[str, dict[str, str]] = {
    "troubleshooting": {
        "ko": (
            "## 문제\n\n어떤 상황에서 무엇이 안 되는지 적어 주세요.\n\n"
            "## 원인\n\n왜 그런 일이 생기는지 설명해 주세요.\n\n"
            "## 해결 방법\n\n1. 첫 번째 단계\n2. 두 번째 단계\n3. 세 번째 단계\n\n"
            "## 관련 문서\n\n- "
        ),
        "en": (
            "## Problem\n\nDescribe what does not work, and when.\n\n"
            "## Cause\n\nExplain why it happens.\n\n"
            "## Steps\n\n1. First step\n2. Second step\n3. Third step\n\n"
            "## Related articles\n\n- "
        ),
    },
    "how_to": {
        "ko": (
            "## 이런 분께 필요해요\n\n이 문서로 무엇을 할 수 있는지 한 줄로 적어 주세요.\n\n"
            "## 준비물\n\n- \n\n"
            "## 방법\n\n1. 첫 번째 단계\n2. 두 번째 단계\n\n"
            "## 관련 문서\n\n- "
        ),
        "en": (
            "## Who this is for\n\nOne line on what this article helps you do.\n\n"
            "## Before you start\n\n- \n\n"
            "## Steps\n\n1. First step\n2. Second step\n\n"
            "## Related articles\n\n- "
        ),
    },
    "policy": {
        "ko": (
            "## 요약\n\n핵심을 한두 문장으로 적어 주세요.\n\n"
            "## 자세한 내용\n\n- 대상:\n- 기간:\n- 예외:\n\n"
            "## 문의 방법\n\n\n\n## 관련 문서\n\n- "
        ),
        "en": (
            "## Summary\n\nThe gist in one or two sentences.\n\n"
            "## Details\n\n- Who:\n- When:\n- Exceptions:\n\n"
            "## How to contact us\n\n\n\n## Related articles\n\n- "
        ),
    },
}
BUILTIN_NAMES = tuple(BUILTIN)


def builtin(name: str) -> dict[str, str]:
    if name not in BUILTIN:
        raise Invalid(f"unknown template '{name}'", code="unknown_template")
    return dict(BUILTIN[name])


def clean(template: dict[str, str] | None) -> dict[str, str]:
    """{"ko": markdown, "en": markdown} without empty entries (line endings normalised)."""
    out = {}
    for locale, body in (template or {}).items():
        if locale not in ("ko", "en") or not isinstance(body, str):
            continue
        body = body.replace("\r\n", "\n").replace("\x00", "")
        if len(body) > MAX_TEMPLATE_CHARS:
            raise Invalid(
                f"a template holds at most {MAX_TEMPLATE_CHARS} characters", code="template_too_long"
            )
        if body.strip():
            out[locale] = body
    return out
