"""The audit log's hash chain: every new row linked to the one before it in its lane, and its verification.

Each row carries `chain_hash` = HMAC-SHA256(key, previous row's hash + "\\n" + canonical form of the row), where
the canonical form holds every field of the row and its place in the chain (day, lane, position). Changing,
removing, adding or moving a row therefore breaks a link that `verify` finds and names.

Partitions, so that writers do not queue on one row. A chain is a *lane*: an `AuditChainHead` row for one UTC
day, holding the position of the lane's last row. A transaction that flushes audit rows takes, for each
day they fall on, the first head of that day that no other transaction holds, with SELECT ... FOR UPDATE SKIP
LOCKED, in the same UPDATE that moves it on; when every head is held it opens a new lane (a new head row, whose
id nobody else can draw). So on
PostgreSQL concurrent writers never wait for each other here and never deadlock on heads, and a day has as many
lanes as it had writers at once. The lock is held until commit, so the next writer of that lane reads the head
as committed and no two rows ever share a predecessor; a rolled-back transaction rolls its head back with its
rows. The unique index on (chain_day, chain_lane, chain_seq) refuses a second row at one position whatever
happens. SQLite writes one transaction at a time (BEGIN IMMEDIATE), so there each day has one lane.

The key is derived from CASEWORK_SECRET_KEY, which the database does not hold: its owner can drop the
append-only triggers and rewrite rows, but cannot compute the links that would hide it. Changing the secret key
makes the existing chain unverifiable, as it makes the stored two-factor secrets unreadable.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    String,
    bindparam,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from app.audit.models import AuditChainHead, AuditEvent, Outcome
from app.config import Settings, get_settings
from app.db import READ_FIRST, begin_write, utcnow

# Changing the canonical form or the key's label makes every stored link fail, so both carry a version.
FORMAT = "casework-audit-v1"
_KEY_INFO = b"casework audit chain v1"
KINDS = ("edited", "deleted", "inserted", "reordered")
BATCH = 1000


@lru_cache(maxsize=4)
def _derive(secret: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=_KEY_INFO).derive(secret.encode())


def chain_key(settings: Settings | None = None) -> bytes:
    return _derive((settings or get_settings()).secret_key)


# --- the canonical form and one link --------------------------------------------------------------------------

def _json_plain(value: Any) -> Any:
    """Details as they read back from either database: PostgreSQL's JSONB gives 2.0 back as 2.0 but 1e20 as an
    integer, so integral floats count as integers."""
    if isinstance(value, dict):
        return {str(k): _json_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _details(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return ["unreadable", value if isinstance(value, str) else value.hex()]
    return _json_plain(json.loads(json.dumps(value)))


def _moment(value: Any) -> Any:
    """occurred_at as UTC ISO text, whether read typed (an aware datetime) or raw (SQLite's text)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def _day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def canonical(row: Any) -> bytes:
    """The bytes a link covers: every field of the row (but its id, which the database draws after the link is
    made) and its place in the chain. `row` is an AuditEvent or any row with the same attributes."""
    outcome = row.outcome.value if isinstance(row.outcome, enum.Enum) else row.outcome
    day = _day(row.chain_day)
    fields = [FORMAT, day.isoformat() if isinstance(day, date) else day, row.chain_lane, row.chain_seq,
              _moment(row.occurred_at), row.actor_user_id, row.action, outcome, row.object_type, row.object_id,
              row.person_id, row.ip_address, row.correlation_id, _details(row.details)]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(key: bytes, previous: str, row: Any) -> str:
    return hmac.new(key, previous.encode() + b"\n" + canonical(row), hashlib.sha256).hexdigest()


# --- writing: every new audit row is chained at the flush -----------------------------------------------------

# One statement in the common case (a page's audit row costs one more statement, not three): move the day's first
# free head on by n and read the hash of the row it pointed at. Written out because SQLAlchemy drops the table
# names in a SQLite RETURNING clause, which the correlated subquery needs.
_TAKE_LANE = """UPDATE audit_chain_heads SET last_seq = last_seq + :n
WHERE id = (SELECT id FROM audit_chain_heads WHERE chain_day = :day ORDER BY id LIMIT 1{lock})
RETURNING id, last_seq, (SELECT p.chain_hash FROM audit_events AS p WHERE p.chain_day = audit_chain_heads.chain_day
    AND p.chain_lane = audit_chain_heads.id AND p.chain_seq = audit_chain_heads.last_seq - :n)"""
_LAST_HASH = text("SELECT chain_hash FROM audit_events WHERE chain_day = :day AND chain_lane = :lane "
                  "AND chain_seq = :seq").bindparams(bindparam("day", type_=Date()))


def _take_lane(conn: Connection, day: date, n: int) -> tuple[int, int, str]:
    """Reserve n positions in a lane of `day` that this transaction now holds (see the module docstring):
    (lane, the position before them, the hash of the row there)."""
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect.name == "postgresql" else ""
    taken = conn.execute(text(_TAKE_LANE.format(lock=lock)).bindparams(bindparam("day", type_=Date())),
                         {"n": n, "day": day}).first()
    if taken is None:
        lane = conn.execute(insert(AuditChainHead).values(chain_day=day, last_seq=n)
                            .returning(AuditChainHead.id)).scalar_one()
        return lane, 0, ""
    lane, after, previous = taken
    before = after - n
    if previous is None and before > 0:
        # PostgreSQL: the head was released by a commit after this statement's snapshot was taken, so the lock
        # reached its newer version but the subquery did not see that commit's rows. A new statement does.
        previous = conn.scalar(_LAST_HASH, {"day": day, "lane": lane, "seq": before})
    # Still none: the row before was removed behind the triggers' back; verification reports it as deleted.
    return lane, before, previous or ""


def chain_rows(conn: Connection, events: list[Any], key: bytes) -> None:
    """Give each event (in the order given) its day, lane, position and hash, moving the heads on."""
    by_day: dict[date, list[Any]] = {}
    for e in events:
        by_day.setdefault(e.occurred_at.astimezone(UTC).date(), []).append(e)
    # Days in order, so that a transaction spanning two days takes their heads in the same order as any other.
    for day, rows in sorted(by_day.items()):
        lane, seq, previous = _take_lane(conn, day, len(rows))
        for e in rows:
            seq += 1
            e.chain_day, e.chain_lane, e.chain_seq = day, lane, seq
            e.chain_hash = previous = link(key, previous, e)


@event.listens_for(Session, "before_flush")
def _chain_new_audit_rows(session: Session, _context: Any, _instances: Any) -> None:
    new = [o for o in session.new if isinstance(o, AuditEvent) and o.chain_hash is None]
    if not new:
        return
    # The columns' defaults would only be applied by the INSERT, after the link that covers them is made.
    for e in new:
        e.occurred_at = e.occurred_at or utcnow()
        e.outcome = e.outcome or Outcome.success
        e.details = {} if e.details is None else e.details
    new.sort(key=lambda e: inspect(e).insert_order or 0)
    # On SQLite a read-first transaction must take the write lock before reading the heads, or another writer
    # could move a head between this read and this write.
    begin_write(session)
    chain_rows(session.connection(), new, chain_key())


# --- verifying ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Broken:
    """The first broken link: the day of the chain, the row where it breaks (None when a whole lane is gone),
    what is wrong (one of KINDS) and how that shows."""

    day: date
    row_id: int | None
    kind: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    rows: int
    days: int
    broken: Broken | None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(verdict: Verdict) -> str:
    broken = verdict.broken
    if broken is None:
        return f"Audit trail intact: {_plural(verdict.rows, 'row')} in {_plural(verdict.days, 'day')}."
    where = f"on {broken.day.isoformat()}" + (f" at row {broken.row_id}" if broken.row_id is not None else "")
    return f"Audit trail broken {where}: {broken.kind} ({broken.detail})."


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent view of the log and its heads while writers carry on: PostgreSQL's REPEATABLE READ, or a
    SQLite read transaction (WAL), which takes no write lock."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn.execution_options(**{READ_FIRST: True})
        with conn.begin():
            yield conn


def _raw_columns() -> list[Any]:
    # Read untyped where a tampered value could fail to load (an outcome no enum knows, text that is not a
    # time or not JSON): such a value must show as a broken link, not stop the check.
    t = AuditEvent.__table__.c
    return [t.id, type_coerce(t.occurred_at, String), t.actor_user_id, t.action, type_coerce(t.outcome, String),
            t.object_type, t.object_id, t.person_id, t.ip_address, t.correlation_id, type_coerce(t.details, String),
            type_coerce(t.chain_day, String), t.chain_lane, t.chain_seq, t.chain_hash]


def row_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AuditEvent.__table__)) or 0


@dataclass
class _Lane:
    day: Any
    lane: int
    head: Any
    expected: int = 1
    previous: str = ""
    last_id: int | None = None


def _first_unchained(conn: Connection) -> Broken | None:
    t = AuditEvent.__table__.c
    row = conn.execute(select(t.id, type_coerce(t.occurred_at, String)).where(or_(
        t.chain_day.is_(None), t.chain_lane.is_(None), t.chain_seq.is_(None), t.chain_hash.is_(None)))
        .order_by(t.occurred_at, t.id).limit(1)).first()
    if row is None:
        return None
    moment = _moment(row[1])
    day = date.fromisoformat(moment[:10]) if isinstance(moment, str) and moment[:10].count("-") == 2 else date.min
    return Broken(day, row.id, "inserted", "it is not part of the chain: it was written around the application")


class _Walker:
    """Checks the rows of each lane in order, one row of look-ahead."""

    def __init__(self, key: bytes, heads: dict[int, Any]) -> None:
        self.key = key
        self.heads = heads
        self.seen_lanes: set[int] = set()
        self.days: set[Any] = set()
        self.lane: _Lane | None = None

    def start(self, row: Any) -> Broken | None:
        head = self.heads.get(row.chain_lane)
        self.lane = _Lane(_day(row.chain_day), row.chain_lane, head)
        self.seen_lanes.add(row.chain_lane)
        self.days.add(self.lane.day)
        if head is None or _day(head.chain_day) != self.lane.day:
            return self.broken(row, "inserted", "its chain has no head: the lane was written around the application")
        return None

    def broken(self, row: Any, kind: str, detail: str) -> Broken:
        day = _day(row.chain_day)
        return Broken(day if isinstance(day, date) else date.min, row.id, kind, detail)

    def check(self, row: Any, following: Any | None) -> Broken | None:
        lane = self.lane
        if lane is None:
            raise RuntimeError("start() must be called for the first row of each lane")
        position = f"position {row.chain_seq} of the day's chain"
        if row.chain_seq < lane.expected:
            return self.broken(row, "inserted", f"a second row at {position}")
        if row.chain_seq > lane.expected:
            missing = row.chain_seq - lane.expected
            return self.broken(row, "deleted", f"{missing} row(s) missing before it, from position {lane.expected}")
        if row.chain_seq > lane.head.last_seq:
            return self.broken(row, "inserted", f"it comes after the end of the chain ({position}, which ends at "
                                                f"{lane.head.last_seq})")
        if lane.last_id is not None and row.id < lane.last_id:
            return self.broken(row, "reordered", f"it stands at {position}, after row {lane.last_id}, written later")
        if link(self.key, lane.previous, row) != row.chain_hash:
            if following is None or following.chain_lane != row.chain_lane:
                return self.broken(row, "edited", f"its contents no longer match its hash, at {position}")
            if following.id < row.id and following.chain_seq == row.chain_seq + 1:
                return self.broken(row, "reordered", f"it stands at {position}, before row {following.id}, "
                                                     "written earlier")
            # The next row still links to this row's hash: this row's contents were changed. It does not: the
            # hash was rewritten too.
            if link(self.key, row.chain_hash, following) == following.chain_hash:
                return self.broken(row, "edited", f"its contents no longer match its hash, at {position}")
            return self.broken(row, "edited", f"neither its contents nor its hash match the chain, at {position}")
        lane.previous, lane.last_id = row.chain_hash, row.id
        lane.expected += 1
        return None

    def finish(self, last: Any) -> Broken | None:
        lane = self.lane
        if lane is None or lane.head is None:
            return None
        written = lane.expected - 1
        if written < lane.head.last_seq:
            return self.broken(last, "deleted", f"{lane.head.last_seq - written} row(s) missing after it, at the end "
                                                f"of the day's chain (position {written + 1} on)")
        return None

    def lost_lanes(self) -> Broken | None:
        gone = [h for lane, h in sorted(self.heads.items()) if lane not in self.seen_lanes and h.last_seq > 0]
        if not gone:
            return None
        head = min(gone, key=lambda h: (str(h.chain_day), h.id))
        day = _day(head.chain_day)
        return Broken(day if isinstance(day, date) else date.min, None, "deleted",
                      f"every row of one of the day's chains ({head.last_seq}) is missing")


def verify(engine: Engine, *, progress: Callable[[int], None] | None = None) -> Verdict:
    """Recompute every lane of every day, in the chain's order (day, lane, position): the rows, the days and the
    first broken link, or None. `progress` is told of every BATCH rows checked."""
    key = chain_key()
    t = AuditEvent.__table__.c
    with _snapshot(engine) as conn:
        total = conn.scalar(select(func.count()).select_from(AuditEvent.__table__)) or 0
        heads_table = AuditChainHead.__table__
        heads = {h.id: h for h in conn.execute(select(heads_table.c.id, type_coerce(heads_table.c.chain_day, String),
                                                      heads_table.c.last_seq))}
        walker = _Walker(key, heads)
        rows = conn.execute(select(*_raw_columns())
                            .where(t.chain_day.is_not(None), t.chain_lane.is_not(None), t.chain_seq.is_not(None),
                                   t.chain_hash.is_not(None))
                            .order_by(t.chain_day, t.chain_lane, t.chain_seq, t.id)
                            .execution_options(yield_per=BATCH))
        broken, done = _walk(walker, iter(rows), progress)
        if broken is None:
            broken = walker.lost_lanes()
        unchained = _first_unchained(conn)
    if unchained is not None and (broken is None or unchained.day < broken.day):
        broken = unchained
    if progress is not None and done % BATCH:
        progress(done % BATCH)
    return Verdict(total, len(walker.days), broken)


def _walk(walker: _Walker, rows: Iterator[Any], progress: Callable[[int], None] | None) -> tuple[Broken | None, int]:
    done = 0
    row = next(rows, None)
    current = None
    while row is not None:
        following = next(rows, None)
        if (row.chain_day, row.chain_lane) != current:
            current = (row.chain_day, row.chain_lane)
            broken = walker.start(row)
            if broken is not None:
                return broken, done
        broken = walker.check(row, following)
        if broken is None and (following is None or following.chain_lane != row.chain_lane
                               or following.chain_day != row.chain_day):
            broken = walker.finish(row)
        if broken is not None:
            return broken, done
        done += 1
        if progress is not None and done % BATCH == 0:
            progress(BATCH)
        row = following
    return None, done
