"""Forms for a request for help (typed in by a coordinator) and its triage decision, and the labels of the
details a request holds as given."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.detention.schemas import local_datetime
from app.intake.models import Channel, Decision, Need, RequesterKind, Urgency
from app.web.params import FormId, VersionToken

# What a request holds as given, in the order pages show it. All of it is sealed (HelpRequest.details).
DETAIL_LABELS: dict[str, str] = {
    "given_names": "Given names",
    "family_name": "Family name",
    "birth": "Date or year of birth",
    "nationality": "Nationality",
    "home_office_reference": "Home Office reference",
    "where_held": "Where they are held",
    "phone_in_detention": "Phone in detention",
    "language": "Language and interpreter",
    "requester_name": "Who asked",
    "requester_organisation": "Their organisation",
    "callback_phone": "Phone to call back",
    "callback_email": "E-mail to reply to",
    "callback_notes": "When and how to call back",
    "summary": "What they need",
    "other_professionals": "Other professionals involved",
    "case_history": "About the case",
    "removal_or_hearing": "Removal directions or hearings known",
}


def detail_rows(details: dict[str, str] | None) -> list[tuple[str, str]]:
    """(label, value) for each detail given, in the declared order."""
    details = details or {}
    return [(label, details[key]) for key, label in DETAIL_LABELS.items() if details.get(key)]


class RequestForm(BaseModel):
    """A request for help as a coordinator takes it down (by phone, from an e-mail or a letter, in person)."""

    model_config = ConfigDict(extra="forbid")

    received_at: datetime = Field(title="When it came in")
    channel: Channel = Field(title="How it came in")
    requester_kind: RequesterKind = Field(title="Who asked")
    urgency: Urgency = Field(title="Urgency")
    needs: list[Need] = Field(default_factory=list, title="What they need")
    facility_id: FormId | None = Field(default=None, title="Where they are held")
    legal_representative_id: FormId | None = Field(default=None, title="Legal representative")
    given_names: str | None = Field(default=None, title="Given names", max_length=200)
    family_name: str | None = Field(default=None, title="Family name", max_length=200)
    birth: str | None = Field(default=None, title="Date or year of birth", max_length=40)
    nationality: str | None = Field(default=None, title="Nationality", max_length=80)
    home_office_reference: str | None = Field(default=None, title="Home Office reference", max_length=40)
    where_held: str | None = Field(default=None, title="Where they are held, if not listed", max_length=200)
    phone_in_detention: str | None = Field(default=None, title="Phone in detention", max_length=40)
    language: str | None = Field(default=None, title="Language and interpreter", max_length=120)
    requester_name: str | None = Field(default=None, title="Name of who asked", max_length=200)
    requester_organisation: str | None = Field(default=None, title="Their organisation", max_length=200)
    callback_phone: str | None = Field(default=None, title="Phone to call back", max_length=40)
    callback_email: str | None = Field(default=None, title="E-mail to reply to", max_length=254)
    callback_notes: str | None = Field(default=None, title="When and how to call back", max_length=1000)
    summary: str = Field(title="What they need, in their words", min_length=1, max_length=8000)

    _parse_times = field_validator("received_at", mode="before")(lambda cls, value: local_datetime(value))

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _enough_to_act_on(self) -> RequestForm:
        from app.errors import RuleBroken

        errors = {}
        if not self.needs:
            errors["needs"] = "Choose at least one thing they need."
        if not (self.given_names or self.family_name):
            errors["family_name"] = "Enter the person's name as it was given, even if it is only one name."
        if not (self.callback_phone or self.callback_email or self.phone_in_detention):
            errors["callback_phone"] = ("Enter a phone number or e-mail address to reply to, or the person's "
                                        "phone in detention.")
        if errors:
            raise RuleBroken(errors)
        return self

    def details(self) -> dict[str, str]:
        return {key: value for key in DETAIL_LABELS if (value := getattr(self, key, None))}


class DecisionForm(BaseModel):
    """A coordinator's triage decision. Accepting with `person_reference` attaches the request to that existing
    record; accepting without it opens a new one (after the duplicate check, which `confirm_new` answers)."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision | None = Field(default=None, title="Decision")
    note: str | None = Field(default=None, title="Reason or note", max_length=4000)
    signposted_to_id: FormId | None = Field(default=None, title="Organisation signposted to")
    person_reference: str | None = Field(default=None, title="Existing record", max_length=20)
    confirm_new: bool = Field(default=False, title="Open a new record even though similar ones exist")
    version: VersionToken = Field(default=None, title="Version")


class ReferralForm(BaseModel):
    """The public online referral form a legal representative fills in (app/intake/public.py). Every required
    answer is checked field by field, so one submission shows every problem at once."""

    model_config = ConfigDict(extra="forbid")

    # About the client
    given_names: str | None = Field(default=None, title="Given names", max_length=200)
    family_name: str | None = Field(default=None, title="Family name", max_length=200, validate_default=True)
    birth: str | None = Field(default=None, title="Date or year of birth", max_length=40)
    nationality: str | None = Field(default=None, title="Nationality", max_length=80)
    home_office_reference: str | None = Field(default=None, title="Home Office reference", max_length=40)
    facility_id: FormId | None = Field(default=None, title="Where they are held")
    where_held: str | None = Field(default=None, title="Where they are held, if it is not listed", max_length=200)
    phone_in_detention: str | None = Field(default=None, title="Phone in detention", max_length=40)
    language: str | None = Field(default=None, title="Language and interpreter", max_length=120)
    # The referral
    needs: list[Need] = Field(default_factory=list, title="What your client needs", validate_default=True)
    # Required: a missing answer (the default None) is refused by _urgency_chosen, whose message says "choose".
    urgency: Urgency = Field(default=None, title="How urgent it is", validate_default=True)
    summary: str = Field(title="What you are asking us to do", min_length=1, max_length=8000)
    # The solicitor
    firm: str = Field(title="Your firm's name", min_length=1, max_length=200)
    caseworker: str = Field(title="Your name", min_length=1, max_length=200)
    solicitor_phone: str | None = Field(default=None, title="Your phone", max_length=40)
    solicitor_email: str = Field(title="Your e-mail address", min_length=1, max_length=254)
    legal_aid_contract: bool | None = Field(default=None, title="Legal-aid contract", validate_default=True)
    # Other professionals and the case
    other_professionals: str | None = Field(default=None, title="Other professionals involved", max_length=4000)
    case_history: str | None = Field(default=None, title="About the case", max_length=8000)
    removal_or_hearing: str | None = Field(default=None, title="Removal directions or hearings known",
                                           max_length=2000)
    # Declaration
    consent: bool = Field(default=False, title="Your client's consent", validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("family_name")
    @classmethod
    def _named(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A given name that was itself refused (too long) has its own message; this one is about no name at all.
        if not value and "given_names" in info.data and not info.data["given_names"]:
            raise ValueError("Enter your client's name as they give it, even if it is only one name.")
        return value

    @field_validator("urgency", mode="before")
    @classmethod
    def _urgency_chosen(cls, value: object) -> object:
        if value is None or value == "":
            raise ValueError("Choose how urgent it is.")
        return value

    @field_validator("needs")
    @classmethod
    def _some_need(cls, value: list[Need]) -> list[Need]:
        if not value:
            raise ValueError("Choose at least one thing your client needs.")
        return value

    @field_validator("solicitor_email")
    @classmethod
    def _email(cls, value: str) -> str:
        import re

        from app.auth.schemas import EMAIL_PATTERN

        if not re.match(EMAIL_PATTERN, value):
            raise ValueError("Enter your e-mail address in the right format, like name@example.org.")
        return value

    @field_validator("legal_aid_contract")
    @classmethod
    def _answered(cls, value: bool | None) -> bool | None:
        if value is None:
            raise ValueError("Choose yes or no: does your firm have a legal-aid contract?")
        return value

    @field_validator("consent")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("Confirm that your client has consented to this referral. Without their consent we "
                             "cannot take it.")
        return value

    def details(self) -> dict[str, str]:
        """The answers as a request's details (DETAIL_LABELS keys): the solicitor is who asked."""
        contract = "yes" if self.legal_aid_contract else "no"
        answers = {key: getattr(self, key) for key in DETAIL_LABELS if key in type(self).model_fields}
        answers |= {"requester_name": self.caseworker, "requester_organisation": self.firm,
                    "callback_phone": self.solicitor_phone, "callback_email": self.solicitor_email,
                    "callback_notes": f"Legal-aid contract: {contract}"}
        return {key: value for key in DETAIL_LABELS if (value := answers.get(key))}
