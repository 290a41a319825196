"""Imports every table module so that Base.metadata is complete (Alembic, tests, the CLI)."""

from app.alerts.models import PersonAlertState
from app.audit.models import AuditEvent, Revision
from app.auth.models import LoginAttempt, User, UserSession
from app.auth.tokens import ApiToken
from app.consent.models import Consent
from app.contacts.models import LegalRepresentative, Representation
from app.crypto.models import IndexKey, PersonKey
from app.detention.models import DetentionEpisode, Facility, Hearing, Placement, RemovalDirection
from app.evidence.models import Document, EvidenceItem, Finding, Rule35Record
from app.health_events.models import HealthEvent
from app.imports.models import ImportMapping, ImportRecord, ImportRun
from app.intake.models import HelpRequest
from app.medicolegal.letter_models import Letter
from app.medicolegal.models import MedicoLegalReport, MedicoLegalReportVersion, MedicoLegalReviewComment
from app.people.models import (
    Assignment,
    EmergencyAccess,
    Handover,
    Identity,
    IdentityAlias,
    LegalHold,
    Person,
    PersonAarIndicator,
    PersonLanguage,
    PersonNameToken,
)
from app.referrals.models import NrmReferral, Organisation, Referral
from app.reports.models import CaseNarrative, SummaryRelease
from app.visits.models import Visit, VisitAarIndicator, VisitAddendum
from app.work.models import CaseNote, CaseNoteAddendum, SentMessage, Task

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "CaseNarrative",
    "CaseNote",
    "CaseNoteAddendum",
    "Consent",
    "DetentionEpisode",
    "Document",
    "EmergencyAccess",
    "EvidenceItem",
    "Facility",
    "Finding",
    "Handover",
    "HealthEvent",
    "Hearing",
    "HelpRequest",
    "ImportMapping",
    "ImportRecord",
    "ImportRun",
    "IndexKey",
    "Identity",
    "IdentityAlias",
    "LegalHold",
    "LegalRepresentative",
    "Letter",
    "LoginAttempt",
    "MedicoLegalReport",
    "MedicoLegalReportVersion",
    "MedicoLegalReviewComment",
    "NrmReferral",
    "Organisation",
    "Person",
    "PersonAarIndicator",
    "PersonAlertState",
    "PersonKey",
    "PersonLanguage",
    "PersonNameToken",
    "Placement",
    "Referral",
    "RemovalDirection",
    "Representation",
    "Revision",
    "Rule35Record",
    "SentMessage",
    "SummaryRelease",
    "Task",
    "User",
    "UserSession",
    "Visit",
    "VisitAarIndicator",
    "VisitAddendum",
]
import app.alerts.state  # noqa: E402,F401  (registers the hook that marks alert flags stale on every change)
