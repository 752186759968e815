"""Help-center copy is polite Korean (존댓말) and every kb/help key exists in both languages."""

import re

from sodam.core.i18n import catalog


def test_help_center_korean_sentences_are_polite():
    ko = catalog("ko")
    sentences = [v for k, v in ko.items() if k.startswith("help.") and v.rstrip().endswith((".", "!", "?"))]
    assert len(sentences) >= 5
    impolite = [s for s in sentences if not re.search(r"(니다|세요|어요|나요|까요|해요|에요|예요)[.!?]*$", s)]
    assert not impolite, impolite


def test_knowledge_keys_exist_in_both_languages():
    ko, en = catalog("ko"), catalog("en")
    ours = {k for k in ko if k.startswith(("kb.", "help."))}
    assert ours and ours == {k for k in en if k.startswith(("kb.", "help."))}
