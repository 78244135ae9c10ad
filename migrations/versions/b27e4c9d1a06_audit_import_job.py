"""Audit rows carry the import job that wrote them (the log shows an import as one entry)

Revision ID: b27e4c9d1a06
Revises: a16d1e7c5b3f
Create Date: 2026-12-01 16:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b27e4c9d1a06'
down_revision = 'a16d1e7c5b3f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_job_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_audit_event_org_import_job', ['org_id', 'import_job_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_org_import_job')
        batch_op.drop_column('import_job_id')
