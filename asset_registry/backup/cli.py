"""`flask backup OUT` and `flask restore ARCHIVE [--migrate]`."""

from __future__ import annotations

import sys

import click
from flask import Flask

from .services import BackupError, backup, restore


def register_cli(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("out", type=click.Path(dir_okay=False))
    def backup_command(out):
        """Write one archive: the database, the uploaded files, a manifest with checksums."""
        try:
            manifest = backup(out)
        except BackupError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        click.echo(
            f"已备份到 {out}：{len(manifest['tables'])} 张表 {rows} 行，"
            f"{len(manifest['files'])} 个上传文件，数据库版本 {manifest['revision']}"
        )

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False))
    @click.option("--migrate", is_flag=True,
                  help="the archive's revision differs from the code's: restore, then upgrade")
    def restore_command(archive, migrate):
        """Restore an archive into an empty database and upload directory."""
        try:
            result = restore(archive, migrate=migrate)
        except BackupError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        upgraded = f"，已升级到 {result.migrated_to}" if result.migrated_to else ""
        click.echo(
            f"已恢复：{result.tables} 张表 {result.rows} 行，{result.files} 个上传文件，"
            f"校验一致{upgraded}"
        )
