"""safety state: stored per asset, faults that stop, safety-critical checklist items,
the institution's safety phone, the daily refresh bookkeeping

Revision ID: b5a4e7c0d111
Revises: d13a7e5f0c2b
Create Date: 2026-12-01 15:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b5a4e7c0d111'
down_revision = 'd13a7e5f0c2b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_state', sa.String(length=12),
                                      server_default='none', nullable=False))
        batch_op.create_index('ix_asset_org_safety', ['org_id', 'safety_state'], unique=False)
    with op.batch_alter_table('fault', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stops', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('run_on_reason', sa.String(length=500), nullable=True))
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('critical_items', sa.JSON(), nullable=True))
    with op.batch_alter_table('obligation_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('critical_items', sa.JSON(), nullable=True))
    with op.batch_alter_table('alert_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_phone', sa.String(length=30), nullable=True))
    op.create_table(
        'safety_refresh',
        sa.Column('org_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisation.id'],
                                name=op.f('fk_safety_refresh_org_id_organisation'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('org_id', name=op.f('pk_safety_refresh')),
    )


def downgrade():
    op.drop_table('safety_refresh')
    with op.batch_alter_table('alert_settings', schema=None) as batch_op:
        batch_op.drop_column('safety_phone')
    with op.batch_alter_table('obligation_template', schema=None) as batch_op:
        batch_op.drop_column('critical_items')
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_column('critical_items')
    with op.batch_alter_table('fault', schema=None) as batch_op:
        batch_op.drop_column('run_on_reason')
        batch_op.drop_column('stops')
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_org_safety')
        batch_op.drop_column('safety_state')
