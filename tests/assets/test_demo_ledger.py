"""The demo a bureau would believe: every institution the city plan names with a ledger,
kind codes as the 特种设备目录 writes them, and histories that give every safety state."""

import time

from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.assets import codes
from asset_registry.assets.demo_ledger import GENERATED, INSTITUTIONS
from asset_registry.assets.models import Asset
from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.inspections import safety
from asset_registry.tenancy.models import Organisation
from asset_registry.tenancy.scope import Scope, use_scope

PLAN = {
    "rmyy", "fybjy", "dsrmyy", "rjkf", "gprmyy", "yxrmyy", "zzrmyy", "lcrmyy", "qsrmyy",
    "cqrmyy", "sxkj", "zyjs", "zzxx", "jsxy", "hcxf", "wml", "stxz", "tyc",
}


def _generated():
    return select(Asset).where(Asset.asset_code.like(f"%{GENERATED}%"))


def test_every_institution_of_the_plan_has_a_ledger_in_range(app):
    with use_scope(Scope.system()):
        counts = dict(
            db.session.execute(
                select(Organisation.code, func.count(Asset.id))
                .join(Asset, Asset.org_id == Organisation.id)
                .where(Asset.asset_code.like(f"%{GENERATED}%"))
                .group_by(Organisation.code)
            ).all()
        )
        names = set(db.session.scalars(select(Organisation.name)))
    assert set(INSTITUTIONS) == PLAN and set(counts) == PLAN
    assert 2_000 <= sum(counts.values()) <= 4_000, counts
    assert counts["rmyy"] > counts["lcrmyy"] > 50  # the city hospital is the largest
    assert {"泽州县人民医院", "陵川县人民医院", "沁水县人民医院", "高平市人民医院",
            "阳城县人民医院", "晋城市城区人民医院", "晋城市中等专业学校", "晋城技师学院"} <= names


def test_every_safety_state_shows_in_a_freshly_seeded_demo(app, tmp_path):
    """On a database of its own (the shared one is moved by other tests' later-day
    scans), which also times the whole `seed-demo`."""
    from asset_registry import create_app
    from asset_registry.cli import seed_all
    from config import TestingConfig

    class Fresh(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'demo.db'}"
        UPLOAD_DIR = str(tmp_path / "uploads")

    fresh = create_app(Fresh)
    with fresh.app_context():
        db.create_all()
        started = time.perf_counter()
        seed_all()
        print(f"seed-demo on a fresh SQLite database: {time.perf_counter() - started:.1f} s")
        with use_scope(Scope.system()):
            safety.refresh(clock.today(), asset_ids=list(db.session.scalars(
                select(Asset.id).where(Asset.asset_code.like(f"%{GENERATED}%")))))
            states = dict(
                db.session.execute(
                    select(Asset.safety_state, func.count(Asset.id))
                    .where(Asset.asset_code.like(f"%{GENERATED}%"))
                    .group_by(Asset.safety_state)
                ).all()
            )
        db.session.remove()
        db.engine.dispose()
    print("demo safety states:", states)
    assert set(states) == {"failed", "overdue", "stopped", "unverified", "due_soon", "ok", "none"}
    inspected = sum(states.values()) - states["none"]
    # a believable register: most devices current, a few red
    assert states["ok"] + states["due_soon"] > 0.6 * inspected
    assert states["failed"] + states["overdue"] < 0.2 * inspected


def test_special_equipment_codes_fit_their_category(app):
    today = clock.today()
    with use_scope(Scope.system()):
        rows = db.session.execute(
            select(Asset.asset_code, Asset.equipment_code, Category.special_code)
            .join(Category, Category.id == Asset.category_id)
            .where(Asset.equipment_code.is_not(None))
        ).all()
        demo = dict(db.session.execute(select(Asset.asset_code, Asset.equipment_code)).all())
    from asset_registry.assets.seed import DEMO

    hand_made = {row[0] for rows_ in DEMO.values() for row in rows_}
    for code, equipment_code, special_code in rows:
        if GENERATED in code or code in hand_made:
            assert codes.check_equipment_code(equipment_code, special_code, today), code
    # the 特种设备目录 品种 of the hand-made devices
    assert demo["WML-SD-2016-001"].startswith("9120")  # detachable gondola: 循环式
    assert demo["WML-SD-2005-002"].startswith("9110")  # double-track reversible: 往复式
    assert demo["HCXF-YL-2014-001"].startswith("6700")  # 自控飞机类
    assert demo["STXZ-YL-2018-001"].startswith("6600")  # 旋转木马: 转马类
    assert demo["STXZ-YL-2012-002"].startswith("6100")  # 摩天轮: 观览车类
    assert demo["HCXF-GL-2010-001"].startswith("1200")  # 承压热水锅炉
    assert demo["HCXF-GGC-2017-001"].startswith("5200")  # 非公路用旅游观光车辆
    assert demo["WML-GGC-2019-001"].startswith("5200")


def test_medical_catalogue_codes_sit_in_their_sub_catalogue(app):
    with use_scope(Scope.system()):
        rows = db.session.execute(
            select(Asset.catalogue_code, Category.code)
            .join(Category, Category.id == Asset.category_id)
            .where(Asset.catalogue_code.is_not(None), Asset.asset_code.like(f"%{GENERATED}%"))
        ).all()
    assert rows
    for catalogue_code, category_code in rows:
        assert codes.check_catalogue_code(catalogue_code, category_code)


def test_seeding_again_adds_nothing_and_its_time(app):
    from asset_registry.cli import seed_all

    with use_scope(Scope.system()):
        before = db.session.scalar(select(func.count()).select_from(_generated().subquery()))
    started = time.perf_counter()
    seed_all()
    print(f"demo seed re-run (idempotent): {time.perf_counter() - started:.1f} s")
    with use_scope(Scope.system()):
        after = db.session.scalar(select(func.count()).select_from(_generated().subquery()))
    assert after == before
