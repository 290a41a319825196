"""Application settings read from the environment (prefix CASEWORK_) and the development secret file."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"

# The demo password is public (README, start-up banner); production refuses it for any account.
DEMO_PASSWORD = "demo-casework-2026"  # noqa: S105


class SettingsError(RuntimeError):
    """Settings the application refuses to start with. The message names each setting and what is wrong with
    it, and never a value: pydantic's own message quotes the input, which holds the secret and master keys."""

    @classmethod
    def of(cls, error: ValidationError) -> SettingsError:
        problems = []
        for problem in error.errors(include_input=False, include_url=False):
            message = str(problem["msg"]).removeprefix("Value error, ")
            setting = "CASEWORK_" + "_".join(str(part) for part in problem["loc"]).upper()
            problems.append(f"{setting}: {message}" if problem["loc"] else message)
        return cls("The casework tracker cannot start: " + "; ".join(problems))


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SmtpTls(StrEnum):
    starttls = "starttls"  # connect in plain text, then STARTTLS before anything is said (port 587)
    ssl = "ssl"  # TLS from the first byte (port 465)
    none = "none"  # no encryption: only for a mail relay on the same machine or network


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = ""
    var_dir: Path = DEFAULT_VAR_DIR
    secret_key: str = Field(default="", repr=False)
    # Master keys that wrap each person's data key (app/crypto): "id:base64" entries (32 random bytes each),
    # separated by commas or new lines, the first one current; the others only open keys not yet re-wrapped
    # by `casework rotate-master-key`. Or the same text in a file (CASEWORK_MASTER_KEY_FILE).
    master_key: str = Field(default="", repr=False)
    master_key_file: Path | None = None
    time_zone: str = "Europe/London"
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=7 * 24)
    upload_limit_mb: int = Field(default=20, ge=1, le=500)
    # A subject access export is built in memory: the largest ZIP one may be.
    subject_access_limit_mb: int = Field(default=500, ge=10, le=4000)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_throttle_window_minutes: int = Field(default=15, ge=1)
    # Two-factor sign-in: unset means required in production only, so the demo signs in with just the password.
    mfa_required: bool | None = None
    # The account name authenticator apps show beside the codes.
    mfa_issuer: str = Field(default="Casework tracker", min_length=1, max_length=60)
    # Break-glass: how long a clinician's emergency access to a person not assigned to them lasts (15 min - 12 h).
    break_glass_minutes: int = Field(default=240, ge=15, le=12 * 60)
    # Alert thresholds (see app/alerts/rules.py for what each rule means and where it comes from).
    alert_detained_days: int = Field(default=28, ge=1)
    alert_band_crossed_recent_days: int = Field(default=7, ge=1)
    alert_auto_bail_months: int = Field(default=4, ge=1, le=48)
    alert_bail_reapplication_days: int = Field(default=28, ge=1)
    alert_admission_exam_irc_hours: int = Field(default=24, ge=1)
    alert_admission_exam_sthf_hours: int = Field(default=2, ge=1)
    # Two working days is the figure in the Home Office's Rule 35 guidance as we read it; unverified, so a setting.
    alert_rule35_response_working_days: int = Field(default=2, ge=1)
    alert_fluid_refusal_hours: int = Field(default=24, ge=1)
    alert_food_refusal_hours: int = Field(default=48, ge=1)
    alert_nrm_decision_working_days: int = Field(default=5, ge=1)
    # A removal direction that is set raises removal_imminent this many hours before it, and is marked urgent
    # from the second figure on.
    alert_removal_hours: int = Field(default=72, ge=1)
    alert_removal_urgent_hours: int = Field(default=24, ge=1)
    # A hearing with no outcome raises hearing_soon this many days before it.
    alert_hearing_days: int = Field(default=2, ge=1)
    # A request for help still undecided after this long raises request_untriaged, by its urgency.
    alert_request_immediate_hours: int = Field(default=4, ge=1)
    alert_request_this_week_days: int = Field(default=3, ge=1)
    alert_request_routine_days: int = Field(default=10, ge=1)
    # The public referral form for legal representatives (/refer): on or off, and how often one address may send.
    referral_form_enabled: bool = True
    referral_form_per_hour: int = Field(default=5, ge=1)
    dashboard_upcoming_days: int = Field(default=7, ge=1)
    dashboard_no_visit_days: int = Field(default=28, ge=1)
    # How many stale alert flags one dashboard request re-checks before counting (see app/alerts/state.py).
    alert_refresh_budget: int = Field(default=2000, ge=100)
    # Disclosure control for anonymised summaries (DESIGN section 4): counts below k are never published.
    disclosure_k: int = Field(default=10, ge=5, le=100)
    # Retention: a closed case is erased this many whole years after its closing date (`casework retention`).
    retention_years: int = Field(default=6, ge=1, le=100)
    # Reminder e-mails (app/work/reminders.py, `casework send-reminders`): no SMTP host, no e-mail at all.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: SmtpTls = SmtpTls.starttls
    smtp_username: str | None = None
    # Read from CASEWORK_SMTP_PASSWORD, exactly as given. Named "secret" here because every model field named
    # *password* is taken for a form's (tests/auth/test_password_policy.py), and this is no form.
    smtp_secret: str | None = Field(default=None, repr=False,
                                    validation_alias=AliasChoices("casework_smtp_password", "smtp_secret"))
    smtp_timeout_seconds: int = Field(default=30, ge=1, le=600)
    mail_from: str = ""
    # The address of the site as users reach it, for the links in e-mails (default: http://host:port).
    base_url: str = ""
    # Digests go out from the first run at or after this hour of the organisation's day, so a sender run every
    # few minutes for the immediate messages does not send the day's digest at midnight.
    reminders_digest_hour: int = Field(default=7, ge=0, le=23)
    # Letters (app/medicolegal/letter_templates.py): the folder of template files an admin may change (unset: the
    # shipped ones), and the letterhead printed at the top of each issued letter, lines separated by "|".
    letter_templates_dir: Path | None = None
    letterhead: str = Field(default="", max_length=600)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    sql_echo: bool = False

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("smtp_host", "smtp_username", "smtp_secret")
    @classmethod
    def _empty_is_unset(cls, value: str | None, info: ValidationInfo) -> str | None:
        # An empty variable (CASEWORK_SMTP_HOST=) means unset; a password is otherwise kept exactly as given.
        if value is None or not value.strip():
            return None
        return value if info.field_name == "smtp_secret" else value.strip()

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (the address users open the site at)")
        return value

    @model_validator(mode="after")
    def _mail_settings(self) -> Settings:
        if self.smtp_host is not None and not self.base_url and self.environment is Environment.production:
            raise ValueError("CASEWORK_BASE_URL must be set in production when CASEWORK_SMTP_HOST is, for the "
                             "links in reminder e-mails")
        if not self.base_url:
            self.base_url = f"http://{self.host}:{self.port}"
        if self.smtp_host is None:
            return self
        self.mail_from = self.mail_from.strip()
        if "@" not in self.mail_from:
            raise ValueError("CASEWORK_MAIL_FROM must be an e-mail address when CASEWORK_SMTP_HOST is set")
        if (self.smtp_username is None) != (self.smtp_secret is None):
            raise ValueError("CASEWORK_SMTP_USERNAME and CASEWORK_SMTP_PASSWORD are set together or not at all")
        return self

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            if self.environment is Environment.production:
                raise ValueError("CASEWORK_DATABASE_URL must be set in production")
            self.database_url = f"sqlite:///{self.var_dir / 'casework.sqlite3'}"
        if not self.secret_key:
            if self.environment is Environment.production:
                raise ValueError("CASEWORK_SECRET_KEY must be set in production")
            self.secret_key = _development_secret(self.var_dir)
        elif len(self.secret_key) < 32:
            raise ValueError("CASEWORK_SECRET_KEY must be at least 32 characters")
        if not self.master_key and self.master_key_file is None and self.environment is Environment.production:
            raise ValueError("CASEWORK_MASTER_KEY or CASEWORK_MASTER_KEY_FILE must be set in production")
        if self.master_key_text:
            from app.crypto.primitives import parse_master_keys

            parse_master_keys(self.master_key_text)  # a malformed key stops start-up, not the first request
        if self.mfa_required is None:
            self.mfa_required = self.environment is Environment.production
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def reminders_enabled(self) -> bool:
        return self.smtp_host is not None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def upload_limit_bytes(self) -> int:
        return self.upload_limit_mb * 1024 * 1024

    @property
    def master_key_text(self) -> str:
        """The configured master key entries: the setting, else the key file, else (development and tests
        only) one key derived from the secret key, so the demo runs without configuration."""
        if self.master_key:
            return self.master_key
        if self.master_key_file is not None:
            return self.master_key_file.read_text()
        return ""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _development_secret(var_dir: Path) -> str:
    """Generate a secret once per checkout so that sessions survive restarts during development."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


def organisation_today(settings: Settings | None = None) -> date:
    """Today's date where the organisation works (not the server's, not UTC): the detention clock's "today"."""
    return datetime.now((settings or get_settings()).zone).date()


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError.of(exc) from None  # from None: the chained error would print the keys again
