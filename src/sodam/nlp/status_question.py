""" "진행 상황 알려주세요" / "any update?": a customer asking where their question stands.

A closed set, so rules (like bot.rules): matched on the normalised text with spaces removed
(Korean) or single-spaced (English), and only on short messages that are nothing else — "주문
진행 상황은 어떻게 확인하나요?" is a question for the knowledge base, not a status request, so
orders, deliveries and "how do I …" stay out. Pure and cheap: the message path calls it.
"""

from __future__ import annotations

import re

from sodam.nlp.text import normalize

MAX_CHARS = 40

_KO = re.compile(
    r"^(저|제|저희|내)?(문의|상담|요청|접수|질문)?(건|하신거|한거|드린거|한것)?(의|은|는|이|가)?"
    r"(진행|처리|답변)(상황|상태|현황|사항)(좀|을|를|이|은|가|도)?"
    r"(알려주세요|알려주실래요|알려주시겠어요|알려주실수있나요|알려줘요|알려줘|궁금해요|궁금합니다|궁금한데요"
    r"|확인해주세요|확인부탁드려요|확인부탁드립니다|어떻게되나요|어떻게돼요|어떻게되었나요|어떻게됐나요"
    r"|어떤가요|어때요|요|이요|부탁드려요|부탁드립니다)?$"
    r"|^(제|저희|내)?(문의|상담|요청|질문)?(는|은)?(아직|아직도)(인가요|이에요|이예요|멀었나요|안됐나요|답변없나요|답이없나요)$"
    r"|^(제|내)?(문의|상담|요청|질문)(는|은)?어떻게(되고있나요|되고있어요|됐나요|되었나요|되어가나요)$"
    r"|^(업데이트|새소식)(있나요|있어요|있을까요|좀|요|부탁드려요)?$"
)
_EN = re.compile(
    r"^(any (updates?|news|progress)( on (my|this) (request|question|ticket|case|issue))?"
    r"|(what'?s|what is) the (status|progress|latest)( of| on)?( (my|this) (request|question|ticket|case|issue))?"
    r"|(can i|could i|may i) (get|have) an? (status )?update"
    r"|status( update)?|(is there|are there) (an|any) updates?( on (my|this) (request|question|ticket|case|issue))?"
    r"|still waiting|how is my (request|question|ticket|case) (going|coming along))"
    r"( please| pls)?$"
)
_END = re.compile(r"[\s?.!~…]+$")


def is_status_question(text: str) -> bool:
    """Whether a customer's message only asks for the status of their conversation."""
    if not text or len(text) > MAX_CHARS:
        return False
    clean = _END.sub("", normalize(text))
    if not clean:
        return False
    if _KO.match(clean.replace(" ", "")):
        return True
    return bool(_EN.match(clean.replace("’", "'")))
