"""Label sheet PDFs: QR codes must decode to the exact URLs, text must be real text."""

from __future__ import annotations

import io
import secrets

import pypdfium2 as pdfium
import pytest
import zxingcpp
from reportlab.lib.units import mm

from asset_registry.labels.render import LAYOUTS, Label, render_labels, write_labels

NAMES = ["64排螺旋CT", "数字化X射线摄影系统", "全自动生化分析仪", "呼吸机"]
INSTITUTION = "晋城市人民医院"


def make_labels(count: int) -> list[Label]:
    return [
        Label(
            url=f"https://reg.example/a/{secrets.token_urlsafe(16)}",
            asset_code=f"CT-2024-{i + 1:03d}",
            name=NAMES[i % len(NAMES)],
            institution=INSTITUTION,
        )
        for i in range(count)
    ]


def decode_pages(pdf: bytes) -> list[set[str]]:
    """Rasterise every page and return the set of decoded QR texts per page."""
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for page in doc:
            image = page.render(scale=4).to_pil()
            pages.append({r.text for r in zxingcpp.read_barcodes(image)})
        return pages
    finally:
        doc.close()


def page_texts(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in doc]
    finally:
        doc.close()


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [page.get_size() for page in doc]
    finally:
        doc.close()


def test_a4_full_page_all_codes_decode():
    labels = make_labels(24)
    pdf = render_labels(labels, "a4-24")

    pages = decode_pages(pdf)
    assert len(pages) == 1
    assert pages[0] == {label.url for label in labels}

    width, height = page_sizes(pdf)[0]
    assert width == pytest.approx(210 * mm, abs=0.5)
    assert height == pytest.approx(297 * mm, abs=0.5)


def test_a4_overflows_to_second_page():
    labels = make_labels(26)
    pdf = render_labels(labels, "a4-24")

    pages = decode_pages(pdf)
    assert len(pages) == 2
    assert pages[0] == {label.url for label in labels[:24]}
    assert pages[1] == {label.url for label in labels[24:]}


def test_a4_text_is_extractable():
    labels = [
        Label(
            "https://reg.example/a/AbCdEfGhIjKlMnOpQrStUv", "CT-2024-001", "64排螺旋CT", INSTITUTION
        )
    ]
    text = page_texts(render_labels(labels))[0]
    assert "CT-2024-001" in text
    assert "64排螺旋CT" in text
    assert INSTITUTION in text


def test_roll_one_label_per_page_of_50x30mm():
    labels = make_labels(3)
    pdf = render_labels(labels, "roll-50x30")

    sizes = page_sizes(pdf)
    assert len(sizes) == len(labels)
    for width, height in sizes:
        assert width == pytest.approx(50 * mm, abs=0.5)
        assert height == pytest.approx(30 * mm, abs=0.5)

    # Page order follows label order; each page holds exactly its own code.
    assert decode_pages(pdf) == [{label.url} for label in labels]

    # Long names wrap on the narrow roll label; compare with line breaks removed.
    texts = [t.replace("\r\n", "") for t in page_texts(pdf)]
    for label, text in zip(labels, texts, strict=True):
        assert label.asset_code in text
        assert label.name in text
        assert label.institution in text


def test_long_text_stays_inside_the_label():
    long_name = "Siemens SOMATOM Definition AS+ 64排螺旋CT扫描系统及配套三维重建工作站与附件" * 2
    long_inst = "晋城市人民医院医学影像科放射治疗中心附属门诊部及住院部联合设备管理委员会"
    label = Label(
        "https://reg.example/a/AbCdEfGhIjKlMnOpQrStUv",
        "CT-2024-0000000000000001-LONG-CODE",
        long_name,
        long_inst,
    )
    for key, lay in LAYOUTS.items():
        pdf = render_labels([label], key)
        assert decode_pages(pdf) == [{label.url}]
        doc = pdfium.PdfDocument(pdf)
        try:
            textpage = doc[0].get_textpage()
            text = textpage.get_text_range()
            assert "…" in text  # something was truncated
            for i in range(textpage.count_chars()):
                left, bottom, right, top = textpage.get_charbox(i)
                if right - left <= 0:  # line breaks synthesised by pdfium
                    continue
                assert right <= lay.label_width + 0.5, (key, text)
                assert bottom >= -0.5 and top <= lay.page_height + 0.5
        finally:
            doc.close()


def test_write_labels_streams_to_file_and_counts(tmp_path):
    labels = make_labels(5)
    path = tmp_path / "labels.pdf"
    with path.open("wb") as fh:
        count = write_labels(iter(labels), fh, "roll-50x30")
    assert count == 5
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(page_sizes(data)) == 5


def test_title_goes_into_metadata():
    pdf = render_labels(make_labels(1), title="设备标签")
    doc = pdfium.PdfDocument(pdf)
    try:
        assert doc.get_metadata_value("Title") == "设备标签"
    finally:
        doc.close()


def test_no_labels_gives_valid_blank_pdf():
    out = io.BytesIO()
    assert write_labels([], out, "a4-24") == 0
    assert len(page_sizes(out.getvalue())) == 1


def test_unknown_layout_is_rejected():
    with pytest.raises(ValueError, match="unknown label layout"):
        render_labels(make_labels(1), "letter-30")
