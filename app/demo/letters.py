"""Demo letters: for about one open, detained case in four, a draft or an issued letter filled from a shipped
template with the case's own (fictional) details, as the letter pages would make it."""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from typing import Any

from app.evidence.models import RULE35_LIMB_LABELS, Rule35Limb
from app.medicolegal import letter_pdf, letter_templates, letters
from app.medicolegal.letter_models import Letter
from app.medicolegal.letters import NOT_RECORDED, letter_date

TABLE = Letter.__table__
CHANCE = 0.25
# The fictional clinical concern written into each demo letter in place of the template's bracketed prompt.
CONCERNS = (
    "They told us they have had chest pains at night for two weeks and have not yet seen the centre's GP.",
    "They described flashbacks and poor sleep since arrival, and are not eating regularly.",
    "Their regular medication for epilepsy ran out four days ago and has not been replaced.",
    "They have scars consistent with their account of ill-treatment, which they say has not been recorded.",
)


def add(gen: Any, case: Any) -> None:
    """One letter for some open cases held now (app/demo/generator.py _case_life). Draws from a stream of its own
    per person, so the rows of every other table stay as they were."""
    rng = random.Random(f"letters-{case.person_id}")  # noqa: S311  (demo data, not security)
    facility = gen._facility_on(case, gen.today) if case.active_until >= gen.today else None
    if facility is None or rng.random() >= CHANCE:
        return
    reports = sorted((row for row in gen.rows[_table(gen, "rule35_records")] if row["person_id"] == case.person_id),
                     key=lambda row: row["written_date"])
    # The Rule 35 follow-up only for a case with a Rule 35 report to follow up.
    templates = [t for t in letter_templates.load_all(letter_templates.SHIPPED_DIR)
                 if t.usable and (reports or t.kind != "rule35_follow_up")]
    if not templates:
        return
    template = rng.choice(templates)
    person = next(row for row in reversed(gen.rows[_table(gen, "people")]) if row["id"] == case.person_id)
    made_day = gen.today - rng.randint(0, 20)
    issued = rng.random() < 0.5
    maker = gen.coordinator if rng.random() < 0.6 else case.clinician
    signer = _signer(gen, maker)
    start = min((s for s, end, _ in case.episodes if end is None), default=None)
    values = {name: NOT_RECORDED for name in letter_templates.FIELDS} | {
        "person_name": f"{case.given_names or case.given} {case.family}", "given_names": case.given_names or case.given,
        "family_name": case.family, "case_reference": person["reference"],
        "date_of_birth": letters.birth_year_text(case.birth_year, "year") if case.birth_year else NOT_RECORDED,
        "home_office_reference": case.ho_reference or NOT_RECORDED,
        "centre": gen.facility_names.get(facility, NOT_RECORDED),
        "detention_start_date": letter_date(date.fromordinal(start)) if start else NOT_RECORDED,
        "days_detained": str(made_day - start + 1) if start and made_day >= start else NOT_RECORDED,
        **(_rule35_values(reports[-1]) if reports else {}),
        **_visit_values(gen, case.person_id, made_day), **_representative_values(gen, case.person_id),
        "today": letter_date(date.fromordinal(made_day)), "signer_name": signer[0], "signer_role": signer[1],
    }
    body = letter_templates.fill(template, values)
    body = letter_pdf.PLACEHOLDER.sub(rng.choice(CONCERNS), body, count=1)
    made_at = gen._stamp(rng, made_day)
    row: dict[str, Any] = {
        "id": gen._id(TABLE), "person_id": case.person_id, "template_key": template.key, "title": template.title,
        "body": body, "state": "issued" if issued else "draft", "made_by_id": maker, "made_at": made_at,
        "changed_at": None, "issued_by_id": maker if issued else None,
        "issued_at": made_at + timedelta(minutes=rng.randint(5, 90)) if issued else None,
        "content_sha256": None, "version": 2 if issued else 1,
    }
    if issued:
        row["issued_at"] = min(row["issued_at"], gen.now)
        row["content_sha256"] = hashlib.sha256(letters.canonical_form(
            letter_id=row["id"], person_id=row["person_id"], template_key=row["template_key"], title=row["title"],
            body=row["body"], issued_by_id=row["issued_by_id"], issued_at=row["issued_at"])).hexdigest()
    gen.rows[TABLE].append(row)


def _signer(gen: Any, user_id: int) -> tuple[str, str]:
    from app.demo.generator import DEMO_USERS  # the generator imports this module: read its users when called

    email = {gen.coordinator: "coordinator@example.org", gen.clinician: "clinician@example.org",
             gen.clinician2: "clinician2@example.org"}.get(user_id)
    for address, name, role in DEMO_USERS:
        if address == email:
            return name, letters.ROLE_NAMES.get(role, str(role))
    return NOT_RECORDED, NOT_RECORDED


def _table(gen: Any, name: str) -> Any:
    """A table as the generator keys its rows."""
    return next(table for table in gen.rows if table.name == name)


def _day(value: Any) -> date | None:
    return date.fromordinal(value) if isinstance(value, int) else value


def _visit_values(gen: Any, person_id: int, made_day: int) -> dict[str, str]:
    signed = [row for row in gen.rows[_table(gen, "visits")] if row["person_id"] == person_id
              and row["status"] == "signed" and (_day(row["visit_date"]) or date.max).toordinal() <= made_day]
    if not signed:
        return {}
    latest = max(signed, key=lambda row: (_day(row["visit_date"]), row["id"]))
    return {"latest_visit_date": letter_date(_day(latest["visit_date"])),
            "latest_visit_clinician": _signer(gen, latest["clinician_id"])[0]}


def _representative_values(gen: Any, person_id: int) -> dict[str, str]:
    acting = [row for row in gen.rows[_table(gen, "representations")]
              if row["person_id"] == person_id and row["ended_at"] is None]
    if not acting:
        return {}
    firm, caseworker, _, _ = gen.representative_contacts[acting[-1]["legal_representative_id"]]
    return {"legal_representative": ", ".join(part for part in (firm, caseworker) if part)}


def _rule35_values(report: dict[str, Any]) -> dict[str, str]:
    return {"rule35_limb": RULE35_LIMB_LABELS[Rule35Limb(report["limb"])],
            "rule35_written_date": letter_date(_day(report["written_date"])),
            "rule35_sent_date": letter_date(_day(report.get("sent_date"))),
            "rule35_response_date": letter_date(_day(report.get("response_date")))}
