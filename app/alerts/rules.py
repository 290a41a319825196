"""Every alert rule, declared once: id, plain-English explanation, threshold setting and source."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings


@dataclass(frozen=True)
class AlertRule:
    id: str
    title: str
    explanation: str  # may use {threshold}, filled from the setting
    threshold_setting: str | None
    threshold_unit: str
    source: str

    def describe(self, settings: Settings) -> str:
        return self.explanation.format(threshold=self._threshold(settings))

    def heading(self, settings: Settings) -> str:
        return self.title.format(threshold=self._threshold(settings))

    def _threshold(self, settings: Settings) -> object:
        return getattr(settings, self.threshold_setting) if self.threshold_setting else None


RULES: dict[str, AlertRule] = {rule.id: rule for rule in (
    AlertRule(
        id="detained_28_days",
        title="Detained over {threshold} days",
        explanation="The current detention has lasted more than {threshold} days. Campaigners and the Joint "
                    "Committee on Human Rights call for a 28-day limit; longer detention calls for review.",
        threshold_setting="alert_detained_days", threshold_unit="days",
        source="Time-limit campaign; Joint Committee on Human Rights, Immigration Detention (2019)",
    ),
    AlertRule(
        id="length_band_crossed",
        title="Entered a new length-of-detention band",
        explanation="In the last {threshold} days the current detention entered a new Home Office length band "
                    "(2, 3, 4, 6, 12, 18, 24, 36 or 48 months). Check whether detention is still justified.",
        threshold_setting="alert_band_crossed_recent_days", threshold_unit="days",
        source="Home Office immigration statistics, length of detention bands",
    ),
    AlertRule(
        id="auto_bail_referral_due",
        title="Automatic bail referral due",
        explanation="The current detention has reached {threshold} months with no bail application in the last "
                    "{threshold} months: the Home Office must refer the case to the Tribunal for bail.",
        threshold_setting="alert_auto_bail_months", threshold_unit="months",
        source="Immigration Act 2016, Schedule 10, paragraph 11",
    ),
    AlertRule(
        id="bail_reapplication_open",
        title="Bail can be applied for again",
        explanation="At least {threshold} days have passed since a bail application that was refused, so a new "
                    "application will not be dismissed as a repeat without a hearing.",
        threshold_setting="alert_bail_reapplication_days", threshold_unit="days",
        source="Bail for Immigration Detainees guidance; Tribunal Procedure Rules 2014, rule 40",
    ),
)}


def rule(rule_id: str) -> AlertRule:
    return RULES[rule_id]
