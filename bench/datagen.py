"""Synthetic data for benchmarks: N institutions × M assets (+ obligations, inspections).

    PYTHONPATH=. python bench/datagen.py sqlite:///bench/out/assets-100k.db 1 100000

`generate()` builds a FRESH database (drops a SQLite file first): the app's tables,
the Jincheng demo organisations, users and categories (the app's own seed
functions), then `institutions` extra institutions spread over the four bureaus,
each with `assets_per_institution` assets inserted set-based (executemany in
batches), one or two obligations per asset with next_due spread around today,
and `inspections_per_asset` inspection records per asset. The shares of assets past
their design life and of overdue, soon-due and failed obligations are realistic (see
PAST_DESIGN_LIFE_SHARE and below).

Other benches import it:

    from bench.datagen import generate
    info = generate(url, institutions=10, assets_per_institution=100_000)
    info.org_ids, info.manager_username, info.password, info.app
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 10_000
PASSWORD = "bench-pass-1"
SECTORS = ("health", "education", "culture_tourism", "sports")
BUREAU_OF = {"health": "wjw", "education": "jyj", "culture_tourism": "wlj", "sports": "tyj"}
# category code, name pool, value range (CNY) per sector; a share of special equipment
# (elevators, pressure vessels, boilers) appears in every sector.
SECTOR_KINDS = {
    "health": [
        ("MED-06", ["64排螺旋CT", "DR", "彩色多普勒超声", "1.5T磁共振"], (300_000, 18_000_000)),
        ("MED-07", ["多参数监护仪", "心电图机", "血压计"], (5_000, 200_000)),
        ("MED-08", ["呼吸机", "麻醉机", "除颤仪"], (50_000, 600_000)),
        ("MED-22", ["全自动生化分析仪", "血细胞分析仪"], (200_000, 2_000_000)),
        ("MED-11", ["脉动真空灭菌器"], (100_000, 500_000)),
    ],
    "education": [
        ("EDU-LAB", ["数字示波器", "分光光度计", "信号发生器"], (5_000, 300_000)),
        ("EDU-RES", ["扫描电子显微镜", "液相色谱仪", "X射线衍射仪"], (500_000, 5_000_000)),
        ("EDU-TRAIN", ["数控车床", "PLC实训台", "工业机器人实训站"], (50_000, 800_000)),
    ],
    "culture_tourism": [
        ("SE-5000", ["电动观光车", "燃油观光车"], (80_000, 200_000)),
        ("SE-6000", ["旋转木马", "自控飞机", "摩天轮"], (300_000, 5_000_000)),
        ("SE-9000", ["客运索道"], (20_000_000, 100_000_000)),
        ("PERF-LIGHT", ["舞台灯光系统"], (100_000, 3_000_000)),
    ],
    "sports": [
        ("SPORT-FIT", ["室外健身路径", "智能健身器材"], (10_000, 300_000)),
    ],
}
SPECIAL_EVERYWHERE = [
    ("SE-3000", ["乘客电梯", "医用电梯", "观光电梯"], (200_000, 800_000)),
    ("SE-2100", ["储气罐", "换热器"], (30_000, 500_000)),
    ("SE-1000", ["燃气热水锅炉"], (200_000, 1_000_000)),
]
STATUSES = ["in_service"] * 85 + ["idle"] * 5 + ["under_repair"] * 4 + ["stopped"] * 3 + [
    "awaiting_disposal"
] * 2 + ["disposed"]
DEPARTMENTS = {
    "health": ["影像科", "检验科", "重症医学科", "急诊科", "手术室", "超声科", "后勤保障部"],
    "education": ["机电工程学院", "化学化工学院", "材料学院", "实训中心", "后勤处"],
    "culture_tourism": ["游乐部", "索道公司", "交通部", "工程部", "演艺部"],
    "sports": ["场馆部", "工程部", "社区健身站"],
}
MAKERS = [
    "迈瑞医疗", "联影医疗", "西门子", "GE", "飞利浦", "日立", "奥的斯", "中山金马", "舒华体育",
]


# Shares that make the register look like a real ledger (the alert bench depends on
# them): ~15% of assets past their design life, and of the obligations ~5% overdue,
# ~10% due within 30 days, ~1% with a failed latest inspection.
PAST_DESIGN_LIFE_SHARE = 0.15
OVERDUE_SHARE = 0.05
DUE_30D_SHARE = 0.10
FAILED_SHARE = 0.01
MAX_AGE_DAYS = 40 * 365


def _age_days(rng: random.Random, life_years: int) -> int:
    """Days since commissioning: uniform over [30 days, U × design life] with U chosen
    so that PAST_DESIGN_LIFE_SHARE of the assets are past their design life."""
    span = life_years * 365 / (1 - PAST_DESIGN_LIFE_SHARE)
    return min(MAX_AGE_DAYS, max(30, int(rng.random() * span)))


def _due_offset(rng: random.Random, months: int) -> int:
    """Days from today to next_due: a few overdue (by up to 60 days), some due within
    30 days, the rest spread over the remaining cycle."""
    r = rng.random()
    if r < OVERDUE_SHARE:
        return -rng.randint(1, 60)
    if r < OVERDUE_SHARE + DUE_30D_SHARE:
        return rng.randint(0, 30)
    return rng.randint(31, max(31, 30 * months))


@dataclass
class Generated:
    url: str
    org_ids: list[int]
    org_codes: list[str]
    asset_count: int
    manager_username: str
    admin_username: str = "admin"
    password: str = PASSWORD
    seconds: float = 0.0
    app: object = field(default=None, repr=False)


# PostgreSQL: the URL's user builds the data (as the owner would); the benches then read
# as this ordinary role, which row-level security binds (the app's DATABASE_ROLE)
APP_ROLE = "asset_registry_app"


def _fresh(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    elif parsed.get_backend_name() == "postgresql":
        from sqlalchemy import create_engine

        server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
        server.dispose()


def _token(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode().rstrip("=")


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def make_app(url: str, role: str | None = None):
    """The app on `url`; on PostgreSQL with `role`, every connection acts as that role
    (row-level security binds it), without it as the URL's user (a superuser: bypassed)."""
    from asset_registry import create_app
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        DATABASE_ROLE = role
        TESTING = True
        WTF_CSRF_ENABLED = False
        LOGIN_MAX_FAILURES = 10**9
        LOGIN_MAX_FAILURES_PER_ADDRESS = 10**9

    return create_app(BenchConfig)


def generate(
    db_url: str,
    institutions: int,
    assets_per_institution: int,
    inspections_per_asset: int = 0,
    seed: int = 1,
    *,
    quiet: bool = False,
) -> Generated:
    """Build a fresh database; returns what benches need to sign in and find rows."""
    started = time.perf_counter()
    _fresh(db_url)
    app = make_app(db_url)
    rng = random.Random(seed)

    def say(msg: str) -> None:
        if not quiet:
            print(f"[datagen {time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    from asset_registry import clock
    from asset_registry.assets.models import Asset
    from asset_registry.catalog.models import Category, ObligationTemplate
    from asset_registry.catalog.seed import seed_demo as seed_catalog
    from asset_registry.extensions import db
    from asset_registry.inspections.models import InspectionRecord, Obligation
    from asset_registry.tenancy.models import Membership, Organisation, User
    from asset_registry.tenancy.scope import Scope, use_scope
    from asset_registry.tenancy.seed import seed_demo as seed_tenancy

    with app.app_context(), use_scope(Scope.system()):
        db.create_all()
        seed_tenancy()
        seed_catalog()
        db.session.commit()
        say("schema and demo organisations/categories ready")
        conn = db.session.connection()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        bureaus = {
            o.code: o.id
            for o in db.session.scalars(select(Organisation).where(Organisation.kind == "bureau"))
        }
        cats = {c.code: c for c in db.session.scalars(select(Category))}
        templates: dict[int, list] = {}
        for t in db.session.scalars(select(ObligationTemplate)):
            templates.setdefault(t.category_id, []).append(t)

        # --- institutions and one manager for the first one
        first_org = (db.session.scalar(select(func.max(Organisation.id))) or 0) + 1
        org_rows, codes = [], []
        for i in range(institutions):
            sector = SECTORS[i % len(SECTORS)]
            code = f"bench{i + 1:05d}"
            codes.append(code)
            org_rows.append(
                dict(
                    id=first_org + i,
                    code=code,
                    name=f"基准测试单位{i + 1:05d}",
                    kind="institution",
                    sector=sector,
                    county="城区",
                    parent_id=bureaus[BUREAU_OF[sector]],
                )
            )
        if org_rows:
            db.session.execute(insert(Organisation), org_rows)
        org_ids = [r["id"] for r in org_rows]
        manager = "bench_manager"
        if org_ids:
            user = User(username=manager, display_name="基准测试管理员", email=None)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            m = Membership(user_id=user.id, org_id=org_ids[0], role="institution_manager")
            db.session.add(m)
            db.session.flush()
            user.active_membership_id = m.id
        admin = db.session.scalars(select(User).where(User.username == "admin")).one()
        admin.set_password(PASSWORD)
        db.session.commit()
        say(f"{institutions} institutions")

        # --- assets, obligations, inspections (Core executemany, explicit ids)
        today = clock.today()
        now = clock.utcnow_naive()
        next_asset = (db.session.scalar(select(func.max(Asset.id))) or 0) + 1
        next_obl = (db.session.scalar(select(func.max(Obligation.id))) or 0) + 1
        next_rec = (db.session.scalar(select(func.max(InspectionRecord.id))) or 0) + 1
        asset_rows: list[dict] = []
        obl_rows: list[dict] = []
        rec_rows: list[dict] = []
        total = 0

        def flush(final: bool = False) -> None:
            nonlocal asset_rows, obl_rows, rec_rows
            if asset_rows and (final or len(asset_rows) >= BATCH):
                db.session.execute(insert(Asset), asset_rows)
                if obl_rows:
                    db.session.execute(insert(Obligation), obl_rows)
                if rec_rows:
                    db.session.execute(insert(InspectionRecord), rec_rows)
                asset_rows, obl_rows, rec_rows = [], [], []

        for n, org in enumerate(org_rows):
            sector = org["sector"]
            kinds = SECTOR_KINDS[sector] + SPECIAL_EVERYWHERE
            weights = [10] * len(SECTOR_KINDS[sector]) + [1] * len(SPECIAL_EVERYWHERE)
            prefix = org["code"].upper()
            for k in range(assets_per_institution):
                cat_code, names, (lo, hi) = rng.choices(kinds, weights)[0]
                cat = cats[cat_code]
                life = cat.design_life_years or 10
                commissioned = today - dt.timedelta(days=_age_days(rng, life))
                bought = commissioned - dt.timedelta(days=rng.randint(0, 90))
                special = bool(cat.is_special)
                aid = next_asset
                next_asset += 1
                year = commissioned.year
                asset_rows.append(
                    dict(
                        id=aid,
                        org_id=org["id"],
                        asset_code=f"{prefix}-{year}-{k + 1:07d}",
                        name=rng.choice(names),
                        category_id=cat.id,
                        model=f"M{rng.randint(100, 9999)}",
                        manufacturer=rng.choice(MAKERS),
                        serial_no=f"SN{rng.getrandbits(40):012d}",
                        department=rng.choice(DEPARTMENTS[sector]),
                        location=f"{rng.randint(1, 12)}号楼{rng.randint(1, 20)}层",
                        purchase_date=bought,
                        commissioned_on=commissioned,
                        design_life_years=life,
                        accounting_life_years=cat.accounting_life_years or life,
                        design_life_end=_add_years(commissioned, life),
                        original_value=rng.randint(lo, hi),
                        funding_source="local_fiscal",
                        status=rng.choice(STATUSES),
                        is_special=special,
                        special_code=cat.special_code if special else None,
                        equipment_code=(
                            f"{cat.special_code}{rng.randint(0, 99999):05d}{year}{k % 100000:05d}"
                            if special
                            else None
                        ),
                        vessel_grade=None,
                        radiation=cat_code == "MED-06" and rng.random() < 0.6,
                        metrology=cat_code == "MED-07",
                        qr_token=_token(rng),
                        created_at=now,
                        updated_at=now,
                    )
                )
                # one or two obligations (from the category's templates when it has any)
                tpls = templates.get(cat.id) or []
                for j in range(1 if rng.random() < 0.6 else 2):
                    t = tpls[j % len(tpls)] if tpls else None
                    months = (t.interval_months if t else None) or 12
                    due = today + dt.timedelta(days=_due_offset(rng, months))
                    failed = rng.random() < FAILED_SHARE
                    oid = next_obl
                    next_obl += 1
                    obl_rows.append(
                        dict(
                            id=oid,
                            org_id=org["id"],
                            asset_id=aid,
                            template_id=t.id if t else None,
                            kind=t.kind if t else "preventive_maintenance",
                            name=t.name if t else "预防性维护",
                            interval_months=months,
                            lead_days=30,
                            statutory=bool(t.statutory) if t else False,
                            conclusion_set=t.conclusion_set if t else "general",
                            next_due=due,
                            last_done=due - dt.timedelta(days=30 * months),
                            failed=failed,
                            active=True,
                        )
                    )
                    if j == 0:
                        for r in range(inspections_per_asset):
                            done = due - dt.timedelta(days=30 * months * (r + 1))
                            rec_rows.append(
                                dict(
                                    id=next_rec,
                                    org_id=org["id"],
                                    asset_id=aid,
                                    obligation_id=oid,
                                    inspected_on=done,
                                    inspection_type="定期检验",
                                    agency="晋城市特种设备检验所",
                                    report_no=f"R{next_rec:010d}",
                                    # the latest record is the failed one
                                    conclusion="不符合要求" if failed and r == 0 else "符合要求",
                                    passed=not (failed and r == 0),
                                    next_due=done + dt.timedelta(days=30 * months),
                                    method="import",
                                    created_at=now,
                                )
                            )
                            next_rec += 1
                total += 1
                flush()
            flush(final=True)
            db.session.commit()
            if not quiet and (n + 1) % max(1, institutions // 10 or 1) == 0:
                say(f"{total:,} assets")
        flush(final=True)
        if conn.dialect.name == "postgresql":
            for table in ("organisation", "asset", "obligation", "inspection_record"):
                db.session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        if conn.dialect.name == "postgresql":
            from asset_registry.tenancy.row_security import grant_app_role

            grant_app_role(db.session.connection(), APP_ROLE)
            db.session.commit()
        say(f"done: {total:,} assets")
    return Generated(
        url=db_url,
        org_ids=org_ids,
        org_codes=codes,
        asset_count=total,
        manager_username=manager,
        seconds=time.perf_counter() - started,
        app=app,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db_url")
    parser.add_argument("institutions", type=int)
    parser.add_argument("assets_per_institution", type=int)
    parser.add_argument("--inspections", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    info = generate(
        args.db_url, args.institutions, args.assets_per_institution, args.inspections, args.seed
    )
    print(f"{info.asset_count:,} assets in {info.seconds:.1f} s → {info.url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
