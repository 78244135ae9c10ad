"""大型医用设备配置许可证: class and issue date on the asset

Revision ID: e7f1b3c5d9a2
Revises: d4e6a0b8c2f5
Create Date: 2026-12-01 16:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7f1b3c5d9a2'
down_revision = 'd4e6a0b8c2f5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('permit_class', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('permit_issued_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_column('permit_issued_on')
        batch_op.drop_column('permit_class')
