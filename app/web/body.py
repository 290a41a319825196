"""Reading a request body with a size limit, so that no request can make the server read or spool more."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.datastructures import FormData

# Ordinary forms are small; uploads have their own bounded reader (app/evidence/storage.py).
FORM_BODY_LIMIT = 1024 * 1024


async def read_form(request: Request) -> FormData:
    """The request's form, never reading more than FORM_BODY_LIMIT bytes of body: a larger one is refused
    with 413 as soon as it is known to be too large, before anything is spooled to disk."""
    cached = getattr(request, "_form", None)  # Starlette's cache, also filled by the upload reader
    if cached is not None:
        return cached
    if not hasattr(request, "_body"):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > FORM_BODY_LIMIT):
            raise HTTPException(status_code=413)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > FORM_BODY_LIMIT:
                raise HTTPException(status_code=413)
            chunks.append(chunk)
        # Starlette's request.form() reads the body from this cache once it is set.
        request._body = b"".join(chunks)  # noqa: SLF001
    return await request.form()
