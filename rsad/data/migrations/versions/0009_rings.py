"""rings: groups of coordinated flagged cases, their members, and the ring a verdict was recorded on

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 04:00:00

Two new tables and one nullable column: every existing row stays as it is (existing verdicts get
ring_id NULL: they were judged on their own).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=1000), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('mean_score', sa.Float(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rings', schema=None) as batch_op:
        batch_op.create_index('ix_rings_batch_id', ['batch_id'], unique=False)
        batch_op.create_index('ix_rings_project_id', ['project_id'], unique=False)
    op.create_table('ring_members',
    sa.Column('ring_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ring_id'], ['rings.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ring_id', 'case_id')
    )
    with op.batch_alter_table('ring_members', schema=None) as batch_op:
        batch_op.create_index('ix_ring_members_case_id', ['case_id'], unique=False)
    # No ON DELETE action: rings are retired, never deleted, while a verdict names them (an UPDATE
    # setting NULL would meet the append-only trigger); a deleted batch takes its verdicts in the same statement.
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ring_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_verdicts_ring_id', 'rings', ['ring_id'], ['id'])
    _append_only_again()

def downgrade() -> None:
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_verdicts_ring_id', type_='foreignkey')
        batch_op.drop_column('ring_id')
    _append_only_again()
    with op.batch_alter_table('ring_members', schema=None) as batch_op:
        batch_op.drop_index('ix_ring_members_case_id')
    op.drop_table('ring_members')
    with op.batch_alter_table('rings', schema=None) as batch_op:
        batch_op.drop_index('ix_rings_project_id')
        batch_op.drop_index('ix_rings_batch_id')
    op.drop_table('rings')


def _append_only_again() -> None:
    """On SQLite a batch copies the table and its triggers are lost: 0001's trigger again."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS verdicts_append_only")
        op.execute("CREATE TRIGGER verdicts_append_only BEFORE UPDATE ON verdicts "
                   "BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END")
