"""labels_for() and the `labels` CLI: scan URLs from BASE_URL, scope respected."""

import pypdfium2 as pdfium
import zxingcpp

from asset_registry.labels.services import labels_for
from tests.helpers import scope_of


def test_labels_for_uses_base_url_and_scope(app, as_user):
    with as_user("rmyy") as scope:
        labels = list(labels_for(scope))
    assert labels and all(lb.url.startswith("http://testserver/a/") for lb in labels)
    assert {lb.institution for lb in labels} == {"晋城市人民医院"}
    assert any(lb.asset_code == "RMYY-CT-2013-001" for lb in labels)
    with as_user("hcxf") as scope:
        foreign = [lb for lb in labels_for(scope, asset_ids=[1, 2, 3])
                   if lb.institution != "皇城相府景区"]
    assert foreign == []
    assert scope_of("rmyy").org_ids  # sanity


def test_labels_cli_writes_decodable_pdf(app, tmp_path):
    out = tmp_path / "wml.pdf"
    result = app.test_cli_runner().invoke(
        args=["labels", "--org", "wml", "-o", str(out), "--layout", "roll-50x30"]
    )
    assert result.exit_code == 0, result.output
    assert "labels written" in result.output
    pdf = pdfium.PdfDocument(out.read_bytes())
    assert len(pdf) >= 3  # one label a page: the demo cableways and sightseeing car
    decoded = zxingcpp.read_barcodes(pdf[0].render(scale=600 / 72).to_pil())
    assert decoded and decoded[0].text.startswith("http://testserver/a/")
    bad = app.test_cli_runner().invoke(args=["labels", "--org", "nope", "-o", str(out)])
    assert bad.exit_code != 0 and "unknown organisation" in bad.output
