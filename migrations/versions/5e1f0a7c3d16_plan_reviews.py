"""plan reviews: attachments, several replaced assets per item, per-item decisions

Revision ID: 5e1f0a7c3d16
Revises: 9b3e6c1d4f27
Create Date: 2026-12-01 14:49:45.118135

"""
from alembic import op
import sqlalchemy as sa

from asset_registry.tenancy.row_security import install_row_security, see_all


# revision identifiers, used by Alembic.
revision = '5e1f0a7c3d16'
down_revision = '9b3e6c1d4f27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['plan_item.id'], name=op.f('fk_plan_attachment_item_id_plan_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_plan_attachment_org_id_organisation')),
    sa.ForeignKeyConstraint(['plan_id'], ['renewal_plan.id'], name=op.f('fk_plan_attachment_plan_id_renewal_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_plan_attachment_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_attachment'))
    )
    with op.batch_alter_table('plan_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_attachment_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_plan_attachment_plan', ['plan_id', 'item_id'], unique=False)

    op.create_table('plan_item_asset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_plan_item_asset_asset_id_asset')),
    sa.ForeignKeyConstraint(['item_id'], ['plan_item.id'], name=op.f('fk_plan_item_asset_item_id_plan_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_plan_item_asset_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_item_asset')),
    sa.UniqueConstraint('item_id', 'asset_id', name=op.f('uq_plan_item_asset_item_id_asset_id'))
    )
    with op.batch_alter_table('plan_item_asset', schema=None) as batch_op:
        batch_op.create_index('ix_plan_item_asset_asset', ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_item_asset_org_id'), ['org_id'], unique=False)

    with op.batch_alter_table('plan_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('decision_comment', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_plan_item_origin_id_plan_item'), 'plan_item', ['origin_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('renewal_plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_snapshot', sa.JSON(), nullable=True))

    install_row_security(op.get_bind(), ["plan_attachment", "plan_item_asset"])
    # every existing replaced asset becomes the item's first link (set-based, all tenants)
    bind = op.get_bind()
    see_all(bind)
    bind.exec_driver_sql(
        "INSERT INTO plan_item_asset (item_id, asset_id, position, org_id) "
        "SELECT id, replaced_asset_id, 1, org_id FROM plan_item "
        "WHERE replaced_asset_id IS NOT NULL"
    )


def downgrade():
    # the tables' policies go with the tables
    with op.batch_alter_table('renewal_plan', schema=None) as batch_op:
        batch_op.drop_column('reviewed_snapshot')
        batch_op.drop_column('review_started_at')

    with op.batch_alter_table('plan_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plan_item_origin_id_plan_item'), type_='foreignkey')
        batch_op.drop_column('decision_comment')
        batch_op.drop_column('decision')
        batch_op.drop_column('origin_id')

    with op.batch_alter_table('plan_item_asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_item_asset_org_id'))
        batch_op.drop_index('ix_plan_item_asset_asset')

    op.drop_table('plan_item_asset')
    with op.batch_alter_table('plan_attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_attachment_plan')
        batch_op.drop_index(batch_op.f('ix_plan_attachment_org_id'))

    op.drop_table('plan_attachment')
