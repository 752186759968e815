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


def test_decided_at_once_without_the_model_and_the_same_as_detect():
    """The bot decides Hangul, letterless and short ASCII text on its event loop (no thread):
    the same answer as detect; anything else is the model's."""
    from sodam.nlp.language import NEEDS_MODEL, detect_at_once

    for text, default in (
        ("배송 언제 와요?", None),
        ("iPhone 배터리 교체", None),
        ("hi", None),
        ("123 !!", "ko"),
        ("", None),
    ):
        assert detect_at_once(text, default) is not NEEDS_MODEL
        assert detect_at_once(text, default) == detect(text, default=default)
    assert detect_at_once("where is my refund") is NEEDS_MODEL
    assert detect_at_once("Bonjour, où est ma commande?") is NEEDS_MODEL
