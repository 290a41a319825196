"""Reference data: the UK detention estate and partner organisations. Admins edit both afterwards.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A starting list; the estate changes, so admins keep it current in the application.
FACILITIES = [
    # name, type, operator, region, active
    ("Brook House", "irc", "Serco", "South East (Gatwick)", True),
    ("Tinsley House", "irc", "Serco", "South East (Gatwick)", True),
    ("Colnbrook", "irc", "Mitie Care and Custody", "London (Heathrow)", True),
    ("Harmondsworth", "irc", "Mitie Care and Custody", "London (Heathrow)", True),
    ("Derwentside", "irc", "Mitie Care and Custody", "North East", True),
    ("Dungavel", "irc", "GEO Group", "Scotland", True),
    ("Yarl's Wood", "irc", "Serco", "East of England", True),
    ("Campsfield House", "irc", None, "South East (Oxfordshire)", False),
    ("Morton Hall", "irc", "HM Prison and Probation Service", "East Midlands", False),
    ("Swinderby", "irc", None, "East Midlands", True),
    ("Larne House", "sthf", "Mitie Care and Custody", "Northern Ireland", True),
    ("Manchester/Pennine House STHF", "sthf", "Mitie Care and Custody", "North West", True),
    ("Manston holding rooms", "holding_room", None, "South East (Kent)", True),
    ("HM Prison (immigration detainee)", "prison", "HM Prison and Probation Service", None, True),
]

ORGANISATIONS = [
    ("Bail for Immigration Detainees", "bail"),
    ("Helen Bamber Foundation", "torture_rehabilitation"),
    ("Freedom from Torture", "torture_rehabilitation"),
    ("Detention Duty Advice Scheme", "legal"),
    ("Salvation Army", "nrm_first_responder"),
    ("Migrant Help", "other"),
]

facilities = sa.table(
    "facilities",
    sa.column("name", sa.String),
    sa.column("type", sa.String),
    sa.column("operator", sa.String),
    sa.column("region", sa.String),
    sa.column("is_active", sa.Boolean),
)
organisations = sa.table(
    "organisations",
    sa.column("name", sa.String),
    sa.column("type", sa.String),
    sa.column("is_active", sa.Boolean),
)


def upgrade() -> None:
    op.bulk_insert(
        facilities,
        [dict(name=n, type=t, operator=o, region=r, is_active=a) for n, t, o, r, a in FACILITIES],
    )
    op.bulk_insert(organisations, [dict(name=n, type=t, is_active=True) for n, t in ORGANISATIONS])


def downgrade() -> None:
    # Rows still referenced by case records make this fail on the foreign key, which is the point:
    # reference data in use is not silently dropped.
    op.execute(organisations.delete().where(organisations.c.name.in_([n for n, _ in ORGANISATIONS])))
    op.execute(facilities.delete().where(facilities.c.name.in_([f[0] for f in FACILITIES])))
