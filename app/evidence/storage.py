"""Uploads: reading a multipart body within the size limit while it streams in, deciding the type by content
(libmagic), re-encoding images without metadata, and the names and headers files are served with."""

from __future__ import annotations

import enum
import hashlib
import io
import logging
import mimetypes
import re
import unicodedata
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

import magic
from fastapi import Request
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect

from app.auth.deps import session_cookie_name
from app.auth.models import User, UserSession
from app.auth.service import hash_token
from app.config import get_settings
from app.db import get_sessionmaker
from app.evidence.pdf import HEADER_WINDOW, PdfRefused, make_inert, polyglot_problem

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks  # defined for type checkers only

log = logging.getLogger("casework.uploads")

FILE_FIELD = "file"
# On top of the file itself a body carries the CSRF token, part headers and boundaries: a few hundred bytes.
FORM_ALLOWANCE = 64 * 1024
FIELD_LIMIT = 8 * 1024
MAX_FIELDS = 8
SNIFF_BYTES = 64 * 1024
MAX_FILENAME = 255


# --- reading the body ------------------------------------------------------------------------------

class UploadProblem(enum.StrEnum):
    too_large = "too_large"
    no_file = "no_file"
    several_files = "several_files"
    malformed = "malformed"
    not_signed_in = "not_signed_in"


@dataclass
class ReceivedFile:
    filename: str
    data: bytes


@dataclass
class BoundedUpload:
    """What was read of an upload form. `problem` is set when the body was refused (the file is then None)."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    file: ReceivedFile | None = None
    problem: UploadProblem | None = None
    received_bytes: int = 0


class _Stop(Exception):
    """Raised from a parser callback to stop reading the body at once."""


class _Collector:
    """python-multipart callbacks that keep the small fields and at most `file_limit` bytes of one file."""

    def __init__(self, file_limit: int, *, declared_too_large: bool) -> None:
        self.file_limit = file_limit
        self.declared_too_large = declared_too_large
        self.fields: list[tuple[str, str]] = []
        self.file: ReceivedFile | None = None
        self.problem: UploadProblem | None = None
        self.ended = False
        self._parts = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._name = ""
        self._filename: str | None = None
        self._data = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin, "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished, "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end, "on_end": self.on_end,
        }

    def _stop(self, problem: UploadProblem) -> None:
        self.problem = problem
        self._data = bytearray()
        self.file = None
        raise _Stop

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_FIELDS:
            self._stop(UploadProblem.malformed)
        self._disposition, self._name, self._filename = b"", "", None
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        # The part's own Content-Type is the sender's claim: never used.
        if bytes(self._header_name).strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name, self._header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = _decode(options.get(b"name", b""))
        raw_filename = options.get(b"filename")
        self._filename = None if raw_filename is None else _unescape_filename(_decode(raw_filename))
        if self._filename is not None:
            if self._name != FILE_FIELD or self.file is not None:
                self._stop(UploadProblem.several_files)
            if self.declared_too_large:
                # Content-Length already says the body is over the limit: the fields before the file (the
                # CSRF token) are read, the file itself is not.
                self._stop(UploadProblem.too_large)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        limit = self.file_limit if self._filename is not None else FIELD_LIMIT
        if len(self._data) + size > limit:
            self._stop(UploadProblem.too_large if self._filename is not None else UploadProblem.malformed)
        self._data += data[start:end]

    def on_part_end(self) -> None:
        if self._filename is None:
            self.fields.append((self._name, _decode(bytes(self._data))))
        elif self._filename or self._data:
            self.file = ReceivedFile(filename=self._filename, data=bytes(self._data))
        self._data = bytearray()

    def on_end(self) -> None:
        self.ended = True


def _decode(raw: bytes) -> str:
    # Browsers send form-data names as UTF-8; anything else is read as Latin-1 rather than refused.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _unescape_filename(name: str) -> str:
    # Browsers (HTML form submission rules) send a quote as %22 and line breaks as %0D / %0A in file names.
    return name.replace("%22", '"').replace("%0D", "").replace("%0A", "")


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _live_session_exists(token: str) -> bool:
    """Whether the cookie names a session that has not ended. Deliberately weaker than the real check in
    app/auth/deps.py (no idle or absolute timeout here), so that it never refuses a session that one accepts."""
    with get_sessionmaker()() as db:
        found = db.scalar(
            select(UserSession.id).join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == hash_token(token), UserSession.ended_at.is_(None),
                   User.is_active.is_(True)).limit(1))
        db.rollback()
    return found is not None


async def _read(request: Request, file_limit: int) -> BoundedUpload:
    token = request.cookies.get(session_cookie_name())
    if not token or not await run_in_threadpool(_live_session_exists, token):
        # Nobody signed in: read nothing at all. The session check that follows sends them to sign in.
        return BoundedUpload(problem=UploadProblem.not_signed_in)
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        # Forms that upload are always multipart; this body is not read (its CSRF token, if any, is not seen).
        return BoundedUpload(problem=UploadProblem.no_file)
    declared = _declared_length(request)
    body_limit = file_limit + FORM_ALLOWANCE
    collector = _Collector(file_limit, declared_too_large=declared is not None and declared > body_limit)
    received = 0
    try:
        parser = MultipartParser(params[b"boundary"], collector.callbacks())
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                received += len(chunk)
                parser.write(chunk)
                if received > body_limit:
                    collector.problem = UploadProblem.too_large
                    collector.file = None
                    break
        if collector.problem is None:
            parser.finalize()
            if not collector.ended:
                collector.problem = UploadProblem.malformed
    except _Stop:
        pass
    except (FormParserError, ClientDisconnect):
        collector.problem = UploadProblem.malformed
    problem = collector.problem
    if problem is None and collector.file is None:
        problem = UploadProblem.no_file
    return BoundedUpload(fields=collector.fields, file=None if problem else collector.file, problem=problem,
                         received_bytes=received)


async def bounded_upload(request: Request) -> BoundedUpload:
    """Route dependency for upload forms; declare it before the permission so that it runs first.

    It reads the body itself, counting bytes as they arrive and stopping as soon as the file passes the
    upload limit (or at once, when Content-Length already says so), then hands the small fields to
    Starlette's form cache: app/auth/deps.py reads the CSRF token with `await request.form()`, which would
    otherwise read and spool the whole body, whatever its size, before any check of ours could run."""
    upload = await _read(request, get_settings().upload_limit_bytes)
    # FormData copies the pairs it is given; list() only lets them be typed as FormData's str-or-file values.
    request._form = FormData(list(upload.fields))  # noqa: SLF001 - Starlette's cache for request.form()
    return upload


# --- checking and cleaning the file ----------------------------------------------------------------

@dataclass(frozen=True)
class FileType:
    mime: str
    label: str
    extensions: frozenset[str]
    canonical: str


ALLOWED_TYPES: dict[str, FileType] = {
    "application/pdf": FileType("application/pdf", "PDF", frozenset({".pdf"}), ".pdf"),
    "image/jpeg": FileType("image/jpeg", "JPEG image", frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}), ".jpg"),
    "image/png": FileType("image/png", "PNG image", frozenset({".png"}), ".png"),
}
EXTENSION_TYPES = {ext: t for t in ALLOWED_TYPES.values() for ext in t.extensions}
# The interpreter's built-in table only (not /etc/mime.types), so that the same name is judged the same everywhere.
_MIMETYPES = mimetypes.MimeTypes(filenames=())
OTHER_EXTENSIONS = frozenset({".docx", ".xlsx", ".pptx", ".odt", ".php", ".heif", ".webp", ".msg", ".eml"})

# Plain words for what people most often try to upload by mistake (or on purpose).
CONTENT_NAMES = {
    "text/html": "a web page (HTML)",
    "image/svg+xml": "an SVG drawing",
    "application/x-dosexec": "a Windows program",
    "application/x-executable": "a program",
    "application/x-sharedlib": "a program",
    "application/x-pie-executable": "a program",
    "application/x-mach-binary": "a program",
    "text/x-shellscript": "a script",
    "application/javascript": "a script",
    "text/javascript": "a script",
    "text/plain": "plain text",
    "application/zip": "a ZIP archive",
    "application/msword": "a Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a Word document",
    "image/heic": "a HEIC photo",
    "image/heif": "a HEIF photo",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "image/tiff": "a TIFF image",
    "application/x-empty": "an empty file",
}
ALLOWED_WORDS = "a PDF, a JPEG photo or a PNG image"


class UploadRefused(ValueError):
    """A file that is not stored, with the message shown beside the file field."""

    def __init__(self, reason: str, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class CheckedFile:
    """A file ready to store: the bytes kept (images re-encoded, PDFs rewritten inert), their digest, type, a
    display name, and the kinds of active content taken out of a PDF (for the audit row)."""

    content: bytes
    content_type: str
    sha256: str
    size_bytes: int
    filename: str
    removed: tuple[str, ...] = ()


def limit_words(limit_bytes: int) -> str:
    mb = limit_bytes / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{limit_bytes // 1024} KB"


def refusal_for(problem: UploadProblem, limit_bytes: int) -> UploadRefused:
    if problem is UploadProblem.too_large:
        return UploadRefused("too_large", (f"The file is larger than the {limit_words(limit_bytes)} limit. "
                                           "Scan at a lower resolution or split the document, then upload it "
                                           "again."), status_code=413)
    if problem is UploadProblem.several_files:
        return UploadRefused("several_files", "Upload one file at a time.")
    if problem is UploadProblem.malformed:
        return UploadRefused("malformed", "The upload did not arrive complete. Choose the file and try again.")
    return UploadRefused("no_file", "Choose a file to upload.")


def display_filename(raw: str, content_type: str | None = None) -> str:
    """The name shown to users: the last path component only, no control characters, at most 255 characters."""
    name = re.split(r"[/\\]", raw or "")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".").strip()
    if not name:
        file_type = ALLOWED_TYPES.get(content_type or "")
        name = "upload" + (file_type.canonical if file_type else "")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        keep_extension = bool(dot) and 0 < len(ext) <= 10
        name = stem[:MAX_FILENAME - len(ext) - 1] + "." + ext if keep_extension else name[:MAX_FILENAME]
    return name


def _extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and ext and len(ext) <= 10 and " " not in ext else ""


def _claimed_type(ext: str) -> str | None:
    """What a file name's extension says the file is, or None for an extension nobody would recognise
    (a name such as "report v2.1" has no real extension)."""
    if ext in EXTENSION_TYPES:
        return EXTENSION_TYPES[ext].mime
    if ext in OTHER_EXTENSIONS:
        return "other"
    guessed, _ = _MIMETYPES.guess_type("x" + ext, strict=False)
    return guessed


def _content_words(mime: str) -> str:
    file_type = ALLOWED_TYPES.get(mime)
    if file_type is not None:
        return f"a {file_type.label}"
    return CONTENT_NAMES.get(mime, f"a file of type {mime}")


def detect_type(data: bytes) -> str:
    return magic.from_buffer(data[:SNIFF_BYTES], mime=True)


def check_file(raw_name: str, data: bytes, *, limit_bytes: int | None = None) -> CheckedFile:
    """Decide the type by content, refuse anything not allowed or whose name contradicts it, strip images of
    their metadata, rewrite PDFs without active content (app/evidence/pdf.py) and refuse PDFs that are also
    another kind of file. Raises UploadRefused with a message for the person uploading."""
    limit = limit_bytes if limit_bytes is not None else get_settings().upload_limit_bytes
    if len(data) > limit:
        raise refusal_for(UploadProblem.too_large, limit)
    if not data:
        raise UploadRefused("empty", "The file is empty. Choose the file again.")
    mime = detect_type(data)
    if mime == "application/pdf" or (not mime.startswith("image/") and b"%PDF-" in data[:HEADER_WINDOW]):
        # Before the allow-list, so that a PDF that libmagic calls a ZIP or a web page is named for what it is.
        polyglot = polyglot_problem(data)
        if polyglot is not None:
            raise UploadRefused(polyglot.reason, polyglot.message)
    file_type = ALLOWED_TYPES.get(mime)
    if file_type is None:
        raise UploadRefused("type_not_allowed", (f"This file cannot be uploaded: its content is "
                                                 f"{_content_words(mime)}. Upload {ALLOWED_WORDS}."))
    name = display_filename(raw_name, mime)
    ext = _extension(name)
    claimed = _claimed_type(ext) if ext else None
    if claimed is not None and ext not in file_type.extensions:
        said = ALLOWED_TYPES[claimed].label.removesuffix(" image") if claimed in ALLOWED_TYPES else ext[1:].upper()
        raise UploadRefused("extension_mismatch", (
            f"The file's name says {said} but its content is {_content_words(mime)}. Check that this is the "
            "right file; if it is, rename it to match what it is and upload it again."))
    removed: tuple[str, ...] = ()
    if mime == "application/pdf":
        try:
            inert = make_inert(data)
        except PdfRefused as refused:
            raise UploadRefused(refused.reason, refused.message) from None
        content, removed = inert.content, inert.removed
    else:
        content = clean_image(data, mime)
    return CheckedFile(content=content, content_type=mime, sha256=hashlib.sha256(content).hexdigest(),
                       size_bytes=len(content), filename=name, removed=removed)


def check_upload(upload: BoundedUpload, *, limit_bytes: int) -> CheckedFile:
    """The file of an upload form, checked as check_file does; UploadRefused for a body that was refused while
    it was read, a form with no file, or a form carrying fields an upload form does not have."""
    if upload.problem is not None or upload.file is None:
        raise refusal_for(upload.problem or UploadProblem.no_file, limit_bytes)
    extra = sorted({name for name, _ in upload.fields} - {"csrf_token"})
    if extra:
        raise UploadRefused("unexpected_fields", f"The form sent a field this page does not accept "
                                                 f"({', '.join(extra)}).")
    return check_file(upload.file.filename, upload.file.data, limit_bytes=limit_bytes)


def _to_srgb(image: Image.Image) -> Image.Image:
    """Apply an embedded colour profile before it is dropped, so that a photo of a bruise keeps its colours."""
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        log.info("colour profile could not be applied; dropped")
        return image
    return converted if converted is not None else image


def clean_image(data: bytes, mime: str) -> bytes:
    """Re-encode a JPEG or PNG from its pixels only: no EXIF (GPS, camera, dates), XMP, comments, text chunks
    or colour profile survive. EXIF orientation is applied to the pixels first."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            # Pillow's own setting: None turns its decompression-bomb check off, and then ours is off too.
            if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
                raise _bomb(width, height)
            if opened.format not in ("JPEG", "MPO", "PNG"):
                raise UploadRefused("unreadable_image", "The image could not be read. Save it again as a JPEG "
                                                        "or PNG and upload it.")
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        raise _bomb(None, None) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UploadRefused("unreadable_image", ("The image could not be read: it may be damaged or incomplete. "
                                                 "Save it again and upload it.")) from None
    image = _to_srgb(image)
    out = io.BytesIO()
    if mime == "image/jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image = image.copy()
        image.info = {}
        image.save(out, "JPEG", quality=90)
    else:
        # Transparency lives in the info dict that is about to be emptied: move it into the pixels first.
        keeps_mode = image.mode in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")
        if image.mode != "RGBA" and ("transparency" in image.info or not keeps_mode):
            image = image.convert("RGBA")
        image = image.copy()
        image.info = {}
        image.save(out, "PNG")
    return out.getvalue()


def _bomb(width: int | None, height: int | None) -> UploadRefused:
    size = f" ({width} × {height} pixels)" if width and height else ""
    return UploadRefused("image_too_large", (
        f"This image is far too large to open safely{size}. Export it at a normal size, for example the size "
        "a phone camera takes, and upload it again."))


# --- serving ------------------------------------------------------------------------------------------

def download_name(document_filename: str, content_type: str) -> str:
    """The stored display name, with the extension that matches the content if it had none."""
    file_type = ALLOWED_TYPES.get(content_type)
    name = display_filename(document_filename, content_type)
    if file_type is not None and _extension(name) not in file_type.extensions:
        name = name[:MAX_FILENAME - len(file_type.canonical)] + file_type.canonical
    return name


def content_disposition(filename: str) -> str:
    """`attachment` with a plain-ASCII fallback name and the exact name in RFC 5987 form (RFC 6266)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r'[^A-Za-z0-9 ._()\[\]+-]', "_", ascii_name).strip() or "download"
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def size_words(size_bytes: int) -> str:
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.1f} MB"
    if size_bytes >= 1024:
        return f"{size_bytes / 1024:.0f} KB"
    return f"{size_bytes} bytes"


def type_label(content_type: str) -> str:
    file_type = ALLOWED_TYPES.get(content_type)
    return file_type.label if file_type else content_type

