"""Body diagram: findings are placed on a coded body region and described by lesion type, size, shape, colour and
estimated age, with linked photographs; a medico-legal report carries the Istanbul Protocol overall evaluation.
Findings recorded before keep their site in words (body_region); those whose old key names exactly one coded
region are given that code.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: this migration must keep making the same schema when the application's list grows.
REGION_CODES = (
    'F-HEAD', 'B-HEAD', 'F-FACE', 'F-NECK', 'B-NECK', 'F-SHOULDER-R', 'F-SHOULDER-L', 'B-SHOULDER-R',
    'B-SHOULDER-L', 'F-CHEST-R', 'F-CHEST-L', 'B-BACK-UPPER', 'F-ARM-UPPER-R', 'F-ARM-UPPER-L', 'B-ARM-UPPER-R',
    'B-ARM-UPPER-L', 'F-ABDOMEN', 'B-BACK-LOWER', 'F-FOREARM-R', 'F-FOREARM-L', 'B-FOREARM-R', 'B-FOREARM-L',
    'F-WRIST-R', 'F-WRIST-L', 'B-WRIST-R', 'B-WRIST-L', 'F-GROIN', 'B-BUTTOCK-R', 'B-BUTTOCK-L', 'F-HAND-R',
    'F-HAND-L', 'B-HAND-R', 'B-HAND-L', 'F-THIGH-R', 'F-THIGH-L', 'B-THIGH-R', 'B-THIGH-L', 'F-KNEE-R',
    'F-KNEE-L', 'B-KNEE-R', 'B-KNEE-L', 'F-LEG-LOWER-R', 'F-LEG-LOWER-L', 'B-LEG-LOWER-R', 'B-LEG-LOWER-L',
    'F-ANKLE-R', 'F-ANKLE-L', 'F-FOOT-R', 'F-FOOT-L', 'B-SOLE-R', 'B-SOLE-L',
)
LESION_TYPES = ('abrasion', 'bruise', 'laceration', 'scar', 'burn', 'incised_wound', 'puncture',
                'fracture_deformity', 'pigmentation_change', 'other')
LESION_AGES = ('recent', 'weeks', 'months', 'over_6_months', 'years')
CONSISTENCY = ('not_consistent', 'consistent', 'highly_consistent', 'typical', 'diagnostic')
SIZE_LIMIT_MM = 2000
# Keys of the old region list that name exactly one coded region. The others (chest, a limb, soles of feet)
# could be either side or either face: they stay as they were written, uncoded.
EXACT_CODES = {'head_front': 'F-HEAD', 'head_back': 'B-HEAD', 'face': 'F-FACE', 'abdomen': 'F-ABDOMEN',
               'upper_back': 'B-BACK-UPPER', 'lower_back': 'B-BACK-LOWER', 'genital_area': 'F-GROIN'}


def _one_of(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _add_column(table: str, column: str, checks: dict[str, str]) -> None:
    """A plain ADD COLUMN (a batch copy of these tables would cascade deletes through their children, as in 0016),
    its CHECKs inline on SQLite, which cannot add a constraint to a table, and added after it on PostgreSQL,
    where a column's own constraint should name that column only."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        for name, expression in checks.items():
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({expression})")
        return
    constraints = " ".join(f"CONSTRAINT {name} CHECK ({expression})" for name, expression in checks.items())
    op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {constraints}")


def upgrade() -> None:
    _add_column('findings', 'region_code VARCHAR(16)', {
        'ck_findings_region_code_known': f"region_code IN ({_one_of(REGION_CODES)})"})
    _add_column('findings', 'lesion_type VARCHAR(19)', {
        'ck_findings_lesion_type': f"lesion_type IN ({_one_of(LESION_TYPES)})"})
    _add_column('findings', 'length_mm INTEGER', {
        'ck_findings_length_mm_range': f"length_mm IS NULL OR length_mm BETWEEN 1 AND {SIZE_LIMIT_MM}"})
    _add_column('findings', 'width_mm INTEGER', {
        'ck_findings_width_mm_range': f"width_mm IS NULL OR width_mm BETWEEN 1 AND {SIZE_LIMIT_MM}"})
    op.add_column('findings', sa.Column('shape', sa.LargeBinary(), nullable=True))
    op.add_column('findings', sa.Column('colour', sa.LargeBinary(), nullable=True))
    _add_column('findings', 'estimated_age VARCHAR(13)', {
        'ck_findings_lesion_age': f"estimated_age IN ({_one_of(LESION_AGES)})"})
    _add_column('evidence_items', 'overall_evaluation VARCHAR(17)', {
        'ck_evidence_items_overall_evaluation': f"overall_evaluation IN ({_one_of(CONSISTENCY)})",
        'ck_evidence_items_evaluation_on_medico_legal_report':
            "overall_evaluation IS NULL OR kind = 'medico_legal_report'"})
    op.add_column('evidence_items', sa.Column('overall_evaluation_note', sa.LargeBinary(), nullable=True))

    op.create_table('finding_documents',
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_finding_documents_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_documents_finding_id_findings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('finding_id', 'document_id', name=op.f('pk_finding_documents'))
    )
    op.create_index('ix_finding_documents_document_id', 'finding_documents', ['document_id'])

    findings = sa.table('findings', sa.column('body_region', sa.String()), sa.column('region_code', sa.String()))
    for key, code in EXACT_CODES.items():
        op.execute(findings.update().where(findings.c.body_region == key).values(region_code=code))


def downgrade() -> None:
    op.drop_index('ix_finding_documents_document_id', table_name='finding_documents')
    op.drop_table('finding_documents')
    op.drop_column('evidence_items', 'overall_evaluation_note')
    if op.get_bind().dialect.name == 'postgresql':
        # Named as written (op.drop_constraint would prefix it again by the naming convention).
        op.execute("ALTER TABLE evidence_items DROP CONSTRAINT ck_evidence_items_evaluation_on_medico_legal_report")
    op.drop_column('evidence_items', 'overall_evaluation')
    for column in ('estimated_age', 'colour', 'shape', 'width_mm', 'length_mm', 'lesion_type', 'region_code'):
        op.drop_column('findings', column)
