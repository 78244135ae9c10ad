"""City admin: default design life and accounting life of each category."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..enums import Role
from ..extensions import db
from ..web import current_scope, roles_required
from .models import Category

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


def _parse(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    number = int(value)  # ValueError handled by the caller
    if not 1 <= number <= 100:
        raise ValueError
    return number


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.CITY_ADMIN)
def index():
    categories = list(db.session.scalars(select(Category).order_by(Category.sort, Category.id)))
    errors: dict[int, str] = {}
    if request.method == "POST":
        updates = {}
        for c in categories:
            try:
                design = _parse(request.form.get(f"design_{c.id}"))
                accounting = _parse(request.form.get(f"accounting_{c.id}"))
            except ValueError:
                errors[c.id] = _("年限应为 1 到 100 之间的整数。")
                continue
            updates[c.id] = (design, accounting)
        if errors:
            flash(_("有 %(n)s 行填写有误，未保存任何修改。", n=len(errors)), "danger")
            return render_template(
                "catalog/index.html", categories=categories, errors=errors, form=request.form
            ), 422
        changed = []
        for c in categories:
            design, accounting = updates[c.id]
            if (c.design_life_years, c.accounting_life_years) != (design, accounting):
                c.design_life_years, c.accounting_life_years = design, accounting
                changed.append(c)
        # reference data of the whole city: audited like tenant rows, under the city's org
        from ..tenancy.services import audit_admin_changes

        city = current_scope().org_id
        audit_admin_changes(changed, "update", lambda _category: city)
        flash(_("已保存 %(n)s 个分类的默认年限（只影响之后登记的设备）。", n=len(changed)),
              "success")
        return redirect(url_for("catalog.index"))
    return render_template("catalog/index.html", categories=categories, errors=errors, form=None)
