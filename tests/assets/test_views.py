"""Asset pages through the test client: forms, uploads, the list, the scan page."""

import io

from sqlalchemy import func, select

from asset_registry.assets.models import Asset, Attachment
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.assets.conftest import category_id, unique_code

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _count(code):
    with use_scope(Scope.system()):
        return db.session.scalar(select(func.count(Asset.id)).where(Asset.asset_code == code))


def _form(**kw):
    return {
        "asset_code": unique_code("FORM"),
        "name": "64排螺旋CT",
        "category_id": str(category_id("MED-06")),
        "purchase_date": "2023-01-05",
        "commissioned_on": "2023-02-01",
        "original_value": "8,650,000",
        "device_class": "III",
        "catalogue_code": "06-03-01",
        "radiation": "y",
        **kw,
    }


def test_create_via_form_and_see_detail(login):
    c = login("rmyy")
    data = _form()
    r = c.post("/assets/new", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    assert data["asset_code"] in html and "8,650,000.00" in html and "账面净值" in html
    assert "登记入账" in html  # the status history


def test_text_in_number_field_is_a_clear_error_and_nothing_saved(login):
    c = login("rmyy")
    data = _form(original_value="八百万", design_life_years="十年")
    r = c.post("/assets/new", data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请输入金额数字（元）" in html and "请输入整数" in html
    assert _count(data["asset_code"]) == 0


def test_future_date_and_duplicate_code_messages(login):
    c = login("rmyy")
    data = _form(purchase_date="2999-01-01", commissioned_on="")
    r = c.post("/assets/new", data)
    assert r.status_code == 422 and "购置日期不能晚于今天" in r.get_data(as_text=True)
    ok = _form()
    assert c.post("/assets/new", ok).status_code == 302
    r = c.post("/assets/new", dict(ok, name="另一台"))
    assert r.status_code == 422
    assert f"资产编号 {ok['asset_code']} 已存在" in r.get_data(as_text=True)
    assert _count(ok["asset_code"]) == 1


def test_irrelevant_fields_are_ignored_server_side(login):
    c = login("rmyy")
    data = _form(category_id=str(category_id("GEN-IT")), equipment_code="123")
    assert c.post("/assets/new", data).status_code == 302
    with use_scope(Scope.system()):
        a = db.session.scalars(select(Asset).where(Asset.asset_code == data["asset_code"])).one()
        assert a.device_class is None and a.radiation is False and a.equipment_code is None


def test_staff_cannot_edit_and_reviewer_reads(login, make_asset):
    asset_id, _ = make_asset("rmyy")
    assert login("rmyy_xj").get("/assets/new").status_code == 404
    assert login("rmyy_xj").get(f"/assets/{asset_id}").status_code == 200
    wjw = login("wjw")
    assert wjw.get(f"/assets/{asset_id}").status_code == 200
    assert wjw.get(f"/assets/{asset_id}/edit").status_code == 404


def test_upload_download_and_bad_files(login, make_asset, app, monkeypatch):
    asset_id, _ = make_asset("rmyy")
    c = login("rmyy_xj")  # staff may upload
    url = f"/assets/{asset_id}/attachments"

    def upload(content, name):
        return c.post(
            url, {"file": (io.BytesIO(content), name), "kind": "photo"},
            content_type="multipart/form-data", follow_redirects=True,
        ).get_data(as_text=True)

    assert "附件已上传" in upload(PNG, "现场照片.png")
    html = upload(b"MZ\x90\x00 this is an exe", "certificate.pdf")
    assert "只能上传 PDF、JPEG 或 PNG 文件" in html
    assert "文件扩展名与文件内容不符" in upload(PNG, "photo.pdf")
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    assert "文件过大：最大" in upload(PDF + b"0" * 2048, "big.pdf")
    with use_scope(Scope.system()):
        rows = db.session.scalars(select(Attachment).where(Attachment.asset_id == asset_id)).all()
    assert [a.filename for a in rows] == ["现场照片.png"]
    stored = rows[0].stored_name
    assert "static" not in stored and not stored.endswith("现场照片.png")
    r = c.get(f"/assets/attachments/{rows[0].id}")
    assert r.status_code == 200 and r.data == PNG and r.mimetype == "image/png"


def test_list_search_filter_sort(login, make_asset):
    code_prefix = unique_code("LIST")
    make_asset("rmyy", asset_code=f"{code_prefix}-A", name="甲超声", department="超声科X")
    make_asset("rmyy", asset_code=f"{code_prefix}-B", name="乙监护仪", department="ICUX",
               category="MED-07", commissioned_on="2001-01-01", purchase_date="2001-01-01")
    c = login("rmyy")
    html = c.get(f"/assets/?q={code_prefix}").get_data(as_text=True)
    assert f"{code_prefix}-A" in html and f"{code_prefix}-B" in html
    html = c.get(f"/assets/?q={code_prefix}&over_design_life=1").get_data(as_text=True)
    assert f"{code_prefix}-A" not in html and f"{code_prefix}-B" in html
    html = c.get(f"/assets/?q={code_prefix}&department=超声科X").get_data(as_text=True)
    assert f"{code_prefix}-A" in html and f"{code_prefix}-B" not in html
    html = c.get(f"/assets/?q={code_prefix}&sort=code&direction=desc").get_data(as_text=True)
    assert html.index(f"{code_prefix}-B") < html.index(f"{code_prefix}-A")
    med = category_id("MED")  # a parent category includes its children
    html = c.get(f"/assets/?q={code_prefix}&category_id={med}").get_data(as_text=True)
    assert f"{code_prefix}-A" in html and f"{code_prefix}-B" in html
    assert c.get("/assets/?page=abc&sort=x&category_id=zz").status_code == 200


def test_status_change_via_form(login, make_asset):
    asset_id, _ = make_asset("rmyy")
    c = login("rmyy")
    r = c.post(f"/assets/{asset_id}/status", {"to_status": "disposed", "reason": "报废"},
               follow_redirects=True)
    assert "处置设备须填写处置日期" in r.get_data(as_text=True)
    r = c.post(f"/assets/{asset_id}/status", {"to_status": "under_repair", "reason": "球管故障"},
               follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "状态已变更为 维修中" in html and "球管故障" in html


def test_catalog_admin_edits_default_lives(login):
    admin = login("admin")
    html = admin.get("/catalog/").get_data(as_text=True)
    assert "客运索道" in html
    assert login("rmyy").get("/catalog/").status_code == 404
    from asset_registry.catalog.models import Category

    with use_scope(Scope.system()):
        cats = db.session.scalars(select(Category)).all()
        form = {f"design_{c.id}": c.design_life_years or "" for c in cats}
        form |= {f"accounting_{c.id}": c.accounting_life_years or "" for c in cats}
        target = next(c for c in cats if c.code == "SPORT-FIT")
    bad = dict(form, **{f"design_{target.id}": "abc"})
    r = admin.post("/catalog/", bad)
    assert r.status_code == 422 and "年限应为 1 到 100 之间的整数" in r.get_data(as_text=True)
    good = dict(form, **{f"design_{target.id}": "9"})
    assert admin.post("/catalog/", good).status_code == 302
    with use_scope(Scope.system()):
        db.session.expire_all()
        assert db.session.get(Category, target.id).design_life_years == 9
        from asset_registry.audit.models import AuditEvent

        audited = db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity == "category", AuditEvent.entity_id == target.id)
            .order_by(AuditEvent.id.desc())).first()
        assert audited is not None and audited.changes["after"]["design_life_years"] == 9
        db.session.get(Category, target.id).design_life_years = 8
        db.session.commit()


def test_detail_shows_funding_source_label(login, as_user):
    from asset_registry.assets import services

    with as_user("rmyy") as scope:
        asset = services.create_asset(
            scope,
            {"asset_code": unique_code(), "name": "资金来源", "funding_source": "special_bonds"},
        )
        db.session.commit()
        asset_id = asset.id
    html = login("rmyy").get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "超长期特别国债" in html and "special_bonds" not in html
