"""The public scan page `/a/<token>`: the safety mark and nothing else."""

import re

from asset_registry.assets import services
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.assets.conftest import unique_code

SECRET_FIELDS = dict(
    model="SECRET-MODEL-X1",
    manufacturer="机密厂商甲",
    serial_no="SN-SECRET-777",
    department="机密科室乙",
    location="机密位置丙",
    notes="内部备注丁",
    original_value="7654321.09",
)


def _visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_public_view_shows_only_the_safety_mark(client, make_asset):
    code = unique_code("PUB")
    asset_id, token = make_asset("rmyy", asset_code=code, name="公开测试超声", **SECRET_FIELDS)
    r = client.get(f"/a/{token}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    for shown in ("公开测试超声", "晋城市人民医院", "在用"):
        assert shown in html
    # no statutory inspection applies to it: no inspection line at all
    assert "下次检验日期" not in html and 'id="mark-state"' not in html
    for hidden in (code, *SECRET_FIELDS.values(), "7,654,321.09", f"/assets/{asset_id}",
                   "2020-03-15", "06 医用成像器械"):
        assert hidden not in html, hidden
    assert "stop-banner" not in html


def test_stopped_asset_shows_red_banner(client, make_asset):
    asset_id, token = make_asset("hcxf", category="SE-6000")
    with use_scope(Scope.system()):
        asset = services.get_asset(Scope.system(), asset_id)
        services.change_status(Scope.system(), asset, "stopped", reason="检验不合格")
        db.session.commit()
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert 'id="stop-banner"' in html and "暂停使用" in _visible_text(html)
    assert "停用：设备状态为“停用”" in _visible_text(html)
    assert 'id="mark-valid-until"' not in html


def test_rotated_token_says_replaced_and_shows_nothing(login, client, make_asset):
    code = unique_code("ROT")
    asset_id, old = make_asset("rmyy", asset_code=code, name="旋转测试DR")
    assert login("rmyy").post(f"/assets/{asset_id}/rotate-token").status_code == 302
    for viewer in (client, login("rmyy")):
        r = viewer.get(f"/a/{old}")
        html = r.get_data(as_text=True)
        assert r.status_code == 410 and "此标签已被替换" in html
        assert "旋转测试DR" not in html and code not in html
    with use_scope(Scope.system()):
        new = services.get_asset(Scope.system(), asset_id).qr_token
    assert new != old and "旋转测试DR" in client.get(f"/a/{new}").get_data(as_text=True)


def test_unknown_token_is_404(client):
    r = client.get("/a/not-a-real-token")
    assert r.status_code == 404 and "未找到该标签" in r.get_data(as_text=True)
    assert client.get("/a/" + "x" * 300).status_code == 404


def test_staff_in_scope_sees_full_view_and_scanner_page(login, make_asset):
    code = unique_code("FULL")
    _, token = make_asset("rmyy", asset_code=code)
    c = login("rmyy_xj")
    html = c.get(f"/a/{token}").get_data(as_text=True)
    assert code in html and 'id="quick-actions"' in html
    html = c.get("/assets/scan").get_data(as_text=True)
    assert 'id="scanner-video"' in html and "vendor/jsqr/jsQR.js" in html
