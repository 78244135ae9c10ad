"""`flask import-assets FILE --org CODE [--dry-run] [--valid-only] [--report OUT.xlsx]
[--mapping FILE.json]`, `flask import-inspections …` and `flask import-plan-items FILE
--org CODE --plan ID …`. The organisation's saved mapping applies, `--mapping` on top.
The command prints how each column was read (field and unit) and the columns it
ignored, the rows it skipped, and for a file refused as a whole the headers it found
and the ones it knows. Exit 0: everything went in; 1: rows rejected; 2: the file (or
the organisation, the plan or the mapping) is unusable."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy import select

from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope, use_scope
from .columns import fields_for
from .mapping import MappingError, check_targets, from_json
from .report import write_error_report
from .services import run_import


def _print_mapping(result) -> None:
    for column in result.column_mapping:
        if column["field"] is None:
            continue
        unit = f"（单位：{column['unit']}）" if column["unit"] else ""
        click.echo(f"列 {column['letter']}“{column['header']}” → {column['field_label']}{unit}")
    ignored = [f"{letter}“{text}”" for letter, text in result.unknown_columns]
    if ignored:
        click.echo(f"忽略的列：{'、'.join(ignored)}")
    labels = {f.key: f.zh for f in fields_for(result.kind)}
    for key, words in result.values_found.items():
        unknown = [text for text, target in words.items() if target is None]
        if unknown:
            click.echo(f"“{labels[key]}”无法识别的取值：{'、'.join(unknown[:20])}", err=True)
    for number, why, text in result.skipped_rows[:20]:
        click.echo(f"跳过第 {number} 行（{why}）：{text}")


def _print_refusal(result) -> None:
    found = "、".join(result.found_headers) or "（无）"
    click.echo(f"文件中找到的表头：{found}", err=True)
    click.echo(f"系统可识别的列：{'、'.join(result.expected_headers)}", err=True)
    click.echo(f"其中必填：{'、'.join(result.required_headers)}", err=True)


def _run(
    kind: str,
    path: str,
    org_code: str,
    dry_run: bool,
    valid_only: bool,
    report,
    mapping_path=None,
    **extra,
):
    mapping = None
    if mapping_path:
        try:
            with open(mapping_path, encoding="utf-8") as fh:
                mapping = from_json(fh.read(), kind)
        except (MappingError, UnicodeDecodeError, OSError) as exc:
            click.echo(f"无法导入：{getattr(exc, 'message', exc)}", err=True)
            sys.exit(2)
    with use_scope(Scope.system()):
        org_id = db.session.scalars(
            select(Organisation.id).where(Organisation.code == org_code)
        ).first()
    if org_id is None:
        click.echo(f"无法导入：单位编码 {org_code} 不存在", err=True)
        sys.exit(2)
    scope = Scope(org_ids=frozenset({org_id}), org_id=org_id, role="system")
    with use_scope(scope):
        if mapping is not None:
            try:
                check_targets(mapping, kind, _sector(org_id))
            except MappingError as exc:
                click.echo(f"无法导入：{exc.message}", err=True)
                sys.exit(2)
        result = run_import(
            scope,
            org_id,
            kind,
            path,
            dry_run=dry_run,
            valid_only=valid_only,
            max_bytes=current_app.config["IMPORT_MAX_BYTES"],
            max_rows=current_app.config["IMPORT_MAX_ROWS"],
            mapping=mapping,
            **extra,
        )
        if result.written:
            db.session.commit()
        else:
            db.session.rollback()
    _print_mapping(result)
    if result.unusable:
        _print_refusal(result)
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
    @click.option(
        "--mapping",
        "mapping_path",
        type=click.Path(exists=True, dir_okay=False),
        help="column/value mapping .json (on top of the organisation's saved one)",
    )
    def command(path, org_code, dry_run, valid_only, report, mapping_path):
        _run(kind, path, org_code, dry_run, valid_only, report, mapping_path)


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


def _sector(org_id: int) -> str | None:
    return db.session.scalars(select(Organisation.sector).where(Organisation.id == org_id)).first()
