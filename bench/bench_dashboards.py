"""Server time of the bureau and city dashboards on the 1,000,000-asset data set.

    PYTHONPATH=. python bench/bench_dashboards.py [--assets 1000000] [--reuse]

Builds (or, with --reuse, reopens) bench/out/dashboards-<N>.db with bench/datagen.py:
ten institutions × N/10 assets, obligations and one inspection per asset. Then signs
in as the health bureau (wjw: its share of the institutions) and the city admin (every
asset) and times GET /dashboard/ through the Flask test client (SQL, aggregation and
rendering included, network excluded). Target: under 500 ms each on SQLite. The
regulator's and one institution's dashboards are timed too, for information.

The dashboards read rollups: first the rollup tables are created if the data set predates
them, and `refresh_rollups` (what the daily job, `flask reports refresh` and the
dashboard's refresh button run) is timed over every organisation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.datagen import PASSWORD, generate, make_app  # noqa: E402

INSTITUTIONS = 10
TARGET_MS = 500


def _sign_in(app, username: str, password: str):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": password})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def _time(client, url: str, repeat: int) -> list[float]:
    r = client.get(url)  # warm templates and the page cache
    assert r.status_code == 200, r.status_code
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200
    return samples


def _time_refresh(app, repeat: int) -> list[float]:
    from asset_registry import clock
    from asset_registry.extensions import db
    from asset_registry.reports.services import refresh_rollups
    from asset_registry.tenancy.scope import Scope, use_scope

    samples = []
    with app.app_context(), use_scope(Scope.system()):
        db.create_all()  # the rollup tables, on a data set generated before them
        for _ in range(repeat):
            started = time.perf_counter()
            result = refresh_rollups(clock.today())
            db.session.commit()
            samples.append((time.perf_counter() - started) * 1000)
    print(f"refresh_rollups (all organisations, committed): median "
          f"{statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms   "
          f"({result.asset_rows:,} asset rows, {result.duty_rows:,} duty rows)")
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"dashboards-{args.assets}.db"
    url = f"sqlite:///{path}"
    if args.reuse and path.exists():
        app = make_app(url)
    else:
        info = generate(url, INSTITUTIONS, args.assets // INSTITUTIONS, 1)
        app = info.app or make_app(url)
    from asset_registry.tenancy.seed import DEMO_PASSWORD

    with app.app_context():
        from sqlalchemy import func, select

        from asset_registry.assets.models import Asset
        from asset_registry.extensions import db
        from asset_registry.tenancy.scope import Scope, use_scope

        with use_scope(Scope.system()):
            total = db.session.scalar(select(func.count(Asset.id)))
    print(f"{total:,} assets in {path.name}")
    _time_refresh(app, 3)
    ok = True
    for label, username, password, target in [
        ("bureau (wjw)", "wjw", DEMO_PASSWORD, True),
        ("city (admin)", "admin", PASSWORD, True),
        ("regulator", "scjg", DEMO_PASSWORD, False),
        ("institution", "bench_manager", PASSWORD, False),
    ]:
        client = _sign_in(app, username, password)
        samples = _time(client, "/dashboard/", args.repeat)
        median, worst = statistics.median(samples), max(samples)
        verdict = ""
        if target:
            ok &= worst < TARGET_MS
            verdict = f"   ({'ok' if worst < TARGET_MS else 'over'} target {TARGET_MS} ms)"
        print(f"{label:14s} /dashboard/  median {median:7.1f} ms   max {worst:7.1f} ms{verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
