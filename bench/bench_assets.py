"""Server time of the asset list, detail, scan and dashboard pages on large databases.

    PYTHONPATH=. python bench/bench_assets.py --sizes 100000,1000000
    PYTHONPATH=. python bench/bench_assets.py --sizes 200000 \\
        --db-url postgresql+psycopg://postgres@127.0.0.1:5432/ar_bench --compare [--reuse]

For each size a fresh database is generated (bench/datagen.py) with 100,000 assets
per institution (so 100k = one institution, 1M = ten), unless --reuse finds it in
bench/out/. Requests go through the Flask test client, signed in, and the time is
measured around each request (rendering included, network excluded). Prints p50 and
p95 per page for an institution manager (one institution's 100k assets) and for the
city admin (every asset). Target: p95 < 100 ms at 1,000,000 assets.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.datagen import APP_ROLE, PASSWORD, generate, make_app  # noqa: E402

PER_INSTITUTION = 100_000


def _sign_in(app, username: str):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return p50 * 1000, p95 * 1000


def _time(client, urls: list[str], repeat: int) -> tuple[float, float]:
    return _time_alternating({"one": client}, urls, repeat)["one"]


def _time_alternating(clients: dict, urls: list[str], repeat: int) -> dict:
    """p50/p95 per client; the clients take turns on each URL."""
    for client in clients.values():
        client.get(urls[0])  # warm caches/templates
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for i in range(repeat):
        url = urls[i % len(urls)]
        for name, client in clients.items():
            t0 = time.perf_counter()
            r = client.get(url)
            samples[name].append(time.perf_counter() - t0)
            assert r.status_code == 200, (name, url, r.status_code)
    return {name: _percentiles(s) for name, s in samples.items()}


def _index_search(app) -> None:
    """A database generated before the search index: install it and fill it once (a
    later run finds it in step and skips the rebuild)."""
    from asset_registry.assets.search import FTS_TABLE, install_search, rebuild_search
    from asset_registry.extensions import db

    with app.app_context(), db.engine.begin() as connection:
        if not install_search(connection) or connection.dialect.name != "sqlite":
            return
        assets = connection.exec_driver_sql("SELECT count(*) FROM asset").scalar()
        indexed = connection.exec_driver_sql(
            f"SELECT count(*) FROM {FTS_TABLE}_docsize"
        ).scalar()
        if indexed != assets:
            t0 = time.perf_counter()
            rebuild_search(connection)
            print(f"search index rebuilt ({assets:,} assets) in {time.perf_counter() - t0:.0f} s")


def _sync_indexes(app) -> None:
    """A reused database gets the asset indexes the model declares now, and loses the
    ones it no longer declares (create_all never alters an existing table)."""
    from sqlalchemy import inspect

    from asset_registry.assets.models import Asset
    from asset_registry.assets.search import TRGM_INDEX
    from asset_registry.extensions import db

    with app.app_context(), db.engine.begin() as connection:
        declared = {index.name: index for index in Asset.__table__.indexes}
        present = {i["name"] for i in inspect(connection).get_indexes("asset")}
        changed = False
        for name in sorted(present - set(declared)):
            if name.startswith("ix_asset_") and name != TRGM_INDEX:
                connection.exec_driver_sql(f"DROP INDEX {name}")
                print(f"dropped index {name}")
                changed = True
        for name in sorted(set(declared) - present):
            t0 = time.perf_counter()
            declared[name].create(connection)
            print(f"created index {name} in {time.perf_counter() - t0:.0f} s")
            changed = True
        if changed and connection.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE asset")


def _rollups(url: str) -> None:
    """The dashboards read rollups: build them once on a generated data set."""
    from asset_registry import clock
    from asset_registry.extensions import db
    from asset_registry.reports.models import AssetRollup
    from asset_registry.reports.services import refresh_rollups
    from asset_registry.tenancy.scope import Scope, use_scope

    app = make_app(url)
    with app.app_context(), use_scope(Scope.system()):
        if db.session.scalar(select(AssetRollup.org_id).limit(1)) is None:
            t0 = time.perf_counter()
            refresh_rollups(clock.today())
            db.session.commit()
            print(f"rollups built in {time.perf_counter() - t0:.1f} s")
        db.session.remove()


def _database(size: int, reuse: bool, out_dir: Path, db_url: str | None):
    institutions = max(1, size // PER_INSTITUTION)
    per = size // institutions
    if db_url:
        if reuse:
            print(f"reusing {db_url}")
            _sync_indexes(make_app(db_url))
            _index_search(make_app(db_url))
        else:
            info = generate(db_url, institutions, per, inspections_per_asset=1)
            print(f"generated {info.asset_count:,} assets in {info.seconds:.0f} s")
        return db_url
    db_path = out_dir / f"assets-{size}.db"
    url = f"sqlite:///{db_path}"
    if reuse and db_path.exists():
        app = make_app(url)
        print(f"reusing {db_path}")
        _sync_indexes(app)
        _index_search(app)
    else:
        info = generate(url, institutions, per, inspections_per_asset=1)
        print(f"generated {info.asset_count:,} assets in {info.seconds:.0f} s")
    return url


def _pages(app) -> tuple[dict[str, list[str]], list[str], list[str]]:
    from asset_registry.assets.models import Asset
    from asset_registry.catalog.models import Category
    from asset_registry.extensions import db
    from asset_registry.tenancy.models import Organisation
    from asset_registry.tenancy.scope import Scope, use_scope

    rng = random.Random(7)
    with app.app_context(), use_scope(Scope.system()):
        first_org = db.session.scalar(
            select(Organisation.id).where(Organisation.code == "bench00001")
        )
        max_id = db.session.scalar(select(Asset.id).order_by(Asset.id.desc()).limit(1))
        sample_ids = [rng.randint(1, max_id) for _ in range(200)]
        own = list(
            db.session.scalars(
                select(Asset.id).where(Asset.org_id == first_org, Asset.id.in_(sample_ids))
            )
        ) or [db.session.scalar(select(Asset.id).where(Asset.org_id == first_org).limit(1))]
        # ids need not be contiguous (deleted rows, other benches' writes): keep those
        # that exist, for the city admin's detail pages
        existing = list(db.session.scalars(select(Asset.id).where(Asset.id.in_(sample_ids))))
        tokens = list(db.session.scalars(select(Asset.qr_token).where(Asset.id.in_(sample_ids))))
        med = db.session.scalar(select(Category.id).where(Category.code == "MED-06"))
        lift = db.session.scalar(select(Category.id).where(Category.code == "SE-3000"))
        db.session.remove()

    pages = {
        "list p1 (code)": ["/assets/"],
        "list filtered+sorted p1": [
            f"/assets/?category_id={med}&status=in_service&sort=name",
            f"/assets/?category_id={lift}&status=in_service&sort=life_end&direction=desc",
        ],
        "list over-life sorted": ["/assets/?over_design_life=1&sort=commissioned"],
        # past COUNT_CAP matches the list offers 200 pages: p1000 shows the last of them
        "list deep page (p1000)": ["/assets/?page=1000&sort=name"],
        "list search q": ["/assets/?q=M4321", "/assets/?q=BENCH00001-2015-00012"],
        # thousands of matches (a maker, a device) and a 2-character term (LIKE)
        "list search common": ["/assets/?q=迈瑞医疗", "/assets/?q=监护仪"],
        "list search 2 chars": ["/assets/?q=CT", "/assets/?q=监护"],
        "detail": [f"/assets/{i}" for i in own],
        "scan (signed in)": [f"/a/{t}" for t in tokens],
        "dashboard": ["/dashboard/"],
    }
    return pages, existing, tokens


def _clients(app) -> dict:
    # No app context around the requests: each request must push its own, or `g`
    # (and Flask-Login's cached user in it) carries over from one client to the
    # next and the "city admin" requests run as whoever signed in last.
    return {"manager": _sign_in(app, "bench_manager"), "city admin": _sign_in(app, "admin"),
            "public": app.test_client()}


def _plan(app) -> list[tuple[str, str, list[str]]]:
    """(who, page, urls) for every measured page."""
    pages, existing, tokens = _pages(app)
    plan = []
    for who in ("manager", "city admin"):
        for name, urls in pages.items():
            if who == "city admin" and name == "detail":
                urls = [f"/assets/{i}" for i in existing]
            plan.append((who, name, urls))
    plan.append(("public", "scan (signed out)", [f"/a/{t}" for t in tokens]))
    return plan


def run(size: int, repeat: int, reuse: bool, out_dir: Path, db_url: str | None = None,
        role: str | None = None, compare: bool = False) -> list[tuple]:
    """The pages on one database. On PostgreSQL they are read as `role` (row-level
    security binds it); with `compare` also as the URL's superuser (bypassed), the two
    taking turns request by request so that other load on the machine hits both
    alike, and the ratio of the two is printed: the cost of the wall."""
    url = _database(size, reuse, out_dir, db_url)
    _rollups(url)
    apps = {"bound": make_app(url, role)}
    if compare:
        apps["super"] = make_app(url)
    clients = {name: _clients(app) for name, app in apps.items()}
    rows = []
    for who, page, urls in _plan(apps["bound"]):
        figures = _time_alternating({n: c[who] for n, c in clients.items()}, urls, repeat)
        p50, p95 = figures["bound"]
        rows.append((size, who, page, p50, p95))
        line = f"{size:>9,} {who:<10} {page:<26} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"
        if compare:
            s50, s95 = figures["super"]
            line += (f"   | superuser p50 {s50:7.1f} p95 {s95:7.1f}"
                     f"   | RLS ratio p50 {p50 / s50:4.2f}× p95 {p95 / s95:4.2f}×")
        print(line, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated asset counts")
    parser.add_argument("--repeat", type=int, default=40, help="requests per page")
    parser.add_argument("--reuse", action="store_true", help="reuse bench/out/assets-N.db")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--db-url", help="PostgreSQL (or SQLite) URL to use; one size only. "
                        "PostgreSQL: the URL's user builds the data, the pages are read as "
                        "--role, then (--compare) as the URL's user")
    parser.add_argument("--role", default=APP_ROLE, help="PostgreSQL role to read as")
    parser.add_argument("--compare", action="store_true",
                        help="PostgreSQL: also read as the URL's superuser, print the ratio")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    all_rows = []
    postgres = bool(args.db_url and args.db_url.startswith("postgresql"))
    for size in (int(s) for s in args.sizes.split(",")):
        all_rows += run(size, args.repeat, args.reuse, args.out, args.db_url,
                        args.role if postgres else None, postgres and args.compare)
    worst = max(r[4] for r in all_rows)
    print(f"worst p95: {worst:.1f} ms (target < 100 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
