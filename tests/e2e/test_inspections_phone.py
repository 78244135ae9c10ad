"""At phone size, 王莽岭 scans an elevator label, records a passing inspection with a photo,
and the public (signed-out) view shows the date that record certifies; the failed demo
elevator's label shows why it must not be used, and no date."""

from __future__ import annotations

import datetime as dt
import struct
import zlib

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.inspections.rules import add_months
from tests.helpers import browser_login, scope_of
from tests.inspections.factories import make_asset


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x2a\x7f\xd0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_wml_records_inspection_from_the_scan_page(app, phone, browser, live_server):
    from asset_registry.tenancy.scope import set_scope

    today = clock.today()
    scope = scope_of("wml")
    set_scope(scope)
    try:
        cableway = make_asset(scope, "wml", "SE-3000", name="手机测试电梯",
                              commissioned_on=today - dt.timedelta(days=365))
        db.session.commit()
        token = cableway.qr_token
    finally:
        set_scope(None)
    expected = add_months(today, 12).isoformat()

    browser_login(phone, "wml")
    phone.goto(f"/a/{token}")
    phone.click("a[data-obligation=annual_inspection]")
    phone.wait_for_selector("#inspection-form")
    assert phone.input_value("input[name=inspected_on]") == today.isoformat()
    phone.select_option("select[name=conclusion]", "符合要求")
    phone.fill("input[name=agency]", "山西省检验检测中心")
    phone.fill("input[name=report_no]", f"WML-E2E-{token[:6]}")
    phone.set_input_files(
        "input[name=attachment]",
        files=[{"name": "label-photo.png", "mimeType": "image/png", "buffer": tiny_png()}],
    )
    phone.click("#save-inspection")
    phone.wait_for_url(f"**/a/{token}")
    assert phone.text_content("#mark-valid-until").strip() == expected
    assert phone.locator("#stop-banner").count() == 0
    # the page fits the phone: no horizontal scrolling
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    from sqlalchemy import select

    from asset_registry.assets.models import Attachment
    from asset_registry.inspections.models import InspectionRecord
    from asset_registry.tenancy.scope import Scope, use_scope

    db.session.remove()
    with use_scope(Scope.system()):
        record = db.session.scalars(select(InspectionRecord).where(
            InspectionRecord.report_no == f"WML-E2E-{token[:6]}")).one()
        assert record.method == "scan" and record.passed
        photo = db.session.scalars(
            select(Attachment).where(Attachment.inspection_id == record.id)).one()
        assert photo.content_type == "image/png" and photo.filename == "label-photo.png"

    public = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                 is_mobile=True, locale="zh-CN")
    try:
        anon = public.new_page()
        anon.goto(f"/a/{token}")
        assert anon.text_content("#mark-valid-until").strip() == expected
        assert anon.locator("#inspection-actions").count() == 0
        assert "WML-E2E" not in anon.content()  # the public view shows the mark only
    finally:
        public.close()


def test_the_failed_elevator_scanned_signed_out_shows_the_reason_and_no_date(
    app, browser, live_server
):
    from sqlalchemy import select

    from asset_registry.assets.models import Asset
    from asset_registry.tenancy.scope import Scope, use_scope

    with use_scope(Scope.system()):
        token = db.session.scalars(
            select(Asset.qr_token).where(Asset.asset_code == "HCXF-DT-2006-001")).one()
    db.session.remove()
    public = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                 is_mobile=True, locale="zh-CN")
    try:
        anon = public.new_page()
        anon.goto(f"/a/{token}")
        banner = anon.locator("#stop-banner")
        assert banner.is_visible()
        text = banner.inner_text()
        assert "暂停使用" in text and "检验不合格" in text
        assert anon.locator("#mark-valid-until").count() == 0
        mark = anon.inner_text("#safety-mark")
        assert not any(ch.isdigit() for ch in mark.split("安全状态")[-1].replace("5 级", ""))
        assert anon.text_content("#mark-state").strip() == "检验不合格"
        assert anon.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        public.close()
