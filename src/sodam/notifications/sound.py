"""The notification chime (web/static/notify.wav): generated here, so the file in the
repository is reproducible and nothing is downloaded. `python -m sodam.notifications.sound`
rewrites it."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

RATE = 16_000
STATIC = Path(__file__).resolve().parent.parent / "web" / "static" / "notify.wav"


def chime() -> bytes:
    """Two soft sine notes (E6 then A5), 0.24 s, 16-bit mono, with a quick fade in and out."""
    frames = bytearray()
    for freq, seconds in ((1318.5, 0.11), (880.0, 0.13)):
        n = int(RATE * seconds)
        for i in range(n):
            envelope = min(1.0, i / (0.01 * RATE)) * (1 - i / n) ** 2
            sample = 0.35 * envelope * math.sin(2 * math.pi * freq * i / RATE)
            frames += struct.pack("<h", int(sample * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()


if __name__ == "__main__":
    STATIC.write_bytes(chime())
    print(f"wrote {STATIC} ({STATIC.stat().st_size} bytes)")
