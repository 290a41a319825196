"""The account page where each user chooses which reminder e-mails they get: a daily digest, the digest and
immediate messages about urgent events, or none."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import ReminderChoice, User
from app.auth.permissions import Permission
from app.config import get_settings
from app.db import DbSession
from app.errors import RuleBroken
from app.web.forms import Posted
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/account")
# Every role chooses its own reminders; view_home is the permission every role holds.
OwnAccount = Depends(require(Permission.view_home))
PATH = "/account/reminders"

CHOICE_LABELS = {
    ReminderChoice.digest: "A daily digest",
    ReminderChoice.immediate: "The daily digest, and a message as soon as something is urgent",
    ReminderChoice.none: "No reminder e-mails",
}
CHOICE_HINTS = {
    ReminderChoice.digest: "One e-mail each morning when something is due, overdue or urgent; none when nothing is.",
    ReminderChoice.immediate: "As well as the digest, one e-mail for each removal within 72 hours and again "
                              "within 24 hours, and for each hearing today or tomorrow.",
    ReminderChoice.none: "Nothing by e-mail: you see what is due when you sign in.",
}
CHOSEN = {
    ReminderChoice.digest: "You will get a daily digest of reminders.",
    ReminderChoice.immediate: "You will get a daily digest and a message as soon as something is urgent.",
    ReminderChoice.none: "You will get no reminder e-mails.",
}


class RemindersForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminders: ReminderChoice | None = Field(default=None, title="Which reminder e-mails you get")


def choose(db: Session, user: User, choice: ReminderChoice | None) -> bool:
    """Sets the user's choice; whether it changed."""
    if choice is None:
        raise RuleBroken.on("reminders", "Choose which reminder e-mails you get.")
    changed = user.reminders is not choice
    user.reminders = choice
    db.flush()
    return changed


@router.get("/reminders")
def reminders_form(request: Request, user: User = OwnAccount) -> Response:
    return render(request, "work/reminders.html", {
        "values": {"reminders": user.reminders.value}, "errors": {},
        "options": [(choice.value, label) for choice, label in CHOICE_LABELS.items()],
        "hints": {choice.value: hint for choice, hint in CHOICE_HINTS.items()},
        "email": user.email, "enabled": get_settings().reminders_enabled,
    })


@router.post("/reminders")
def reminders_choose(db: DbSession, audit: Audit, user: User = OwnAccount,
                     data: RemindersForm = Posted(RemindersForm)) -> Response:
    if not choose(db, user, data.reminders):
        return done(PATH, "Nothing changed: " + CHOSEN[user.reminders][0].lower() + CHOSEN[user.reminders][1:],
                    kind="info")
    audit.record("account.reminders_changed", object_type="user", object_id=user.id, choice=user.reminders.value)
    return done(PATH, CHOSEN[user.reminders])
