"""Task lists: a bureau keeps its own, the task force sees all; progress from the register."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.plans.models import PlanItem
from asset_registry.programme import tasks
from asset_registry.programme.models import ProgrammeTask
from asset_registry.tenancy.scope import use_scope
from asset_registry.tenancy.services import subtree_ids
from tests.helpers import scope_of
from tests.plans.support import unique
from tests.programme.support import approved_items


def _task(username: str, title: str) -> ProgrammeTask | None:
    with use_scope(scope_of(username)):
        return db.session.scalars(
            select(ProgrammeTask).where(ProgrammeTask.title == title)).one_or_none()


def test_bureau_adds_a_task_the_task_force_sees_it_other_bureaus_do_not(login):
    title = unique("影像设备更新任务")
    r = login("wjw").post("/programme/tasks/new", {
        "year": "2025", "title": title, "metric": "investment", "target_value": "1200",
        "measures": "按月调度", "deadline": "2025-12-31", "responsible_person": "张三",
        "responsible_office": "规划科",
    })
    assert r.status_code == 302
    task = _task("wjw", title)
    assert task is not None and task.target_unit == "万元"
    assert title in login("admin").get("/programme/tasks?year=2025").get_data(as_text=True)
    assert title not in login("jyj").get("/programme/tasks").get_data(as_text=True)
    assert _task("jyj", title) is None
    assert login("jyj").get(f"/programme/tasks/{task.id}/edit").status_code == 404
    assert login("rmyy").get("/programme/tasks").status_code == 404


def test_bad_task_input_changes_nothing(login):
    title = unique("任务")
    r = login("wjw").post("/programme/tasks/new", {
        "year": "2025", "title": title, "metric": "other", "target_value": "-3"})
    assert r.status_code == 302
    assert _task("wjw", title) is None


def test_investment_progress_is_the_completion_records_of_the_year(login):
    approved_items("rmyy", ("500000.00",), complete_on=dt.date(2025, 3, 2),
                   prices=("480000.00",))
    scope = scope_of("wjw")
    with use_scope(scope):
        task = tasks.save_task(scope, {"year": "2025", "title": unique("投资"),
                                       "metric": "investment", "target_value": "1000"})
        db.session.commit()
        got = tasks.progress(scope, [task], clock.today())[task.id]["actual"]
        under = sorted(subtree_ids(scope.org_id))
        expected = db.session.scalar(select(func.sum(PlanItem.actual_price)).where(
            PlanItem.org_id.in_(under), PlanItem.completed_on >= dt.date(2025, 1, 1),
            PlanItem.completed_on <= dt.date(2025, 12, 31)))
    assert got == (decimal.Decimal(expected) / 10000).quantize(decimal.Decimal("0.01"))
    assert got >= decimal.Decimal("48.00")
