"""设备代码, 注册代码 and 医疗器械分类目录 codes: one rule for the form, the API and the
import (assets/codes.py), each case refused with its field and nothing written."""

import datetime as dt

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.assets import codes, services
from asset_registry.assets.models import Asset
from asset_registry.extensions import db
from tests.assets.conftest import category_id, unique_code

TODAY = dt.date(2026, 6, 1)


def _data(category="SE-3000", **kw):
    return {
        "asset_code": unique_code("CODE"),
        "name": "乘客电梯",
        "category_id": category_id(category),
        "commissioned_on": "2012-09-01",
        **kw,
    }


def _refused(scope, data, field, words):
    before = db.session.scalar(select(func.count(Asset.id)))
    with pytest.raises(services.AssetError) as err:
        services.create_asset(scope, data)
    assert err.value.field == field
    assert words in err.value.message, err.value.message
    assert db.session.scalar(select(func.count(Asset.id))) == before  # nothing written


def test_a_well_formed_code_of_the_right_kind_is_kept():
    assert codes.check_equipment_code("３１１０ 10032 2012 00045", "3000", TODAY) == (
        "311010032201200045"
    )
    assert codes.check_equipment_code("912010001201600001", "9000", TODAY)
    assert codes.check_equipment_code("210014023200400017", "2100", TODAY)
    assert codes.check_equipment_code("912010001201600001", "9120", TODAY)
    assert codes.kind_prefix("9000") == "9" and codes.kind_prefix("2100") == "21"


@pytest.mark.parametrize(
    ("code", "special", "template"),
    [
        ("911010001201600001", "3000", codes.MSG_EQUIPMENT_KIND),  # a cableway kind on a lift
        ("220014023200400017", "2100", codes.MSG_EQUIPMENT_KIND),  # mobile kind, fixed vessel
        ("911010001201600001", "9120", codes.MSG_EQUIPMENT_KIND),  # reversible on detachable
        ("311000000201200045", "3000", codes.MSG_EQUIPMENT_MAKER),
        ("311010032202700045", "3000", codes.MSG_EQUIPMENT_YEAR),  # made next year
        ("311010032194900045", "3000", codes.MSG_EQUIPMENT_YEAR),  # before 1950
        ("311010032201200000", "3000", codes.MSG_EQUIPMENT_SERIAL),
        ("000000000000000000", "3000", codes.MSG_EQUIPMENT_KIND),
        ("3110-ABC", "3000", codes.MSG_EQUIPMENT_FORMAT),
        ("31104105002015060012", "3000", codes.MSG_EQUIPMENT_REGISTER),  # 20: old 注册代码
        ("311010032201200045", None, codes.MSG_EQUIPMENT_NOT_SPECIAL),
    ],
)
def test_each_bad_equipment_code_names_its_part(code, special, template):
    with pytest.raises(codes.CodeProblem) as err:
        codes.check_equipment_code(code, special, TODAY)
    assert err.value.template == template and err.value.field == "equipment_code"


@pytest.mark.parametrize(
    ("code", "category", "template"),
    [
        ("07-03-01", "MED-06", codes.MSG_CATALOGUE_OTHER),
        ("06-00-01", "MED-06", codes.MSG_CATALOGUE_ZERO),
        ("23-01-01", "MED-06", codes.MSG_CATALOGUE_ZERO),
        ("06070", "MED-06", codes.MSG_CATALOGUE_FORMAT),
    ],
)
def test_each_bad_catalogue_code(code, category, template):
    with pytest.raises(codes.CodeProblem) as err:
        codes.check_catalogue_code(code, category)
    assert err.value.template == template and err.value.field == "catalogue_code"
    assert codes.check_catalogue_code("06-07-02", "MED-06") == "06-07-02"


def test_register_codes_and_the_split():
    assert codes.check_register_code("31104105002015060012") == "31104105002015060012"
    with pytest.raises(codes.CodeProblem):
        codes.check_register_code("3110-41")
    assert codes.split_code("31104105002015060012") == (None, "31104105002015060012")
    assert codes.split_code("311010032201200045") == ("311010032201200045", None)


def test_the_service_refuses_a_kind_from_another_category(as_user):
    with as_user("hcxf") as scope:
        _refused(scope, _data(equipment_code="911010001201600001"), "equipment_code", "9110")


def test_the_service_refuses_a_future_manufacture_year(as_user):
    with as_user("hcxf") as scope:
        year = clock.today().year + 1
        code = f"311010032{year}00045"
        _refused(scope, _data(equipment_code=code), "equipment_code", str(year))


def test_the_service_refuses_a_catalogue_code_from_another_sub_catalogue(as_user):
    with as_user("rmyy") as scope:
        data = _data("MED-06", name="超声", catalogue_code="07-03-01")
        _refused(scope, data, "catalogue_code", "06")


def test_an_old_register_code_has_its_own_field(as_user):
    with as_user("hcxf") as scope:
        _refused(
            scope, _data(equipment_code="31104105002015060012"), "equipment_code", "注册代码"
        )
        asset = services.create_asset(scope, _data(register_code="31104105002015060012"))
        assert asset.register_code == "31104105002015060012" and asset.equipment_code is None


def test_the_form_shows_the_field_error_and_writes_nothing(login):
    client = login("hcxf")
    code = unique_code("FORM")
    response = client.post(
        "/assets/new",
        {
            "asset_code": code,
            "name": "观光电梯",
            "category_id": str(category_id("SE-3000")),
            "equipment_code": "911010001201600001",
        },
    )
    assert response.status_code in (200, 400, 422)
    assert "不属于所选类别" in response.get_data(as_text=True)
    from asset_registry.tenancy.scope import Scope, use_scope

    with use_scope(Scope.system()):
        assert db.session.scalar(select(Asset.id).where(Asset.asset_code == code)) is None


def test_the_import_applies_the_same_rules(app, tmp_path):
    from asset_registry.imports.services import import_assets
    from asset_registry.tenancy.scope import use_scope
    from tests.helpers import scope_of

    p = unique_code("IMP")
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称", "类别", "设备代码", "分类编码"])
    wb.active.append([f"{p}-1", "客梯", "电梯", "311010032201200045", None])
    wb.active.append([f"{p}-2", "客梯", "电梯", "911010001201600001", None])
    wb.active.append([f"{p}-3", "客梯", "电梯", "31104105002015060012", None])
    wb.active.append([f"{p}-4", "超声", "医用成像器械", None, "07-03-01"])
    path = tmp_path / "codes.xlsx"
    wb.save(path)
    scope = scope_of("stxz")
    with use_scope(scope):
        result = import_assets(scope, scope.org_id, str(path), valid_only=True)
        db.session.flush()
        bad = sorted((e.row_number, e.message) for e in result.errors)
        assert [r for r, _ in bad] == [3, 5], bad
        assert "9110" in bad[0][1] and "07" in bad[1][1]
        rows = {
            a.asset_code: a
            for a in db.session.scalars(select(Asset).where(Asset.asset_code.like(f"{p}-%")))
        }
        assert set(rows) == {f"{p}-1", f"{p}-3"}
        assert rows[f"{p}-3"].register_code == "31104105002015060012"
        assert rows[f"{p}-3"].equipment_code is None
        db.session.rollback()
