"""The visit page leads to the visit's documents."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Role
from app.visits.models import Visit, VisitMode


def test_visit_page_links_to_its_documents(client, db, signed_in, make_person, today):
    clinician = signed_in(Role.clinician)
    person = make_person("Doc", "Link", assigned_to=clinician)
    db.rollback()
    db.add(Visit(person_id=person.id, clinician_id=clinician.id, visit_date=today, mode=VisitMode.in_person))
    db.commit()
    visit_id = db.scalar(select(Visit.id))
    page = client.get(f"/people/{person.reference}/visits/{visit_id}")
    assert page.status_code == 200
    link = f"/people/{person.reference}/documents/visit/{visit_id}"
    assert f'href="{link}"' in page.text
    assert client.get(link).status_code == 200
