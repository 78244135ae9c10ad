"""the application role and its grants (PostgreSQL)

Run by the owner of the schema: creates the role named by DATABASE_ROLE if missing and
gives it exactly the row access the application needs (see
asset_registry.tenancy.row_security.grant_app_role). Tables added by later migrations get
the same grants through the owner's default privileges.

Revision ID: e15a11b0c0de
Revises: a7c3e91f5d24
Create Date: 2026-12-01 14:40:00

"""
from alembic import op
from flask import current_app

from asset_registry.tenancy.row_security import grant_app_role, revoke_default_privileges

# revision identifiers, used by Alembic.
revision = 'e15a11b0c0de'
down_revision = 'a7c3e91f5d24'
branch_labels = None
depends_on = None


def _role():
    return current_app.config.get("DATABASE_ROLE")


def upgrade():
    if _role():
        grant_app_role(op.get_bind(), _role())


def downgrade():
    # the role itself stays: roles belong to the cluster, not to this database
    if _role():
        revoke_default_privileges(op.get_bind(), _role())
