"""Two-tenant isolation of the asset register: list, detail, edit, status, attachments,
labels, the scan page's full view; the regulator sees special equipment only."""

import io

import pypdfium2 as pdfium
from sqlalchemy import select

from asset_registry.assets.models import Attachment
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.assets.conftest import unique_code

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _table(response) -> str:
    html = response.get_data(as_text=True)
    return html[html.index("<tbody>"):html.index("</tbody>")]


def _pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


def test_foreign_asset_is_invisible_everywhere(login, make_asset):
    code = unique_code("RMYYISO")
    asset_id, token = make_asset("rmyy", asset_code=code, name="隔离测试CT", model="ISO-MODEL-9")
    owner = login("rmyy")
    owner.post(f"/assets/{asset_id}/attachments",
               {"file": (io.BytesIO(PNG), "p.png"), "kind": "photo"},
               content_type="multipart/form-data")
    with use_scope(Scope.system()):
        att_id = db.session.scalar(select(Attachment.id).where(Attachment.asset_id == asset_id))
    assert owner.get(f"/assets/attachments/{att_id}").status_code == 200

    other = login("hcxf")
    assert code not in _table(other.get(f"/assets/?q={code}"))
    assert other.get(f"/assets/{asset_id}").status_code == 404
    assert other.get(f"/assets/{asset_id}/edit").status_code == 404
    r = other.post(f"/assets/{asset_id}/status", {"to_status": "stopped", "reason": "x"})
    assert r.status_code == 404
    assert other.post(f"/assets/{asset_id}/rotate-token").status_code == 404
    r = other.post(f"/assets/{asset_id}/attachments",
                   {"file": (io.BytesIO(PNG), "p.png"), "kind": "photo"},
                   content_type="multipart/form-data")
    assert r.status_code == 404
    assert other.get(f"/assets/attachments/{att_id}").status_code == 404
    # a bureau of another sector neither
    assert login("jyj").get(f"/assets/{asset_id}").status_code == 404

    # labels: a foreign id yields nothing, the owner's yields its label
    r = other.post("/labels/pdf", {"asset_ids": [str(asset_id)], "layout": "a4-24"})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert code not in _pdf_text(r.data)
    r = other.get(f"/labels/pdf?q={code}")
    assert code not in _pdf_text(r.data)
    r = owner.post("/labels/pdf", {"asset_ids": [str(asset_id)], "layout": "roll-50x30"})
    assert code in _pdf_text(r.data)

    # scan page: signed in outside the scope → the public view only
    html = other.get(f"/a/{token}").get_data(as_text=True)
    assert "隔离测试CT" in html and "晋城市人民医院" in html
    assert code not in html and "ISO-MODEL-9" not in html and "scan-detail" not in html
    html = owner.get(f"/a/{token}").get_data(as_text=True)
    assert code in html and "ISO-MODEL-9" in html and "scan-detail" in html


def test_regulator_sees_special_equipment_only(login, make_asset):
    ct_code, lift_code = unique_code("REGCT"), unique_code("REGLIFT")
    ct_id, ct_token = make_asset("rmyy", asset_code=ct_code)
    lift_id, _ = make_asset("hcxf", asset_code=lift_code, category="SE-3000",
                            equipment_code="311010021200600099")
    scjg = login("scjg")
    html = scjg.get("/assets/?q=REG").get_data(as_text=True)
    assert lift_code in html and ct_code not in html
    assert "皇城相府景区" in html  # the organisation column of a multi-org view
    assert scjg.get(f"/assets/{ct_id}").status_code == 404
    assert scjg.get(f"/assets/{lift_id}").status_code == 200
    assert scjg.get(f"/assets/{lift_id}/edit").status_code == 404  # reads, never edits
    assert "scan-detail" not in scjg.get(f"/a/{ct_token}").get_data(as_text=True)


def test_bureau_sees_its_institutions_with_org_filter(login, make_asset):
    code = unique_code("BUR")
    make_asset("rmyy", asset_code=code)
    r = login("wjw").get(f"/assets/?q={code}")
    assert code in _table(r) and 'name="org_id"' in r.get_data(as_text=True)
    assert code not in _table(login("wlj").get(f"/assets/?q={code}"))
