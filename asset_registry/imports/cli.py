"""`flask import-assets FILE --org CODE [--dry-run] [--valid-only] [--report OUT.xlsx]`,
`flask import-inspections …` and `flask import-plan-items FILE --org CODE --plan ID …`.
Exit 0: everything went in; 1: rows rejected; 2: the file (or the organisation or the
plan) is unusable."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy import select

from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope, use_scope
from .report import write_error_report
from .services import run_import


def _run(kind: str, path: str, org_code: str, dry_run: bool, valid_only: bool, report, **extra):
    with use_scope(Scope.system()):
        org_id = db.session.scalars(
            select(Organisation.id).where(Organisation.code == org_code)
        ).first()
    if org_id is None:
        click.echo(f"无法导入：单位编码 {org_code} 不存在", err=True)
        sys.exit(2)
    scope = Scope(org_ids=frozenset({org_id}), org_id=org_id, role="system")
    with use_scope(scope):
        result = run_import(
            scope,
            org_id,
            kind,
            path,
            dry_run=dry_run,
            valid_only=valid_only,
            max_bytes=current_app.config["IMPORT_MAX_BYTES"],
            max_rows=current_app.config["IMPORT_MAX_ROWS"],
            **extra,
        )
        if result.written:
            db.session.commit()
        else:
            db.session.rollback()
    for error in result.errors[:20]:
        click.echo(
            f"第 {error.row_number} 行 {error.column}“{error.value}”：{error.message}", err=True
        )
    if report and write_error_report(result, report):
        click.echo(f"错误报告：{report}", err=True)
    click.echo(result.summary_line())
    sys.exit(result.exit_code)


def _command(app: Flask, name: str, kind: str, help_text: str) -> None:
    @app.cli.command(name, help=help_text)
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--org", "org_code", required=True, help="organisation code, e.g. rmyy")
    @click.option("--dry-run", is_flag=True, help="check and count, write nothing")
    @click.option("--valid-only", is_flag=True, help="import the valid rows, skip rejected ones")
    @click.option("--report", type=click.Path(dir_okay=False), help="error report .xlsx")
    def command(path, org_code, dry_run, valid_only, report):
        _run(kind, path, org_code, dry_run, valid_only, report)


def register_cli(app: Flask) -> None:
    _command(app, "import-assets", "assets", "Import an asset ledger (.xlsx or CSV).")
    _command(app, "import-inspections", "inspections", "Import inspection records.")

    @app.cli.command("import-plan-items")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--org", "org_code", required=True, help="organisation code, e.g. rmyy")
    @click.option("--plan", "plan_id", required=True, type=int, help="renewal plan id (editable)")
    @click.option("--dry-run", is_flag=True, help="check and count, write nothing")
    @click.option("--valid-only", is_flag=True, help="import the valid rows, skip rejected ones")
    @click.option("--report", type=click.Path(dir_okay=False), help="error report .xlsx")
    def plan_items_command(path, org_code, plan_id, dry_run, valid_only, report):
        """Import the items of a renewal plan (更新计划明细)."""
        _run("plan_items", path, org_code, dry_run, valid_only, report, plan_id=plan_id)

    @app.cli.command("import-jobs-requeue")
    def requeue_command():
        """Re-queue import jobs left running by a restart and run them again."""
        from .jobs import requeue_stale, start_thread

        with use_scope(Scope.system()):
            ids = requeue_stale()
            db.session.commit()
        for job_id in ids:
            start_thread(current_app._get_current_object(), job_id).join()
        click.echo(f"re-ran {len(ids)} job(s)")
