"""Label jobs remember the first cell of the first sheet (a partly used A4 sheet)

Revision ID: c38f5a2e7b19
Revises: b27e4c9d1a06
Create Date: 2026-12-01 16:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c38f5a2e7b19'
down_revision = 'b27e4c9d1a06'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('label_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('label_job', schema=None) as batch_op:
        batch_op.drop_column('start')
