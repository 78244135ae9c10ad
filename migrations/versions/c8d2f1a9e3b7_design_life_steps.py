"""design life: entered for the asset or taken from its category; 使用登记变更 records;
the category's shortened cycle after it

Revision ID: c8d2f1a9e3b7
Revises: 3c0de5a1e7d9
Create Date: 2026-12-01 16:00:00

"""
import sqlalchemy as sa
from alembic import op

from asset_registry.tenancy.row_security import install_row_security, uninstall_row_security

# revision identifiers, used by Alembic.
revision = 'c8d2f1a9e3b7'
down_revision = '3c0de5a1e7d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('design_life_from_category', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('past_life_interval_percent', sa.Integer(),
                                      server_default='50', nullable=False))
    op.create_table(
        'registration_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('changed_on', sa.Date(), nullable=False),
        sa.Column('certificate_no', sa.String(length=64), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['asset.id'],
                                name=op.f('fk_registration_change_asset_id_asset'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['org_id'], ['organisation.id'],
                                name=op.f('fk_registration_change_org_id_organisation')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_registration_change_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_change')),
    )
    with op.batch_alter_table('registration_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_change_asset_id'), ['asset_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_registration_change_org_id'), ['org_id'],
                              unique=False)
    install_row_security(op.get_bind(), ['registration_change'])


def downgrade():
    uninstall_row_security(op.get_bind(), ['registration_change'])
    op.drop_table('registration_change')
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_column('past_life_interval_percent')
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_column('design_life_from_category')
