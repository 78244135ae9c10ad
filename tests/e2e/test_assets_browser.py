"""Real browser: rmyy registers a CT, prints its label; the QR decoded from the rendered
PDF leads to the public safety mark when signed out and to the detail when signed in."""

from pathlib import Path
from urllib.parse import urlsplit

import pypdfium2 as pdfium
import zxingcpp

from tests.assets.conftest import unique_code
from tests.helpers import browser_login


def _decode_first_qr(pdf_bytes: bytes) -> str:
    pdf = pdfium.PdfDocument(pdf_bytes)
    image = pdf[0].render(scale=300 / 72).to_pil()
    results = zxingcpp.read_barcodes(image)
    assert results, "no QR code found on the label page"
    return results[0].text


def test_create_ct_print_label_and_scan(page, browser, live_server, app):
    code = unique_code("E2ECT")
    browser_login(page, "rmyy")
    page.goto("/assets/")
    page.click("#new-asset")
    page.fill("input[name=asset_code]", code)
    page.fill("input[name=name]", "64排螺旋CT（浏览器测试）")
    # medical fields appear only once a medical category is chosen
    assert page.locator("#medical-fields").is_hidden()
    page.select_option("#category_id", label="　06 医用成像器械")
    assert page.locator("#medical-fields").is_visible()
    assert page.locator("#special-fields").is_hidden()
    page.fill("input[name=model]", "Revolution CT")
    page.fill("input[name=purchase_date]", "2024-01-10")
    page.fill("input[name=commissioned_on]", "2024-02-01")
    page.fill("input[name=original_value]", "9800000")
    page.select_option("select[name=device_class]", "III")
    page.fill("input[name=catalogue_code]", "06-03-01")
    page.click("#save-asset")
    page.wait_for_url("**/assets/*")
    assert code in page.content()

    with page.expect_download() as info:
        page.click("#print-label-button")
    pdf_bytes = Path(info.value.path()).read_bytes()
    url = _decode_first_qr(pdf_bytes)
    base = app.config["BASE_URL"]
    assert url.startswith(base + "/a/")
    token = url[len(base) + 3:]
    assert len(token) >= 22
    path = urlsplit(url).path

    # signed out: the safety mark only
    anon = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    pg = anon.new_page()
    pg.goto(path)
    text = pg.locator("main").inner_text()
    for shown in ("64排螺旋CT（浏览器测试）", "晋城市人民医院"):
        assert shown in text
    assert "下次检验日期" not in text  # no statutory inspection on file: no date shown
    assert code not in text and "Revolution CT" not in text and "9,800,000" not in text
    assert pg.locator("#scan-detail").count() == 0
    anon.close()

    # signed in (same browser session as rmyy): the detail
    page.goto(path)
    assert page.locator("#scan-detail").is_visible()
    assert code in page.locator("#detail-code").inner_text()
    page.click("#open-detail")
    page.wait_for_url("**/assets/*")
    assert "Revolution CT" in page.content()
