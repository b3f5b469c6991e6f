"""verdict submissions, web sessions, stopped training jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 11:40:00

Adds two tables and lets a training job be 'stopped' (asked to stop by an admin) apart from
'failed'. Every existing row is kept: jobs stopped before this revision stay 'failed'.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OLD_CHECK = "status IN ('queued', 'running', 'done', 'failed')"
NEW_CHECK = "status IN ('queued', 'running', 'done', 'failed', 'stopped')"


def upgrade() -> None:
    op.create_table('verdict_submissions',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('analyst', sa.String(length=200), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_name', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_user_name'), ['user_name'], unique=False)
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.drop_constraint('ck_training_jobs_status', type_='check')
        batch_op.create_check_constraint('ck_training_jobs_status', NEW_CHECK)


def downgrade() -> None:
    op.execute("UPDATE training_jobs SET status = 'failed' WHERE status = 'stopped'")
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.drop_constraint('ck_training_jobs_status', type_='check')
        batch_op.create_check_constraint('ck_training_jobs_status', OLD_CHECK)
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_name'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))
    op.drop_table('web_sessions')
    op.drop_table('verdict_submissions')
