"""Real browser (Debian Chromium via Playwright): sign-in, errors, scope, language."""

from tests.helpers import browser_login


def test_sign_in_in_chinese_and_see_only_own_scope(page):
    page.goto("/login")
    assert page.locator("h2").inner_text() == "登录"
    page.fill("input[name=username]", "rmyy")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator("#login-error").inner_text()

    browser_login(page, "rmyy")
    # below 1400 px the active institution and role fold into the user menu
    page.click("#user-menu")
    assert "晋城市人民医院" in page.locator("#active-identity").inner_text()
    page.goto("/admin/orgs")
    table = page.locator("#org-table").inner_text()
    assert "晋城市人民医院" in table and "皇城相府" not in table


def test_bureau_sees_its_institutions_and_switches_language(page):
    browser_login(page, "wjw")
    page.goto("/admin/orgs")
    table = page.locator("#org-table").inner_text()
    assert "晋城市妇幼保健院" in table and "山西科技学院" not in table
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_logout(page):
    browser_login(page, "admin")
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url("**/login")
    assert "您已退出登录" in page.content()
