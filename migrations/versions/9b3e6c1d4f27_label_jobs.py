"""label jobs: large label sheets rendered in the background

Revision ID: 9b3e6c1d4f27
Revises: f2b7d4e8a9c1
Create Date: 2026-12-01 15:00:00

"""
from alembic import op
import sqlalchemy as sa

from asset_registry.tenancy.row_security import install_row_security


# revision identifiers, used by Alembic.
revision = '9b3e6c1d4f27'
down_revision = 'f2b7d4e8a9c1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('label_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=20), nullable=False),
    sa.Column('asset_ids', sa.JSON(), nullable=True),
    sa.Column('filters', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_label_job_membership_id_membership')),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_label_job_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_job'))
    )
    with op.batch_alter_table('label_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_job_membership_id'), ['membership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_job_org_id'), ['org_id'], unique=False)

    install_row_security(op.get_bind(), ["label_job"])


def downgrade():
    # the table's policies go with the table
    with op.batch_alter_table('label_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_job_org_id'))
        batch_op.drop_index(batch_op.f('ix_label_job_membership_id'))

    op.drop_table('label_job')
