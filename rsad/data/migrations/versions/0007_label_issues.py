"""label issues: the label-issue audit's findings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00

A new table only: every existing row stays as it is. Each row is one label the audit doubted
(rsad.ops.audit); its status is derived from the "second look" verdicts recorded after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('given_label', sa.Integer(), nullable=False),
    sa.Column('label_source', sa.String(length=20), nullable=False),
    sa.Column('suggested_label', sa.Integer(), nullable=False),
    sa.Column('p_anomaly', sa.Float(), nullable=False),
    sa.Column('quality', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('features', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('given_label IN (0, 1)', name='ck_label_issues_given_label'),
    sa.CheckConstraint('suggested_label IN (0, 1)', name='ck_label_issues_suggested_label'),
    sa.CheckConstraint("label_source IN ('seed', 'verdict')", name='ck_label_issues_label_source'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('label_issues', schema=None) as batch_op:
        batch_op.create_index('ix_label_issues_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_label_issues_project_id', ['project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_label_issues_project_id')
        batch_op.drop_index('ix_label_issues_case_id')
    op.drop_table('label_issues')
