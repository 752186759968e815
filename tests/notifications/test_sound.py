"""The shipped chime is the generator's output: reproducible, short and small."""

import io
import wave

from sodam.notifications.sound import STATIC, chime


def test_the_shipped_chime_is_generated():
    assert STATIC.read_bytes() == chime()
    with wave.open(io.BytesIO(chime())) as w:
        assert w.getnchannels() == 1 and w.getframerate() == 16_000
        assert 0.1 < w.getnframes() / w.getframerate() < 0.5
    assert len(chime()) < 16_000
