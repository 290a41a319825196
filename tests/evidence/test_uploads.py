"""Document uploads and downloads: type decided by content, names that contradict it refused, images re-encoded
without metadata, the size limit enforced while the body streams in, download headers and the audit trail."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import starlette.formparsers
from PIL import ExifTags, Image, PngImagePlugin
from sqlalchemy import select
from starlette.requests import Request

from app.audit.models import AuditEvent, Outcome, Revision
from app.auth.models import Role
from app.evidence import storage
from app.evidence.models import Document, EvidenceItem
from app.visits.models import Visit
from tests.evidence.conftest import PDF_BYTES, document_count, png_bytes, submit, upload


@pytest.fixture
def item_paths(client, db, signed_in, make_person, today):  # type: ignore[no-untyped-def]
    """A signed-in coordinator, a person with one evidence item; returns (person, item page, upload path)."""
    signed_in(Role.coordinator)
    person = make_person("Up", "Loader")
    created = submit(client, f"/people/{person.reference}/evidence/new", {
        "kind": "photographs", "issued_date": str(today - timedelta(days=2)), "sensitivity": "high"})
    assert created.status_code == 303
    page = created.headers["location"]
    return person, page, page + "/documents"


def stored(db) -> list[Document]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Document).order_by(Document.id)))


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def jpeg_with_gps() -> bytes:
    """A photo as a phone takes it: camera details, GPS position, a comment, and an orientation tag."""
    image = Image.new("RGB", (64, 32), (150, 70, 50))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "FictiCam"
    exif[ExifTags.Base.Model] = "Snapper 3000"
    exif[ExifTags.Base.Orientation] = 6  # stored sideways: shown rotated 90 degrees clockwise
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 9.0, 10.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 11.0, 7.25)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at the fictional centre")
    data = out.getvalue()
    reopened = Image.open(io.BytesIO(data))
    assert reopened.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"  # the test is real
    return data


def test_a_pdf_is_stored_as_sent_and_downloaded_as_an_attachment(client, db, item_paths):
    person, page, path = item_paths
    response = upload(client, path, "C:\\Users\\fiction\\Scans\\GP letter.pdf", PDF_BYTES, page=page,
                      declared_type="text/html")
    assert response.status_code == 303
    [document] = stored(db)
    assert document.content == PDF_BYTES and document.content_type == "application/pdf"
    assert document.size_bytes == len(PDF_BYTES) and document.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert document.original_filename == "GP letter.pdf"  # the path is never kept
    assert document.person_id == person.id and document.visit_id is None
    [uploaded] = events(db, "document.uploaded")
    assert uploaded.details["document_id"] == document.id and uploaded.details["content_type"] == "application/pdf"
    assert db.scalars(select(Revision).where(Revision.table_name == "documents")).one().after["sha256"] == (
        document.sha256)
    assert "GP letter.pdf" in client.get(page).text

    for _ in range(2):
        download = client.get(f"/people/{person.reference}/documents/{document.id}")
        assert download.status_code == 200
        assert download.content == PDF_BYTES
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"] == 'attachment; filename="GP letter.pdf"'
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["cache-control"] == "no-store"
    downloads = events(db, "document.downloaded")
    assert len(downloads) == 2 and all(e.details == {"document_id": document.id} for e in downloads)
    assert downloads[0].person_id == person.id


def test_a_jpeg_comes_back_without_exif_gps_or_comment_and_the_right_way_up(client, db, item_paths):
    person, page, path = item_paths
    original = jpeg_with_gps()
    assert upload(client, path, "IMG_0001.JPG", original, page=page).status_code == 303
    [document] = stored(db)
    body = client.get(f"/people/{person.reference}/documents/{document.id}").content
    assert document.content_type == "image/jpeg" and body == document.content != original
    assert document.sha256 == hashlib.sha256(body).hexdigest() and document.size_bytes == len(body)
    image = Image.open(io.BytesIO(body))
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0 and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in image.info and "comment" not in image.info
    for trace in (b"Exif", b"FictiCam", b"Snapper", b"fictional centre"):
        assert trace not in body
    assert image.size == (32, 64)  # orientation applied to the pixels before the tag was dropped


def test_a_png_is_re_encoded_without_its_text_chunks(client, db, item_paths):
    person, page, path = item_paths
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Fictional Photographer")
    info.add_text("Location", "51.15N 0.18W")
    original = png_bytes(pnginfo=info)
    assert upload(client, path, "scar.png", original, page=page).status_code == 303
    [document] = stored(db)
    body = client.get(f"/people/{person.reference}/documents/{document.id}").content
    assert document.content_type == "image/png"
    assert b"Fictional Photographer" not in body and b"51.15N" not in body
    image = Image.open(io.BytesIO(body))
    assert image.size == (40, 30) and image.getpixel((0, 0)) == (200, 80, 60)
    assert not {"Author", "Location"} & set(image.info)


def test_a_name_that_contradicts_the_content_is_refused(client, db, item_paths):
    person, page, path = item_paths
    response = upload(client, path, "report.pdf", png_bytes(), page=page, declared_type="application/pdf")
    assert response.status_code == 422
    assert "The file&#39;s name says PDF but its content is a PNG image" in response.text
    assert 'id="f-file-error"' in response.text
    assert document_count(db) == 0
    [refused] = events(db, "document.upload_refused")
    assert refused.outcome is Outcome.failure and refused.details["reason"] == "extension_mismatch"
    assert "report.pdf" not in str(refused.details)


@pytest.mark.parametrize(("name", "content", "words"), [
    ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, "a Windows program"),
    ("scan.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, "a Windows program"),
    ("letter.html", b"<!doctype html><html><body><script>alert(1)</script></body></html>", "a web page (HTML)"),
    ("photo.jpg", b"<!doctype html><html><body><script>alert(1)</script></body></html>", "a web page (HTML)"),
    ("map.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "an SVG drawing"),
    ("notes.pdf", b"", "The file is empty"),
])
def test_programs_web_pages_and_drawings_are_refused_by_their_content(client, db, item_paths, name, content, words):
    person, page, path = item_paths
    response = upload(client, path, name, content, page=page, declared_type="image/png")
    assert response.status_code == 422
    assert words in response.text
    assert document_count(db) == 0


def test_a_file_over_the_limit_is_refused_with_413_and_nothing_is_kept(client, db, item_paths, small_upload_limit,
                                                                       monkeypatch):
    person, page, path = item_paths

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("Starlette's unbounded multipart parser must not read an upload body")

    monkeypatch.setattr(starlette.formparsers.MultiPartParser, "parse", never)
    too_big = PDF_BYTES + b"0" * (small_upload_limit + 1 - len(PDF_BYTES))
    response = upload(client, path, "big.pdf", too_big, page=page)
    assert response.status_code == 413
    assert "larger than the 1 MB limit" in response.text and 'id="f-file-error"' in response.text
    assert "Photographs" in response.text  # the evidence page again, not a bare error
    assert document_count(db) == 0
    [refused] = events(db, "document.upload_refused")
    assert refused.details["reason"] == "too_large"

    exactly = PDF_BYTES + b"0" * (small_upload_limit - len(PDF_BYTES))
    assert upload(client, path, "just-fits.pdf", exactly, page=page).status_code == 303
    # Accepted at exactly the limit; the padding after %%EOF is not part of the PDF and the rewrite drops it.
    assert [d.size_bytes for d in stored(db)] == [len(PDF_BYTES)]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(40, 30), (200, 200)])
def test_images_too_large_to_decode_safely_are_refused(client, db, item_paths, monkeypatch, size):
    person, page, path = item_paths
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    response = upload(client, path, "huge.png", png_bytes(size), page=page)
    assert response.status_code == 422
    assert "far too large to open safely" in response.text
    assert document_count(db) == 0


def test_the_same_file_twice_on_one_item_and_an_empty_choice_are_refused(client, db, item_paths):
    person, page, path = item_paths
    assert upload(client, path, "a.pdf", PDF_BYTES, page=page).status_code == 303
    again = upload(client, path, "copy of a.pdf", PDF_BYTES, page=page)
    assert again.status_code == 422 and "already attached" in again.text
    nothing = upload(client, path, "", b"", page=page)
    assert nothing.status_code == 422 and "Choose a file to upload" in nothing.text
    assert document_count(db) == 1


def test_a_non_ascii_name_is_served_safely(client, db, item_paths):
    person, page, path = item_paths
    assert upload(client, path, 'Médecin "rapport"\r\n ü.pdf', PDF_BYTES, page=page).status_code == 303
    [document] = stored(db)
    header = client.get(f"/people/{person.reference}/documents/{document.id}").headers["content-disposition"]
    assert header.startswith('attachment; filename="Medecin _rapport_ u.pdf"; filename*=UTF-8\'\'')
    assert "M%C3%A9decin%20%22rapport%22%20%C3%BC.pdf" in header
    assert "\r" not in header and "\n" not in header


def test_documents_of_another_person_are_not_found(client, db, item_paths, make_person):
    person, page, path = item_paths
    upload(client, path, "a.pdf", PDF_BYTES, page=page)
    [document] = stored(db)
    other = make_person("Some", "OneElse")
    assert client.get(f"/people/{other.reference}/documents/{document.id}").status_code == 404
    assert client.get(f"/people/{person.reference}/documents/{document.id + 1}").status_code == 404
    assert events(db, "document.downloaded") == []


def test_uploads_to_a_visit_must_be_to_the_persons_own_visit(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Visit", "Ed", assigned_to=user)
    other = make_person("Not", "Visited", assigned_to=user)
    db.rollback()
    visits = [Visit(person_id=p.id, clinician_id=user.id, visit_date=today, mode="in_person") for p in (person, other)]
    db.add_all(visits)
    db.commit()
    own, foreign = (v.id for v in visits)
    page = f"/people/{person.reference}/documents/visit/{own}"
    assert client.get(page).status_code == 200
    assert upload(client, page, "notes.png", png_bytes(), page=page).status_code == 303
    [document] = stored(db)
    assert document.visit_id == own and document.evidence_item_id is None and document.person_id == person.id
    assert "notes.png" in client.get(page).text

    wrong = f"/people/{person.reference}/documents/visit/{foreign}"
    assert client.get(wrong).status_code == 404
    assert upload(client, wrong, "notes2.png", png_bytes((5, 5)), page=page).status_code == 404
    assert document_count(db) == 1


# --- the body is read within the limit while it streams in ------------------------------------------

def _request(body: bytes, *, chunk: int, declared: int | None, delivered: list[int]) -> Request:
    boundary = "fictionalboundary"
    headers = [(b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
               (b"cookie", b"casework_session=token")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]

    async def receive():  # type: ignore[no-untyped-def]
        piece = chunks.pop(0)
        delivered.append(len(piece))
        return {"type": "http.request", "body": piece, "more_body": bool(chunks)}

    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""},
                   receive)


def _multipart(file_size: int) -> bytes:
    return (b"--fictionalboundary\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n"
            b"--fictionalboundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            b"Content-Type: application/pdf\r\n\r\n" + b"%PDF-" + b"0" * (file_size - 5)
            + b"\r\n--fictionalboundary--\r\n")


@pytest.mark.no_database
@pytest.mark.parametrize("declared", [True, False])
def test_reading_stops_as_soon_as_the_file_passes_the_limit(monkeypatch, declared):
    import anyio

    monkeypatch.setattr(storage, "_live_session_exists", lambda token: True)
    limit, chunk = 256 * 1024, 16 * 1024
    body = _multipart(4 * 1024 * 1024)
    delivered: list[int] = []
    request = _request(body, chunk=chunk, declared=len(body) if declared else None, delivered=delivered)
    result = anyio.run(storage._read, request, limit)
    assert result.problem is storage.UploadProblem.too_large and result.file is None
    assert result.fields == [("csrf_token", "tok")]  # the CSRF token is still read
    if declared:
        assert sum(delivered) <= chunk  # Content-Length said too much: the file's bytes are never read
    else:
        assert limit < sum(delivered) <= limit + chunk + 200


@pytest.mark.no_database
def test_a_body_within_the_limit_is_read_whole_and_the_form_cache_holds_only_the_fields(monkeypatch):
    import anyio

    monkeypatch.setattr(storage, "_live_session_exists", lambda token: True)
    monkeypatch.setattr(storage, "get_settings", lambda: type("S", (), {"upload_limit_bytes": 64 * 1024})())
    body = _multipart(60 * 1024)
    delivered: list[int] = []
    request = _request(body, chunk=4096, declared=len(body), delivered=delivered)
    result = anyio.run(storage.bounded_upload, request)
    assert result.problem is None and result.file is not None and len(result.file.data) == 60 * 1024
    assert sum(delivered) == len(body)
    form = anyio.run(request.form)  # what app/auth/deps.py reads the CSRF token from
    assert list(form.multi_items()) == [("csrf_token", "tok")]


@pytest.mark.no_database
def test_nothing_is_read_for_someone_not_signed_in(monkeypatch):
    import anyio

    monkeypatch.setattr(storage, "_live_session_exists", lambda token: False)
    delivered: list[int] = []
    request = _request(_multipart(1024), chunk=512, declared=None, delivered=delivered)
    result = anyio.run(storage.bounded_upload, request)
    assert result.problem is storage.UploadProblem.not_signed_in and delivered == []
    assert list(anyio.run(request.form).multi_items()) == []


def test_an_upload_without_signing_in_goes_to_sign_in_and_stores_nothing(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("No", "Session")
    submit(client, f"/people/{person.reference}/evidence/new", {"kind": "other", "sensitivity": "standard"})
    db.rollback()
    item_id = db.scalar(select(EvidenceItem.id))
    client.cookies.clear()
    response = client.post(f"/people/{person.reference}/evidence/{item_id}/documents",
                           files={"file": ("a.pdf", PDF_BYTES, "application/pdf")}, follow_redirects=False)
    assert response.status_code == 401 and "Sign in" in response.text
    assert document_count(db) == 0


def test_an_upload_without_the_csrf_token_is_refused(client, db, item_paths):
    person, page, path = item_paths
    response = client.post(path, files={"file": ("a.pdf", PDF_BYTES, "application/pdf")})
    assert response.status_code == 403
    assert document_count(db) == 0
    assert events(db, "security.csrf_rejected")[0].details["reason"] == "missing token"
