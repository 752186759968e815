"""Article sentence vectors in PostgreSQL (pgvector when installed), so that the
optional dense ranking encodes each text once per model, not in every process.

The index calls the store from synchronous code (inside LexicalIndex), so it uses
one small synchronous psycopg connection per process, serialised by a lock.
"""

from __future__ import annotations

import threading
from functools import cache

import numpy as np
import psycopg

from sodam.db.session import libpq_url


class PgVectorStore:
    """nlp.ranking.VectorStore for one workspace."""

    def __init__(self, workspace_id: int, url: str) -> None:
        self.workspace_id = workspace_id
        self._conn = _connection(libpq_url(url))

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        with self._conn.lock:
            rows = self._conn.execute(
                "SELECT key, embedding::real[] FROM kb_embeddings WHERE workspace_id = %s AND key = ANY(%s)",
                (self.workspace_id, keys),
            )
        return {key: np.asarray(values, dtype=np.float32) for key, values in rows}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        cast = "::real[]::vector" if self._conn.is_pgvector() else "::real[]"
        with self._conn.lock:
            self._conn.executemany(
                f"INSERT INTO kb_embeddings (workspace_id, key, embedding) VALUES (%s, %s, %s{cast})"  # noqa: S608
                " ON CONFLICT DO NOTHING",
                [(self.workspace_id, key, [float(x) for x in vec]) for key, vec in vectors.items()],
            )


class _Connection:
    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._pgvector: bool | None = None

    def _live(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn

    def execute(self, sql: str, params) -> list[tuple]:
        try:
            return self._live().execute(sql, params).fetchall()
        except psycopg.OperationalError:
            self._conn = None  # a dropped connection: one retry on a new one
            return self._live().execute(sql, params).fetchall()

    def executemany(self, sql: str, params) -> None:
        try:
            self._live().cursor().executemany(sql, params)
        except psycopg.OperationalError:
            self._conn = None
            self._live().cursor().executemany(sql, params)

    def is_pgvector(self) -> bool:
        if self._pgvector is None:
            with self.lock:
                (kind,) = self.execute(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    " WHERE attrelid = 'kb_embeddings'::regclass AND attname = 'embedding'",
                    (),
                )[0]
            self._pgvector = kind == "vector"
        return self._pgvector


@cache
def _connection(url: str) -> _Connection:
    return _Connection(url)
