"""radiation: institution licences (放射诊疗许可证, 辐射安全许可证); faults marked as a
major repair

Revision ID: d4e6a0b8c2f5
Revises: c8d2f1a9e3b7
Create Date: 2026-12-01 16:20:00

"""
import sqlalchemy as sa
from alembic import op

from asset_registry.tenancy.row_security import install_row_security, uninstall_row_security

# revision identifiers, used by Alembic.
revision = 'd4e6a0b8c2f5'
down_revision = 'c8d2f1a9e3b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'institution_permit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=True),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisation.id'],
                                name=op.f('fk_institution_permit_org_id_organisation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_institution_permit')),
        sa.UniqueConstraint('org_id', 'kind', 'number',
                            name=op.f('uq_institution_permit_org_id_kind_number')),
    )
    with op.batch_alter_table('institution_permit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_permit_org_id'), ['org_id'],
                              unique=False)
    with op.batch_alter_table('fault', schema=None) as batch_op:
        batch_op.add_column(sa.Column('major_repair', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    install_row_security(op.get_bind(), ['institution_permit'])


def downgrade():
    uninstall_row_security(op.get_bind(), ['institution_permit'])
    with op.batch_alter_table('fault', schema=None) as batch_op:
        batch_op.drop_column('major_repair')
    op.drop_table('institution_permit')
