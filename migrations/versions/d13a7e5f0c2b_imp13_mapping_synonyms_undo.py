"""import mappings per organisation, ledger synonyms, undo of import jobs

Revision ID: d13a7e5f0c2b
Revises: 7e18a0b2c5d4
Create Date: 2026-12-01 15:00:00

"""
import sqlalchemy as sa
from alembic import op

from asset_registry.tenancy.row_security import install_row_security, uninstall_row_security

# revision identifiers, used by Alembic.
revision = 'd13a7e5f0c2b'
down_revision = '7e18a0b2c5d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_synonym',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=40), nullable=False),
        sa.Column('text', sa.String(length=100), nullable=False),
        sa.Column('target', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_synonym')),
        sa.UniqueConstraint('field', 'text', name=op.f('uq_import_synonym_field_text')),
    )
    op.create_table(
        'import_mapping',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['org_id'], ['organisation.id'], name=op.f('fk_import_mapping_org_id_organisation')
        ),
        sa.ForeignKeyConstraint(
            ['updated_by'], ['user_account.id'], name=op.f('fk_import_mapping_updated_by_user_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mapping')),
        sa.UniqueConstraint('org_id', 'kind', name=op.f('uq_import_mapping_org_id_kind')),
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mapping', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('undo', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('written_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reverted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reverted_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_import_job_reverted_by_user_account'),
            'user_account',
            ['reverted_by'],
            ['id'],
        )
    install_row_security(op.get_bind(), ['import_mapping'])


def downgrade():
    uninstall_row_security(op.get_bind(), ['import_mapping'])
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_import_job_reverted_by_user_account'), type_='foreignkey'
        )
        batch_op.drop_column('reverted_by')
        batch_op.drop_column('reverted_at')
        batch_op.drop_column('written_at')
        batch_op.drop_column('undo')
        batch_op.drop_column('mapping')
    op.drop_table('import_mapping')
    op.drop_table('import_synonym')
