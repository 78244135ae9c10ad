"""An upload directory the server cannot write to: a clear message, and neither the
attachment nor the inspection it came with half-saved (no row, no file).

A real file-system failure: UPLOAD_DIR lies under a regular file, so creating or
writing anything in it fails (chmod would not stop the root user the suite may run as)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.assets.models import Attachment
from asset_registry.extensions import db
from asset_registry.inspections.models import InspectionRecord, Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import duty, make_asset
from tests.inspections.test_views_isolation import PNG

MESSAGE = "文件未能保存（服务器存储不可写或已满）"


@pytest.fixture
def unwritable_uploads(app, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the upload directory should be")
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(blocker / "uploads"))
    return blocker


def attachments_of(asset_id: int) -> int:
    with use_scope(Scope.system()):
        count = db.session.scalar(
            select(func.count(Attachment.id)).where(Attachment.asset_id == asset_id)
        )
        db.session.rollback()
    return count


def next_due_of(obligation_id: int):
    with use_scope(Scope.system()):
        db.session.expire_all()
        value = db.session.scalar(
            select(Obligation.next_due).where(Obligation.id == obligation_id)
        )
        db.session.rollback()
    return value


def test_asset_attachment_refused_with_a_message(login, as_user, unwritable_uploads):
    with as_user("rmyy") as scope:
        asset_id = make_asset(scope, "rmyy", "MED-07", name="上传故障监护仪").id
        db.session.commit()
    client = login("rmyy")
    response = client.post(
        f"/assets/{asset_id}/attachments",
        {"kind": "photo", "file": (io.BytesIO(PNG), "铭牌.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert MESSAGE in page and "附件已上传" not in page
    assert attachments_of(asset_id) == 0
    assert unwritable_uploads.read_text().startswith("a file")


def test_inspection_with_certificate_photo_is_not_half_saved(login, as_user, unwritable_uploads):
    with as_user("wml") as scope:
        car = make_asset(scope, "wml", "SE-5000", name="上传故障观光车")
        db.session.commit()
        asset_id, obligation_id = car.id, duty(car, "annual_inspection").id
    next_due_before = next_due_of(obligation_id)
    client = login("wml")
    response = client.post(
        f"/inspections/obligations/{obligation_id}/record",
        {
            "report_no": "FAULT-UP-1",
            "agency": "测试检验机构",
            "inspected_on": clock.today().isoformat(),
            "conclusion": "允许运行",
            "attachment": (io.BytesIO(PNG), "合格证.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and MESSAGE in response.get_data(as_text=True)
    assert attachments_of(asset_id) == 0
    with use_scope(Scope.system()):
        records = db.session.scalar(
            select(func.count(InspectionRecord.id))
            .where(InspectionRecord.obligation_id == obligation_id)
        )
        assert records == 0
        db.session.rollback()
    assert next_due_of(obligation_id) == next_due_before  # the duty did not move either
