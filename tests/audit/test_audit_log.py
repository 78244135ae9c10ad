"""The audit log in words: field labels, links to the entity, who and when in Beijing
time, filters by user, entity and date, and an import shown as one entry with its job."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from asset_registry.assets.models import Asset
from asset_registry.audit.models import AuditEvent
from asset_registry.extensions import db
from asset_registry.tenancy.models import User
from asset_registry.tenancy.scope import Scope, use_scope
from tests.imports.ledgers import simple_ledger, unique_prefix
from tests.imports.test_import_web import job_id_of, upload


def _rmyy_asset() -> tuple[int, int]:
    with use_scope(Scope.system()):
        asset = db.session.scalars(
            select(Asset).where(Asset.asset_code == "RMYY-CT-2013-001")).one()
        return asset.id, asset.org_id


def _rows(html: str) -> list[str]:
    body = html.split('id="audit-table"', 1)[1]
    return re.findall(r"<tr data-entity.*?</tr>", body, re.S)


def test_an_edit_reads_in_words_with_who_when_and_a_link(app, login):
    asset_id, org_id = _rmyy_asset()
    # written at 16:30 UTC on New Year's Eve: 00:30 on 1 January in Beijing
    with use_scope(Scope.system()):
        rmyy = db.session.scalars(select(User).where(User.username == "rmyy")).one()
        db.session.add(AuditEvent(
            org_id=org_id, at=dt.datetime(2031, 12, 31, 16, 30), user_id=rmyy.id,
            address="10.9.9.9", entity="asset", entity_id=asset_id, action="update",
            changes={"before": {"location": "三楼", "is_special": False, "org_id": org_id},
                     "after": {"location": "四楼", "is_special": True, "org_id": org_id}}))
        db.session.commit()
    client = login("rmyy")
    html = client.get("/audit/?date_from=2032-01-01&date_to=2032-01-01").get_data(as_text=True)
    [row] = [r for r in _rows(html) if "10.9.9.9" in r]
    assert "2032-01-01 00:30:00" in row
    assert "人民医院设备科" in row and "(rmyy)" in row
    assert f'href="/assets/{asset_id}"' in row
    assert "使用地点" in row and "三楼 → 四楼" in row and "特种设备" in row and "否 → 是" in row
    assert "晋城市人民医院" in row  # the organisation by name, not its id
    assert "location" not in row and "org_id" not in row and "False" not in row
    # the day before in Beijing does not hold it, whatever the UTC date says
    html = client.get("/audit/?date_from=2031-12-31&date_to=2031-12-31").get_data(as_text=True)
    assert not [r for r in _rows(html) if "10.9.9.9" in r]
    # filters by user and entity
    html = client.get("/audit/?user=rmyy_xj&date_from=2032-01-01").get_data(as_text=True)
    assert not [r for r in _rows(html) if "10.9.9.9" in r]
    html = client.get("/audit/?user=rmyy&entity=asset&date_from=2032-01-01").get_data(
        as_text=True)
    assert [r for r in _rows(html) if "10.9.9.9" in r]
    html = client.get("/audit/?entity=fault&date_from=2032-01-01").get_data(as_text=True)
    assert not [r for r in _rows(html) if "10.9.9.9" in r]


def test_an_import_is_one_entry_linking_to_its_job(app, login, tmp_path):
    p = unique_prefix()
    client = login("rmyy")
    rows = [(f"{p}-{n}", f"导入测试设备{n}") for n in range(6)]
    job_id = job_id_of(upload(client, simple_ledger(tmp_path / "台账.xlsx", rows)))
    client.post(f"/imports/{job_id}/commit", {})
    with use_scope(Scope.system()):
        written = db.session.scalar(
            select(func.count()).select_from(AuditEvent)
            .where(AuditEvent.import_job_id == job_id))
    assert written > 1
    html = client.get("/audit/?user=rmyy").get_data(as_text=True)
    rows = [r for r in _rows(html) if f'data-import-job="{job_id}"' in r]
    assert len(rows) == 1
    assert f'href="/imports/{job_id}"' in rows[0] and f"共写入 {written} 条记录" in rows[0]


def test_bad_dates_are_a_message_and_another_institution_sees_nothing(app, login):
    client = login("rmyy")
    response = client.get("/audit/?date_from=31/12/2031&entity=" + "x" * 80)
    assert response.status_code == 200 and "日期格式不正确" in response.get_data(as_text=True)
    other = login("hcxf")
    html = other.get("/audit/?date_from=2032-01-01&date_to=2032-01-01").get_data(as_text=True)
    assert "10.9.9.9" not in html
