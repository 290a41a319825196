"""Evidence fixtures: people from tests/case_fixtures.py, sample files, and helpers for posting forms and uploads."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.config import get_settings
from app.evidence.models import Document
from tests.conftest import csrf_from
from tests.pages import post_form


@pytest.fixture
def small_upload_limit(monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """Lower the upload limit to its minimum (1 MB) for this test."""
    monkeypatch.setattr(get_settings(), "upload_limit_mb", 1)
    return get_settings().upload_limit_bytes


def submit(client, path: str, data: dict, *, page: str | None = None):  # type: ignore[no-untyped-def]
    """Post a form with the CSRF token of the page that shows it (the form's own page unless given)."""
    return post_form(client, path, data, form_page=page or path)


def upload(client, path: str, filename: str, content: bytes, *, page: str,  # type: ignore[no-untyped-def]
           declared_type: str = "application/octet-stream", extra: dict | None = None):
    token = csrf_from(client.get(page).text)
    return client.post(path, data={"csrf_token": token} | (extra or {}),
                       files={"file": (filename, content, declared_type)}, follow_redirects=False)


def document_count(db) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(Document))


def png_bytes(size: tuple[int, int] = (40, 30), **save) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 60)).save(out, "PNG", **save)
    return out.getvalue()


PDF_BYTES = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] "
             b"/Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
