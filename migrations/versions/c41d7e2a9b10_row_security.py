"""row-level security on every tenant table (PostgreSQL)

Revision ID: c41d7e2a9b10
Revises: 8c5f8241636f
Create Date: 2026-11-28 17:10:00

"""
from alembic import op

from asset_registry.tenancy.row_security import install_row_security, uninstall_row_security

# revision identifiers, used by Alembic.
revision = 'c41d7e2a9b10'
down_revision = '8c5f8241636f'
branch_labels = None
depends_on = None

# the tenant tables as of this revision (later tables add themselves in their migration)
TABLES = [
    'alert', 'alert_delivery', 'alert_settings', 'api_token', 'asset', 'asset_status_change',
    'attachment', 'audit_event', 'fault', 'import_job', 'inspection_record',
    'investment_baseline', 'membership', 'obligation', 'plan_funding_line', 'plan_item',
    'plan_review_event', 'renewal_plan', 'replaced_token', 'report_asset_rollup',
    'report_duty_rollup',
]


def upgrade():
    install_row_security(op.get_bind(), TABLES, version=1)


def downgrade():
    uninstall_row_security(op.get_bind(), TABLES)
