"""Time the full alert scan against a bare SQL count of the same due obligations.

    PYTHONPATH=. python bench/bench_alerts.py --sizes 100000,1000000

For each size a fresh database is generated with bench/datagen.py (100,000 assets per
institution, 3 inspection records per asset) unless --reuse finds it in bench/out/.
Then, under a system scope:

* bare: ``SELECT count(*) FROM obligation WHERE active AND next_due <= today + 30``
  (the due and overdue obligations, on the indexed next_due column), best of 3;
* scan 1: the first full scan (opens every alert and queues its deliveries);
* scan 2: the same day again (the steady state: nothing changes);
* scan 3: the next day (bands move: some alerts resolve, others open or escalate).

Prints each time and its ratio to the bare query. Target: the scan within 5× the
bare query and under 10 s on SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.datagen import generate, make_app  # noqa: E402

PER_INSTITUTION = 100_000
INSPECTIONS_PER_ASSET = 3


def _database(size: int, url: str | None, reuse: bool) -> str:
    if url is None:
        path = ROOT / "bench" / "out" / f"alerts-{size // 1000}k.db"
        url = f"sqlite:///{path}"
        if reuse and path.exists():
            return url
    elif reuse:
        return url
    institutions = max(1, size // PER_INSTITUTION)
    per = size // institutions
    print(f"generating {institutions} × {per:,} assets, {INSPECTIONS_PER_ASSET} inspections each")
    started = time.perf_counter()
    generate(url, institutions, per, INSPECTIONS_PER_ASSET)
    print(f"  generated in {time.perf_counter() - started:.1f} s")
    return url


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench(url: str, today: dt.date) -> dict:
    from asset_registry import clock
    from asset_registry.alerts import services
    from asset_registry.alerts.models import Alert, Delivery
    from asset_registry.extensions import db
    from asset_registry.inspections.models import Obligation
    from asset_registry.tenancy.scope import Scope, use_scope

    app = make_app(url)
    figures: dict = {}
    with app.app_context(), use_scope(Scope.system()):
        # a reused database may predate the alert indexes of the current models
        conn = db.session.connection()
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_alert_status_rule")
        for table in (Alert.__table__, Obligation.__table__):
            for index in table.indexes:
                index.create(conn, checkfirst=True)
        # start from no alerts, so scan 1 is the worst case (everything opens)
        db.session.execute(Delivery.__table__.delete())
        db.session.execute(Alert.__table__.delete())
        db.session.commit()
        figures["assets"] = db.session.scalar(text("SELECT count(*) FROM asset"))
        figures["obligations"] = db.session.scalar(select(func.count(Obligation.id)))
        figures["inspections"] = db.session.scalar(text("SELECT count(*) FROM inspection_record"))
        o = Obligation.__table__
        bare_stmt = select(func.count()).select_from(o).where(
            o.c.active.is_(True), o.c.next_due <= today + dt.timedelta(days=30)
        )
        bare_times = []
        for _ in range(3):
            seconds, due = _timed(lambda: db.session.scalar(bare_stmt))
            bare_times.append(seconds)
        figures["due"] = due
        figures["bare"] = min(bare_times)

        def run(day):
            with clock.frozen(day):
                result = services.scan(day)
                db.session.commit()
            return result

        for label, day in (("scan 1 (cold)", today), ("scan 2 (same day)", today),
                           ("scan 3 (next day)", today + dt.timedelta(days=1))):
            seconds, result = _timed(lambda d=day: run(d))
            figures[label] = (seconds, str(result))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--db-url", default=None, help="use this database (one size only)")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing database")
    parser.add_argument("--today", default=None, help="YYYY-MM-DD (default: today)")
    args = parser.parse_args(argv)
    from asset_registry import clock

    today = dt.date.fromisoformat(args.today) if args.today else clock.today()
    for size in (int(s) for s in args.sizes.split(",")):
        url = _database(size, args.db_url, args.reuse)
        f = bench(url, today)
        print(f"\n== {f['assets']:,} assets, {f['obligations']:,} obligations, "
              f"{f['inspections']:,} inspection records ({url.split('://')[0]})")
        print(f"bare count of due/overdue obligations: {f['due']:,} rows in {f['bare']:.3f} s")
        for label in ("scan 1 (cold)", "scan 2 (same day)", "scan 3 (next day)"):
            seconds, summary = f[label]
            print(f"{label:<20} {seconds:7.3f} s  ratio {seconds / f['bare']:5.1f}×  [{summary}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
