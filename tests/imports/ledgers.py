"""Ledger files made in the tests, as people really keep them."""

from __future__ import annotations

import datetime as dt
import uuid

from openpyxl import Workbook
from sqlalchemy import select

from asset_registry.extensions import db
from asset_registry.tenancy.models import Organisation
from asset_registry.tenancy.scope import Scope, use_scope

TODAY = dt.date(2025, 6, 1)


def unique_prefix() -> str:
    return "T" + uuid.uuid4().hex[:6].upper()


def org_id(code: str) -> int:
    with use_scope(Scope.system()):
        return db.session.scalars(select(Organisation.id).where(Organisation.code == code)).one()


def save(wb: Workbook, path) -> str:
    wb.save(path)
    return str(path)


def simple_ledger(path, rows, headers=("资产编号", "设备名称")) -> str:
    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    return save(wb, path)


def messy_ledger(path, p: str, *, bad: bool = False) -> str:
    """A hospital ledger: title rows, merged cells, every date and money form, full-width
    digits, a blank row and a 合计 row; `bad` adds rows with one problem each."""
    wb = Workbook()
    ws = wb.active
    ws.title = "设备台账"
    ws["A1"] = "晋城市人民医院医疗设备台账（2024年）"
    ws.merge_cells("A1:L1")
    ws["A2"] = "填报单位：设备科"
    ws.append(
        [
            "序号",
            "*资产编号",
            "设备名称",
            "类别",
            "购置日期",
            "投用时间",
            "资产原值（元）",
            "产品有效期(年)",
            "科室",
            "使用状态",
            "资金来源",
            "楼号",
        ]
    )
    rows = [
        [
            1,
            f"{p}-001",
            "ＣＴ机",
            "医用成像器械",
            dt.date(2015, 3, 8),
            "2015/3/20",
            1280000,
            8,
            "放射科",
            "在用",
            "单位自筹",
            "1号楼",
        ],
        [
            2,
            f"{p}-002",
            " 监护仪 ",
            None,
            42071,
            "2023.04",
            "¥1,280,000.00",
            "6年",
            None,
            "In service",
            "self_funded",
            "1号楼",
        ],  # 科室 merged from the row above
        [
            3,
            f"{p}-003",
            "超声",
            "06",
            "2015.03",
            "2015年3月",
            "￥420,000",
            None,
            "超声科",
            "闲置",
            None,
            None,
        ],
        [None] * 12,
        [
            4,
            f"{p}-００４",
            "呼吸机",
            None,
            "2015年3月8日",
            "20150308",
            "128万",
            "１０",
            "ＩＣＵ",
            None,
            None,
            None,
        ],
        [
            5,
            f"{p}-005",
            "麻醉机",
            None,
            "２０１５年３月",
            "2015-03-08",
            "1.5万元",
            None,
            None,
            "idle",
            None,
            None,
        ],
    ]
    if bad:
        rows += [
            [
                6,
                f"{p}-006",
                "未来设备",
                None,
                "2030-01-01",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ],
            [
                7,
                f"{p}-007",
                "早投用",
                None,
                "2016-05-01",
                "2016-01-01",
                None,
                None,
                None,
                None,
                None,
                None,
            ],
            [8, f"{p}-008", "负值", None, None, None, -5, None, None, None, None, None],
            [9, f"{p}-009", "怪类别", "火星设备", None, None, None, None, None, None, None, None],
            [10, f"{p}-001", "重复", None, None, None, None, None, None, None, None, None],
            [11, f"{p}-011", "文字原值", None, None, None, "很贵", None, None, None, None, None],
            [12, None, "没有编号", None, None, None, None, None, None, None, None, None],
        ]
    for row in rows:
        ws.append(row)
    ws.merge_cells("I4:I5")  # 放射科 over two rows
    ws.append([])
    ws.append(["合  计", None, None, None, None, None, "=SUM(G4:G10)"])
    return save(wb, path)
