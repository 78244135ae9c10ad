from flask import Blueprint, render_template

from ..web import login_required

bp = Blueprint("reports", __name__, url_prefix="/dashboard")


@bp.get("/")
@login_required
def dashboard():
    return render_template("reports/dashboard.html")
