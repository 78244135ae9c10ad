"""`flask --app asset_registry labels --org CODE -o FILE.pdf [--layout a4-24|roll-50x30]
[--start N]`."""

from __future__ import annotations

import click
from flask import Flask

from ..assets.services import AssetFilters
from ..tenancy.scope import Scope, use_scope
from .render import LAYOUTS, write_labels


def register_cli(app: Flask) -> None:
    @app.cli.command("labels")
    @click.option("--org", "org_code", required=True, help="organisation code, e.g. rmyy")
    @click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False))
    @click.option("--layout", type=click.Choice(sorted(LAYOUTS)), default="a4-24")
    @click.option("--start", type=click.IntRange(min=1), default=1,
                  help="first cell on the first sheet, 1 = top-left (a partly used sheet)")
    def labels_command(org_code: str, out: str, layout: str, start: int):
        """Print the QR labels of one organisation (and the units under it) as PDF."""
        from ..tenancy.services import org_by_code, subtree_ids
        from .services import labels_for

        with use_scope(Scope.system()):
            org = org_by_code(org_code)
            if org is None:
                raise click.ClickException(f"unknown organisation {org_code}")
            scope = Scope(org_ids=subtree_ids(org.id), org_id=org.id, writable=False)
        if start > LAYOUTS[layout].per_page:
            raise click.BadParameter(
                f"a {layout} sheet has {LAYOUTS[layout].per_page} cells", param_hint="--start")
        with use_scope(scope), open(out, "wb") as fh:
            count = write_labels(labels_for(scope, filters=AssetFilters()), fh, layout,
                                 start=start)
        click.echo(f"{count} labels written to {out}")
