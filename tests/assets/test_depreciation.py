"""The depreciation convention per organisation: public units (政府会计准则第3号) from
the month the asset is added, scenic-area operators (企业会计准则) from the month after."""

import datetime as dt
import decimal

from sqlalchemy import select

from asset_registry.assets import services
from asset_registry.assets.models import AccountingSettings, Asset
from asset_registry.extensions import db
from asset_registry.tenancy.models import Organisation

D = decimal.Decimal


def _org_id(code):
    return db.session.scalar(select(Organisation.id).where(Organisation.code == code))


def _asset(org_id):
    # 1,200,000 over 10 years: 10,000 a month; added on 15 March 2024
    return Asset(
        org_id=org_id,
        original_value=D("1200000.00"),
        accounting_life_years=10,
        commissioned_on=dt.date(2024, 3, 15),
    )


def test_hospital_depreciates_from_the_month_added(as_user):
    with as_user("rmyy"):
        asset = _asset(_org_id("rmyy"))
        march = services.derived_figures(asset, dt.date(2024, 3, 31))
        assert march["convention"] == "same_month"
        assert march["convention_standard"] == "政府会计准则第3号"
        assert march["months_depreciated"] == 1
        assert march["net_book_value"] == D("1190000.00")
        june = services.derived_figures(asset, dt.date(2024, 6, 1))
        assert june["months_depreciated"] == 4 and june["net_book_value"] == D("1160000.00")


def test_scenic_operator_depreciates_from_the_month_after(as_user):
    with as_user("hcxf"):
        asset = _asset(_org_id("hcxf"))
        march = services.derived_figures(asset, dt.date(2024, 3, 31))
        assert march["convention"] == "next_month"
        assert march["convention_standard"] == "企业会计准则"
        assert march["months_depreciated"] == 0 and march["net_book_value"] == D("1200000.00")
        june = services.derived_figures(asset, dt.date(2024, 6, 1))
        assert june["months_depreciated"] == 3 and june["net_book_value"] == D("1170000.00")
        # both end at zero after 120 charges
        assert services.derived_figures(asset, dt.date(2034, 3, 1))["net_book_value"] == 0


def test_college_default_and_an_organisation_setting(as_user):
    with as_user("sxkj") as scope:
        org_id = scope.org_id
        assert services.depreciation_convention(org_id) == "same_month"
        services.set_depreciation_convention(scope, org_id, "next_month")
        assert services.depreciation_convention(org_id) == "next_month"
        asset = _asset(org_id)
        assert services.derived_figures(asset, dt.date(2024, 3, 31))["months_depreciated"] == 0
        db.session.rollback()
        assert db.session.scalar(
            select(AccountingSettings.id).where(AccountingSettings.org_id == org_id)
        ) is None


def test_the_asset_page_says_which_convention_applies(login, make_asset):
    asset_id, _ = make_asset("rmyy")
    page = login("rmyy").get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "折旧起始" in page and "当月" in page and "政府会计准则第3号" in page
