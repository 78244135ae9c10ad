"""Rendering a 专报's gathered figures as .docx (python-docx) and .pdf (reportlab, CJK in
the built-in STSong-Light CID font, which needs no font file), with one chart.

The chart is drawn with Pillow using digits only (years, 万元), so it needs no CJK font
on the machine; its Chinese caption is document text."""

from __future__ import annotations

import decimal
import io

from flask_babel import gettext as _

CJK_FONT = "STSong-Light"
TEN_THOUSAND = decimal.Decimal(10000)


def _wan(value) -> str:
    """Yuan (a string or number) as 万元 with two decimals."""
    return f"{decimal.Decimal(value or 0) / TEN_THOUSAND:,.2f}"


def _pct(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


# --------------------------------------------------------------------------- content


def sections(data: dict) -> list[tuple[str, list[str], list[str] | None, list[list[str]]]]:
    """The report as (heading, paragraphs, table headers, table rows) sections: both
    renderers lay out the same content."""
    out = []
    pct = data["target_pct"]
    summary = [
        _("统计期 %(a)s 至 %(b)s，填报截止 %(d)s。", a=data["period"][0], b=data["period"][1],
          d=data["due_on"]),
        _("本年度截至统计期末，据台账完成记录，实际完成设备更新投资 %(a)s 万元；"
          "各单位本期填报完成投资合计 %(r)s 万元。",
          a=_wan(data["actual_total"]), r=_wan(data["reported_total"])),
    ]
    if data["baseline_set"]:
        summary.append(
            _("2023 年设备投资基数 %(b)s 万元，2027 年目标 %(t)s 万元（较 2023 年增长 %(p)s%%）；"
              "本年度实际完成投资相当于基数的 %(s)s。",
              b=_wan(data["baseline"]), t=_wan(data["target"]), p=pct,
              s=_pct(data["actual_vs_baseline"]))
        )
    out.append((_("一、总体情况"), summary, None, []))
    out.append((
        _("二、工作任务推进情况"), [],
        [_("任务"), _("年度目标"), _("完成情况"), _("完成比例"), _("完成时限"), _("责任科室/人")],
        [[t["title"], f"{t['target']} {t['unit']}",
          "—" if t["actual"] is None else f"{t['actual']} {t['unit']}", _pct(t["share"]),
          t["deadline"], t["responsible"]] for t in data["tasks"]],
    ))
    out.append((
        _("三、分资金来源投资情况（万元）"), [],
        [_("资金来源"), _("批准计划投资"), _("本年实际完成投资")],
        [[s["label"], _wan(s["approved"]), _wan(s["actual"])] for s in data["sources"]]
        + [[_("合计"), _wan(sum(decimal.Decimal(s["approved"]) for s in data["sources"])),
            _wan(data["actual_total"])]],
    ))
    out.append((
        _("四、各年度投资与 2027 年目标（万元）"),
        [_("图 1：各年度批准投资（浅色）与实际完成投资（深色），"
           "虚线为 2027 年目标，点线为 2023 年基数。")],
        [_("年度"), _("申报投资"), _("批准投资"), _("实际完成投资（完成记录）")],
        [[str(r["year"]), _wan(r["requested"]), _wan(r["approved"]), _wan(r["actual"])]
         for r in data["by_year"]],
    ))
    out.append((
        _("五、项目储备与资金争取"), [],
        [_("申报状态"), _("项目数"), _("申请资金（万元）"), _("下达资金（万元）")],
        [[r["label"], str(r["projects"]), _wan(r["asked"]), _wan(r["funded"])]
         for r in data["reserve"]],
    ))
    safety = data["safety"]
    out.append((
        _("六、特种设备安全"),
        [_("各单位填报时据台账统计：特种设备 %(n)s 台，"
           "其中检验逾期 %(o)s 台、检验不合格 %(f)s 台。",
           n=safety["total"], o=safety["overdue"], f=safety["failed"])],
        [_("单位"), _("填报状态"), _("完成投资（万元）"), _("新购/替换/处置"),
         _("特种设备逾期/不合格")],
        [[i["name"], (_("逾期填报") if i["late"] else _("已填报")) if i["submitted"]
          else _("未填报"), _wan(i["investment"]) if i["submitted"] else "—",
          f"{i['devices_new']}/{i['devices_replaced']}/{i['devices_disposed']}",
          f"{i['special_overdue']}/{i['special_failed']}"] for i in data["institutions"]],
    ))
    lagging = data["lagging"]
    out.append((
        _("七、进度滞后的单位"),
        [("、".join(lagging) + _("：未按期填报或存在检验逾期、不合格的特种设备。"))
         if lagging else _("无。")],
        None, [],
    ))
    quotes = []
    for i in data["institutions"]:
        if i["problems"]:
            quotes.append(_("%(n)s反映：“%(t)s”", n=i["name"], t=i["problems"]))
        if i["needs"]:
            quotes.append(_("%(n)s需要协调：“%(t)s”", n=i["name"], t=i["needs"]))
        if i["adjust_reason"]:
            quotes.append(_("%(n)s调整完成投资的原因：“%(t)s”", n=i["name"], t=i["adjust_reason"]))
    out.append((_("八、存在的问题和需求"), quotes or [_("无。")], None, []))
    return out


# --------------------------------------------------------------------------- chart


def chart_png(data: dict, width: int = 900, height: int = 420) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    rows = data["by_year"]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, right, top, bottom = 90, 20, 20, 50
    values = [decimal.Decimal(r["approved"]) for r in rows] + [
        decimal.Decimal(r["actual"]) for r in rows] + [decimal.Decimal(data["target"])]
    top_value = max([*values, decimal.Decimal(1)]) * decimal.Decimal("1.1")
    plot_h = height - top - bottom

    def y_of(value) -> int:
        return int(top + plot_h - float(decimal.Decimal(value) / top_value) * plot_h)

    draw.line([(left, top), (left, height - bottom), (width - right, height - bottom)],
              fill="black")
    for step in range(5):
        value = top_value * step / 4
        y = y_of(value)
        draw.line([(left - 4, y), (left, y)], fill="black")
        draw.text((5, y - 6), f"{value / TEN_THOUSAND:,.0f}", fill="black", font=font)
    slot = (width - left - right) / max(len(rows), 1)
    for n, r in enumerate(rows):
        x = left + n * slot + slot * 0.15
        bar = slot * 0.33
        draw.rectangle([x, y_of(r["approved"]), x + bar, height - bottom], fill="#9ec5fe")
        draw.rectangle([x + bar, y_of(r["actual"]), x + 2 * bar, height - bottom],
                       fill="#0d6efd")
        draw.text((x + bar - 12, height - bottom + 8), str(r["year"]), fill="black", font=font)
    for value, dash in ((data["target"], 12), (data["baseline"], 3)):
        if decimal.Decimal(value or 0) > 0:
            y = y_of(value)
            for x in range(left, width - right, dash * 2):
                draw.line([(x, y), (min(x + dash, width - right), y)], fill="#dc3545", width=2)
    draw.text((5, height - 18), "x 10,000 CNY", fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- docx


def render_docx(data: dict) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(data["number"])
    run.font.size = Pt(12)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(data["title"])
    run.bold = True
    run.font.size = Pt(16)
    doc.add_paragraph(_("报送单位：%(o)s　　印发日期：%(d)s", o=data["owner"], d=data["issued_on"]))
    for head, paragraphs, headers, rows in sections(data):
        doc.add_paragraph().add_run(head).bold = True
        for text in paragraphs:
            doc.add_paragraph(text)
        if head.startswith(_("四、")):
            doc.add_picture(io.BytesIO(chart_png(data)), width=Cm(15))
        if headers:
            table = doc.add_table(rows=1, cols=len(headers))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, headers, strict=True):
                cell.text = text
            for row in rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = str(text)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- pdf


def render_pdf(data: dict) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import (
        Image,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10.5, leading=16,
                          wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=12)
    head = ParagraphStyle("head", parent=body, fontSize=12, leading=20, spaceBefore=8)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=24, alignment=1)
    centre = ParagraphStyle("centre", parent=body, alignment=1)
    story = [
        Paragraph(escape(data["number"]), centre),
        Paragraph(escape(data["title"]), title),
        Paragraph(escape(_("报送单位：%(o)s　　印发日期：%(d)s", o=data["owner"],
                           d=data["issued_on"])), body),
    ]
    for heading, paragraphs, headers, rows in sections(data):
        story.append(Paragraph(escape(heading), head))
        story += [Paragraph(escape(text), body) for text in paragraphs]
        if heading.startswith(_("四、")):
            story.append(Image(io.BytesIO(chart_png(data)), width=16 * cm, height=7.5 * cm))
        if headers:
            table = Table([[Paragraph(escape(str(c)), cell) for c in row]
                           for row in [headers, *rows]], repeatRows=1)
            table.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]))
            story += [Spacer(1, 4), table]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=data["title"], leftMargin=2 * cm,
                      rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm).build(story)
    return buffer.getvalue()
