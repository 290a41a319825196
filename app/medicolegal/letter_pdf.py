"""An issued letter as a tagged, accessible PDF (PDF/UA-1) with the organisation's letterhead; its file name."""

from __future__ import annotations

import re

from app.medicolegal.letter_models import Letter
from app.web.templating import templates

# Text a template leaves for the writer to replace: "[Describe the concern ...]".
PLACEHOLDER = re.compile(r"\[[^\]\n]{3,}\]")


def paragraphs(body: str) -> list[list[str]]:
    """The letter's paragraphs (split at blank lines), each as its lines, as the pages and the PDF set them."""
    blocks = re.split(r"\n\s*\n", body.strip())
    return [block.split("\n") for block in blocks if block.strip()]


def placeholders(body: str) -> list[str]:
    """The bracketed text a template left to be replaced, still in the letter."""
    return PLACEHOLDER.findall(body)


def letterhead_lines(letterhead: str) -> list[str]:
    return [line.strip() for line in letterhead.split("|") if line.strip()]


def html(letter: Letter, *, reference: str, letterhead: str) -> str:
    return templates.get_template("medicolegal/letter_pdf.html").render(
        letter=letter, reference=reference, letterhead=letterhead_lines(letterhead),
        paragraphs=paragraphs(letter.body))


def to_pdf(letter: Letter, *, reference: str, letterhead: str) -> bytes:
    # WeasyPrint loads Pango on import; only a download pays for it.
    from weasyprint import HTML

    # PDF/UA-1 tags the structure (headings, paragraphs, reading order) for screen readers.
    return HTML(string=html(letter, reference=reference, letterhead=letterhead)).write_pdf(pdf_variant="pdf/ua-1")


def filename(reference: str, letter: Letter) -> str:
    """The case reference and the letter's number only: never a name."""
    return f"letter-{reference}-{letter.id}.pdf"
