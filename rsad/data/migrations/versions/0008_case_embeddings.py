"""case embeddings: each scored case's pooled vector per model version

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 04:00:00

A new table only: every existing row stays as it is. Cases scored before it have no vector
until they are embedded on demand (rsad.service.similar.backfill) or scored again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_embeddings',
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_version_id', 'case_id')
    )
    with op.batch_alter_table('case_embeddings', schema=None) as batch_op:
        batch_op.create_index('ix_case_embeddings_case_id', ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_embeddings', schema=None) as batch_op:
        batch_op.drop_index('ix_case_embeddings_case_id')
    op.drop_table('case_embeddings')
