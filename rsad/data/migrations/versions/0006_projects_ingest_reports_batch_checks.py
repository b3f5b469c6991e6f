"""projects, ingest reports, batch checks, coverage order, user preferences

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00

A project owns its batches, model versions and training jobs (and through them cases, scores,
verdicts and thresholds). Every existing row moves into the project 'default' (id 1), so an
upgraded store works as before. Batch and version names become unique per project, not per
store. Batches keep their ingest report (rows skipped and why); batch_checks keep, per batch and
scoring version, how foreign the batch looked to that version; cases get a coverage rank for
the "label to start" queue; user_prefs remembers each user's project (and later other choices).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OWNED = ('batches', 'model_versions', 'training_jobs')
# 0001 created these unique constraints without names: PostgreSQL named them itself, SQLite keeps
# none, so batch mode rebuilds the table under a naming convention that gives them one.
UNNAMED_UQ = {'batches': 'batches_name_key', 'model_versions': 'model_versions_name_key'}
SQLITE_UQ = {'uq': 'uq_%(table_name)s_%(column_0_name)s'}


def _drop_global_name_uq(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        op.drop_constraint(UNNAMED_UQ[table], table, type_='unique')
        return
    # Unnamed as 0001 made it; named UNNAMED_UQ[table] after a downgrade from here.
    found = [uq['name'] for uq in sa.inspect(bind).get_unique_constraints(table) if uq['column_names'] == ['name']]
    name = found[0] if found and found[0] else f'uq_{table}_name'
    with op.batch_alter_table(table, naming_convention=SQLITE_UQ, recreate='always') as batch_op:
        batch_op.drop_constraint(name, type_='unique')


def upgrade() -> None:
    projects = op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('base_model', sa.String(length=1000), nullable=False),
    sa.Column('reason_codes', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_projects_name')
    )
    op.bulk_insert(projects, [{'id': 1, 'name': 'default', 'description': 'Everything from before projects.',
                               'base_model': '', 'reason_codes': [], 'settings': {}, 'created_by': 'upgrade',
                               'created_at': datetime.now(UTC)}])
    if op.get_bind().dialect.name == 'postgresql':  # the explicit id 1 does not move the sequence
        op.execute("SELECT setval(pg_get_serial_sequence('projects', 'id'), 1)")
    for table in UNNAMED_UQ:
        _drop_global_name_uq(table)
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('project_id', sa.Integer(), nullable=True))
        op.execute(f'UPDATE {table} SET project_id = 1')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(f'fk_{table}_project_id', 'projects', ['project_id'], ['id'],
                                        ondelete='RESTRICT')
            batch_op.create_index(f'ix_{table}_project_id', ['project_id'], unique=False)
            if table in UNNAMED_UQ:
                batch_op.create_unique_constraint(f'uq_{table}_project_name', ['project_id', 'name'])
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ingest_report', sa.JSON(), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coverage_rank', sa.Integer(), nullable=True))
    op.create_table('batch_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('flagged_share', sa.Float(), nullable=False),
    sa.Column('reference_flagged_share', sa.Float(), nullable=True),
    sa.Column('psi', sa.Float(), nullable=True),
    sa.Column('ks', sa.Float(), nullable=True),
    sa.Column('unknown_token_share', sa.Float(), nullable=True),
    sa.Column('foreign', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'model_version_id', name='uq_batch_checks_batch_model')
    )
    op.create_table('user_prefs',
    sa.Column('user_name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_name', 'key')
    )


def downgrade() -> None:
    # Only a store with a single project can go back: the schema before has one model per store.
    if op.get_bind().execute(sa.text('SELECT count(*) FROM projects')).scalar() > 1:
        raise RuntimeError('This store has several projects; revision 0005 knows one. Export each project\'s '
                           'labels (rsad --project NAME export-labels FILE) and keep this revision.')
    op.drop_table('user_prefs')
    op.drop_table('batch_checks')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('coverage_rank')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('ingest_report')
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in UNNAMED_UQ:
                batch_op.drop_constraint(f'uq_{table}_project_name', type_='unique')
            batch_op.drop_index(f'ix_{table}_project_id')
            batch_op.drop_constraint(f'fk_{table}_project_id', type_='foreignkey')
            batch_op.drop_column('project_id')
            if table in UNNAMED_UQ:
                batch_op.create_unique_constraint(UNNAMED_UQ[table], ['name'])
    op.drop_table('projects')
