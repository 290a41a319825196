"""Forms for organisations, referrals (drafting, sending, recording the response) and NRM details, and the
plain labels pages show for their codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.dates import typed_date
from app.errors import RuleBroken
from app.referrals.models import NrmDecision, OrganisationType, ReferralStatus
from app.web.params import FormId, VersionToken

ORGANISATION_TYPE_LABELS: dict[OrganisationType, str] = {
    OrganisationType.legal: "Legal advice",
    OrganisationType.bail: "Bail support",
    OrganisationType.nrm_first_responder: "NRM first responder",
    OrganisationType.torture_rehabilitation: "Torture rehabilitation",
    OrganisationType.mental_health: "Mental health",
    OrganisationType.gp_health: "GP and health services",
    OrganisationType.safeguarding: "Safeguarding",
    OrganisationType.visitors: "Visitors group",
    OrganisationType.other: "Other",
}

STATUS_LABELS: dict[ReferralStatus, str] = {
    ReferralStatus.draft: "Draft, not sent",
    ReferralStatus.sent: "Sent, awaiting response",
    ReferralStatus.accepted: "Accepted",
    ReferralStatus.declined: "Declined",
    ReferralStatus.completed: "Completed",
    ReferralStatus.no_response: "No response",
}

# What can be recorded after a referral is sent, and from which status.
RESPONSE_STATUSES = (ReferralStatus.accepted, ReferralStatus.declined, ReferralStatus.completed,
                     ReferralStatus.no_response)
NEXT_STATUSES: dict[ReferralStatus, tuple[ReferralStatus, ...]] = {
    ReferralStatus.sent: RESPONSE_STATUSES,
    ReferralStatus.accepted: (ReferralStatus.completed,),
}
# Statuses in which nobody has answered yet, so a passed follow-up date means someone should chase.
AWAITING_STATUSES = frozenset({ReferralStatus.draft, ReferralStatus.sent})

NRM_DECISION_LABELS: dict[NrmDecision, str] = {
    NrmDecision.positive: "Positive",
    NrmDecision.negative: "Negative",
    NrmDecision.withdrawn: "Withdrawn",
}


def _dates(*names: str) -> Any:
    return field_validator(*names, mode="before")(lambda cls, value: typed_date(value))


class OrganisationForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(title="The organisation's name", min_length=1, max_length=160)
    type: OrganisationType = Field(title="The type of organisation")
    contact: str | None = Field(default=None, title="Contact details", max_length=2000)


class ReferralForm(BaseModel):
    """A referral drafted on a person's record; it is sent (and needs consent) in a second step."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: FormId = Field(title="Organisation")
    reason: str = Field(title="Reason for the referral", min_length=1, max_length=4000)
    follow_up_date: date | None = Field(default=None, title="Follow-up date")
    is_nrm: bool = Field(default=False, title="National Referral Mechanism referral")
    # The person's version the form was loaded at (referrals have none of their own).
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("follow_up_date")


class SendForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    made_date: date = Field(title="Date the referral was made")
    follow_up_date: date | None = Field(default=None, title="Follow-up date")
    # The person's version the form was loaded at (referrals have none of their own).
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("made_date", "follow_up_date")


class StatusForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReferralStatus = Field(title="Response")
    response_date: date = Field(title="Date of the response")
    outcome: str | None = Field(default=None, title="Outcome", max_length=4000)
    # The person's version the form was loaded at (referrals have none of their own).
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("response_date")

    @field_validator("status")
    @classmethod
    def _a_response(cls, value: ReferralStatus) -> ReferralStatus:
        if value not in RESPONSE_STATUSES:
            raise ValueError("Choose the response from the list.")
        return value


class NrmForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_responder_id: FormId | None = Field(default=None, title="First responder")
    reasonable_grounds_date: date | None = Field(default=None, title="Date of the reasonable-grounds decision")
    reasonable_grounds_outcome: NrmDecision | None = Field(default=None, title="Reasonable-grounds decision")
    conclusive_grounds_date: date | None = Field(default=None, title="Date of the conclusive-grounds decision")
    conclusive_grounds_outcome: NrmDecision | None = Field(default=None, title="Conclusive-grounds decision")
    # The person's version the form was loaded at (referrals have none of their own).
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("reasonable_grounds_date", "conclusive_grounds_date")

    @model_validator(mode="after")
    def _in_order(self) -> NrmForm:
        problems: dict[str, str] = {}
        rg, cg = self.reasonable_grounds_date, self.conclusive_grounds_date
        if self.reasonable_grounds_outcome is not None and rg is None:
            problems["reasonable_grounds_date"] = "Enter the date of the reasonable-grounds decision."
        if self.conclusive_grounds_outcome is not None and cg is None:
            problems["conclusive_grounds_date"] = "Enter the date of the conclusive-grounds decision."
        elif cg is not None and rg is None:
            problems["conclusive_grounds_date"] = (
                "A conclusive-grounds decision follows a reasonable-grounds one: enter that decision's date first.")
        elif cg is not None and rg is not None and cg < rg:
            problems["conclusive_grounds_date"] = (
                f"The conclusive-grounds decision must be on or after the reasonable-grounds decision "
                f"({rg.day} {rg:%b %Y}).")
        if problems:
            raise RuleBroken(problems)
        return self
