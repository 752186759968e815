"""Where attachment bytes live, behind one small interface.

- `folder` (default): files under SODAM_DATA_DIR/attachments, written atomically.
- `postgres`: a bytea table in the same database (one thing to back up).
- `s3`: any S3-compatible service (SODAM_S3_BUCKET, SODAM_S3_ENDPOINT_URL, credentials
  from the usual AWS_* variables); needs `pip install 'sodam[s3]'` (boto3).

Blocking calls run in the thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from sodam.attachments.models import AttachmentBlob
from sodam.config import get_settings
from sodam.db.session import session_scope


class Store(Protocol):
    name: str

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


class FolderStore:
    name = "folder"

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys are ours (workspace/hex), never a client's name: no traversal possible.
        if ".." in key or key.startswith("/"):
            raise ValueError("bad storage key")
        return self.root / key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


class PostgresStore:
    name = "postgres"

    async def put(self, key: str, data: bytes) -> None:
        async with session_scope() as session:
            await session.execute(
                pg_insert(AttachmentBlob).values(key=key, data=data).on_conflict_do_nothing()
            )
            await session.commit()

    async def get(self, key: str) -> bytes:
        async with session_scope() as session:
            data = await session.scalar(select(AttachmentBlob.data).where(AttachmentBlob.key == key))
        if data is None:
            raise FileNotFoundError(key)
        return bytes(data)

    async def delete(self, key: str) -> None:
        async with session_scope() as session:
            await session.execute(delete(AttachmentBlob).where(AttachmentBlob.key == key))
            await session.commit()


class S3Store:
    """An S3-compatible bucket through boto3 (optional dependency)."""

    name = "s3"

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str | None = None):
        try:
            import boto3  # noqa: PLC0415 - optional
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("SODAM_ATTACHMENT_STORE=s3 needs boto3: pip install 'sodam[s3]'") from exc
        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=key, Body=data)

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)


def make_store(name: str) -> Store:
    settings = get_settings()
    if name == "postgres":
        return PostgresStore()
    if name == "s3":
        if not settings.s3_bucket:
            raise RuntimeError("SODAM_ATTACHMENT_STORE=s3 needs SODAM_S3_BUCKET")
        return S3Store(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region)
    return FolderStore(Path(settings.data_dir) / "attachments")


@lru_cache
def store_named(name: str) -> Store:
    """The store an attachment was written to (each row remembers its store's name)."""
    return make_store(name)


def current_store() -> Store:
    """Where new attachments go (SODAM_ATTACHMENT_STORE)."""
    return store_named(get_settings().attachment_store)
