"""register code and accounting settings: the older 注册代码 in its own column; an
organisation's depreciation convention

Revision ID: 3c0de5a1e7d9
Revises: 5e1f0a7c3d16
Create Date: 2026-12-01 14:50:07.796386

"""
from alembic import op
import sqlalchemy as sa

from asset_registry.tenancy.row_security import install_row_security


# revision identifiers, used by Alembic.
revision = '3c0de5a1e7d9'
down_revision = '5e1f0a7c3d16'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accounting_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('convention', sa.String(length=12), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_accounting_settings_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounting_settings')),
    sa.UniqueConstraint('org_id', name=op.f('uq_accounting_settings_org_id'))
    )
    with op.batch_alter_table('accounting_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounting_settings_org_id'), ['org_id'], unique=False)

    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('register_code', sa.String(length=21), nullable=True))

    install_row_security(op.get_bind(), ["accounting_settings"])



def downgrade():
    # the table's policies go with the table
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_column('register_code')

    with op.batch_alter_table('accounting_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounting_settings_org_id'))

    op.drop_table('accounting_settings')
