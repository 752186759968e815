"""Article sentence vectors in PostgreSQL (pgvector where the extension exists, real[]
elsewhere), keyed by a hash of the model, the unit's kind and its text: a text is
encoded once per model, by the embedding job, whichever process later needs it.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.nlp import encoders


@dataclass(frozen=True)
class ArticleUnits:
    """What one article contributes to the dense index: unit channels, texts and storage keys
    (only the channels whose encoder is installed)."""

    channels: list[str]
    texts: list[str]
    keys: list[str]


def unit_key(model: str, channel: str, unit: str) -> str:
    return hashlib.sha256(f"{model}\0{channel}\0{unit}".encode()).hexdigest()


def units_of(title: str, body: str, alternate_questions) -> ArticleUnits:
    models = {c: encoders.channel_model(c) for c in encoders.CHANNELS}
    pairs = [(c, t) for c, t in encoders.article_units(title, body, tuple(alternate_questions)) if models[c]]
    return ArticleUnits(
        [c for c, _ in pairs], [t for _, t in pairs], [unit_key(models[c], c, t) for c, t in pairs]
    )


async def load(session: AsyncSession, workspace_id: int, keys: list[str]) -> dict[str, np.ndarray]:
    """Stored vectors for these keys (missing keys are simply absent).

    Each comes as its array's binary form (array_send) read by numpy: as real[] text, psycopg
    made a Python float of every number (6 s of a 10,000-article index load)."""
    out: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 5000):
        rows = await session.execute(
            text(
                "SELECT key, array_send(embedding::real[]) FROM kb_embeddings"
                " WHERE workspace_id = :ws AND key = ANY(:keys)"
            ),
            {"ws": workspace_id, "keys": unique[start : start + 5000]},
        )
        for key, raw in rows:
            out[key] = from_array_send(raw)
    return out


# PostgreSQL's binary array: ndim, has-nulls flag, element type, then per dimension its length
# and lower bound, then each element as its byte length and its value (big-endian).
_FLOAT4_ELEMENT = np.dtype([("length", ">i4"), ("value", ">f4")])


def from_array_send(raw: bytes) -> np.ndarray:
    """A one-dimensional real[] without NULLs, from array_send(), as float32."""
    ndim, has_nulls, _ = struct.unpack_from(">iii", raw)
    if ndim == 0:
        return np.zeros(0, np.float32)
    if ndim != 1 or has_nulls:
        raise ValueError("a vector is a one-dimensional real[] without NULLs")
    (length,) = struct.unpack_from(">i", raw, 12)
    return np.frombuffer(raw, _FLOAT4_ELEMENT, count=length, offset=20)["value"].astype(np.float32)


async def _is_pgvector(session: AsyncSession) -> bool:
    kind = await session.scalar(
        text(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'kb_embeddings'::regclass AND attname = 'embedding'"
        )
    )
    return kind == "vector"


async def save(session: AsyncSession, workspace_id: int, vectors: dict[str, np.ndarray]) -> None:
    """Store vectors (an existing key is kept: same model and text give the same vector)."""
    if not vectors:
        return
    value = "CAST(CAST(:vec AS real[]) AS vector)" if await _is_pgvector(session) else "CAST(:vec AS real[])"
    await session.execute(
        text(
            f"INSERT INTO kb_embeddings (workspace_id, key, embedding) VALUES (:ws, :key, {value})"  # noqa: S608
            " ON CONFLICT DO NOTHING"
        ),
        [{"ws": workspace_id, "key": k, "vec": [float(x) for x in v]} for k, v in vectors.items()],
    )


def encode_missing(wanted: dict[str, tuple[str, str]]) -> dict[str, np.ndarray]:
    """Encode key -> (channel, text) in batches per channel (CPU work: call it in a thread)."""
    out: dict[str, np.ndarray] = {}
    for channel, (kind, passage) in encoders.CHANNELS.items():
        encoder = encoders.get_encoder(kind)
        items = [(k, t) for k, (c, t) in wanted.items() if c == channel]
        if encoder is None or not items:
            continue
        for start in range(0, len(items), 256):
            chunk = items[start : start + 256]
            texts = [t for _, t in chunk]
            vecs = encoder.passages(texts) if passage else encoder.queries(texts)
            out.update({k: v for (k, _), v in zip(chunk, vecs, strict=True)})
    return out
