"""Serving a stored file safely, and reading an upload from a request.

A file is never rendered as a page: simple raster images are `inline` (an <img> may show
them), everything else is `attachment`; the type is the one sniffed at upload, with
`nosniff` so the browser does not guess another, and a sandboxing CSP in case a browser is
opened on it directly.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from sodam.attachments import service
from sodam.attachments.models import Attachment
from sodam.attachments.sniff import content_disposition
from sodam.core.errors import Invalid


async def file_response(attachment: Attachment, *, download: bool = False, public: bool = False) -> Response:
    """The bytes with Content-Disposition, nosniff and a sandbox CSP."""
    data = await service.read(attachment)
    inline = service.inline_allowed(attachment) and not download
    headers = {
        "Content-Disposition": content_disposition(attachment.filename, inline=inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": "public, max-age=86400" if public else "private, max-age=3600",
        "ETag": f'"{attachment.sha256}"',
        # Avatars appear in <img> on customers' sites; other files are fetched with CORS.
        "Cross-Origin-Resource-Policy": "cross-origin" if public else "same-site",
    }
    return Response(content=data, media_type=attachment.content_type, headers=headers)


async def read_upload(request: Request, rules: service.Policy) -> tuple[str | None, bytes]:
    """(filename, bytes) of the multipart field `file`; 413 before reading when the declared
    length is already over the limit, 422 when there is no file."""
    service.check_declared_length(request.headers.get("content-length"), rules)
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("send the file as the multipart field 'file'", code="attachment_missing_file")
    if upload.size is not None and upload.size > rules.max_bytes:
        raise service.too_large(upload.size, rules)
    data = await upload.read(rules.max_bytes + 1)
    await upload.close()
    if len(data) > rules.max_bytes:
        raise service.too_large(len(data), rules)
    return upload.filename, data
