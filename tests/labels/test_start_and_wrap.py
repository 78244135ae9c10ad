"""A sheet can start at any cell (a partly used A4 sheet goes through the printer again),
checked by decoding the printed QR codes and finding each in its cell; names wrap at
sensible points (never a line starting with a closing bracket) and shrink to fit."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
import zxingcpp

from asset_registry.labels.render import (
    LAYOUTS,
    NO_LINE_END,
    NO_LINE_START,
    Label,
    _fit_wrap,
    _wrap,
    render_labels,
)
from tests.labels.test_render import make_labels, page_texts

A4 = LAYOUTS["a4-24"]
SCALE = 3


def decoded_cells(pdf: bytes) -> list[dict[str, int]]:
    """Per page: each decoded QR text and the cell (1 = top-left) its centre lies in."""
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for page in doc:
            found = {}
            for result in zxingcpp.read_barcodes(page.render(scale=SCALE).to_pil()):
                p = result.position
                cx = (p.top_left.x + p.bottom_right.x) / 2 / SCALE
                cy = (p.top_left.y + p.bottom_right.y) / 2 / SCALE  # from the top, points
                col = int((cx - A4.margin_left) // (A4.label_width + A4.col_gap))
                row = int((cy - A4.margin_top) // (A4.label_height + A4.row_gap))
                found[result.text] = row * A4.cols + col + 1
            pages.append(found)
        return pages
    finally:
        doc.close()


def test_a_sheet_starts_at_the_chosen_cell():
    labels = make_labels(3)
    [page] = decoded_cells(render_labels(labels, "a4-24", start=5))
    assert page == {labels[0].url: 5, labels[1].url: 6, labels[2].url: 7}


def test_the_next_sheet_starts_at_the_top_left_again():
    labels = make_labels(4)
    first, second = decoded_cells(render_labels(labels, "a4-24", start=23))
    assert first == {labels[0].url: 23, labels[1].url: 24}
    assert second == {labels[2].url: 1, labels[3].url: 2}


@pytest.mark.parametrize("start", [0, 25, -1])
def test_a_start_off_the_sheet_is_refused(start):
    with pytest.raises(ValueError):
        render_labels(make_labels(1), "a4-24", start=start)


NAMES = [
    "数字化X射线摄影系统（DR）",
    "全自动生化分析仪(AU5800)",
    "医用电子直线加速器（LINAC），含治疗计划系统",
    "彩色多普勒超声诊断仪【便携式】",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("width", [40.0, 55.0, 70.0, 90.0])
def test_no_line_starts_with_a_closing_mark_or_ends_with_an_opening_one(name, width):
    lines = _wrap(name, "STSong-Light", 8, width, 6)
    assert "".join(lines).replace(" ", "") == name.replace(" ", "")  # nothing lost
    for line in lines[1:]:
        assert line[0] not in NO_LINE_START, lines
    for line in lines[:-1]:
        assert line[-1] not in NO_LINE_END, lines


def test_a_long_name_shrinks_to_fit_whole_before_anything_is_cut():
    width = A4.text_width
    name = "医用电子直线加速器（LINAC）含图像引导放射治疗与三维适形调强治疗计划系统"
    at_size = _wrap(name, "STSong-Light", A4.name_size, width, A4.name_lines)
    lines, size = _fit_wrap(name, "STSong-Light", A4.name_size, width, A4.name_lines)
    assert at_size[-1].endswith("…")  # at the normal size it would be cut
    assert size < A4.name_size and "".join(lines) == name and len(lines) <= A4.name_lines
    short, same = _fit_wrap("呼吸机", "STSong-Light", A4.name_size, width, A4.name_lines)
    assert (short, same) == (("呼吸机",), A4.name_size)


def test_the_printed_label_shows_the_whole_name():
    name = "医用电子直线加速器（LINAC）含图像引导放射治疗与三维适形调强治疗计划系统"
    label = Label(url="https://reg.example/a/x1", asset_code="RMYY-LA-001", name=name,
                  institution="晋城市人民医院")
    [text] = page_texts(render_labels([label], "a4-24"))
    assert name in text.replace("\r", "").replace("\n", "")


def test_the_label_view_and_cli_take_a_start_cell(app, login, tmp_path):
    client = login("rmyy")
    response = client.get("/labels/pdf?q=RMYY-CT-2013-001&start=8")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    [page] = decoded_cells(response.data)
    assert list(page.values()) == [8]
    # beyond the sheet: from the top-left, not an error page
    [page] = decoded_cells(client.get("/labels/pdf?q=RMYY-CT-2013-001&start=99").data)
    assert list(page.values()) == [1]

    out = tmp_path / "labels.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["labels", "--org", "rmyy", "-o", str(out), "--start", "30"])
    assert result.exit_code != 0 and "24" in result.output
