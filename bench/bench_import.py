"""Import speed: generate 10,000 and 100,000-row ledgers (17 columns, shaped like a
finance export: 原值 in 万元, 使用年限 in months, ledger words for funding and status)
and time the end-to-end import with a mapping (the organisation's saved mapping plus
a file mapping; read, convert units, map values, validate, classify, insert with audit
rows and default obligations, commit) against the floor: a bare calamine parse plus a
bare SQLite executemany of the same rows.

    .venv/bin/python bench/bench_import.py [--rows 10000 100000] [--keep DIR]

Each measurement runs in a fresh subprocess so peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADERS = [
    "资产编号",
    "设备名称",
    "类别",
    "规格型号",
    "厂商名称",
    "出厂编号",
    "使用科室",
    "使用地点",
    "购置日期",
    "投用日期",
    "设计使用年限",
    "使用年限（月）",
    "原值（万元）",
    "资金来源",
    "使用状况",
    "医疗器械分类",
    "备注",
]
CATEGORIES = ["06 医用成像器械", "07 医用诊察和监护器械", "08 呼吸、麻醉和急救器械", "MED-06"]
DEPARTMENTS = ["放射科", "超声科", "ICU", "检验科", "心内科", "骨科", "急诊科", "手术室"]
FUNDING = ["自筹", "财政拨款", "国债", "财政专户", None]
STATUS = ["使用中", "正常", "在用", "闲置", "维修"]
# what the organisation has mapped: a funding word of its own, the notes column by name
MAPPING = {
    "columns": {"备注": {"field": "notes"}},
    "values": {"funding_source": {"财政专户": "local_fiscal"}},
}


def generate(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    rnd = random.Random(rows)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("设备台账")
    ws.append(["晋城市人民医院设备台账"])
    ws.append(HEADERS)
    start = dt.date(2010, 1, 1)
    for i in range(rows):
        bought = start + dt.timedelta(days=rnd.randrange(5000))
        ws.append(
            [
                f"ZY-{i:07d}",
                f"设备{i % 997}",
                rnd.choice(CATEGORIES),
                f"M-{i % 113}",
                f"厂商{i % 41}",
                f"SN{i:09d}",
                rnd.choice(DEPARTMENTS),
                f"{i % 12}号楼{i % 7}层",
                bought,
                bought + dt.timedelta(days=rnd.randrange(90)),
                rnd.choice([8, 10, None]),
                rnd.choice([60, 72, 120]),
                round(rnd.uniform(0.1, 200), 4),
                rnd.choice(FUNDING),
                rnd.choice(STATUS),
                rnd.choice(["Ⅱ类", "Ⅲ类", None]),
                None,
            ]
        )
    wb.save(path)


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_import(path: str, workdir: str) -> dict:
    os.environ["INSTANCE_DIR"] = workdir
    from sqlalchemy import select

    from asset_registry import create_app
    from asset_registry.bulk import release_memory
    from asset_registry.catalog import seed as catalog_seed
    from asset_registry.extensions import db
    from asset_registry.imports import seed as imports_seed
    from asset_registry.imports.mapping import from_json
    from asset_registry.imports.services import run_import
    from asset_registry.tenancy import seed as tenancy_seed
    from asset_registry.tenancy.models import Organisation
    from asset_registry.tenancy.scope import Scope, use_scope
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{workdir}/bench.db"
        UPLOAD_DIR = f"{workdir}/uploads"

    app = create_app(BenchConfig)
    with app.app_context():
        db.create_all()
        with use_scope(Scope.system()):
            tenancy_seed.seed_demo()
            catalog_seed.seed_demo()
            imports_seed.seed_demo()
            db.session.flush()
            org_id = db.session.scalars(
                select(Organisation.id).where(Organisation.code == "rmyy")
            ).one()
        db.session.commit()
        base_rss = _maxrss_mb()
        scope = Scope(org_ids=frozenset({org_id}), org_id=org_id, role="system")
        started = time.perf_counter()
        mapping = from_json(MAPPING, "assets")
        with use_scope(scope):
            result = run_import(scope, org_id, "assets", path, mapping=mapping)
            db.session.commit()
        elapsed = time.perf_counter() - started
        import_rss = _maxrss_mb()
        release_memory(db.session.connection())  # as the import job runner does
        # the same file again: every row unchanged, nothing written
        started = time.perf_counter()
        with use_scope(scope):
            again = run_import(scope, org_id, "assets", path, mapping=mapping)
            db.session.commit()
        reimport = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "new": result.new,
        "rejected": result.rejected,
        "obligations": result.obligations_created,
        "reimport_seconds": reimport,
        "reimport_unchanged": again.unchanged,
        "maxrss_mb": import_rss,
        "reimport_maxrss_mb": _maxrss_mb(),
        "base_rss_mb": base_rss,
    }


def child_floor(path: str, workdir: str) -> dict:
    import sqlite3

    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    rows = [r for r in sheet.iter_rows()][2:]
    parsed = time.perf_counter() - started
    conn = sqlite3.connect(f"{workdir}/floor.db")
    conn.execute(f"CREATE TABLE t ({', '.join(f'c{i}' for i in range(17))})")
    t1 = time.perf_counter()
    conn.executemany(
        f"INSERT INTO t VALUES ({', '.join('?' * 17)})",
        [
            tuple(str(v) if isinstance(v, (dt.date, dt.datetime)) else v for v in r[:17])
            for r in rows
        ],
    )
    conn.commit()
    inserted = time.perf_counter() - t1
    return {
        "seconds": time.perf_counter() - started,
        "parse_seconds": parsed,
        "insert_seconds": inserted,
        "rows": len(rows),
        "maxrss_mb": _maxrss_mb(),
    }


def _run_child(mode: str, path: Path) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(path), workdir],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", help="directory for the generated ledgers (kept)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, workdir = args.child
        result = child_import(path, workdir) if mode == "import" else child_floor(path, workdir)
        print(json.dumps(result))
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    for rows in args.rows:
        path = folder / f"ledger-{rows}.xlsx"
        if not path.exists():
            t = time.perf_counter()
            generate(path, rows)
            print(
                f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) "
                f"in {time.perf_counter() - t:.1f} s"
            )
        floor = _run_child("floor", path)
        full = _run_child("import", path)
        print(
            f"{rows:>7,} rows: import {full['seconds']:.2f} s "
            f"({rows / full['seconds']:,.0f} rows/s; new {full['new']:,} assets with "
            f"{full['obligations']:,} default obligations and their audit rows), "
            f"peak RSS {full['maxrss_mb']:.0f} MB (after start-up {full['base_rss_mb']:.0f} MB, "
            f"re-import peak {full['reimport_maxrss_mb']:.0f} MB); "
            f"floor {floor['seconds']:.2f} s (calamine {floor['parse_seconds']:.2f} s + "
            f"executemany {floor['insert_seconds']:.2f} s); "
            f"ratio {full['seconds'] / floor['seconds']:.2f}x; "
            f"rejected {full['rejected']:,}; "
            f"re-import {full['reimport_seconds']:.2f} s ({full['reimport_unchanged']:,} "
            f"unchanged)"
        )


if __name__ == "__main__":
    main()
