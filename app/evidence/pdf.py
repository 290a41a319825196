"""Uploaded PDFs made inert: polyglots refused, then every PDF rewritten by qpdf (pikepdf) without scripts,
actions, attachments, forms or multimedia, its visible pages kept; what cannot be read is refused."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pikepdf
from pikepdf import Array, Dictionary, Name

# Readers accept the %PDF- header anywhere in the first 1024 bytes (Acrobat's rule), which is what lets a file be a
# PDF and something else at once.
HEADER_WINDOW = 1024
# Where markup makes a PDF a web page too: anywhere before the header (a browser sniffing by the WHATWG rules sees
# a tag at the very start), or in the first 256 bytes, which older Internet Explorer searched for tags anywhere.
# Not further: forms (XFA) and metadata carry XML later in the file, read by no browser as a page.
HTML_WINDOW = 256
# A few MB of PDF hold tens of thousands of objects; millions would only tie up a worker walking them.
MAX_OBJECTS = 250_000

# Tags that start an HTML (or SVG) document; none can be PDF syntax, not even a hex string (each has a non-hex
# letter straight after the "<").
_HTML_TAG = re.compile(rb"<(?:!doctype\s+html|!--|html|head|body|script|iframe|svg|object|embed|img|meta|style|"
                       rb"title|frameset|link|form|\?xml)[\s>/]", re.IGNORECASE)

# Actions that only move within the document. URI actions are judged one by one (see _safe_uri).
SAFE_ACTIONS = frozenset({"/GoTo"})
ACTION_KINDS = {
    "/JavaScript": "javascript", "/Launch": "launch", "/SubmitForm": "submit_form", "/ImportData": "import_data",
    "/GoToR": "remote_go_to", "/GoToE": "remote_go_to", "/GoToDp": "remote_go_to", "/URI": "uri",
}
ACTION_TYPES = frozenset({*ACTION_KINDS, "/GoTo", "/Thread", "/Sound", "/Movie", "/Hide", "/Named", "/ResetForm",
                          "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView", "/RichMediaExecute"})
# Annotations that play or carry something; they are taken off the page. Widgets are form fields (flattened first).
REMOVED_ANNOTATIONS = {"/FileAttachment": "file_attachment", "/RichMedia": "rich_media", "/Screen": "rich_media",
                       "/Movie": "rich_media", "/Sound": "rich_media", "/3D": "rich_media", "/Widget": "form"}
# Keys that carry scripts, files, multimedia or a form, wherever they appear.
REMOVED_KEYS = {"/EF": "embedded_files", "/AF": "embedded_files", "/EmbeddedFiles": "embedded_files",
                "/Collection": "embedded_files", "/RichMediaContent": "rich_media", "/RichMediaSettings": "rich_media",
                "/AlternatePresentations": "rich_media", "/JS": "javascript", "/JavaScript": "javascript",
                "/XFA": "xfa", "/AcroForm": "form"}
_SAFE_URI = re.compile(rb"(?:https?://|mailto:)[\x21-\x7e]*\Z", re.IGNORECASE)


class PdfRefused(ValueError):
    """A PDF that is not kept: the reason recorded in the audit log and the words shown beside the file field."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


AGAIN = "Open it in a PDF reader, save or print it again as PDF, and upload the new file."


def _unreadable() -> PdfRefused:
    return PdfRefused("unreadable_pdf", "This PDF could not be read; save it again as PDF and upload it again.")


@dataclass(frozen=True)
class InertPdf:
    content: bytes
    removed: tuple[str, ...]  # the kinds of active content taken out, sorted; empty for a plain PDF


# --- polyglots -------------------------------------------------------------------------------------

def _zip_record_at(data: bytes, at: int) -> bool:
    """Whether the ZIP signature at `at` starts a record a ZIP reader would follow (not a chance match inside
    compressed data): a local file header or an end-of-central-directory record whose fields fit the file."""
    kind = data[at + 2:at + 4]
    if kind == b"\x03\x04" and at + 30 <= len(data):
        version, method = int.from_bytes(data[at + 4:at + 6], "little"), int.from_bytes(data[at + 8:at + 10], "little")
        name_length = int.from_bytes(data[at + 26:at + 28], "little")
        extra_length = int.from_bytes(data[at + 28:at + 30], "little")
        return (version <= 63 and method in {0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99} and 0 < name_length <= 1024
                and at + 30 + name_length + extra_length <= len(data))
    if kind == b"\x05\x06" and at + 22 <= len(data):
        entries_here, entries = int.from_bytes(data[at + 8:at + 10], "little"), int.from_bytes(data[at + 10:at + 12],
                                                                                                "little")
        directory_size = int.from_bytes(data[at + 12:at + 16], "little")
        comment_length = int.from_bytes(data[at + 20:at + 22], "little")
        return entries_here <= entries and directory_size <= at and at + 22 + comment_length <= len(data)
    return False


def _has_zip(data: bytes) -> bool:
    at = data.find(b"PK")
    while at != -1:
        if _zip_record_at(data, at):
            return True
        at = data.find(b"PK", at + 1)
    return False


def polyglot_problem(data: bytes) -> PdfRefused | None:
    """A refusal for a PDF that is also a web page or a ZIP archive (or has anything else in front of it)."""
    header = data.find(b"%PDF-", 0, HEADER_WINDOW)
    before = data[:header] if header > 0 else b""
    if _HTML_TAG.search(before) or _HTML_TAG.search(data[:HTML_WINDOW]):
        return PdfRefused("pdf_polyglot_html", (
            "This file is a PDF and a web page (HTML) at once, a disguise used to hide scripts, so it cannot be "
            f"uploaded. {AGAIN}"))
    if _has_zip(data):
        return PdfRefused("pdf_polyglot_zip", (
            "This file is a PDF and a ZIP archive at once, a disguise used to hide other files, so it cannot be "
            f"uploaded. {AGAIN}"))
    if before.strip():
        return PdfRefused("pdf_polyglot", (
            "This file has something other than a PDF in front of the PDF, so it may open as another kind of "
            f"file. {AGAIN}"))
    return None


# --- walking the file --------------------------------------------------------------------------------

def _direct_container(obj: object) -> bool:
    # pikepdf hands numbers, booleans and null back as Python values: only its own objects can hold others.
    return isinstance(obj, (Array, Dictionary, pikepdf.Stream)) and not obj.is_indirect


def _dictionaries(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every dictionary and stream: each indirect object, and every direct one nested in it (indirect children
    are reached as objects of their own, so nothing is walked twice and reference cycles end)."""
    for top in pdf.objects:
        pending = [top]
        while pending:
            obj = pending.pop()
            if isinstance(obj, Array):
                pending.extend(child for child in obj if _direct_container(child))
            elif isinstance(obj, (Dictionary, pikepdf.Stream)):
                yield obj
                pending.extend(child for key in list(obj.keys()) if _direct_container(child := obj[key]))


def _is_action(obj: pikepdf.Object) -> bool:
    kind, type_ = obj.get("/S"), obj.get("/Type")
    return isinstance(kind, Name) and str(kind) in ACTION_TYPES and type_ in (None, Name.Action)


def _safe_uri(action: pikepdf.Object) -> bool:
    """A web or e-mail link is kept: it does nothing until the reader clicks it, readers ask before opening it,
    and letters cite guidance and legislation online. Any other scheme (file:, smb:, javascript:, a UNC path) can
    open local files or hand Windows credentials to another server, and is removed."""
    uri = action.get("/URI")
    return isinstance(uri, pikepdf.String) and _SAFE_URI.match(bytes(uri)) is not None


def _action_kind(action: pikepdf.Object) -> str:
    return ACTION_KINDS.get(str(action.get("/S")), "other_action")


def _keeps(action: pikepdf.Object) -> bool:
    kind = str(action.get("/S"))
    return kind in SAFE_ACTIONS or (kind == "/URI" and _safe_uri(action))


def _actions_in(value: pikepdf.Object, *, container: bool) -> Iterator[pikepdf.Object]:
    """The action dictionaries an /OpenAction, /A or /Next value holds (an action, or an array of them), or, with
    `container`, the actions of an /AA dictionary; /Next chains followed. Anything else (a destination, a page)
    is not an action and is not followed."""
    if container and isinstance(value, Dictionary) and not _is_action(value):
        pending = [value[key] for key in list(value.keys())]
    else:
        pending = [value]
    seen: set[tuple[int, int]] = set()
    while pending:
        item = pending.pop()
        if not isinstance(item, pikepdf.Object):
            continue
        if item.is_indirect:
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
        if isinstance(item, Array):
            pending.extend(item)
        elif isinstance(item, Dictionary) and _is_action(item):
            yield item
            if "/Next" in item:
                pending.append(item.Next)


class _Stripper:
    """Takes the active parts out of an open PDF, in place, noting the kinds it removed."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.removed: set[str] = set()

    def _drop(self, obj: pikepdf.Object, key: str, kind: str) -> None:
        if key in obj:
            del obj[key]
            self.removed.add(kind)

    def _drop_actions(self, obj: pikepdf.Object, key: str, kind: str | None, *, container: bool = False) -> None:
        """Remove `key` (an /OpenAction, /AA, /A or /Next) and record the kinds of action it held."""
        if key not in obj:
            return
        self.removed.update(_action_kind(action) for action in _actions_in(obj[key], container=container))
        if kind:
            self.removed.add(kind)
        del obj[key]

    def _clean_action(self, holder: pikepdf.Object) -> None:
        """An /A action that only moves (a link, a bookmark) stays; its /Next chain does not. Any other goes."""
        action = holder.get("/A")
        if not isinstance(action, Dictionary) or not _is_action(action):
            return
        if not _keeps(action):
            self._drop_actions(holder, "/A", None)
        elif "/Next" in action:
            self._drop_actions(action, "/Next", None)

    def actions(self) -> None:
        """Every action of the file, wherever it hangs (catalog, pages, annotations, form fields, bookmarks)."""
        for obj in list(_dictionaries(self.pdf)):
            self._drop_actions(obj, "/OpenAction", "open_action")
            self._drop_actions(obj, "/AA", "additional_actions", container=True)
            self._clean_action(obj)

    def forms(self) -> None:
        """Form fields are drawn into the page (flattened) so that a filled-in form still shows what was filled in,
        then the form itself goes. A form that exists only as XFA has no pages of its own to keep: refused."""
        root = self.pdf.Root
        acroform = root.get("/AcroForm")
        widgets = any(annot.get("/Subtype") == Name.Widget for page in self.pdf.pages
                      for annot in page.obj.get("/Annots", Array()) if isinstance(annot, Dictionary))
        if root.get("/NeedsRendering") is True and isinstance(acroform, Dictionary) and "/XFA" in acroform:
            raise PdfRefused("pdf_xfa_only", (
                "This PDF is a form that only Adobe Acrobat can display (XFA), so its pages cannot be checked. "
                "Open it in Acrobat, print it to PDF, and upload the new file."))
        if not widgets and acroform is None:
            return
        if isinstance(acroform, Dictionary):
            self._drop(acroform, "/XFA", "xfa")
            if "/NeedsRendering" in root:
                del root["/NeedsRendering"]
            if acroform.get("/NeedAppearances") is True:
                self.pdf.generate_appearance_streams()
        # qpdf flattens every annotation it is allowed to; the other annotations (comments, highlights, links) are
        # hidden from it for the moment, so that they stay annotations, with their popups and notes.
        hidden: list[tuple[pikepdf.Object, int | None]] = []
        for page in self.pdf.pages:
            for annot in page.obj.get("/Annots", Array()):
                if isinstance(annot, Dictionary) and annot.get("/Subtype") != Name.Widget:
                    flags = annot.get("/F")
                    hidden.append((annot, int(flags) if flags is not None else None))
                    annot.F = (int(flags) if flags is not None else 0) | 2  # the Hidden flag
        self.pdf.flatten_annotations("all")
        for annot, original in hidden:
            if original is None:
                del annot["/F"]
            else:
                annot.F = original
        self.removed.add("form")
        self._drop(root, "/AcroForm", "form")

    def pages(self) -> None:
        """Annotations that play or carry something (or a form field qpdf could not draw) come off the page."""
        for page in self.pdf.pages:
            annots = page.obj.get("/Annots")
            if not isinstance(annots, Array):
                continue
            kept = Array()
            for annot in annots:
                subtype = str(annot.get("/Subtype")) if isinstance(annot, Dictionary) else ""
                if subtype in REMOVED_ANNOTATIONS:
                    self.removed.add(REMOVED_ANNOTATIONS[subtype])
                else:
                    kept.append(annot)
            if len(kept) != len(annots):
                page.obj.Annots = kept

    def parts(self) -> None:
        """Scripts, files and media wherever they are, and any action left on a path no reader should follow."""
        for obj in list(_dictionaries(self.pdf)):
            for key, kind in REMOVED_KEYS.items():
                # /JavaScript is an action type as well as a name tree: here it is the name tree's key.
                self._drop(obj, key, kind)
            if _is_action(obj) and not _keeps(obj):
                self.removed.add(_action_kind(obj))
                for key in list(obj.keys()):
                    del obj[key]
            if obj.get("/Type") == Name.EmbeddedFile and isinstance(obj, pikepdf.Stream):
                obj.write(b"")
                self.removed.add("embedded_files")


def active_parts(pdf: pikepdf.Pdf) -> set[str]:
    """What is still active in a file (empty for an inert one): the check run on every file before it is kept."""
    found: set[str] = set()
    for obj in _dictionaries(pdf):
        found.update(key for key in ("/OpenAction", "/AA", *REMOVED_KEYS) if key in obj)
        if _is_action(obj) and not _keeps(obj):
            found.add(str(obj.get("/S")))
        if str(obj.get("/Subtype")) in REMOVED_ANNOTATIONS:
            found.add(str(obj.get("/Subtype")))
        if obj.get("/Type") == Name.EmbeddedFile:
            found.add("/EmbeddedFile")
    return found


def _save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    # No stream is decoded (a compression bomb stays compressed) or recompressed, the password protection an owner
    # set is dropped, and the identifier is derived from the content, so the same upload is written the same way
    # and a file already written this way comes out byte for byte the same.
    pdf.save(out, encryption=False, deterministic_id=True, compress_streams=False,
             stream_decode_level=pikepdf.StreamDecodeLevel.none, linearize=False)
    return out.getvalue()


def _open(data: bytes) -> pikepdf.Pdf:
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise PdfRefused("pdf_password", (
            "This PDF is protected by a password, so it cannot be checked. Save it again as PDF without the "
            "password (or print it to PDF) and upload it again.")) from None
    except (pikepdf.PdfError, OSError, ValueError, RuntimeError):
        raise _unreadable() from None
    try:
        if len(pdf.objects) > MAX_OBJECTS:
            raise PdfRefused("pdf_too_complex", (
                "This PDF is too complex to check (it has an unusually large number of parts). Print it to PDF, or "
                "split it, and upload the new file."))
        if len(pdf.pages) == 0:
            raise _unreadable()
    except PdfRefused:
        pdf.close()
        raise
    except (pikepdf.PdfError, RuntimeError, ValueError):
        pdf.close()
        raise _unreadable() from None
    return pdf


def make_inert(data: bytes) -> InertPdf:
    """The PDF rewritten without active content, with what was removed; PdfRefused for a polyglot, a file qpdf
    cannot read or repair, or one that would still hold something active after the rewrite (checked again on
    the written bytes, so a part the stripping missed refuses the file rather than being kept)."""
    problem = polyglot_problem(data)
    if problem is not None:
        raise problem
    with _open(data) as pdf:
        try:
            stripper = _Stripper(pdf)
            stripper.actions()
            stripper.forms()
            stripper.pages()
            stripper.parts()
            content = _save(pdf)
        except PdfRefused:
            raise
        except (pikepdf.PdfError, RuntimeError, ValueError, KeyError, TypeError):
            raise _unreadable() from None
    # Rewriting could, in principle, write a ZIP record into an uncompressed stream: the kept bytes are checked too.
    problem = polyglot_problem(content)
    if problem is not None:
        raise problem
    with _open(content) as written:
        left = active_parts(written)
    if left:
        raise PdfRefused("pdf_not_cleaned", f"This PDF could not be made safe to keep. {AGAIN}")
    return InertPdf(content=content, removed=tuple(sorted(stripper.removed)))
