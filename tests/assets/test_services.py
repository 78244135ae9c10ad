"""Asset services: validation messages, derived figures, tokens."""

import datetime as dt
import decimal

import pytest
from sqlalchemy import select

from asset_registry import clock
from asset_registry.assets import services
from asset_registry.assets.models import Asset, ReplacedToken, StatusChange
from asset_registry.extensions import db
from tests.assets.conftest import category_id, unique_code


def _data(**kw):
    return {
        "asset_code": unique_code("SVC"),
        "name": "彩色多普勒超声诊断仪",
        "category_id": category_id("MED-06"),
        "purchase_date": "2019-01-10",
        "commissioned_on": "2019-02-01",
        "original_value": "1950000.00",
        **kw,
    }


def test_create_fills_defaults_token_and_history(as_user):
    with as_user("rmyy") as scope:
        asset = services.create_asset(scope, _data())
        assert asset.org_id == scope.org_id
        assert len(asset.qr_token) >= 22  # 16 random bytes, URL-safe
        assert asset.design_life_years == 10 and asset.accounting_life_years == 6
        assert asset.design_life_end == dt.date(2029, 2, 1)
        assert asset.original_value == decimal.Decimal("1950000.00")
        assert not asset.is_special
        history = db.session.scalars(
            select(StatusChange).where(StatusChange.asset_id == asset.id)
        ).all()
        assert [h.to_status for h in history] == ["in_service"]


def test_special_category_sets_flags_and_drops_medical_fields(as_user):
    with as_user("hcxf") as scope:
        asset = services.create_asset(
            scope,
            _data(
                category_id=category_id("SE-3000"),
                equipment_code="311010021200600008",
                device_class="III",
                radiation="on",
            ),
        )
        assert asset.is_special and asset.special_code == "3000"
        assert asset.equipment_code == "311010021200600008"
        assert asset.device_class is None and asset.radiation is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("purchase_date", "2999-01-01", "购置日期不能晚于今天"),
        ("commissioned_on", "2018-12-01", "投用日期不能早于购置日期"),
        ("original_value", "-5", "原值不能为负数"),
        ("original_value", "一百万", "请输入金额数字"),
        ("device_class", "IV", "I、II 或 III"),
        ("catalogue_code", "6-7-2", "NN-NN-NN"),
        ("design_life_years", "十年", "请输入整数"),
    ],
)
def test_validation_messages(as_user, field, value, message):
    with as_user("rmyy") as scope, pytest.raises(services.AssetError) as err:
        services.create_asset(scope, _data(**{field: value}))
    assert err.value.field == field and message in err.value.message


def test_equipment_code_must_be_18_digits(as_user):
    with as_user("hcxf") as scope, pytest.raises(services.AssetError) as err:
        services.create_asset(
            scope, _data(category_id=category_id("SE-3000"), equipment_code="3110-ABC")
        )
    assert err.value.field == "equipment_code" and "18 位数字" in err.value.message


def test_duplicate_code_per_org_only(as_user):
    code = unique_code("DUP")
    with as_user("rmyy") as scope:
        services.create_asset(scope, _data(asset_code=code))
        with pytest.raises(services.AssetError) as err:
            services.create_asset(scope, _data(asset_code=code))
        assert err.value.message == f"资产编号 {code} 已存在。"
    db.session.commit()
    with as_user("hcxf") as scope:  # another organisation may use the same code
        assert services.create_asset(scope, _data(asset_code=code)).asset_code == code
    db.session.rollback()


def test_net_book_value_example():
    # 1,200,000 over 10 years = 10,000 a month, from April 2020 (month after March
    # commissioning) through March 2024 inclusive: 48 months.
    asset = Asset(
        original_value=decimal.Decimal("1200000.00"),
        accounting_life_years=10,
        design_life_years=8,
        commissioned_on=dt.date(2020, 3, 15),
        purchase_date=dt.date(2020, 3, 1),
    )
    fig = services.derived_figures(asset, dt.date(2024, 3, 10))
    assert fig["monthly_depreciation"] == decimal.Decimal("10000.00")
    assert fig["months_depreciated"] == 48
    assert fig["accumulated_depreciation"] == decimal.Decimal("480000.00")
    assert fig["net_book_value"] == decimal.Decimal("720000.00")
    assert (fig["age_years"], fig["age_months"]) == (3, 11)
    assert fig["design_life_end"] == dt.date(2028, 3, 15)
    assert fig["over_design_life"] is False and (fig["left_years"], fig["left_months"]) == (4, 0)
    # commissioning month itself carries no charge; the life's end leaves no residual
    assert services.derived_figures(asset, dt.date(2020, 3, 31))["net_book_value"] == 1200000
    done = services.derived_figures(asset, dt.date(2035, 1, 1))
    assert done["net_book_value"] == 0 and done["over_design_life"] is True


def test_status_change_and_disposal_rules(as_user):
    with as_user("rmyy") as scope:
        asset = services.create_asset(scope, _data())
        with pytest.raises(services.AssetError) as err:
            services.change_status(scope, asset, "disposed", reason="报废")
        assert err.value.field == "disposed_on"
        with pytest.raises(services.AssetError) as err:
            services.change_status(
                scope, asset, "disposed", reason="报废", disposed_on=clock.today()
            )
        assert err.value.field == "disposal_method"
        assert asset.status == "in_service"
        services.change_status(
            scope, asset, "disposed", reason="以旧换新", disposed_on=clock.today(),
            disposal_method="trade_in",
        )
        assert asset.status == "disposed" and asset.disposal_method == "trade_in"
        tos = db.session.scalars(
            select(StatusChange.to_status).where(StatusChange.asset_id == asset.id)
            .order_by(StatusChange.id)
        ).all()
        assert tos == ["in_service", "disposed"]
    db.session.rollback()


def test_rotate_token(as_user):
    with as_user("rmyy") as scope:
        asset = services.create_asset(scope, _data())
        old = asset.qr_token
        new = services.rotate_token(scope, asset)
        assert new != old
        assert services.asset_by_token(new) == (asset, False)
        assert services.asset_by_token(old) == (None, True)
        assert services.asset_by_token("no-such-token") == (None, False)
        assert db.session.scalar(select(ReplacedToken.asset_id).where(ReplacedToken.token == old))
    db.session.rollback()


def test_filters_from_args_are_forgiving():
    f = services.AssetFilters.from_args(
        {"category_id": "abc", "status": "bogus", "sort": "drop table", "org_id": "7",
         "over_design_life": "1", "direction": "desc"}
    )
    assert f.category_id is None and f.status == "" and f.sort == "code"
    assert f.org_id == 7 and f.over_design_life and f.direction == "desc"
