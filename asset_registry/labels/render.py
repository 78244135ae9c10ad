"""Render printable QR label sheets as PDF.

Each label carries a QR code (the asset's public scan URL) on the left and the
asset code, device name and institution on the right.

Speed matters (a hospital prints thousands of labels at once), so:

* the QR module matrix comes from ``qrcode`` and is drawn as vector rectangles,
  one rectangle per horizontal run of dark modules, written as raw PDF path
  operators in module units under a single transform -- no PNGs, no
  reportlab QR widget, no per-module drawing calls;
* text layout (wrapping/truncation) is cached, since institution names and
  device names repeat across a batch;
* fonts are registered once per process.

CJK text uses reportlab's built-in ``STSong-Light`` CID font, which needs no
font file (PDF viewers substitute a system Song/Ming face).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas as rl_canvas

__all__ = ["LAYOUTS", "Label", "LabelLayout", "render_labels", "write_labels"]

CJK_FONT = "STSong-Light"
LATIN_BOLD_FONT = "Helvetica-Bold"
QUIET_ZONE_MODULES = 4
ELLIPSIS = "…"


@dataclass(frozen=True)
class Label:
    """One label: what the QR encodes and the three text lines shown beside it."""

    url: str
    asset_code: str
    name: str
    institution: str


@dataclass(frozen=True)
class LabelLayout:
    """Geometry of a label stock. All lengths are in PDF points (1/72 inch)."""

    key: str
    description: str
    page_width: float
    page_height: float
    cols: int
    rows: int
    label_width: float
    label_height: float
    margin_left: float  # page edge to the first column
    margin_top: float  # page edge to the first row
    col_gap: float
    row_gap: float
    qr_size: float  # side of the QR square, quiet zone included
    qr_left: float  # label's left edge to the QR square
    text_right_pad: float  # label's right edge to the text block
    code_size: float  # font sizes (pt) of the three text parts
    name_size: float
    institution_size: float
    name_lines: int  # maximum wrapped lines per part
    institution_lines: int

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    @property
    def text_left(self) -> float:
        """Label's left edge to the text block (just right of the QR square)."""
        return self.qr_left + self.qr_size + 0.8 * mm

    @property
    def text_width(self) -> float:
        return self.label_width - self.text_left - self.text_right_pad

    def label_origin(self, slot: int) -> tuple[float, float]:
        """Bottom-left corner of the label in ``slot`` (row-major from top-left)."""
        row, col = divmod(slot, self.cols)
        x = self.margin_left + col * (self.label_width + self.col_gap)
        top = self.page_height - self.margin_top - row * (self.label_height + self.row_gap)
        return x, top - self.label_height


LAYOUTS: dict[str, LabelLayout] = {
    # A4 portrait, 3 x 8 labels of 70 x 36 mm with 4.5 mm top/bottom margins:
    # the common 24-up sheet (Avery 3475 geometry); the margins keep every label
    # inside the printable area of ordinary office printers.
    "a4-24": LabelLayout(
        key="a4-24",
        description="A4, 3 × 8 labels of 70 × 36 mm",
        page_width=A4[0],
        page_height=A4[1],
        cols=3,
        rows=8,
        label_width=70 * mm,
        label_height=36 * mm,
        margin_left=0,
        margin_top=4.5 * mm,
        col_gap=0,
        row_gap=0,
        qr_size=28 * mm,
        qr_left=2 * mm,
        text_right_pad=3 * mm,
        code_size=10,
        name_size=8,
        institution_size=7,
        name_lines=3,
        institution_lines=2,
    ),
    # Thermal label printer roll: one 50 x 30 mm label per page.
    "roll-50x30": LabelLayout(
        key="roll-50x30",
        description="Roll, 50 × 30 mm, one label per page",
        page_width=50 * mm,
        page_height=30 * mm,
        cols=1,
        rows=1,
        label_width=50 * mm,
        label_height=30 * mm,
        margin_left=0,
        margin_top=0,
        col_gap=0,
        row_gap=0,
        qr_size=24 * mm,
        qr_left=1 * mm,
        text_right_pad=1.5 * mm,
        code_size=8,
        name_size=7,
        institution_size=5.5,
        name_lines=3,
        institution_lines=2,
    ),
}


# --------------------------------------------------------------------------- fonts

_fonts_registered = False


def _register_fonts() -> None:
    global _fonts_registered
    if _fonts_registered:
        return
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    _fonts_registered = True


# --------------------------------------------------------------------------- QR

_DARK_RUN = re.compile(rb"\x01+")


# qrcode otherwise tries all eight masks and scores each (~80 % of its time). Any
# mask is valid -- the reader takes it from the format information -- and decoding
# with zxing-cpp was verified on every layout (tests/labels/test_render.py).
FIXED_MASK = 2


def qr_matrix(data: str) -> list[list[bool]]:
    """Module matrix (no quiet zone) of ``data`` at error-correction level M."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=FIXED_MASK)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.get_matrix()


def _qr_path(matrix: list[list[bool]]) -> str:
    """PDF path operators for the dark modules, in module units, y pointing down.

    Each horizontal run of dark modules becomes one ``re`` (rectangle).
    """
    parts = []
    append = parts.append
    for y, row in enumerate(matrix):
        for m in _DARK_RUN.finditer(bytes(row)):
            start, end = m.span()
            append(f"{start} {y} {end - start} 1 re")
    return "\n".join(parts)


def _draw_qr(c: rl_canvas.Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw ``data`` as a QR code filling the square (x, y, size), quiet zone included."""
    matrix = qr_matrix(data)
    n = len(matrix)
    module = size / (n + 2 * QUIET_ZONE_MODULES)
    x0 = x + QUIET_ZONE_MODULES * module
    y_top = y + size - QUIET_ZONE_MODULES * module
    # One graphics-state block per code: scale to module units with y flipped so
    # matrix rows/columns are integer coordinates, fill black, restore.
    c.addLiteral(
        f"q {module:.5f} 0 0 {-module:.5f} {x0:.4f} {y_top:.4f} cm 0 g\n{_qr_path(matrix)}\nf Q"
    )


# --------------------------------------------------------------------------- text

_WS = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    """Single-line text: collapse whitespace, drop control and non-BMP characters."""
    if not text:
        return ""
    text = _WS.sub(" ", str(text)).strip()
    return "".join(
        ch
        for ch in text
        if ord(ch) <= 0xFFFF and unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )


def _width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


def _truncate(text: str, font: str, size: float, max_width: float) -> str:
    """``text`` if it fits, else the longest prefix that fits followed by an ellipsis."""
    if _width(text, font, size) <= max_width:
        return text
    limit = max_width - _width(ELLIPSIS, font, size)
    total = 0.0
    for i, ch in enumerate(text):
        total += _width(ch, font, size)
        if total > limit:
            return text[:i].rstrip() + ELLIPSIS
    return text


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and not ch.isspace()


# characters a line may not start with (closing brackets, punctuation) or end with
# (opening brackets): "（DR" / ")" is never split so
NO_LINE_START = set(")]}）】》」』〕，。、；：！？,.;:!?%·…—～")
NO_LINE_END = set("([{（【《「『〔")


def _sensible_cut(rest: str, cut: int) -> int:
    """Move a break back so no line starts with a closing mark or ends with an opening
    one. When the line would lose too much, a closing mark hangs at the end of the line
    instead (into the label's right padding), as CJK typesetting does."""
    k = cut
    while 1 < k < len(rest) and (rest[k] in NO_LINE_START or rest[k - 1] in NO_LINE_END):
        k -= 1
        # the moved break must not land inside a Latin word either
        while k > 1 and _is_word_char(rest[k - 1]) and _is_word_char(rest[k]):
            k -= 1
    if k > cut // 3:
        return k
    k = cut
    while k < len(rest) and rest[k] in NO_LINE_START:
        k += 1
    return k


@lru_cache(maxsize=4096)
def _wrap(text: str, font: str, size: float, max_width: float, max_lines: int) -> tuple[str, ...]:
    """Greedy line wrap for mixed CJK/Latin text; the last line is truncated.

    CJK text may break between any two characters; Latin words are kept whole
    where possible (break at the last space on the line), and split only when a
    single word is wider than the line.
    """
    if not text or max_lines <= 0:
        return ()
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max_lines - 1:
        if _width(rest, font, size) <= max_width:
            break
        total = 0.0
        cut = len(rest)
        for i, ch in enumerate(rest):
            total += _width(ch, font, size)
            if total > max_width:
                cut = max(i, 1)
                break
        # Do not split a Latin word (e.g. "CT", a model number) if a break
        # opportunity -- a space, or a CJK character on either side -- exists
        # in the second half of the line.
        if cut < len(rest) and _is_word_char(rest[cut - 1]) and _is_word_char(rest[cut]):
            for k in range(cut - 1, cut // 2, -1):
                if not (_is_word_char(rest[k - 1]) and _is_word_char(rest[k])):
                    cut = k
                    break
        if cut < len(rest):
            cut = _sensible_cut(rest, cut)
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        lines.append(_truncate(rest, font, size, max_width))
    return tuple(line for line in lines if line)


# a long name is set smaller before anything is cut: down to this share of the size
SHRINK_STEPS = (1.0, 0.9, 0.8, 0.72)


@lru_cache(maxsize=4096)
def _fit_wrap(
    text: str, font: str, size: float, max_width: float, max_lines: int
) -> tuple[tuple[str, ...], float]:
    """The wrapped lines and the size that shows ``text`` whole in ``max_lines``: the
    given size if it fits, else the first smaller step that does, else the smallest
    step with the last line cut."""
    for step in SHRINK_STEPS:
        smaller = size * step
        lines = _wrap(text, font, smaller, max_width, max_lines + 1)
        if len(lines) <= max_lines:
            return lines, smaller
    smallest = size * SHRINK_STEPS[-1]
    return _wrap(text, font, smallest, max_width, max_lines), smallest


@lru_cache(maxsize=4096)
def _fit_code(code: str, font: str, size: float, max_width: float) -> tuple[str, float]:
    """Asset code on one line: shrink down to 70 % of ``size``, then truncate."""
    width = _width(code, font, size)
    if width <= max_width:
        return code, size
    smaller = max(size * 0.7, size * max_width / width)
    return _truncate(code, font, smaller, max_width), smaller


def _draw_text(c: rl_canvas.Canvas, label: Label, lay: LabelLayout, x: float, y: float) -> None:
    """Draw the text block of a label whose bottom-left corner is (x, y)."""
    width = lay.text_width
    code = _clean(label.asset_code)
    name = _clean(label.name)
    inst = _clean(label.institution)

    # Asset codes are normally ASCII: use a real bold face. Otherwise fall back
    # to the CJK font with fill+stroke rendering as a faux bold.
    code_font = LATIN_BOLD_FONT if code.isascii() else CJK_FONT
    code_text, code_size = _fit_code(code, code_font, lay.code_size, width) if code else ("", 0)
    name_lines, name_size = _fit_wrap(name, CJK_FONT, lay.name_size, width, lay.name_lines)
    inst_lines, inst_size = _fit_wrap(inst, CJK_FONT, lay.institution_size, width,
                                      lay.institution_lines)

    lead = 1.18  # line height as a multiple of the font size
    gap = 0.25 * lay.name_size
    blocks: list[tuple[str, float, tuple[str, ...], bool]] = []
    if code_text:
        blocks.append((code_font, code_size, (code_text,), code_font == CJK_FONT))
    if name_lines:
        blocks.append((CJK_FONT, name_size, name_lines, False))
    if inst_lines:
        blocks.append((CJK_FONT, inst_size, inst_lines, False))
    if not blocks:
        return
    height = sum(size * lead * len(lines) for _, size, lines, _ in blocks)
    height += gap * (len(blocks) - 1)

    # Vertically centre the block on the label (and hence on the QR code).
    tx = x + lay.text_left
    cursor = y + (lay.label_height + height) / 2
    for font, size, lines, faux_bold in blocks:
        c.setFont(font, size)
        if faux_bold:
            c.setLineWidth(size * 0.03)
        for line in lines:
            cursor -= size * lead
            # Baseline sits ~0.22 em above the bottom of the line box.
            c.drawString(tx, cursor + 0.22 * size, line, mode=2 if faux_bold else None)
        cursor -= gap


# --------------------------------------------------------------------------- public API


def _layout(layout: str) -> LabelLayout:
    try:
        return LAYOUTS[layout]
    except KeyError:
        known = ", ".join(sorted(LAYOUTS))
        raise ValueError(f"unknown label layout {layout!r} (known: {known})") from None


def write_labels(
    labels: Iterable[Label],
    out: BinaryIO,
    layout: str = "a4-24",
    title: str | None = None,
    start: int = 1,
) -> int:
    """Write a PDF of ``labels`` to the binary file object ``out``.

    ``labels`` is consumed lazily (a generator over a query is fine); pages are
    filled in order, row by row from the top-left, the first page from cell
    ``start`` (1 = top-left) so a partly used sheet can go through the printer again.
    Returns the number of labels drawn. With no labels a valid one-page blank PDF is
    written and 0 returned.
    """
    lay = _layout(layout)
    if not 1 <= start <= lay.per_page:
        raise ValueError(f"start cell {start} is not on a {lay.key} sheet (1–{lay.per_page})")
    _register_fonts()
    c = rl_canvas.Canvas(out, pagesize=(lay.page_width, lay.page_height))
    c.setCreator("Asset Registry")
    if title:
        c.setTitle(title)

    per_page = lay.per_page
    count = 0
    for label in labels:
        slot = (count + start - 1) % per_page
        if count and slot == 0:
            c.showPage()
        x, y = lay.label_origin(slot)
        _draw_qr(
            c, label.url, x + lay.qr_left, y + (lay.label_height - lay.qr_size) / 2, lay.qr_size
        )
        _draw_text(c, label, lay, x, y)
        count += 1
    c.showPage()
    c.save()
    return count


def render_labels(
    labels: Iterable[Label],
    layout: str = "a4-24",
    title: str | None = None,
    start: int = 1,
) -> bytes:
    """Return a PDF of ``labels`` in the given layout (a key of ``LAYOUTS``)."""
    buf = io.BytesIO()
    write_labels(labels, buf, layout, title=title, start=start)
    return buf.getvalue()
