from sodam.nlp.language import detect


def test_korean_by_hangul():
    assert detect("배송 언제 와요?") == "ko"
    assert detect("iPhone 배터리 교체") == "ko"
    assert detect("ㅋㅋ") == "ko"


def test_english_short_text():
    assert detect("where is my refund") == "en"
    assert detect("hi") == "en"
    assert detect("talk to a human please") == "en"


def test_no_letters_gives_default():
    assert detect("123 !!", default="ko") == "ko"
    assert detect("") is None
