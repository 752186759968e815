"""로 / 으로 after a word, by its last syllable's final consonant."""

import pytest

from sodam.core.korean import ro


@pytest.mark.parametrize(
    ("word", "particle"),
    [
        ("보류", "로"),  # no final consonant
        ("고객 응답 대기", "로"),
        ("서울", "로"),  # ㄹ takes 로
        ("높음", "으로"),  # ㅁ
        ("진행 중", "으로"),  # ㅇ
        ("해결됨", "으로"),
        ("긴급", "으로"),  # ㅂ
        ("'높음'", "으로"),  # quotes around the word do not count
        ("3", "으로"),  # 삼
        ("2", "로"),  # 이
        ("7", "로"),  # 칠
        ("high", "(으)로"),  # cannot tell: say both
        ("", "(으)로"),
    ],
)
def test_ro(word, particle):
    assert ro(word) == particle
