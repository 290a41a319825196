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


# One blank A4 page, written exactly as app/evidence/pdf.py writes an inert PDF (so it is stored byte for byte): a
# real PDF, with its cross-reference table, that qpdf opens without repair.
PDF_BYTES = (b"%PDF-1.3\n%\xbf\xf7\xa2\xfe\n1 0 obj\n<< /Pages 2 0 R /Type /Catalog >>\nendobj\n2 0 obj\n"
             b"<< /Count 1 /Kids [ 3 0 R ] /Type /Pages >>\nendobj\n3 0 obj\n"
             b"<< /Contents 4 0 R /MediaBox [ 0 0 595 842 ] /Parent 2 0 R /Resources << >> /Type /Page >>\nendobj\n"
             b"4 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\nxref\n0 5\n0000000000 65535 f \n"
             b"0000000015 00000 n \n0000000064 00000 n \n0000000123 00000 n \n0000000229 00000 n \n"
             b"trailer << /Root 1 0 R /Size 5 /ID [<e75987c1f66605ba73adf339335c6575>"
             b"<e75987c1f66605ba73adf339335c6575>] >>\nstartxref\n278\n%%EOF\n")
