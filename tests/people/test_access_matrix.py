"""Who may open which page: every role against every page family of the casework core."""

from __future__ import annotations

import pytest

from app.auth.models import Role

PAGES = ["/", "/people", "/people/new", "/people/{ref}", "/people/{ref}/edit", "/people/{ref}/episodes/new",
         "/people/{ref}/episodes/{episode}/transfer", "/admin/users", "/admin/facilities",
         "/people/{ref}/legal-hold", "/people/{ref}/erase"]

EXPECTED = {
    #                       home people new  show edit  ep-new transfer users facilities hold erase
    "admin":               (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "coordinator":         (200, 200, 200, 200, 200, 200, 200, 403, 403, 200, 403),
    "clinician_assigned":  (200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 403),
    "clinician_other":     (200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "researcher":          (200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_access_matrix(client, db, signed_in, make_person, who):
    from sqlalchemy import select

    from app.detention.models import DetentionEpisode

    role = Role(who.split("_")[0])
    user = signed_in(role)
    person = make_person("Matrix", "Person", detained_days=10,
                         assigned_to=user if who == "clinician_assigned" else None)
    db.rollback()
    episode = db.scalar(select(DetentionEpisode.id).where(DetentionEpisode.person_id == person.id))
    for path, status in zip(PAGES, EXPECTED[who], strict=True):
        url = path.format(ref=person.reference, episode=episode)
        assert client.get(url).status_code == status, (who, url)
