"""DingTalk robot secret (加签) on the alert settings

Revision ID: a16d1e7c5b3f
Revises: e7f1b3c5d9a2
Create Date: 2026-12-01 16:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a16d1e7c5b3f'
down_revision = 'e7f1b3c5d9a2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_secret', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('alert_settings', schema=None) as batch_op:
        batch_op.drop_column('webhook_secret')
