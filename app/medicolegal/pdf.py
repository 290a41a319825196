"""The PDF of a signed medico-legal report: tagged PDF/UA-1 (title, language, a heading per Annex IV section,
reading order) made by WeasyPrint from its own template, with the content seal printed at the end."""

from __future__ import annotations

from app.medicolegal.models import MedicoLegalReport
from app.medicolegal.schemas import PAPER_LABELS, SECTION_LABELS, STATE_LABELS
from app.medicolegal.seal import SealCheck
from app.medicolegal.service import ReportPage
from app.people.models import Person
from app.web.templating import templates


def filename(reference: str, report: MedicoLegalReport) -> str:
    """The case reference and the report's number only: no names in file names."""
    return f"medico-legal-report-{reference}-{report.id}.pdf"


def render_html(person: Person, page: ReportPage, checked: SealCheck | None) -> str:
    return templates.get_template("medicolegal/report_pdf.html").render(
        person=person, page=page, report=page.report, seal=checked, section_labels=SECTION_LABELS,
        paper_labels=PAPER_LABELS, state_labels=STATE_LABELS)


def render_pdf(person: Person, page: ReportPage, checked: SealCheck | None) -> bytes:
    # WeasyPrint loads Pango on import; only downloads pay for it.
    from weasyprint import HTML

    document: bytes = HTML(string=render_html(person, page, checked)).write_pdf(pdf_variant="pdf/ua-1")
    return document
