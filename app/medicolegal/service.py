"""Medico-legal reports: the instruction (checked against the person's consent), the draft built from the record,
saving it with a version kept each time, peer review by a named second clinician, the sealed sign-off (consent
checked again), service and outcome; and the queries behind the report pages and the person page's list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from app.audit import revisions
from app.auth.models import Role, User
from app.consent.models import ConsentPurpose
from app.consent.service import has_current_consent
from app.contacts import service as contacts
from app.contacts.models import LegalRepresentative
from app.dates import format_date
from app.db import check_version, utcnow
from app.detention.models import Facility
from app.errors import FORM_ERROR, Refused, RuleBroken, StaleForm, found
from app.evidence.body_regions import BY_CODE, legacy_site
from app.evidence.models import EvidenceItem, EvidenceKind, Finding
from app.evidence.schemas import (
    CONSISTENCY_LABELS,
    LESION_AGE_LABELS,
    LESION_TYPE_LABELS,
    OVERALL_EVALUATION_LABELS,
)
from app.medicolegal import seal
from app.medicolegal.models import (
    PAPERS,
    SECTIONS,
    MedicoLegalReport,
    MedicoLegalReportVersion,
    MedicoLegalReviewComment,
    ReportState,
    VersionReason,
)
from app.medicolegal.schemas import (
    Decision,
    InstructionForm,
    ReviewForm,
    ReviewRequestForm,
    SectionsForm,
    ServedForm,
)
from app.people.models import AAR_INDICATOR_LABELS, Assignment, Person, PersonAarIndicator
from app.people.service import is_assigned
from app.visits import planned
from app.visits.models import Visit
from app.visits.schemas import MODE_LABELS, RISK_LABELS

# Three weeks from the visit (or from the instruction, without one): the usual time a representative allows.
DEFAULT_DAYS = 21
SECTION_LIMIT = 20
DECLARATION = ("I confirm that this report is my own, that I have examined the person, and that its findings "
               "and opinions are true to the best of my knowledge and belief.")
NO_CONSENT = ("This person has no current consent for a medico-legal report. Record their consent (on the "
              "person page, under Consent) before going on. Nothing was saved.")
UNSIGNED = (ReportState.instructed, ReportState.drafting, ReportState.in_review)
REVISION_FIELDS = ("author_id", "visit_id", "legal_representative_id", "received_date", "due_date", "state",
                   "reviewer_id", "review_round", "approved_at", "signed_by_id", "signed_at", "content_sha256",
                   "served_date", *(f"paper_{name}" for name in PAPERS))


# --- reading ---------------------------------------------------------------------------------------

def get_for_person(db: Session, person_id: int, report_id: int, *,
                   for_update: bool = False) -> MedicoLegalReport | None:
    """The report if it belongs to this person; `for_update` locks the row (PostgreSQL) so that two requests
    changing it run one after the other."""
    query = select(MedicoLegalReport).where(MedicoLegalReport.id == report_id,
                                            MedicoLegalReport.person_id == person_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalar(query)


def snapshot(report: MedicoLegalReport) -> dict[str, Any]:
    """What the history of changes keeps: every field but the sections' text, which the versions keep."""
    values: dict[str, Any] = {name: getattr(report, name) for name in REVISION_FIELDS}
    values["sections_written"] = [name for name, text in report.sections().items() if text]
    return values


def has_consent(db: Session, person_id: int, today: date) -> bool:
    return has_current_consent(db, person_id, ConsentPurpose.medico_legal_report, on=today)


def coordinates(user: User) -> bool:
    return user.role in (Role.admin, Role.coordinator)


def may_edit(user: User, report: MedicoLegalReport) -> bool:
    """The author writes the draft; coordinators and admins may change it too (a report cut short by leave)."""
    return report.state in (ReportState.instructed, ReportState.drafting) and (
        report.author_id == user.id or coordinates(user))


def may_review(user: User, report: MedicoLegalReport) -> bool:
    return report.state is ReportState.in_review and report.approved_at is None and report.reviewer_id == user.id


def may_sign(user: User, report: MedicoLegalReport) -> bool:
    return report.state is ReportState.in_review and report.approved_at is not None and report.author_id == user.id


def may_serve(user: User, report: MedicoLegalReport) -> bool:
    return report.state is ReportState.signed and (report.author_id == user.id or coordinates(user))


def author_choices(db: Session, person_id: int) -> list[tuple[int, str]]:
    return planned.clinician_choices(db, person_id)


def reviewer_choices(db: Session, person_id: int, author_id: int) -> list[tuple[int, str]]:
    """Who may review: an active clinician assigned to the person, or a coordinator or admin; never the author."""
    assigned = select(Assignment.clinician_id).where(Assignment.person_id == person_id,
                                                     Assignment.ended_at.is_(None))
    return [(user_id, name) for user_id, name in db.execute(
        select(User.id, User.display_name)
        .where(User.is_active.is_(True), User.id != author_id,
               or_(User.role.in_((Role.coordinator, Role.admin)),
                   (User.role == Role.clinician) & User.id.in_(assigned)))
        .order_by(User.display_name, User.id))]


def visit_choices(db: Session, person_id: int) -> list[tuple[int, str]]:
    return [(visit_id, f"{format_date(day)} ({MODE_LABELS[mode].lower()})") for visit_id, day, mode in db.execute(
        select(Visit.id, Visit.visit_date, Visit.mode).where(Visit.person_id == person_id)
        .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(50))]


def default_due_date(db: Session, person_id: int, visit_id: int | None, received: date) -> date:
    visit_date = db.scalar(select(Visit.visit_date).where(Visit.id == visit_id, Visit.person_id == person_id)) \
        if visit_id is not None else None
    return (visit_date or received) + timedelta(days=DEFAULT_DAYS)


@dataclass
class ReportPage:
    report: MedicoLegalReport
    author: str
    reviewer: str | None
    signed_by: str | None
    representative: str
    visit_date: date | None
    # (round, section, reviewer's name, when, text), oldest first
    comments: list[tuple[int, str, str, datetime, str]] = field(default_factory=list)
    # (number, reason, saved by, when)
    versions: list[tuple[int, VersionReason, str, datetime]] = field(default_factory=list)

    def comments_of_round(self, round_: int) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for number, section, _name, _at, text in self.comments:
            if number == round_:
                found.setdefault(section, []).append(text)
        return found


def load_page(db: Session, report: MedicoLegalReport) -> ReportPage:
    """Everything a report page shows, in three queries."""
    author, reviewer, signer = aliased(User), aliased(User), aliased(User)
    author_name, reviewer_name, signer_name, rep, visit_date = db.execute(
        select(author.display_name, reviewer.display_name, signer.display_name, LegalRepresentative,
               Visit.visit_date)
        .select_from(MedicoLegalReport)
        .join(author, author.id == MedicoLegalReport.author_id)
        .join(LegalRepresentative, LegalRepresentative.id == MedicoLegalReport.legal_representative_id)
        .outerjoin(reviewer, reviewer.id == MedicoLegalReport.reviewer_id)
        .outerjoin(signer, signer.id == MedicoLegalReport.signed_by_id)
        .outerjoin(Visit, Visit.id == MedicoLegalReport.visit_id)
        .where(MedicoLegalReport.id == report.id)).one()
    comments = [(c.round, c.section, name, c.created_at, c.text) for c, name in db.execute(
        select(MedicoLegalReviewComment, User.display_name).join(User, User.id == MedicoLegalReviewComment.reviewer_id)
        .where(MedicoLegalReviewComment.report_id == report.id)
        .order_by(MedicoLegalReviewComment.round, MedicoLegalReviewComment.id))]
    versions = [(number, reason, name, at) for number, reason, name, at in db.execute(
        select(MedicoLegalReportVersion.number, MedicoLegalReportVersion.reason, User.display_name,
               MedicoLegalReportVersion.saved_at)
        .join(User, User.id == MedicoLegalReportVersion.saved_by_id)
        .where(MedicoLegalReportVersion.report_id == report.id)
        .order_by(MedicoLegalReportVersion.number.desc()))]
    return ReportPage(report, author_name, reviewer_name, signer_name, rep.label, visit_date, comments, versions)


def get_version(db: Session, report: MedicoLegalReport, number: int) -> tuple[MedicoLegalReportVersion, str] | None:
    """A version kept of this report, with the name of who saved it."""
    found_row = db.execute(
        select(MedicoLegalReportVersion, User.display_name).join(User, User.id == MedicoLegalReportVersion.saved_by_id)
        .where(MedicoLegalReportVersion.report_id == report.id, MedicoLegalReportVersion.number == number)).first()
    return None if found_row is None else (found_row[0], found_row[1])


# --- the draft built from the record --------------------------------------------------------------------

def _lines(*parts: str | None) -> str:
    return "\n".join(part for part in parts if part)


def draft_from_record(db: Session, person: Person, report: MedicoLegalReport, author: User) -> dict[str, str]:
    """The seven sections filled from what the record holds: the instruction, the person's visits, the findings
    of their evidence with coded regions and consistency, the overall evaluation of any medico-legal report
    evidence, and their Adults at Risk indicators. The author then edits every word."""
    rep = contacts.get(db, report.legal_representative_id)
    visits = list(db.execute(
        select(Visit, Facility.name).outerjoin(Facility, Facility.id == Visit.facility_id)
        .where(Visit.person_id == person.id).order_by(Visit.visit_date, Visit.id)))
    findings = list(db.execute(
        select(Finding, EvidenceItem.kind).join(EvidenceItem, EvidenceItem.id == Finding.evidence_item_id)
        .where(EvidenceItem.person_id == person.id).order_by(EvidenceItem.id, Finding.id)))
    evaluations = list(db.scalars(
        select(EvidenceItem).where(EvidenceItem.person_id == person.id,
                                   EvidenceItem.kind == EvidenceKind.medico_legal_report,
                                   EvidenceItem.overall_evaluation.is_not(None)).order_by(EvidenceItem.id)))
    indicators = {i for i in db.scalars(select(PersonAarIndicator.indicator)
                                         .where(PersonAarIndicator.person_id == person.id))}

    visit_lines = []
    for visit, facility in visits:
        interpreter = f", with an interpreter ({visit.interpreter_language})" if visit.interpreter_used else ""
        visit_lines.append(f"- {format_date(visit.visit_date)}: {MODE_LABELS[visit.mode].lower()}"
                           f"{f' at {facility}' if facility else ''}{interpreter}.")
    case_details = _lines(
        f"Case reference: {person.reference}.",
        f"Instructed by {rep.label if rep else 'the legal representative'}; instruction received "
        f"{format_date(report.received_date)}, report due {format_date(report.due_date)}.",
        "Questions asked:", report.questions,
        "Examinations:" if visit_lines else "No examination is recorded yet.", *visit_lines)
    qualifications = _lines(f"{author.display_name}.",
                            "[Your qualifications, registration and experience of documenting torture.]")
    allegations = _lines(*(f"At the visit on {format_date(v.visit_date)}: {v.presenting_concerns}"
                           for v, _ in visits if v.presenting_concerns)) \
        or "[The account given, in the person's words.]"

    physical, interpretation = [], []
    for number, (finding, _kind) in enumerate(findings, start=1):
        region = BY_CODE[finding.region_code].label if finding.region_code in BY_CODE else legacy_site(
            finding.body_region)
        size = (f", {finding.length_mm} x {finding.width_mm} mm" if finding.length_mm and finding.width_mm
                else f", {finding.length_mm} mm" if finding.length_mm else "")
        described = ", ".join(part for part in (
            LESION_TYPE_LABELS[finding.lesion_type].lower() if finding.lesion_type else None,
            finding.shape, finding.colour,
            f"estimated age {LESION_AGE_LABELS[finding.estimated_age].lower()}" if finding.estimated_age else None)
            if part)
        physical.append(f"{number}. {region}{size}: {finding.description}"
                        + (f" ({described})" if described else "") + ".")
        if finding.consistency is not None:
            level = CONSISTENCY_LABELS[finding.consistency].lower()
            # "typical of a beating", "diagnostic of ...", but "consistent with a beating".
            joiner = " " if level.endswith(" of") else " with "
            interpretation.append(f"Finding {number} ({region}): {level}{joiner}"
                                  f"{finding.attributed_cause or 'the account given'}.")
    for v, _ in visits:
        if v.findings:
            physical.append(f"At the visit on {format_date(v.visit_date)}: {v.findings}")
    for item in evaluations:
        if item.overall_evaluation is not None:
            note = item.overall_evaluation_note
            interpretation.append("Overall evaluation of the evidence: "
                                  f"{OVERALL_EVALUATION_LABELS[item.overall_evaluation]}."
                                  + (f" {note}" if note else ""))
    psychological = ["Adults at Risk indicators recorded: "
                     + ", ".join(AAR_INDICATOR_LABELS[i].lower() for i in AAR_INDICATOR_LABELS if i in indicators)
                     + "."] if indicators else []
    psychological += [f"Self-harm or suicide risk at the visit on {format_date(v.visit_date)}: "
                      f"{RISK_LABELS[v.risk].lower()}." for v, _ in visits if v.risk is not None]
    recommendations = [f"From the visit on {format_date(v.visit_date)}: {v.actions}" for v, _ in visits if v.actions]
    return {
        "case_details": case_details,
        "qualifications": qualifications,
        "allegations": allegations,
        "physical_findings": _lines(*physical) or "[Each lesion: site, type, size, shape, colour, estimated age.]",
        "psychological_findings": _lines(*psychological) or "[History, mental state examination, diagnosis.]",
        "interpretation": _lines(*interpretation) or "[The consistency of each finding and the overall evaluation.]",
        "recommendations": _lines(*recommendations) or "[Conclusions and recommendations.]",
    }


# --- changes ---------------------------------------------------------------------------------------

def _record(db: Session, actor: User, person: Person, report: MedicoLegalReport,
            before: dict[str, Any] | None) -> None:
    db.flush()
    revisions.record(db, actor_id=actor.id, table="medicolegal_reports", row_id=report.id, person_id=person.id,
                     before=before, after=snapshot(report))


def _keep_version(db: Session, actor: User, report: MedicoLegalReport, reason: VersionReason) -> int:
    number = (db.scalar(select(func.max(MedicoLegalReportVersion.number))
                        .where(MedicoLegalReportVersion.report_id == report.id)) or 0) + 1
    db.add(MedicoLegalReportVersion(report_id=report.id, number=number, reason=reason,
                                    sections={k: v or "" for k, v in report.sections().items()},
                                    saved_by_id=actor.id, saved_at=utcnow()))
    return number


def _author(db: Session, actor: User, person: Person, data: InstructionForm) -> int:
    """The clinician who writes the report: the clinician instructed, or the one a coordinator chooses."""
    if actor.role is Role.clinician:
        if data.author_id not in (None, actor.id):
            raise Refused("write_own_reports_only", actor_id=actor.id)
        return actor.id
    if data.author_id is None:
        raise RuleBroken.on("author_id", "Choose the clinician who will write the report.")
    author = db.get(User, data.author_id)
    if author is None or author.role is not Role.clinician or not author.is_active:
        raise RuleBroken.on("author_id", "Choose the clinician from the list.")
    if not is_assigned(db, author.id, person.id):
        raise RuleBroken.on("author_id", f"{author.display_name} is not assigned to this person: choose a clinician "
                                         "assigned to them, or assign them first.")
    return author.id


def instruct(db: Session, actor: User, person: Person, data: InstructionForm, today: date) -> MedicoLegalReport:
    """Record an instruction. Refused (nothing saved) without the person's current consent to a report."""
    if not has_consent(db, person.id, today):
        raise RuleBroken.on(FORM_ERROR, NO_CONSENT)
    author_id = _author(db, actor, person, data)
    errors: dict[str, str] = {}
    try:
        contacts.check_choice(db, data.legal_representative_id)
    except RuleBroken as broken:
        errors.update(broken.errors)
    if data.visit_id is not None and db.scalar(
            select(Visit.id).where(Visit.id == data.visit_id, Visit.person_id == person.id)) is None:
        errors["visit_id"] = "Choose one of this person's visits from the list."
    if data.received_date > today:
        errors["received_date"] = "The date the instruction was received cannot be in the future."
    if data.due_date is not None and data.due_date < data.received_date:
        errors["due_date"] = (f"The due date must be on or after the date the instruction was received "
                              f"({format_date(data.received_date)}).")
    if data.legal_representative_id is None:  # the form refuses none; this keeps the type checker told
        errors["legal_representative_id"] = "Choose the legal representative who sent the instruction."
    if errors:
        raise RuleBroken(errors)
    due = data.due_date or default_due_date(db, person.id, data.visit_id, data.received_date)
    if due < data.received_date:  # a visit long before the instruction: three weeks from the instruction
        due = data.received_date + timedelta(days=DEFAULT_DAYS)
    papers = {f"paper_{paper.value}": True for paper in data.papers}
    report = MedicoLegalReport(person_id=person.id, author_id=author_id, visit_id=data.visit_id,
                               legal_representative_id=int(data.legal_representative_id or 0),
                               questions=data.questions.strip(),
                               received_date=data.received_date, due_date=due, state=ReportState.instructed,
                               created_by_id=actor.id, **papers)
    db.add(report)
    _record(db, actor, person, report, None)
    return report


def check_may_edit(user: User, report: MedicoLegalReport) -> None:
    if report.state not in (ReportState.instructed, ReportState.drafting):
        raise StaleForm("This report is no longer a draft (it is in review or signed): it cannot be changed. "
                        "Nothing was saved.")
    if not may_edit(user, report):
        raise Refused("report_author", actor_id=user.id)


def start_draft(db: Session, actor: User, person: Person, report: MedicoLegalReport, version: int | None) -> None:
    check_may_edit(actor, report)
    check_version(report, version)
    if report.state is not ReportState.instructed:
        raise StaleForm("The draft has already been started. Nothing was changed.")
    before = snapshot(report)
    author = found(db.get(User, report.author_id))
    for name, text in draft_from_record(db, person, report, author).items():
        setattr(report, name, text)
    report.state = ReportState.drafting
    _record(db, actor, person, report, before)
    _keep_version(db, actor, report, VersionReason.started)
    db.flush()


def save_sections(db: Session, actor: User, person: Person, report: MedicoLegalReport,
                  data: SectionsForm) -> list[str]:
    """Save the draft's sections; returns the sections changed (none: nothing written, no version kept)."""
    check_may_edit(actor, report)
    check_version(report, data.version)
    if report.state is not ReportState.drafting:
        raise StaleForm("Start the draft before editing it. Nothing was saved.")
    changed = [name for name in SECTIONS if (getattr(report, name) or "") != getattr(data, name)]
    if not changed:
        return []
    before = snapshot(report)
    for name in changed:
        setattr(report, name, getattr(data, name))
    report.updated_at = utcnow()
    _record(db, actor, person, report, before)
    _keep_version(db, actor, report, VersionReason.saved)
    db.flush()
    return changed


def send_for_review(db: Session, actor: User, person: Person, report: MedicoLegalReport,
                    data: ReviewRequestForm) -> User:
    check_may_edit(actor, report)
    check_version(report, data.version)
    if report.state is not ReportState.drafting:
        raise StaleForm("Start the draft before sending it for review. Nothing was changed.")
    if data.reviewer_id is None or data.reviewer_id == report.author_id:
        raise RuleBroken.on("reviewer_id", "The author cannot review their own report: choose a second clinician.")
    if data.reviewer_id not in dict(reviewer_choices(db, person.id, report.author_id)):
        raise RuleBroken.on("reviewer_id", "Choose the reviewer from the list: a clinician assigned to this person, "
                                           "or a coordinator.")
    empty = [name for name in SECTIONS if not (getattr(report, name) or "").strip()]
    if empty:
        raise RuleBroken.on(FORM_ERROR, "Every section must be written before the report is reviewed. Nothing was "
                                        "changed.")
    before = snapshot(report)
    report.reviewer_id = data.reviewer_id
    report.review_round += 1
    report.approved_at = None
    report.state = ReportState.in_review
    _record(db, actor, person, report, before)
    _keep_version(db, actor, report, VersionReason.sent_for_review)
    db.flush()
    return found(db.get(User, data.reviewer_id))


def check_may_review(user: User, report: MedicoLegalReport) -> None:
    if report.state is not ReportState.in_review or report.approved_at is not None:
        raise StaleForm("This report is not waiting for review. Nothing was changed.")
    if report.reviewer_id != user.id:
        raise Refused("named_reviewer", actor_id=user.id)


def review(db: Session, actor: User, person: Person, report: MedicoLegalReport, data: ReviewForm) -> Decision:
    """The named reviewer's comments and decision: approved, the author may sign it off; returned, it is a draft
    again, with the comments shown on the edit page."""
    check_may_review(actor, report)
    check_version(report, data.version)
    comments = data.comments()
    decision = data.decision or Decision.return_  # the form refuses none
    if decision is Decision.return_ and not comments:
        raise RuleBroken.on("decision", "Add a comment on at least one section to say what the author should change.")
    now = utcnow()
    for section, text in comments.items():
        db.add(MedicoLegalReviewComment(report_id=report.id, section=section, round=report.review_round,
                                        reviewer_id=actor.id, created_at=now, text=text))
    before = snapshot(report)
    if decision is Decision.approve:
        report.approved_at = now
    else:
        report.state = ReportState.drafting
    report.updated_at = now
    _record(db, actor, person, report, before)
    return decision


def check_may_sign(user: User, report: MedicoLegalReport) -> None:
    if report.state is not ReportState.in_review or report.approved_at is None:
        raise StaleForm("This report is not approved for sign-off (it is a draft, in review, or already signed). "
                        "Nothing was changed.")
    if report.author_id != user.id:
        raise Refused("report_author", actor_id=user.id)


def sign(db: Session, actor: User, person: Person, report: MedicoLegalReport, version: int | None, declared: bool,
         today: date) -> None:
    """Sign off an approved report: its content is sealed with its SHA-256 (app/medicolegal/seal.py) and never
    changes again. The person's consent is checked again now: it may have been withdrawn since."""
    check_may_sign(actor, report)
    check_version(report, version)
    if not has_consent(db, person.id, today):
        raise RuleBroken.on(FORM_ERROR, "This person's consent for a medico-legal report has been withdrawn or has "
                                        "lapsed: the report cannot be signed off. Nothing was changed.")
    if not declared:
        raise RuleBroken.on("declaration", "Confirm the declaration to sign the report off.")
    before = snapshot(report)
    now = utcnow()
    report.state = ReportState.signed
    report.signed_at = now
    report.signed_by_id = actor.id
    report.updated_at = now
    report.content_sha256 = seal.digest(report)
    _record(db, actor, person, report, before)


def record_served(db: Session, actor: User, person: Person, report: MedicoLegalReport, data: ServedForm,
                  today: date) -> None:
    if report.state is not ReportState.signed:
        raise StaleForm("Only a signed report that has not been served yet can be recorded as served. Nothing "
                        "was changed.")
    if not may_serve(actor, report):
        raise Refused("report_author", actor_id=actor.id)
    check_version(report, data.version)
    errors = {}
    if data.served_date > today:
        errors["served_date"] = "The date the report was served cannot be in the future."
    elif report.signed_at is not None and data.served_date < report.signed_at.date():
        errors["served_date"] = f"The report was signed on {format_date(report.signed_at.date())}: it cannot " \
                                "have been served before."
    if errors:
        raise RuleBroken(errors)
    before = snapshot(report)
    report.state = ReportState.served
    report.served_date = data.served_date
    report.outcome = data.outcome.strip() or None
    _record(db, actor, person, report, before)


# --- the person page's section ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReportRow:
    id: int
    state: ReportState
    received_date: date
    due_date: date
    author: str
    approved: bool

    def overdue(self, today: date) -> bool:
        return self.state in UNSIGNED and self.due_date < today


def for_person(db: Session, person_id: int) -> list[ReportRow]:
    """The person's reports with their authors, the soonest due first, in one statement."""
    return [ReportRow(*row) for row in db.execute(
        select(MedicoLegalReport.id, MedicoLegalReport.state, MedicoLegalReport.received_date,
               MedicoLegalReport.due_date, User.display_name, MedicoLegalReport.approved_at.is_not(None))
        .join(User, User.id == MedicoLegalReport.author_id)
        .where(MedicoLegalReport.person_id == person_id)
        .order_by(MedicoLegalReport.due_date.desc(), MedicoLegalReport.id.desc()).limit(SECTION_LIMIT))]

