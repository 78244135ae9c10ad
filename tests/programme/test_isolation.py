"""Two-tenant leaks across the programme's objects: projects and their links and asks,
tasks, rounds, round reports and 专报, through the ORM and through the pages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.programme import rounds, tasks
from asset_registry.programme.models import (
    DispatchRound,
    FundingProject,
    ProgrammeReport,
    ProgrammeTask,
    ProjectFunding,
    ProjectItem,
    RoundReport,
)
from asset_registry.tenancy.scope import use_scope
from tests.helpers import scope_of
from tests.plans.support import unique
from tests.programme.support import approved_items, make_project

MODELS = (FundingProject, ProjectFunding, ProjectItem, ProgrammeTask, DispatchRound,
          RoundReport, ProgrammeReport)


def _health_objects() -> dict:
    ids = approved_items("rmyy", ("100000.00",))
    project_id = make_project("wjw", ids, asks={"special_bonds": "100000"})
    scope = scope_of("wjw")
    with use_scope(scope):
        task = tasks.save_task(scope, {"year": "2025", "title": unique("任务"),
                                       "metric": "devices_replaced", "target_value": "3"})
        round_ = rounds.open_round(scope, {
            "title": unique("调度"), "period_start": "2025-01-01", "period_end": "2025-06-30",
            "due_on": (clock.today() + dt.timedelta(days=5)).isoformat()})
        db.session.commit()
        rmyy = scope_of("rmyy").org_id
        report_id = db.session.scalars(select(RoundReport.id).where(
            RoundReport.round_id == round_.id, RoundReport.org_id == rmyy)).one()
        return {"project": project_id, "task": task.id, "round": round_.id,
                "report": report_id}


def test_another_bureau_and_institution_see_none_of_them(login):
    objs = _health_objects()
    for username in ("jyj", "sxkj", "hcxf"):
        scope = scope_of(username)
        with use_scope(scope):
            for model in MODELS:
                rows = db.session.scalars(select(model)).all()
                assert all(r.org_id in scope.org_ids for r in rows), (username, model)
            assert objs["project"] not in set(db.session.scalars(select(FundingProject.id)))
    with use_scope(scope_of("scjg")):  # the regulator sees none of the programme
        for model in MODELS:
            assert db.session.scalars(select(model)).all() == []
    j = login("jyj")
    assert j.get(f"/programme/projects/{objs['project']}").status_code == 404
    assert j.post(f"/programme/projects/{objs['project']}/state",
                  {"to": "applied", "batch": "x", "applied_on": "2025-01-01"}).status_code == 404
    assert j.get(f"/programme/tasks/{objs['task']}/edit").status_code == 404
    assert j.post(f"/programme/tasks/{objs['task']}/delete").status_code == 404
    assert j.get(f"/programme/rounds/{objs['round']}").status_code == 404
    assert j.post(f"/programme/rounds/{objs['round']}/report").status_code == 404
    for page in ("/programme/reserve", "/programme/tasks", "/programme/rounds",
                 "/programme/reports"):
        html = j.get(page).get_data(as_text=True)
        assert "人民医院" not in html and "卫生健康委员会" not in html, page
    s = login("sxkj")
    assert s.get(f"/programme/my-reports/{objs['report']}").status_code == 404
    assert "人民医院" not in s.get("/programme/my-items").get_data(as_text=True)
    # the institution itself sees its own link and report, not the bureau's rows
    with use_scope(scope_of("rmyy")):
        assert db.session.scalars(select(FundingProject)).all() == []
        assert db.session.scalars(select(DispatchRound)).all() == []
        assert objs["report"] in set(db.session.scalars(select(RoundReport.id)))
    with use_scope(scope_of("admin")):  # the task force sees all of them
        assert objs["project"] in set(db.session.scalars(select(FundingProject.id)))
