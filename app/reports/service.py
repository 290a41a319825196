"""Releasing summaries: the differencing guard, the release log, and reading past releases back exactly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, aliased, undefer

from app.auth.models import Role, User
from app.consent import service as consent_service
from app.consent.models import ConsentPurpose
from app.dates import format_date
from app.detention.models import FACILITY_TYPE_LABELS, Facility, FacilityType
from app.errors import RuleBroken
from app.reports import exports, lattice, periods, summaries
from app.reports.disclosure import DisclosureRefused, Policy
from app.reports.models import CaseNarrative, ReleaseKind, SummaryRelease
from app.reports.summaries import SummaryParams
from app.visits.models import Visit, VisitStatus

FORMATS = {"html": "On screen", "csv": "CSV", "pdf": "PDF", "json": "JSON"}


def media_type(release: SummaryRelease) -> tuple[str, str]:
    """The true media type and file extension of what a release keeps. A summary released on screen keeps its
    JSON document (the page is drawn from it again); a narrative exported as HTML keeps the HTML."""
    if release.output_format == "html":
        if release.kind is ReleaseKind.narrative:
            return "text/html; charset=utf-8", "html"
        return "application/json", "json"
    return {"csv": ("text/csv; charset=utf-8", "csv"), "pdf": ("application/pdf", "pdf"),
            "json": ("application/json", "json")}[release.output_format]


def withdrawn(db: Session, releases: list[SummaryRelease], today: date) -> set[int]:
    """The ids of the narrative releases among these whose person's research consent no longer stands (or whose
    narrative is gone with its person): researchers can no longer read them."""
    narrative_of = {r.id: int(r.parameters["narrative_id"]) for r in releases if r.kind is ReleaseKind.narrative}
    if not narrative_of:
        return set()
    standing = set(db.scalars(
        select(CaseNarrative.id).where(
            CaseNarrative.id.in_(set(narrative_of.values())),
            CaseNarrative.person_id.in_(consent_service.people_consenting(ConsentPurpose.anonymised_research,
                                                                          today)))))
    return {release_id for release_id, narrative_id in narrative_of.items() if narrative_id not in standing}


class ReleaseRefused(Exception):
    """A release that must not go out. `differencing` says an admin may override it with a written reason.
    Not a vocabulary error: the summary page records the refusal and shows why beside the override, so the
    refusal commits."""

    def __init__(self, reason: str, *, differencing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.differencing = differencing


def differencing_clash(db: Session, ids: list[int], k: int) -> SummaryRelease | None:
    """The earliest aggregate release, of any period, whose population differs from `ids` by 1 to k-1 people:
    publishing both would let a reader subtract one from the other and learn about those few people."""
    size = len(ids)
    # Two populations whose sizes differ by k or more differ by at least k people: only near sizes need a look.
    candidates = db.scalars(
        select(SummaryRelease).options(undefer(SummaryRelease.population_ids))
        .where(SummaryRelease.kind == ReleaseKind.aggregate, SummaryRelease.population_ids.is_not(None),
               SummaryRelease.population_size > size - k, SummaryRelease.population_size < size + k)
        .order_by(SummaryRelease.id)
    )
    mine = frozenset(ids)
    for release in candidates:
        assert release.population_ids is not None  # noqa: S101  (type narrowing: the code above guarantees it)
        difference = len(mine.symmetric_difference(summaries.unpack_ids(release.population_ids)))
        if 0 < difference < k:
            return release
    return None


def contribution_clash(contributions: summaries.Contributions, linked: list[SummaryRelease],
                       k: int) -> SummaryRelease | None:
    """The first linked release from which this one differs by the contribution of 1 to k-1 people: the same
    people with one more event counted, say. Subtracting one release from the other would tell about them."""
    ids, digests = contributions.arrays()
    for release in linked:
        if release.contributions is None:
            continue
        their_ids, their_digests = summaries.unpack_contributions(release.contributions)
        common, mine_at, theirs_at = np.intersect1d(ids, their_ids, assume_unique=True, return_indices=True)
        differ = (len(ids) - len(common) + len(their_ids) - len(common)
                  + int(np.count_nonzero(digests[mine_at] != their_digests[theirs_at])))
        if 0 < differ < k:
            return release
    return None


@dataclass(frozen=True)
class Produced:
    release: SummaryRelease
    document: dict[str, Any]


def release_label(release: SummaryRelease) -> str:
    """A release as the refusals name it: its number, period and filters."""
    parameters = release.parameters
    period = (f"{format_date(release.period_start)} to {format_date(release.period_end)}"
              if release.period_start and release.period_end else "an unknown period")
    filters = [FACILITY_TYPE_LABELS[FacilityType(parameters["facility_type"])].lower()
               if parameters.get("facility_type") else None, parameters.get("region")]
    where = ", ".join(f for f in filters if f) or "all places"
    mode = ", rounded" if parameters.get("rounding") else ""
    return f"release {release.id} ({period}, {where}{mode})"


def linked_releases(db: Session, params: SummaryParams) -> list[SummaryRelease]:
    """Every earlier aggregate release whose period overlaps this one's, whatever its filters or mode; the same
    query released twice with the same tables is one release to the audit."""
    rows = db.scalars(
        select(SummaryRelease).options(undefer(SummaryRelease.tables), undefer(SummaryRelease.contributions),
                                       undefer(SummaryRelease.population_ids))
        .where(SummaryRelease.kind == ReleaseKind.aggregate, SummaryRelease.period_start <= params.end_date,
               SummaryRelease.period_end >= params.start_date)
        .order_by(SummaryRelease.id))
    seen: set[str] = set()
    linked = []
    for release in rows:
        query = {key: value for key, value in release.parameters.items() if key != "k"}
        key = hashlib.sha256(json.dumps([query, release.tables], sort_keys=True).encode()).hexdigest()
        if key not in seen:
            seen.add(key)
            linked.append(release)
    return linked


def _held(release: SummaryRelease) -> lattice.Held | None:
    if release.tables is None or release.period_start is None or release.period_end is None:
        return None
    published, truth = lattice.tables_from_json(release.tables)
    parameters = release.parameters
    return lattice.Held(label=release_label(release), start=release.period_start, end=release.period_end,
                        facility_type=parameters.get("facility_type"), region=parameters.get("region"),
                        rounding=bool(parameters.get("rounding")), published=published, truth=truth)


def _places(db: Session) -> dict[str, tuple[str, str | None]]:
    return {name: (kind.value, region) for name, kind, region in
            db.execute(select(Facility.name, Facility.type, Facility.region))}


def _broader(params: SummaryParams) -> str:
    """What to try instead, in plain words: the period's parent in the lattice, and fewer filters."""
    period = periods.spanning(params.start_date, params.end_date)
    options = []
    parent = period.parent() if period is not None else None
    if parent is not None:
        options.append(parent.label.lower().replace("the year", "the whole year"))
    if params.facility_type is not None or params.region is not None:
        options.append("all places")
    return (f" A broader query may pass: {' or '.join(options)}." if options else
            " Ask an administrator before releasing anything more about this period.")


def _one_mode(params: SummaryParams, ids: list[int], linked: list[SummaryRelease]) -> None:
    """Suppression and rounding of the same people and period together narrow what each hides."""
    mine = frozenset(ids)
    for release in linked:
        if bool(release.parameters.get("rounding")) == params.rounding or release.population_ids is None:
            continue
        if mine & summaries.unpack_ids(release.population_ids):
            rounded = bool(release.parameters.get("rounding"))
            raise ReleaseRefused(
                "Some of the people this summary counts were already counted for an overlapping period "
                f"{'rounded to the nearest 5' if rounded else 'with small numbers hidden'}, in "
                f"{release_label(release)}. Summaries of the same people and period use one way of protecting "
                f"small numbers, so choose {'rounding' if rounded else 'suppression'} or another period.")


def filter_choices(db: Session, today: date, k: int) -> tuple[list[FacilityType], list[str]]:
    """The facility types and regions the form offers: each covering at least two places where visits were made
    and at least 2k people whose research consent stands (a filter naming one place names that place)."""
    consenting = consent_service.people_consenting(ConsentPurpose.anonymised_research, today)
    minimum = minimum_population(k)

    def covered(column: Any) -> list[Any]:
        return [value for value, places, people in db.execute(
            select(column, func.count(distinct(Facility.id)), func.count(distinct(Visit.person_id)))
            .join(Visit, Visit.facility_id == Facility.id)
            .where(Visit.status == VisitStatus.signed, Visit.person_id.in_(consenting), column.is_not(None))
            .group_by(column).order_by(column))
            if places >= 2 and people >= minimum]

    return covered(Facility.type), covered(Facility.region)


def _check_filters(db: Session, params: SummaryParams, today: date, k: int) -> None:
    types, regions = filter_choices(db, today, k)
    errors = {}
    if params.facility_type is not None and params.facility_type not in types:
        errors["facility_type"] = ("Choose another type of place: this one covers too few places or people to be "
                                   "shown on its own.")
    if params.region is not None and params.region not in regions:
        errors["region"] = "Choose another region: this one covers too few places or people to be shown on its own."
    if not errors and params.facility_type is not None and params.region is not None:
        consenting = consent_service.people_consenting(ConsentPurpose.anonymised_research, today)
        places, people = db.execute(
            select(func.count(distinct(Facility.id)), func.count(distinct(Visit.person_id)))
            .join(Visit, Visit.facility_id == Facility.id)
            .where(Visit.status == VisitStatus.signed, Visit.person_id.in_(consenting),
                   Facility.type == params.facility_type, Facility.region == params.region)).one()
        if places < 2 or people < minimum_population(k):
            errors["region"] = ("This type of place and this region together cover too few places or people to be "
                                "shown: choose one of them only.")
    if errors:
        raise RuleBroken(errors)


def minimum_population(k: int) -> int:
    """The fewest people a summary may count: below it every cell is small, which itself tells things."""
    return 2 * k


def release_summary(db: Session, user: User, params: SummaryParams, output_format: str, *, today: date,
                    zone: ZoneInfo, k: int, now: datetime, render_html: Callable[[dict[str, Any]], str],
                    override_reason: str | None = None) -> Produced:
    """Compute, protect, audit together with every linked release, and log one release. Raises RuleBroken for a
    query the form should not have offered, and ReleaseRefused (nothing is written) when it must not go out."""
    if output_format not in FORMATS:
        raise ValueError(f"unknown output format {output_format!r}")
    if params.end_date >= today:
        raise RuleBroken.on("period", "Choose a period that has ended.")
    if override_reason is not None and (user.role is not Role.admin or not override_reason.strip()):
        raise ReleaseRefused("Only an administrator can override the differencing guard, and only with a reason.")
    _check_filters(db, params, today, k)
    policy = Policy(k=k, rounding=params.rounding)
    linked = linked_releases(db, params)
    with summaries.population(db, params, today):
        ids = summaries.population_ids(db)
        if len(ids) < minimum_population(k):
            raise ReleaseRefused(
                f"This summary would count fewer than {minimum_population(k)} people, the fewest a summary may "
                f"count.{_broader(params)}")
        _one_mode(params, ids, linked)
        computed = summaries.compute(db, params, today, zone)
    clash = differencing_clash(db, ids, k) or contribution_clash(computed.contributions, linked, k)
    if clash is not None and override_reason is None:
        raise ReleaseRefused(
            f"This summary differs from {release_label(clash)} by what fewer than {k} people contribute: the people "
            "counted or what is counted about them. Publishing both would let a reader subtract one from the other "
            "and learn about those people. Choose a different period or filters, or ask an administrator to "
            "override with a reason.", differencing=True)
    try:
        summary = summaries.build(computed, params, policy, now)
    except DisclosureRefused as exc:
        raise ReleaseRefused(f"The summary cannot be released safely: {exc}") from exc
    new = lattice.Held(label="this summary", start=params.start_date, end=params.end_date,
                       facility_type=params.facility_type.value if params.facility_type else None,
                       region=params.region, rounding=params.rounding, published=summary.tables,
                       truth=computed.tables)
    overridden = clash is not None
    earlier = [h for h in map(_held, linked) if h is not None]
    places = _places(db)
    try:
        lattice.audit_together(new, earlier, k, places)
    except lattice.LinkedRefusal as exc:
        if not (exc.differencing and override_reason is not None):
            raise ReleaseRefused(f"The summary cannot be released safely: {exc}{_broader(params)}",
                                 differencing=exc.differencing) from exc
        # The administrator overrides the differencing guard: differences are let through, hidden counts are not.
        try:
            lattice.audit_together(new, earlier, k, places, differences=False)
        except lattice.LinkedRefusal as hidden:
            raise ReleaseRefused(f"The summary cannot be released safely: {hidden}{_broader(params)}") from hidden
        overridden = True
    document = exports.summary_document(summary)
    output = _render(document, output_format, render_html)
    release = SummaryRelease(
        kind=ReleaseKind.aggregate, created_at=now, created_by_id=user.id,
        parameters=params.as_dict() | {"k": k}, population_fingerprint=summaries.fingerprint(ids),
        population_size=len(ids), output_format=output_format, output_sha256=hashlib.sha256(output).hexdigest(),
        output=output, population_ids=summaries.pack_ids(ids), period_start=params.start_date,
        period_end=params.end_date, tables=lattice.tables_json(summary.tables, computed.tables),
        contributions=computed.contributions.packed(),
        override_reason=override_reason if overridden else None,
        overridden_by_id=user.id if overridden else None,
    )
    db.add(release)
    db.flush()
    return Produced(release=release, document=document)


def _render(document: dict[str, Any], output_format: str, render_html: Callable[[dict[str, Any]], str]) -> bytes:
    if output_format == "csv":
        return exports.to_csv(document)
    if output_format == "pdf":
        return exports.to_pdf(render_html(document))
    # An on-screen release keeps its document, from which the page is drawn again exactly as it was.
    return exports.to_json(document)


def record_narrative_export(db: Session, user: User, narrative_id: int, person_id: int, output_format: str,
                            output: bytes, now: datetime) -> SummaryRelease:
    release = SummaryRelease(
        kind=ReleaseKind.narrative, created_at=now, created_by_id=user.id,
        parameters={"narrative_id": narrative_id}, population_fingerprint=summaries.fingerprint([person_id]),
        population_size=1, output_format=output_format, output_sha256=hashlib.sha256(output).hexdigest(),
        output=output,
    )
    db.add(release)
    db.flush()
    return release


# --- reading ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseRow:
    release: SummaryRelease
    created_by: str
    overridden_by: str | None
    withdrawn: bool = False

    @property
    def period(self) -> str | None:
        parameters = self.release.parameters
        if "start_date" not in parameters:
            return None
        return (f"{format_date(date.fromisoformat(parameters['start_date']))} to "
                f"{format_date(date.fromisoformat(parameters['end_date']))}")


def list_releases(db: Session, *, page: int, per_page: int, today: date) -> tuple[list[ReleaseRow], int]:
    creator, overrider = aliased(User), aliased(User)
    total = db.scalar(select(func.count()).select_from(SummaryRelease)) or 0
    if (page - 1) * per_page >= total:
        return [], total  # past the last page: no query, and no offset too large for the database
    rows = db.execute(
        select(SummaryRelease, creator.display_name, overrider.display_name)
        .join(creator, creator.id == SummaryRelease.created_by_id)
        .outerjoin(overrider, overrider.id == SummaryRelease.overridden_by_id)
        .order_by(SummaryRelease.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    gone = withdrawn(db, [row[0] for row in rows], today)
    return [ReleaseRow(*row, withdrawn=row[0].id in gone) for row in rows], total


def get_release(db: Session, release_id: int, today: date, *, with_output: bool = False) -> ReleaseRow | None:
    creator, overrider = aliased(User), aliased(User)
    query = (select(SummaryRelease, creator.display_name, overrider.display_name)
             .join(creator, creator.id == SummaryRelease.created_by_id)
             .outerjoin(overrider, overrider.id == SummaryRelease.overridden_by_id)
             .where(SummaryRelease.id == release_id))
    if with_output:
        query = query.options(undefer(SummaryRelease.output))
    row = db.execute(query).first()
    return ReleaseRow(*row, withdrawn=bool(withdrawn(db, [row[0]], today))) if row else None
