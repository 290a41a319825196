"""Every alert rule, declared once: id, plain-English explanation, threshold setting, source, severity and the
action that resolves it."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from app.config import Settings


class Severity(enum.StrEnum):
    """How soon an alert needs someone (issue 17): safety or a deadline today; within days; paperwork."""

    urgent = "urgent"
    due_soon = "due_soon"
    admin = "admin"


# The words on the graded tags (GOV.UK red, orange and grey), and the order pages list alerts in.
SEVERITY_LABELS = {Severity.urgent: "Urgent", Severity.due_soon: "Due soon", Severity.admin: "Admin"}
SEVERITY_ORDER = {severity: i for i, severity in enumerate(Severity)}


@dataclass(frozen=True)
class AlertRule:
    id: str
    title: str
    explanation: str  # may use {threshold}, filled from the setting, and other settings as {settings.name}
    threshold_setting: str | None
    threshold_unit: str
    source: str
    severity: Severity
    action: str  # what to do, as the words of the link that leads to doing it (app/alerts/triggers.py)

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    @property
    def rank(self) -> int:
        """Sorts by severity; a stable sort (Jinja's `sort(attribute="rank")` is one) keeps RULES order within."""
        return SEVERITY_ORDER[self.severity]

    def describe(self, settings: Settings) -> str:
        return self.explanation.format(threshold=self._threshold(settings), settings=settings)

    def heading(self, settings: Settings) -> str:
        return self.title.format(threshold=self._threshold(settings))

    def _threshold(self, settings: Settings) -> object:
        return getattr(settings, self.threshold_setting) if self.threshold_setting else None


# In the order pages show them within a severity: a removal about to happen leads.
#
# Severities, by the definitions (urgent: safety or a deadline today; due soon: within days; admin:
# paperwork that protects the case but harms no one by waiting a day):
# - urgent: removal_imminent (the flight is within hours; the person page grades one beyond the urgent hours as
#   due soon, app/alerts/triggers.py); no_admission_exam (rule 34's 24 hours have already passed, and the
#   examination is what first finds torture and self-harm risk); food_fluid_refusal (a risk to life).
# - due soon: hearing_soon (a listed date, days away; the person page grades one today as urgent);
#   rule35_response_overdue and nrm_decision_outstanding (a Home Office deadline missed: chase within days);
#   auto_bail_referral_due (a statutory duty to check); torture_without_evidence and self_harm_without_rule35
#   (evidence a vulnerable person needs: the self-harm itself is managed under ACDT in the centre, the alert is
#   the missing report); visit_follow_up_overdue and referral_follow_up_overdue (a date this organisation set).
# - admin: consent_missing (the record and the referral exist; the consent is recorded when next in contact);
#   detained_28_days and length_band_crossed (review points, not deadlines); bail_reapplication_open (an
#   opening that stays open).
RULES: dict[str, AlertRule] = {rule.id: rule for rule in (
    AlertRule(
        id="removal_imminent",
        title="Removal within {threshold} hours",
        explanation="A removal direction that is still set falls within the next {threshold} hours (urgent from "
                    "{settings.alert_removal_urgent_hours} hours). Check that the person's solicitor knows and "
                    "that any last medical evidence has gone to the Home Office.",
        threshold_setting="alert_removal_hours", threshold_unit="hours",
        source="This organisation's practice: removal directions must be acted on before the flight",
        severity=Severity.urgent, action="Tell the solicitor and send any last medical evidence",
    ),
    AlertRule(
        id="hearing_soon",
        title="Hearing within {threshold} days",
        explanation="A bail hearing, appeal or judicial review with no outcome recorded is due within the next "
                    "{threshold} days. Check that the evidence and any medical report have reached the "
                    "representative.",
        threshold_setting="alert_hearing_days", threshold_unit="days",
        source="First-tier Tribunal (Immigration and Asylum Chamber) listing; this organisation's practice",
        severity=Severity.due_soon, action="Check the evidence has reached the representative",
    ),
    AlertRule(
        id="detained_28_days",
        title="Detained over {threshold} days",
        explanation="The current detention has lasted more than {threshold} days. Campaigners and the Joint "
                    "Committee on Human Rights call for a 28-day limit; longer detention calls for review.",
        threshold_setting="alert_detained_days", threshold_unit="days",
        source="Time-limit campaign; Joint Committee on Human Rights, Immigration Detention (2019)",
        severity=Severity.admin, action="Consider a bail application",
    ),
    AlertRule(
        id="length_band_crossed",
        title="Entered a new length-of-detention band",
        explanation="In the last {threshold} days the current detention entered a new Home Office length band "
                    "(2, 3, 4, 6, 12, 18, 24, 36 or 48 months). Check whether detention is still justified.",
        threshold_setting="alert_band_crossed_recent_days", threshold_unit="days",
        source="Home Office immigration statistics, length of detention bands",
        severity=Severity.admin, action="Review whether detention is still justified",
    ),
    AlertRule(
        id="auto_bail_referral_due",
        title="Automatic bail referral due",
        explanation="The current detention has reached {threshold} months with no bail application in the last "
                    "{threshold} months: the Home Office must refer the case to the Tribunal for bail.",
        threshold_setting="alert_auto_bail_months", threshold_unit="months",
        source="Immigration Act 2016, Schedule 10, paragraph 11",
        severity=Severity.due_soon, action="Check the Home Office has referred the case for bail",
    ),
    AlertRule(
        id="no_admission_exam",
        title="No admission GP examination recorded",
        explanation="No examination by the centre's GP is recorded within {threshold} hours of arrival at the "
                    "current removal centre ({settings.alert_admission_exam_sthf_hours} hours at a short-term holding "
                    "facility). It must be offered after every transfer.",
        threshold_setting="alert_admission_exam_irc_hours", threshold_unit="hours",
        source="Detention Centre Rules 2001, rule 34; Short-term Holding Facility Rules 2018, rule 30",
        severity=Severity.urgent, action="Record the admission GP examination",
    ),
    AlertRule(
        id="rule35_response_overdue",
        title="Rule 35 response overdue",
        explanation="A Rule 35 report was sent more than {threshold} working days ago and no Home Office response "
                    "is recorded. Chase the response.",
        threshold_setting="alert_rule35_response_working_days", threshold_unit="working days",
        source="Home Office guidance, Detention Centre Rule 35 (the deadline is a setting: check it)",
        severity=Severity.due_soon, action="Record the Home Office's response",
    ),
    AlertRule(
        id="torture_without_evidence",
        title="Torture indicator without evidence",
        explanation="A torture indicator is recorded, but there is no Rule 35(3) report, no medico-legal report, "
                    "and no referral to a torture rehabilitation organisation.",
        threshold_setting=None, threshold_unit="",
        source="Adults at Risk in Immigration Detention policy",
        severity=Severity.due_soon, action="Refer to a torture rehabilitation organisation",
    ),
    AlertRule(
        id="self_harm_without_rule35",
        title="Self-harm without a Rule 35 report",
        explanation="Self-harm or an open ACDT is recorded in this detention, but no Rule 35(1) or 35(2) report "
                    "has been written since the detention began.",
        threshold_setting=None, threshold_unit="",
        source="Detention Centre Rules 2001, rule 35(1) and 35(2)",
        severity=Severity.due_soon, action="Record a Rule 35(1) or 35(2) report",
    ),
    AlertRule(
        id="food_fluid_refusal",
        title="Prolonged food or fluid refusal",
        explanation="A fluid refusal has lasted more than {threshold} hours, or a food refusal more than "
                    "{settings.alert_food_refusal_hours} hours. "
                    "This needs urgent medical review.",
        threshold_setting="alert_fluid_refusal_hours", threshold_unit="hours",
        source="Detention Services Order 03/2017, care and management of detained individuals refusing food "
               "and fluid",
        severity=Severity.urgent, action="Arrange an urgent medical review, then record when the refusal ends",
    ),
    AlertRule(
        id="nrm_decision_outstanding",
        title="NRM decision outstanding",
        explanation="A National Referral Mechanism referral was made more than {threshold} working days ago and "
                    "no reasonable-grounds decision is recorded.",
        threshold_setting="alert_nrm_decision_working_days", threshold_unit="working days",
        source="Modern Slavery statutory guidance, National Referral Mechanism",
        severity=Severity.due_soon, action="Record the reasonable-grounds decision",
    ),
    AlertRule(
        id="visit_follow_up_overdue",
        title="Visit follow-up overdue",
        explanation="A visit set a follow-up date that has passed, and no visit has been logged since.",
        threshold_setting=None, threshold_unit="",
        source="This organisation's visiting practice",
        severity=Severity.due_soon, action="Log the follow-up visit",
    ),
    AlertRule(
        id="referral_follow_up_overdue",
        title="Referral follow-up overdue",
        explanation="A referral's follow-up date has passed with no response recorded.",
        threshold_setting=None, threshold_unit="",
        source="This organisation's referral practice",
        severity=Severity.due_soon, action="Chase the organisation and record its response",
    ),
    AlertRule(
        id="consent_missing",
        title="Consent missing",
        explanation="This open case has no current consent to keep a care record, or a referral was sent "
                    "without a current consent to share with that organisation (never given, or withdrawn).",
        threshold_setting=None, threshold_unit="",
        source="UK GDPR Article 9; this organisation's consent policy",
        severity=Severity.admin, action="Record the consent",
    ),
    AlertRule(
        id="bail_reapplication_open",
        title="Bail can be applied for again",
        explanation="At least {threshold} days have passed since a bail application that was refused, so a new "
                    "application will not be dismissed as a repeat without a hearing.",
        threshold_setting="alert_bail_reapplication_days", threshold_unit="days",
        source="Bail for Immigration Detainees guidance; Tribunal Procedure Rules 2014, rule 40",
        severity=Severity.admin, action="Record a new bail application",
    ),
    AlertRule(
        id="report_overdue",
        title="Medico-legal report overdue",
        explanation="A medico-legal report has passed the due date agreed with the legal representative and is "
                    "not yet signed off.",
        threshold_setting=None, threshold_unit="",
        source="The instruction from the legal representative",
        severity=Severity.due_soon, action="Finish and sign the medico-legal report",
    ),
)}


def rule(rule_id: str) -> AlertRule:
    return RULES[rule_id]


def ordered(rules: Iterable[AlertRule]) -> list[AlertRule]:
    """Urgent first, then due soon, then admin; RULES order within a severity (sorted() is stable)."""
    position = {rule_id: i for i, rule_id in enumerate(RULES)}
    return sorted(rules, key=lambda r: (r.rank, position.get(r.id, len(position))))
