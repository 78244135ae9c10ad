"""programme loop: funding projects, task lists, dispatch rounds, programme reports

Revision ID: 7e18a0b2c5d4
Revises: e15a11b0c0de
Create Date: 2026-12-01 14:24:40.430253

"""
from alembic import op
import sqlalchemy as sa

from asset_registry.tenancy.row_security import install_row_security


# revision identifiers, used by Alembic.
revision = '7e18a0b2c5d4'
down_revision = 'e15a11b0c0de'
branch_labels = None
depends_on = None


TABLES = ["funding_project", "funding_project_ask", "funding_project_item", "programme_task", "dispatch_round", "dispatch_report", "programme_report"]


def upgrade():
    op.create_table('dispatch_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['opened_by'], ['user_account.id'], name=op.f('fk_dispatch_round_opened_by_user_account')),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_dispatch_round_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_round')),
    sa.UniqueConstraint('org_id', 'title', name=op.f('uq_dispatch_round_org_id_title'))
    )

    with op.batch_alter_table('dispatch_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_round_org_id'), ['org_id'], unique=False)

    op.create_table('funding_project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sector', sa.String(length=30), nullable=True),
    sa.Column('applicant', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=30), nullable=False),
    sa.Column('other_investment', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('readiness', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('batch', sa.String(length=100), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('funded_amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('funded_on', sa.Date(), nullable=True),
    sa.Column('funding_doc_no', sa.String(length=100), nullable=True),
    sa.Column('disbursed_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_funding_project_created_by_user_account')),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_funding_project_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_project')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_funding_project_org_id_name'))
    )

    with op.batch_alter_table('funding_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_project_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_funding_project_org_state', ['org_id', 'state'], unique=False)

    op.create_table('programme_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('metric', sa.String(length=30), nullable=False),
    sa.Column('target_value', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('target_unit', sa.String(length=20), nullable=False),
    sa.Column('measures', sa.Text(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('responsible_person', sa.String(length=100), nullable=True),
    sa.Column('responsible_office', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_programme_task_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_task')),
    sa.UniqueConstraint('org_id', 'year', 'title', name=op.f('uq_programme_task_org_id_year_title'))
    )

    with op.batch_alter_table('programme_task', schema=None) as batch_op:
        batch_op.create_index('ix_programme_task_org_year', ['org_id', 'year'], unique=False)

    op.create_table('dispatch_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('investment_computed', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('investment_reported', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('adjust_reason', sa.String(length=500), nullable=True),
    sa.Column('devices_new', sa.Integer(), nullable=True),
    sa.Column('devices_replaced', sa.Integer(), nullable=True),
    sa.Column('devices_disposed', sa.Integer(), nullable=True),
    sa.Column('special_total', sa.Integer(), nullable=True),
    sa.Column('special_overdue', sa.Integer(), nullable=True),
    sa.Column('special_failed', sa.Integer(), nullable=True),
    sa.Column('problems', sa.Text(), nullable=True),
    sa.Column('needs', sa.Text(), nullable=True),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_dispatch_report_org_id_organisation')),
    sa.ForeignKeyConstraint(['round_id'], ['dispatch_round.id'], name=op.f('fk_dispatch_report_round_id_dispatch_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitted_by'], ['user_account.id'], name=op.f('fk_dispatch_report_submitted_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_report')),
    sa.UniqueConstraint('round_id', 'org_id', name=op.f('uq_dispatch_report_round_id_org_id'))
    )

    with op.batch_alter_table('dispatch_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_report_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_report_round_id'), ['round_id'], unique=False)

    op.create_table('funding_project_ask',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_funding_project_ask_org_id_organisation')),
    sa.ForeignKeyConstraint(['project_id'], ['funding_project.id'], name=op.f('fk_funding_project_ask_project_id_funding_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_project_ask')),
    sa.UniqueConstraint('project_id', 'source', name=op.f('uq_funding_project_ask_project_id_source'))
    )

    with op.batch_alter_table('funding_project_ask', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_project_ask_project_id'), ['project_id'], unique=False)

    op.create_table('programme_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('docx', sa.LargeBinary(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['issued_by'], ['user_account.id'], name=op.f('fk_programme_report_issued_by_user_account')),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_programme_report_org_id_organisation')),
    sa.ForeignKeyConstraint(['round_id'], ['dispatch_round.id'], name=op.f('fk_programme_report_round_id_dispatch_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_report')),
    sa.UniqueConstraint('org_id', 'year', 'seq', name=op.f('uq_programme_report_org_id_year_seq')),
    sa.UniqueConstraint('round_id', name=op.f('uq_programme_report_round_id'))
    )

    op.create_table('funding_project_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('plan_item_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], name=op.f('fk_funding_project_item_org_id_organisation')),
    sa.ForeignKeyConstraint(['plan_item_id'], ['plan_item.id'], name=op.f('fk_funding_project_item_plan_item_id_plan_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['funding_project.id'], name=op.f('fk_funding_project_item_project_id_funding_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_project_item')),
    sa.UniqueConstraint('plan_item_id', name=op.f('uq_funding_project_item_plan_item_id'))
    )

    with op.batch_alter_table('funding_project_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_project_item_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_funding_project_item_project', ['project_id'], unique=False)

    install_row_security(op.get_bind(), TABLES)


def downgrade():
    # the tables' policies go with the tables; the shared policy functions stay
    with op.batch_alter_table('funding_project_item', schema=None) as batch_op:
        batch_op.drop_index('ix_funding_project_item_project')
        batch_op.drop_index(batch_op.f('ix_funding_project_item_org_id'))

    op.drop_table('funding_project_item')

    op.drop_table('programme_report')

    with op.batch_alter_table('funding_project_ask', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_project_ask_project_id'))

    op.drop_table('funding_project_ask')

    with op.batch_alter_table('dispatch_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_report_round_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_report_org_id'))

    op.drop_table('dispatch_report')

    with op.batch_alter_table('programme_task', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_task_org_year')

    op.drop_table('programme_task')

    with op.batch_alter_table('funding_project', schema=None) as batch_op:
        batch_op.drop_index('ix_funding_project_org_state')
        batch_op.drop_index(batch_op.f('ix_funding_project_org_id'))

    op.drop_table('funding_project')

    with op.batch_alter_table('dispatch_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_round_org_id'))

    op.drop_table('dispatch_round')
