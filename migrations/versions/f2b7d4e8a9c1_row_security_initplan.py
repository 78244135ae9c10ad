"""row-level security the planner can see through (PostgreSQL)

The first policies called a per-row function that parsed the scope's organisation list
for every row and hid org_id from the planner. The new ones read the setting through
scalar subqueries (evaluated once per statement) and compare org_id directly.

Revision ID: f2b7d4e8a9c1
Revises: b5a4e7c0d111
Create Date: 2026-12-01 15:10:00

"""
from alembic import op

from asset_registry.tenancy.row_security import POLICY, install_row_security

# revision identifiers, used by Alembic.
revision = 'f2b7d4e8a9c1'
down_revision = 'b5a4e7c0d111'
branch_labels = None
depends_on = None


def _walled_tables():
    """The tables that carry the policy at this revision, whatever later code declares."""
    return sorted(
        op.get_bind().exec_driver_sql(
            "SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid"
            " WHERE p.polname = %(name)s", {"name": POLICY}
        ).scalars()
    )


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        install_row_security(op.get_bind(), _walled_tables(), version=2)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        install_row_security(op.get_bind(), _walled_tables(), version=1)
