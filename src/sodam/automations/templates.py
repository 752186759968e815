"""The five seed journeys as ready templates: each instantiates one or two rules, enabled with
one click and editable afterwards. Customer copy in Korean (존댓말) and English."""

from __future__ import annotations

import copy
from typing import Any

from sodam.core.errors import NotFound


def _msg(ko: str, en: str) -> dict[str, Any]:
    return {"type": "message", "text": {"ko": ko, "en": en}}


TEMPLATES: dict[str, dict[str, Any]] = {
    "welcome": {
        "rules": [
            {
                "name": "환영 시리즈 (Welcome series)",
                "description": "새 고객에게 환영 인사, 3일 뒤 사용 팁을 보냅니다.",
                "trigger_type": "contact.created",
                "trigger_config": {},
                "conditions": [],
                "marketing": True,
                "steps": [
                    _msg(
                        "{{contact.first_name}}님, 반갑습니다! 가입해 주셔서 감사합니다. "
                        "궁금하신 점은 언제든 이 창에서 편하게 물어봐 주세요.",
                        "Welcome aboard, {{contact.first_name}}! Thanks for joining us. "
                        "If anything comes up, just ask here any time.",
                    ),
                    {"type": "wait", "days": 3},
                    _msg(
                        "{{contact.first_name}}님, 잘 쓰고 계신가요? 많은 분들이 처음 일주일 동안 "
                        "알림 설정과 즐겨찾기부터 해 두십니다. 도움말 센터에서 시작 가이드를 확인해 보세요.",
                        "How is it going, {{contact.first_name}}? Most people start by setting up "
                        "notifications and favourites in their first week. Our help center has a "
                        "getting-started guide.",
                    ),
                ],
            }
        ]
    },
    "inactive": {
        "rules": [
            {
                "name": "휴면 고객 안부 (Inactive follow-up)",
                "description": "30일 동안 활동이 없는 고객에게 안부를 묻습니다.",
                "trigger_type": "contact.inactive",
                "trigger_config": {"days": 30},
                "conditions": [],
                "marketing": True,
                "steps": [
                    _msg(
                        "{{contact.first_name}}님, 오랜만입니다. 그동안 불편하신 점은 없으셨나요? "
                        "새로 추가된 기능도 있으니 필요하신 게 있으면 편하게 말씀해 주세요.",
                        "It has been a while, {{contact.first_name}}. Is everything working well "
                        "for you? We have added a few new features - tell us if there is anything "
                        "you need.",
                    )
                ],
            }
        ]
    },
    "loyalty": {
        "rules": [
            {
                "name": "단골 고객 감사 혜택 (Loyalty offer)",
                "description": "여러 번 해결된 대화 뒤 만족도 5점을 주신 고객에게 감사 혜택을 드립니다.",
                "trigger_type": "survey.answered",
                "trigger_config": {},
                "conditions": [
                    {"field": "event.property", "key": "kind", "op": "eq", "value": "csat"},
                    {"field": "event.property", "key": "score", "op": "gte", "value": 5},
                    {"field": "contact.resolved_conversations", "op": "gte", "value": 3},
                ],
                "marketing": True,
                "steps": [
                    _msg(
                        "{{contact.first_name}}님, 늘 저희를 믿고 찾아 주셔서 진심으로 감사드립니다. "
                        "감사의 마음을 담아 다음 달 이용료 1개월 무료 혜택을 준비했습니다. "
                        "적용을 원하시면 이 메시지에 답장해 주세요.",
                        "Thank you for sticking with us, {{contact.first_name}}. As a thank-you, "
                        "your next month is on us - reply to this message and we will apply it.",
                    ),
                    {"type": "tag", "tag": "loyalty-offer"},
                ],
            },
            {
                "name": "낮은 만족도 사과와 혜택 (Apology offer)",
                "description": "점수 4점 미만을 주신 고객에게 사과드리고 혜택을 드립니다.",
                "trigger_type": "survey.answered",
                "trigger_config": {},
                "conditions": [{"field": "event.property", "key": "score", "op": "lt", "value": 4}],
                "marketing": False,
                "steps": [
                    _msg(
                        "{{contact.first_name}}님, 이번 상담에서 만족스럽지 못한 경험을 드려 정말 죄송합니다. "
                        "사과의 뜻으로 다음 달 이용료 1개월 무료 혜택을 드리고자 합니다. "
                        "무엇이 불편하셨는지 알려 주시면 꼭 개선하겠습니다.",
                        "We are sorry we let you down this time, {{contact.first_name}}. To make up "
                        "for it, your next month is free. Please tell us what went wrong - we will "
                        "fix it.",
                    ),
                    {"type": "tag", "tag": "apology-offer"},
                ],
            },
        ]
    },
    "multi_ticket": {
        "rules": [
            {
                "name": "반복 문의 매니저 연결 (Multi-ticket escalation)",
                "description": "7일 안에 세 번째 대화를 연 고객은 매니저에게 알리고 우선순위를 높입니다.",
                "trigger_type": "conversation.nth",
                "trigger_config": {"count": 3, "days": 7},
                "conditions": [],
                "marketing": False,
                "steps": [
                    {
                        "type": "escalate",
                        "note": {
                            "ko": "{{contact.name}} 고객님이 7일 안에 세 번째 문의를 남기셨습니다. 확인 부탁드립니다.",
                            "en": "{{contact.name}} opened a third conversation within 7 days. Please take a look.",
                        },
                    },
                    {"type": "priority", "priority": "high"},
                ],
            }
        ]
    },
    "unused_feature": {
        "rules": [
            {
                "name": "미사용 기능 안내 (Unused-feature nudge)",
                "description": "가입 14일이 지나도 핵심 기능(feature_used 속성)을 쓰지 않은 고객에게 자료를 보냅니다.",
                "trigger_type": "contact.age",
                "trigger_config": {"days": 14},
                "conditions": [{"field": "contact.attribute", "key": "feature_used", "op": "not_set"}],
                "marketing": True,
                "steps": [
                    _msg(
                        "{{contact.first_name}}님, 아직 자동화 기능을 써 보지 않으셨네요. "
                        "3분짜리 안내 영상과 따라 하기 가이드를 준비했습니다. 도움말 센터에서 확인해 보시고, "
                        "궁금하신 점은 언제든 물어봐 주세요.",
                        "{{contact.first_name}}, you have not tried automations yet. We put together "
                        "a 3-minute video and a step-by-step guide in our help center - and we are "
                        "here if you have questions.",
                    )
                ],
            }
        ]
    },
}

KEYS = tuple(TEMPLATES)


def get(key: str) -> dict[str, Any]:
    """A template (a copy: the caller may change it)."""
    if key not in TEMPLATES:
        raise NotFound("automation template not found")
    return copy.deepcopy(TEMPLATES[key])


def all_() -> list[dict[str, Any]]:
    return [{"key": k, **get(k)} for k in KEYS]
