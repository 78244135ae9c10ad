"""On a phone: the inspector signs in, lands on 今日巡检, opens the scanner, types the code
printed on the label, records the self-check and sees it ticked on the round."""

from __future__ import annotations

from asset_registry.extensions import db
from tests.helpers import browser_login, scope_of
from tests.inspections.factories import duty, make_asset


def test_the_round_on_a_phone(app, phone):
    from asset_registry.tenancy.scope import set_scope

    set_scope(scope_of("rmyy"))
    try:
        ride = make_asset(scope_of("rmyy"), "rmyy", "SE-6000", name="手机巡检小火车",
                          location="A 区 儿科候诊区")
        daily = duty(ride, "daily_check")
        code, daily_id, items = ride.asset_code, daily.id, list(daily.checklist)
        db.session.commit()
    finally:
        set_scope(None)

    browser_login(phone, "rmyy_xj")
    phone.wait_for_url("**/inspections/today")
    row = phone.locator(f'[data-obligation="{daily_id}"]')
    assert row.get_attribute("data-done") == "0"
    phone.click("#open-scanner")
    phone.wait_for_selector("#scanner-manual")
    phone.fill("#scanner-manual input[name=code]", code)
    phone.click("#scanner-manual button")
    phone.wait_for_url("**/a/*")
    phone.click('a[data-obligation="daily_check"]')
    for index in range(len(items)):  # every item answered 正常 (the default)
        assert phone.locator(f"#item-{index}-ok").is_checked()
    phone.click("#save-check")
    phone.wait_for_url("**/a/*")
    assert phone.locator('a[data-obligation="daily_check"]').get_attribute(
        "data-state") == "done"
    phone.goto("/inspections/today")
    assert phone.locator(f'[data-obligation="{daily_id}"]').get_attribute("data-done") == "1"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_asset_list_is_cards_on_a_phone(app, phone):
    browser_login(phone, "rmyy")
    phone.goto("/assets/")
    name = phone.locator("#asset-table td.card-title-cell").first
    box = name.bounding_box()
    # a card's title spans the card: not one character per line
    assert box["width"] > 250 and box["height"] < 60
    assert phone.locator("#asset-table thead").is_hidden()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
