"""Re-wrapping every data key and the index key under the current master key (`casework rotate-master-key`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from sqlalchemy import Engine, Table, bindparam, func, select, update

from app.crypto.keyring import INDEX_KEY_LABEL, person_key_label, request_key_label
from app.crypto.models import IndexKey, PersonKey
from app.crypto.primitives import MasterKeyring
from app.db import utcnow

BATCH_SIZE = 1000


def _requests() -> Table:
    from app.intake.models import HelpRequest

    return cast(Table, HelpRequest.__table__)  # a declarative model's table, typed as FromClause


def keys_to_rewrap(engine: Engine, master: MasterKeyring) -> int:
    requests = _requests()
    with engine.connect() as conn:
        return ((conn.scalar(select(func.count()).select_from(PersonKey)
                             .where(PersonKey.master_key_id != master.current_id)) or 0)
                + (conn.scalar(select(func.count()).select_from(requests)
                               .where(requests.c.master_key_id != master.current_id)) or 0))


def rotate(engine: Engine, master: MasterKeyring, progress: Callable[[int], None] | None = None) -> int:
    """Re-wrap every key not yet under the current master key, in one transaction (all or nothing). Returns how
    many data keys (people's and requests') were re-wrapped. Afterwards the old master keys open nothing and can
    be removed."""
    done = 0
    now = utcnow()
    with engine.begin() as conn:
        index = conn.execute(select(IndexKey.id, IndexKey.wrapped_key, IndexKey.master_key_id)).all()
        for key_id, wrapped, master_id in index:
            if master_id != master.current_id:
                key = master.unwrap(wrapped, master_id, INDEX_KEY_LABEL)
                new, new_id = master.wrap(key, INDEX_KEY_LABEL)
                conn.execute(update(IndexKey).where(IndexKey.id == key_id)
                             .values(wrapped_key=new, master_key_id=new_id, rewrapped_at=now))
        after = 0
        while True:
            rows = conn.execute(select(PersonKey.person_id, PersonKey.wrapped_key, PersonKey.master_key_id)
                                .where(PersonKey.person_id > after, PersonKey.master_key_id != master.current_id)
                                .order_by(PersonKey.person_id).limit(BATCH_SIZE)).all()
            if not rows:
                break
            values = []
            for person_id, wrapped, master_id in rows:
                label = person_key_label(person_id)
                new, new_id = master.wrap(master.unwrap(wrapped, master_id, label), label)
                values.append({"b_person_id": person_id, "b_wrapped": new, "b_master": new_id})
            table = cast(Table, PersonKey.__table__)  # a declarative model's table, typed as FromClause

            conn.execute(table.update().where(table.c.person_id == bindparam("b_person_id"))
                         .values(wrapped_key=bindparam("b_wrapped"), master_key_id=bindparam("b_master"),
                                 rewrapped_at=now), values)
            after = rows[-1][0]
            done += len(rows)
            if progress is not None:
                progress(len(rows))
        requests = _requests()
        after = 0
        while True:
            found = conn.execute(select(requests.c.id, requests.c.reference, requests.c.wrapped_key,
                                        requests.c.master_key_id)
                                 .where(requests.c.id > after, requests.c.master_key_id != master.current_id)
                                 .order_by(requests.c.id).limit(BATCH_SIZE)).all()
            if not found:
                break
            for request_id, reference, wrapped, master_id in found:
                label = request_key_label(reference)
                new, new_id = master.wrap(master.unwrap(wrapped, master_id, label), label)
                conn.execute(requests.update().where(requests.c.id == request_id)
                             .values(wrapped_key=new, master_key_id=new_id))
            after = found[-1][0]
            done += len(found)
            if progress is not None:
                progress(len(found))
    return done
