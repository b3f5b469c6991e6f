"""case states: each case's lifecycle (open, in review, escalated, closed)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 04:10:00

A new table only: every existing row stays as it is. A case without a row is open and
unassigned, so no backfill is needed (rsad.review.case_state).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_states',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=True),
    sa.Column('closing_reason', sa.String(length=40), nullable=False),
    sa.Column('closing_note', sa.Text(), nullable=False),
    sa.Column('escalation_note', sa.Text(), nullable=False),
    sa.Column('escalated_by', sa.String(length=200), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('open', 'in_review', 'escalated', 'closed')", name='ck_case_states_state'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('case_states', schema=None) as batch_op:
        batch_op.create_index('ix_case_states_assignee', ['assignee'], unique=False)
        batch_op.create_index('ix_case_states_state', ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_states', schema=None) as batch_op:
        batch_op.drop_index('ix_case_states_state')
        batch_op.drop_index('ix_case_states_assignee')
    op.drop_table('case_states')
