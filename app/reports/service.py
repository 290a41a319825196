"""Releasing summaries: the differencing guard, the release log, and reading past releases back exactly."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, undefer

from app.auth.models import Role, User
from app.dates import format_date
from app.detention.models import Facility
from app.errors import RuleBroken
from app.reports import exports, summaries
from app.reports.disclosure import DisclosureRefused, Policy
from app.reports.models import ReleaseKind, SummaryRelease
from app.reports.summaries import SummaryParams

FORMATS = {"html": "On screen", "csv": "CSV", "pdf": "PDF", "json": "JSON"}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf", "json": "application/json",
               "html": "application/json"}


class ReleaseRefused(Exception):
    """A release that must not go out. `differencing` says an admin may override it with a written reason.
    Not a vocabulary error: the summary page records the refusal and shows why beside the override, so the
    refusal commits."""

    def __init__(self, reason: str, *, differencing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.differencing = differencing


def differencing_clash(db: Session, ids: list[int], k: int) -> SummaryRelease | None:
    """The earliest aggregate release whose population differs from `ids` by 1 to k-1 people: publishing both
    would let a reader subtract one from the other and learn about those few people."""
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


@dataclass(frozen=True)
class Produced:
    release: SummaryRelease
    document: dict[str, Any]


def release_summary(db: Session, user: User, params: SummaryParams, output_format: str, *, today: date,
                    zone: ZoneInfo, k: int, now: datetime, render_html: Callable[[dict[str, Any]], str],
                    override_reason: str | None = None) -> Produced:
    """Compute, protect and log one release. Raises RuleBroken for a period that cannot be summarised, and
    ReleaseRefused (nothing is written) when the summary must not go out."""
    if output_format not in FORMATS:
        raise ValueError(f"unknown output format {output_format!r}")
    if params.end_date > today:
        raise RuleBroken.on("end_date", "The period cannot end after today.")
    if override_reason is not None and (user.role is not Role.admin or not override_reason.strip()):
        raise ReleaseRefused("Only an administrator can override the differencing guard, and only with a reason.")
    policy = Policy(k=k, rounding=params.rounding)
    with summaries.population(db, params, today):
        ids = summaries.population_ids(db)
        clash = differencing_clash(db, ids, k)
        if clash is not None and override_reason is None:
            raise ReleaseRefused(
                f"This summary counts a population that differs from release {clash.id} "
                f"({clash.created_at.date().isoformat()}) by fewer than {k} people. Publishing both would let a "
                "reader subtract one from the other and learn about those people. Choose a different period or "
                "filters, or ask an administrator to override with a reason.", differencing=True)
        computed = summaries.compute(db, params, today, zone)
    try:
        summary = summaries.build(computed, params, policy, now)
    except DisclosureRefused as exc:
        raise ReleaseRefused(f"The summary cannot be released safely: {exc}") from exc
    document = exports.summary_document(summary)
    output = _render(document, output_format, render_html)
    release = SummaryRelease(
        kind=ReleaseKind.aggregate, created_at=now, created_by_id=user.id,
        parameters=params.as_dict() | {"k": k}, population_fingerprint=summaries.fingerprint(ids),
        population_size=len(ids), output_format=output_format, output_sha256=hashlib.sha256(output).hexdigest(),
        output=output, population_ids=summaries.pack_ids(ids),
        override_reason=override_reason if clash is not None else None,
        overridden_by_id=user.id if clash is not None else None,
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

    @property
    def period(self) -> str | None:
        parameters = self.release.parameters
        if "start_date" not in parameters:
            return None
        return (f"{format_date(date.fromisoformat(parameters['start_date']))} to "
                f"{format_date(date.fromisoformat(parameters['end_date']))}")


def list_releases(db: Session, *, page: int, per_page: int) -> tuple[list[ReleaseRow], int]:
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
    return [ReleaseRow(*row) for row in rows], total


def get_release(db: Session, release_id: int, *, with_output: bool = False) -> ReleaseRow | None:
    creator, overrider = aliased(User), aliased(User)
    query = (select(SummaryRelease, creator.display_name, overrider.display_name)
             .join(creator, creator.id == SummaryRelease.created_by_id)
             .outerjoin(overrider, overrider.id == SummaryRelease.overridden_by_id)
             .where(SummaryRelease.id == release_id))
    if with_output:
        query = query.options(undefer(SummaryRelease.output))
    row = db.execute(query).first()
    return ReleaseRow(*row) if row else None


def facility_regions(db: Session) -> list[str]:
    return list(db.scalars(select(Facility.region).where(Facility.region.is_not(None)).distinct()
                           .order_by(Facility.region)))
