"""Asset register services: create, edit, status, QR tokens, the list query, derived
figures and attachments. They take the scope explicitly, flush, and never commit."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from itertools import product
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..catalog.models import Category
from ..extensions import db
from ..inputs import InputError, read_amount, read_date, read_int, read_text
from ..pagination import PER_PAGE, Page
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope, use_scope
from . import codes
from .models import (
    AccountingSettings,
    Asset,
    AssetStatus,
    Attachment,
    DepreciationConvention,
    DisposalMethod,
    FundingSource,
    ReplacedToken,
    StatusChange,
)
from .search import MIN_INDEXED, driven_by_matches, search_criteria


class AssetError(InputError):
    """Bad input on an asset."""


TOKEN_BYTES = 16  # 128 bits
DEVICE_CLASSES = ("I", "II", "III")

TEXT_FIELDS = {
    "asset_code": 64,
    "name": 200,
    "model": 200,
    "manufacturer": 200,
    "serial_no": 100,
    "department": 100,
    "location": 200,
    "energy_grade": 10,
    "notes": 20000,
}
SPECIAL_FIELDS = ("equipment_code", "register_code", "registration_no", "vessel_grade")
MEDICAL_FIELDS = ("device_class", "catalogue_code", "permit_no", "permit_class",
                  "permit_issued_on", "radiation", "metrology")
EDITABLE = (
    *TEXT_FIELDS,
    "category_id",
    "purchase_date",
    "commissioned_on",
    "design_life_years",
    "accounting_life_years",
    "original_value",
    "funding_source",
    *SPECIAL_FIELDS,
    *MEDICAL_FIELDS,
)


def new_token() -> str:
    """An unguessable label token (≥128 bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


# --------------------------------------------------------------------------- coercion


def _text(data: Mapping, key: str) -> str | None:
    return read_text(data, key, TEXT_FIELDS.get(key, 200), error=AssetError)


def _date(data: Mapping, key: str) -> dt.date | None:
    return read_date(data, key, error=AssetError)


def _int(data: Mapping, key: str, lo: int, hi: int) -> int | None:
    return read_int(data, key, lo, hi, error=AssetError)


def _money(data: Mapping, key: str) -> decimal.Decimal | None:
    return read_amount(
        data, key, error=AssetError, not_a_number=_("请输入金额数字（元）。"),
        negative=_("原值不能为负数。"),
    )


def _bool(data: Mapping, key: str) -> bool:
    value = data.get(key)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "y", "yes", "on", "是"}
    return bool(value)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def life_start(asset: Asset) -> dt.date | None:
    return asset.commissioned_on or asset.purchase_date


def _design_life_end(asset: Asset) -> dt.date | None:
    start = life_start(asset)
    if start is None or asset.design_life_years is None:
        return None
    return add_years(start, asset.design_life_years)


# --------------------------------------------------------------------------- validation


def _category(category_id) -> Category | None:
    if category_id in (None, "", 0, "0"):
        return None
    try:
        category_id = int(category_id)
    except (TypeError, ValueError):
        raise AssetError("category_id", _("请选择有效的设备分类。")) from None
    category = db.session.scalars(select(Category).where(Category.id == category_id)).first()
    if category is None:
        raise AssetError("category_id", _("请选择有效的设备分类。"))
    return category


def _clean(data: Mapping) -> tuple[dict, Category | None]:
    """Validate and coerce every editable field; raises AssetError on the first problem."""
    values: dict = {}
    for key in TEXT_FIELDS:
        values[key] = _text(data, key)
    if not values["asset_code"]:
        raise AssetError("asset_code", _("请填写资产编号。"))
    if not values["name"]:
        raise AssetError("name", _("请填写设备名称。"))
    category = _category(data.get("category_id"))
    values["category_id"] = category.id if category else None

    today = clock.today()
    values["purchase_date"] = _date(data, "purchase_date")
    values["commissioned_on"] = _date(data, "commissioned_on")
    if values["purchase_date"] and values["purchase_date"] > today:
        raise AssetError("purchase_date", _("购置日期不能晚于今天。"))
    if values["commissioned_on"] and values["commissioned_on"] > today:
        raise AssetError("commissioned_on", _("投用日期不能晚于今天。"))
    if (
        values["purchase_date"]
        and values["commissioned_on"]
        and values["commissioned_on"] < values["purchase_date"]
    ):
        raise AssetError("commissioned_on", _("投用日期不能早于购置日期。"))
    values["design_life_years"] = _int(data, "design_life_years", 1, 100)
    values["accounting_life_years"] = _int(data, "accounting_life_years", 1, 100)
    values["design_life_from_category"] = False
    if category is not None:
        if values["design_life_years"] is None:
            values["design_life_years"] = category.design_life_years
            values["design_life_from_category"] = category.design_life_years is not None
        if values["accounting_life_years"] is None:
            values["accounting_life_years"] = category.accounting_life_years
    values["original_value"] = _money(data, "original_value")

    funding = _text(data, "funding_source")
    if funding and not FundingSource.has(funding):
        raise AssetError("funding_source", _("请选择有效的资金来源。"))
    values["funding_source"] = funding

    special = bool(category and category.is_special)
    medical = bool(category and category.is_medical)
    # Irrelevant fields are dropped, whatever the browser sent.
    try:
        values["equipment_code"] = (
            codes.check_equipment_code(
                _text(data, "equipment_code"), category.special_code, today
            )
            if special
            else None
        )
        values["register_code"] = (
            codes.check_register_code(_text(data, "register_code")) if special else None
        )
        values["catalogue_code"] = (
            codes.check_catalogue_code(_text(data, "catalogue_code"), category.code)
            if medical
            else None
        )
    except codes.CodeProblem as problem:
        raise AssetError(problem.field, problem.translated()) from None
    values["registration_no"] = _text(data, "registration_no") if special else None
    values["vessel_grade"] = _int(data, "vessel_grade", 1, 5) if special else None

    device_class = (_text(data, "device_class") or "").upper() if medical else ""
    if device_class and device_class not in DEVICE_CLASSES:
        raise AssetError("device_class", _("管理类别应为 I、II 或 III 类。"))
    values["device_class"] = device_class or None
    values["permit_no"] = _text(data, "permit_no") if medical else None
    values["permit_class"], values["permit_issued_on"] = _permit(
        data, medical, values, values["name"])
    values["radiation"] = _bool(data, "radiation") if medical else False
    values["metrology"] = _bool(data, "metrology") if medical else False
    return values, category


def _permit(data: Mapping, medical: bool, values: dict, name: str | None):
    """(class, issue date) of a 大型医用设备配置许可证: only for a device on the list
    (catalog.large_equipment), of the class the list gives it."""
    from ..catalog import large_equipment

    permit_class = (_text(data, "permit_class") or "") if medical else ""
    issued_on = _date(data, "permit_issued_on") if medical else None
    if issued_on is not None and issued_on > clock.today():
        raise AssetError("permit_issued_on", _("发证日期不能晚于今天。"))
    if not permit_class:
        return None, issued_on
    if permit_class not in large_equipment.CLASSES:
        raise AssetError("permit_class", _("许可证类别应为甲类或乙类。"))
    listed = large_equipment.listed(name, values.get("original_value"), medical)
    if listed is None:
        raise AssetError("permit_class", _(
            "该设备不在大型医用设备配置许可管理目录内，无需填写许可证类别。"))
    if listed[0] != permit_class:
        raise AssetError("permit_class", _("%(kind)s属于%(c)s类大型医用设备。",
                                           kind=listed[1], c=listed[0]))
    if not values.get("permit_no"):
        raise AssetError("permit_no", _("请填写配置许可证号。"))
    return permit_class, issued_on


def _check_code_free(org_id: int, code: str, asset_id: int | None) -> None:
    stmt = select(Asset.id).where(Asset.org_id == org_id, Asset.asset_code == code)
    # Uniqueness is per organisation and must hold even for rows the caller cannot
    # see (a regulator-narrowed scope), hence the explicit opt-out.
    found = db.session.scalars(stmt.execution_options(all_tenants=True)).first()
    if found is not None and found != asset_id:
        raise AssetError("asset_code", _("资产编号 %(code)s 已存在。", code=code))


def _apply(asset: Asset, values: dict, category: Category | None) -> None:
    for key, value in values.items():
        setattr(asset, key, value)
    asset.is_special = bool(category and category.is_special)
    asset.special_code = category.special_code if category and category.is_special else None
    asset.design_life_end = _design_life_end(asset)


def _sync(scope: Scope, asset: Asset) -> None:
    from ..inspections import services as inspections

    inspections.sync_obligations(scope, asset)


def _check_writable(scope: Scope, org_id: int | None) -> None:
    if not scope.writable or not scope.contains_org(org_id):
        raise AssetError(None, _("无权在该单位登记设备。"))


def create_asset(
    scope: Scope, data: Mapping, *, user_id: int | None = None, org_id: int | None = None
) -> Asset:
    org_id = org_id if org_id is not None else scope.org_id
    _check_writable(scope, org_id)
    values, category = _clean(data)
    _check_code_free(org_id, values["asset_code"], None)
    status = data.get("status") or AssetStatus.IN_SERVICE
    if not AssetStatus.has(status):
        raise AssetError("status", _("请选择有效的状态。"))
    asset = Asset(org_id=org_id, qr_token=new_token(), status=str(status))
    _apply(asset, values, category)
    db.session.add(asset)
    db.session.flush()
    db.session.add(
        StatusChange(
            org_id=org_id,
            asset_id=asset.id,
            from_status=None,
            to_status=asset.status,
            reason="登记入账",  # stored data, not UI text
            user_id=user_id,
        )
    )
    db.session.flush()
    _sync(scope, asset)
    return asset


def update_asset(scope: Scope, asset: Asset, data: Mapping, *, user_id: int | None = None) -> Asset:
    _check_writable(scope, asset.org_id)
    values, category = _clean(data)
    _check_code_free(asset.org_id, values["asset_code"], asset.id)
    recategorised = asset.category_id != values["category_id"]
    flags_changed = (asset.radiation, asset.metrology) != (values["radiation"], values["metrology"])
    dates_changed = (asset.commissioned_on, asset.purchase_date) != (
        values["commissioned_on"],
        values["purchase_date"],
    )
    _apply(asset, values, category)
    db.session.flush()
    if recategorised or flags_changed or dates_changed:
        _sync(scope, asset)
    return asset


def change_status(
    scope: Scope,
    asset: Asset,
    to_status: str,
    *,
    reason: str,
    user_id: int | None = None,
    disposed_on: dt.date | None = None,
    disposal_method: str | None = None,
    disposal_recipient: str | None = None,
) -> StatusChange:
    _check_writable(scope, asset.org_id)
    if not AssetStatus.has(to_status):
        raise AssetError("to_status", _("请选择有效的状态。"))
    reason = (reason or "").strip()
    if not reason:
        raise AssetError("reason", _("请填写变更原因。"))
    if len(reason) > 500:
        raise AssetError("reason", _("内容过长（最多 %(n)s 个字符）。", n=500))
    if to_status == asset.status:
        raise AssetError("to_status", _("设备已是该状态。"))
    if to_status == AssetStatus.DISPOSED:
        if disposed_on is None:
            raise AssetError("disposed_on", _("处置设备须填写处置日期。"))
        if disposed_on > clock.today():
            raise AssetError("disposed_on", _("处置日期不能晚于今天。"))
        if not disposal_method or not DisposalMethod.has(disposal_method):
            raise AssetError("disposal_method", _("处置设备须选择处置方式。"))
        asset.disposed_on = disposed_on
        asset.disposal_method = disposal_method
        asset.disposal_recipient = (disposal_recipient or "").strip()[:200] or None
    change = StatusChange(
        org_id=asset.org_id,
        asset_id=asset.id,
        from_status=asset.status,
        to_status=str(to_status),
        reason=reason,
        user_id=user_id,
    )
    asset.status = str(to_status)
    db.session.add(change)
    db.session.flush()
    return change


def rotate_token(scope: Scope, asset: Asset) -> str:
    """Give the asset a fresh label token; the old one answers "this label was replaced"."""
    _check_writable(scope, asset.org_id)
    db.session.add(ReplacedToken(org_id=asset.org_id, asset_id=asset.id, token=asset.qr_token))
    asset.qr_token = new_token()
    db.session.flush()
    return asset.qr_token


def get_asset(scope: Scope, asset_id: int) -> Asset | None:
    """The asset if the scope sees it (a filtered SELECT, never the identity map)."""
    stmt = (
        select(Asset)
        .where(Asset.id == asset_id)
        .options(joinedload(Asset.category), joinedload(Asset.organisation))
    )
    return db.session.scalars(stmt).one_or_none()


def asset_by_token(token: str) -> tuple[Asset | None, bool]:
    """Public label lookup across every tenant: (asset, False), (None, True) for a
    rotated-away token, (None, False) for an unknown one."""
    if not token or len(token) > 64:
        return None, False
    stmt = (
        select(Asset)
        .where(Asset.qr_token == token)
        .options(joinedload(Asset.organisation))
        .execution_options(all_tenants=True)  # deliberate: the label is public
    )
    asset = db.session.scalars(stmt).one_or_none()
    if asset is not None:
        return asset, False
    replaced = db.session.scalar(
        select(ReplacedToken.id)
        .where(ReplacedToken.token == token)
        .execution_options(all_tenants=True)
    )
    return None, replaced is not None


def safety_mark(asset: Asset) -> dict:
    """What a posted safety-inspection mark shows, and nothing more (the public scan
    view): the institution, the device, its safety state in words with the reasons, the
    next inspection date only where a passing record certifies it and who inspected,
    and the institution's safety contact."""
    from ..inspections import safety

    # The safety module reads the asset's duties and records: give it a read-only scope
    # of the asset's own organisation, whoever is looking.
    with use_scope(Scope(org_ids=frozenset({asset.org_id}), writable=False)) as scope:
        safety.ensure_current(scope)
        found = safety.explain(asset)
        phone = _safety_phone(asset.org_id)
    return {
        "name": asset.name,
        "institution": asset.organisation.name,
        "status": asset.status,
        "status_label": asset.status_label,
        "state": found.state,
        "state_label": found.label,
        "reasons": found.reasons,
        "has_statutory": found.has_statutory,
        "valid_until": found.certified_until,
        "certified_by": found.certified_by,
        "must_not_run": found.red,
        "safety_phone": phone,
        "as_of": found.as_of,
    }


def _safety_phone(org_id: int) -> str | None:
    from ..alerts.models import AlertSettings

    return db.session.scalar(
        select(AlertSettings.safety_phone).where(AlertSettings.org_id == org_id)
    )


def find_by_code(scope: Scope, code: str, limit: int = 20) -> list[Asset]:
    """Assets in scope whose asset code, 设备代码, 注册代码 or label token is `code`
    (as typed, or in upper or lower case)."""
    code = code.strip()
    if not code:
        return []
    spellings = sorted({code, code.upper(), code.lower()})  # equality keeps the indexes
    stmt = (
        select(Asset)
        .where(or_(Asset.qr_token == code, Asset.asset_code.in_(spellings),
                   Asset.equipment_code == code, Asset.register_code.in_(spellings)))
        .options(joinedload(Asset.organisation))
        .order_by(Asset.org_id, Asset.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def in_scope(scope: Scope, asset: Asset) -> bool:
    return scope.contains_org(asset.org_id) and (not scope.special_only or asset.is_special)


# --------------------------------------------------------------------------- the list


SORTS = {
    "code": (Asset.asset_code,),
    "name": (Asset.name,),
    "commissioned": (Asset.commissioned_on,),
    "value": (Asset.original_value,),
    "life_end": (Asset.design_life_end,),
    "status": (Asset.status,),
    "org": (Asset.org_id,),
}


def _opt_int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _flag(value) -> bool:
    return str(value or "").lower() in {"1", "true", "on", "yes", "y"}


def _safety_state(value) -> str:
    from ..inspections.safety import SafetyState

    value = (value or "").strip()
    return value if SafetyState.has(value) else ""


@dataclass
class AssetFilters:
    q: str = ""
    category_id: int | None = None
    status: str = ""
    safety: str = ""
    department: str = ""
    over_design_life: bool = False
    special: bool = False
    org_id: int | None = None
    sort: str = "code"
    direction: str = "asc"

    @classmethod
    def from_args(cls, args: Mapping) -> AssetFilters:
        status = (args.get("status") or "").strip()
        sort = (args.get("sort") or "code").strip()
        return cls(
            q=(args.get("q") or "").strip()[:100],
            category_id=_opt_int(args.get("category_id")),
            status=status if AssetStatus.has(status) else "",
            safety=_safety_state(args.get("safety")),
            department=(args.get("department") or "").strip()[:100],
            over_design_life=_flag(args.get("over_design_life")),
            special=_flag(args.get("special")),
            org_id=_opt_int(args.get("org_id")),
            sort=sort if sort in SORTS else "code",
            direction="desc" if args.get("direction") == "desc" else "asc",
        )

    def to_args(self) -> dict:
        """Non-default values as query-string arguments (links, the label form)."""
        default = AssetFilters()
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                out[f.name] = "1" if value is True else value
        return out


def _category_ids(category_id: int) -> list[int]:
    """The category and its descendants (a filter on 医疗设备 includes 06 医用成像器械)."""
    rows = db.session.execute(select(Category.id, Category.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for cid, parent in rows:
        children.setdefault(parent, []).append(cid)
    out, todo = [], [category_id]
    while todo:
        cid = todo.pop()
        out.append(cid)
        todo.extend(children.get(cid, ()))
    return out


def _like_escaped(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _code_prefix(term: str, dialect: str):
    """The asset code starts with `term` (ASCII case ignored, like the search). SQLite's
    LIKE cannot use the code's BINARY index: each case spelling's key range drives the
    lookup and LIKE keeps the meaning."""
    pattern = _like_escaped(term) + "%"
    if dialect != "sqlite":
        return Asset.asset_code.ilike(pattern, escape="\\")
    spellings = sorted({"".join(p) for p in product(*({c.lower(), c.upper()} for c in term))})
    ranges = or_(
        *(and_(Asset.asset_code >= s, Asset.asset_code < s + "\U0010ffff") for s in spellings)
    )
    return and_(ranges, Asset.asset_code.like(pattern, escape="\\"))


def _where(
    stmt, filters: AssetFilters, today: dt.date, *, dense: bool = False,
    code_prefix: bool = False, steer: bool = False,
):
    """`dense`: the text search matches many rows (see search.search_criteria).
    `code_prefix`: the term matches the start of the asset code only (_code_prefix_only).
    `steer`: wrap the filtered columns (coalesce(x, x), same value) so that no index of
    theirs is used and the sort order's index drives the query."""
    plain = (lambda c: func.coalesce(c, c)) if steer else (lambda c: c)
    if filters.q:
        connection = db.session.connection()
        if code_prefix:
            stmt = stmt.where(_code_prefix(filters.q, connection.dialect.name))
        else:
            stmt = stmt.where(search_criteria(filters.q, connection, dense=dense))
    if filters.category_id:
        stmt = stmt.where(plain(Asset.category_id).in_(_category_ids(filters.category_id)))
    if filters.status:
        stmt = stmt.where(plain(Asset.status) == filters.status)
    if filters.safety:
        from ..inspections import safety

        stmt = stmt.where(safety.state_filter(filters.safety))
    if filters.department:
        stmt = stmt.where(plain(Asset.department) == filters.department)
    if filters.over_design_life:
        stmt = stmt.where(plain(Asset.design_life_end) < today)
    if filters.special:
        stmt = stmt.where(plain(Asset.is_special).is_(True))
    if filters.org_id:
        # a user-chosen narrowing; the tenant scope is still applied by the listener
        stmt = stmt.where(plain(Asset.org_id) == filters.org_id)
    return stmt


def _order(filters: AssetFilters, few: bool = False):
    """Sort keys. With `few` matches the sort column is wrapped (coalesce(x, x)) so
    that SQLite fetches the matches through the filter's index and sorts them,
    instead of walking the whole sort index looking for rare matches."""
    columns = SORTS[filters.sort]
    if few:
        columns = tuple(func.coalesce(c, c) for c in columns)
    desc = filters.direction == "desc"
    keys = [c.desc() if desc else c.asc() for c in columns]
    keys.append(Asset.id.desc() if desc else Asset.id.asc())
    return keys


def asset_query(scope: Scope, filters: AssetFilters | None = None) -> Select:
    """THE query behind the list, the label sheet and the export: filtered, sorted,
    category and organisation loaded in the same SELECT (no N+1)."""
    filters = filters or AssetFilters()
    stmt = select(Asset).options(joinedload(Asset.category), joinedload(Asset.organisation))
    return _where(stmt, filters, clock.today()).order_by(*_order(filters))


COUNT_CAP = 10_000  # a list counts (and pages through) at most this many matches
# Matches cheap enough to fetch through the filters' indexes and sort: at most the
# counted ones (10,000 rows sort in ~20 ms on SQLite), so every uncapped list is bounded.
FEW = COUNT_CAP
# A 1–2 character term has no trigram: it is tested with LIKE on every candidate row,
# which is fine for an institution of this size and not for a city's million rows.
SHORT_TERM_ROWS = 20_000


@dataclass
class AssetPage(Page):
    """A page of the list. `capped`: more than COUNT_CAP matches, `total` is only a
    lower bound and pages stop at COUNT_CAP. `asked`: the page number requested when it
    lay past the last page offered (the last one is shown instead). `code_prefix_only`:
    a 1–2 character term over more than SHORT_TERM_ROWS rows was matched against the
    start of the asset code only."""

    capped: bool = False
    asked: int | None = None
    code_prefix_only: bool = False
    cap: int = COUNT_CAP

    @property
    def pages(self) -> int:
        if self.capped:
            return max(1, self.cap // self.per_page)
        return super().pages


def _selective(filters: AssetFilters) -> bool:
    return bool(
        filters.category_id or filters.status or filters.department or filters.special
        or filters.over_design_life or filters.q
    )


def _capped_count(ids: Select, cap: int) -> int:
    """How many rows `ids` yields, counting no further than cap + 1: the cost is bounded
    by the cap however many rows match."""
    return db.session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery())) or 0


def _code_prefix_only(filters: AssetFilters, today: dt.date) -> bool:
    """A short term over more candidate rows than LIKE can test quickly."""
    if not filters.q or len(filters.q) >= MIN_INDEXED:
        return False
    candidates = _where(select(Asset.id), replace(filters, q=""), today)
    return _capped_count(candidates, SHORT_TERM_ROWS) > SHORT_TERM_ROWS


def _served_in_order(filters: AssetFilters) -> bool:
    """An index leading with the equality filters yields the rows in sort order:
    (category_id, status, name | design_life_end) and (status, name) — see the model's
    indexes. With a category that has sub-categories the IN list breaks the order."""
    if not filters.status:
        return False
    if not filters.category_id:
        return filters.sort == "name"
    return filters.sort in ("name", "life_end") and len(_category_ids(filters.category_id)) == 1


def _search_driven(filters: AssetFilters, today: dt.date) -> Select | None:
    """The filtered ids with the text search's index matches as the outer loop (read
    lazily in rowid order, each looked up by id): never a walk of the organisation's
    rows, whatever the planner's statistics say. None without an indexed search."""
    if not filters.q:
        return None
    driven = driven_by_matches(select(Asset.id), filters.q, db.session.connection())
    if driven is None:
        return None
    return _where(driven, replace(filters, q=""), today)  # the join applies the term


def asset_page(
    scope: Scope, filters: AssetFilters, page: int = 1, per_page: int = PER_PAGE
) -> AssetPage:
    """One page of the list. The count stops at COUNT_CAP, so do the pages; the page's
    ids come from a narrow (index-only where possible) query and only those rows are
    loaded."""
    today = clock.today()
    code_prefix = _code_prefix_only(filters, today)
    matched = None if code_prefix else _search_driven(filters, today)
    counted = matched
    if counted is None:
        counted = _where(select(Asset.id), filters, today, code_prefix=code_prefix)
    total = _capped_count(counted, COUNT_CAP)
    result = AssetPage(
        items=[], page=1, per_page=per_page, total=total,
        capped=total > COUNT_CAP, code_prefix_only=code_prefix, cap=COUNT_CAP,
    )
    page = max(1, page)
    if result.capped and page > result.pages:
        result.asked = page
    page = result.page = min(page, result.pages)
    few = total <= FEW and _selective(filters)
    if matched is not None and few:
        listed = matched
    else:
        # many matches (or no text search): walk the sort order, test each row; unless
        # an index gives the filtered rows in order, keep the planner off the filters'
        # indexes (their matches would all be fetched and sorted)
        steer = not few and not _served_in_order(filters)
        listed = _where(
            select(Asset.id), filters, today, dense=True, code_prefix=code_prefix, steer=steer
        )
    ids = []
    if total:
        ids = list(
            db.session.scalars(
                listed.order_by(*_order(filters, few=few))
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
    if ids:
        rows = db.session.scalars(
            select(Asset)
            .where(Asset.id.in_(ids))
            .options(joinedload(Asset.category), joinedload(Asset.organisation))
        ).all()
        by_id = {a.id: a for a in rows}
        result.items = [by_id[i] for i in ids if i in by_id]
    return result


def departments(scope: Scope, limit: int = 200) -> list[str]:
    """Distinct departments for the filter's suggestions."""
    stmt = (
        select(Asset.department)
        .where(Asset.department.is_not(None))
        .group_by(Asset.department)
        .order_by(Asset.department)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.sort, Category.id)))


def visible_orgs(scope: Scope) -> list[Organisation]:
    from ..enums import OrgKind

    stmt = select(Organisation).where(Organisation.kind == OrgKind.INSTITUTION)
    if scope.org_ids is not None:
        stmt = stmt.where(Organisation.id.in_(sorted(scope.org_ids)))
    return list(db.session.scalars(stmt.order_by(Organisation.code)))


# --------------------------------------------------------------------------- figures


def _months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end` (a month counts once its day is reached)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(0, months)


def default_convention(sector: str | None) -> str:
    """Scenic-area operators are enterprises (企业会计准则: from the month after);
    hospitals, colleges, schools and the stadium are public units (政府会计准则第3号:
    from the month the asset is added)."""
    from ..enums import Sector

    if sector == Sector.CULTURE_TOURISM:
        return DepreciationConvention.NEXT_MONTH.value
    return DepreciationConvention.SAME_MONTH.value


def depreciation_convention(org_id: int | None) -> str:
    """The organisation's convention: its own setting, else the default of its sector.
    Without an organisation (a draft asset) the enterprise convention."""
    if org_id is None:
        return DepreciationConvention.NEXT_MONTH.value
    stored = db.session.scalar(
        select(AccountingSettings.convention).where(AccountingSettings.org_id == org_id)
    )
    if stored:
        return stored
    sector = db.session.scalar(select(Organisation.sector).where(Organisation.id == org_id))
    return default_convention(sector)


def set_depreciation_convention(scope: Scope, org_id: int, convention: str) -> AccountingSettings:
    """Record an organisation's convention (an institution that keeps enterprise books,
    or the reverse)."""
    _check_writable(scope, org_id)
    if not DepreciationConvention.has(convention):
        raise AssetError("convention", _("请选择有效的折旧起始规则。"))
    row = db.session.scalars(
        select(AccountingSettings).where(AccountingSettings.org_id == org_id)
    ).one_or_none()
    if row is None:
        row = AccountingSettings(org_id=org_id, convention=convention)
        db.session.add(row)
    row.convention = convention
    db.session.flush()
    return row


def derived_figures(
    asset: Asset, today: dt.date | None = None, convention: str | None = None
) -> dict:
    """Age, end of design life, time left, and book value.

    Depreciation is straight-line with no residual value, one equal charge a month
    (财会〔2017〕4号), starting as the organisation's convention says: public units from
    the month the asset is added (政府会计准则第3号, 当月增加当月计提), enterprises from
    the month after (企业会计准则). The charge of the current month is included, and it
    stops once the accounting life is used up. `convention`: None → the organisation's.
    """
    today = today or clock.today()
    if convention is None:
        convention = depreciation_convention(asset.org_id)
    start = life_start(asset)
    out: dict = {
        "age_years": None,
        "age_months": None,
        "design_life_end": asset.design_life_end or _design_life_end(asset),
        "days_left": None,
        "left_years": None,
        "left_months": None,
        "over_design_life": False,
        "convention": convention,
        "convention_label": DepreciationConvention.label_of(convention),
        "convention_standard": DepreciationConvention.standards()[convention],
        "monthly_depreciation": None,
        "months_depreciated": None,
        "accumulated_depreciation": None,
        "net_book_value": None,
    }
    if start is not None:
        months = _months_between(start, today)
        out["age_years"], out["age_months"] = divmod(months, 12)
    end = out["design_life_end"]
    if end is not None:
        out["days_left"] = (end - today).days
        out["over_design_life"] = end < today
        if end >= today:
            out["left_years"], out["left_months"] = divmod(_months_between(today, end), 12)
    value = asset.original_value
    life = asset.accounting_life_years
    commissioned = asset.commissioned_on or asset.purchase_date
    if value is not None and life and commissioned is not None:
        total = life * 12
        charged = (today.year - commissioned.year) * 12 + today.month - commissioned.month
        if convention == DepreciationConvention.SAME_MONTH and today >= commissioned:
            charged += 1  # the month it was added carries a charge
        charged = min(max(0, charged), total)
        cent = decimal.Decimal("0.01")
        value = decimal.Decimal(value)
        accumulated = (value * charged / total).quantize(cent, rounding=decimal.ROUND_HALF_UP)
        out["monthly_depreciation"] = (value / total).quantize(cent, decimal.ROUND_HALF_UP)
        out["months_depreciated"] = charged
        out["accumulated_depreciation"] = accumulated
        out["net_book_value"] = value - accumulated
    return out


def status_history(scope: Scope, asset: Asset) -> list[StatusChange]:
    return list(
        db.session.scalars(
            select(StatusChange)
            .where(StatusChange.asset_id == asset.id)
            .order_by(StatusChange.at.desc(), StatusChange.id.desc())
        )
    )


# --------------------------------------------------------------------------- attachments

ATTACHMENT_KINDS = ("photo", "certificate", "report", "other")
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf", {".pdf"}),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg", {".jpg", ".jpeg"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png", {".png"}),
)


def _sniff(head: bytes) -> tuple[str, str, set[str]] | None:
    for magic, content_type, ext, accepted in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext, accepted
    return None


def _read_capped(source, limit: int) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source[: limit + 1])
    stream = getattr(source, "stream", source)
    return stream.read(limit + 1)


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def checked_upload(source, filename: str) -> tuple[bytes, str, str, str]:
    """The checks every upload passes (size cap, content sniffed as PDF, JPEG or PNG, an
    extension matching the content) → (data, clean file name, content type, stored
    extension); AssetError("file", …) otherwise."""
    limit = int(current_app.config["MAX_UPLOAD_BYTES"])
    data = _read_capped(source, limit) if source else b""
    filename = Path((filename or "").replace("\\", "/")).name.strip()[:200]
    if not data or not filename:
        raise AssetError("file", _("请选择要上传的文件。"))
    if len(data) > limit:
        raise AssetError(
            "file", _("文件过大：最大 %(mb)s MB。", mb=f"{limit / 1024 / 1024:.0f}")
        )
    sniffed = _sniff(data[:16])
    if sniffed is None:
        raise AssetError("file", _("只能上传 PDF、JPEG 或 PNG 文件（按文件内容识别）。"))
    content_type, stored_ext, accepted = sniffed
    if Path(filename).suffix.lower() not in accepted:
        raise AssetError("file", _("文件扩展名与文件内容不符，请检查文件。"))
    return data, filename, content_type, stored_ext


def store_upload(data: bytes, stored_name: str, make_row):
    """Write the file under UPLOAD_DIR, then flush the row `make_row(size, sha256)` makes;
    the file is removed again if the row fails (nothing half-saved)."""
    path = _upload_dir() / stored_name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError:  # unwritable directory, full disk: say so, keep nothing
        logging.getLogger(__name__).exception("could not store upload %s", path)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        message = _("文件未能保存（服务器存储不可写或已满），未保存任何内容，请联系管理员。")
        raise AssetError("file", message) from None
    row = make_row(len(data), hashlib.sha256(data).hexdigest())
    db.session.add(row)
    try:
        db.session.flush()
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return row


def add_attachment(
    scope: Scope,
    asset: Asset,
    file_storage_or_bytes,
    filename: str,
    kind: str,
    user_id: int | None,
    *,
    inspection_id: int | None = None,
    fault_id: int | None = None,
) -> Attachment:
    """Store a PDF/JPEG/PNG (recognised by its content) under UPLOAD_DIR with a random
    name; the row keeps the original file name for downloads."""
    if not scope.writable or not in_scope(scope, asset):
        raise AssetError("file", _("无权为该设备上传附件。"))
    data, filename, content_type, stored_ext = checked_upload(file_storage_or_bytes, filename)
    kind = kind if kind in ATTACHMENT_KINDS else "other"
    stored_name = f"{asset.org_id}/{secrets.token_hex(16)}{stored_ext}"
    return store_upload(data, stored_name, lambda size, sha256: Attachment(
        org_id=asset.org_id, asset_id=asset.id, inspection_id=inspection_id,
        fault_id=fault_id, kind=kind, filename=filename, content_type=content_type,
        size=size, sha256=sha256, stored_name=stored_name, user_id=user_id,
    ))


def attachments_of(scope: Scope, asset: Asset) -> list[Attachment]:
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.asset_id == asset.id)
            .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc())
        )
    )


def open_attachment(scope: Scope, attachment_id: int) -> tuple[Attachment, Path] | None:
    """The attachment and its file if the scope sees it, else None (→ 404)."""
    attachment = db.session.scalars(
        select(Attachment).where(Attachment.id == attachment_id)
    ).one_or_none()
    if attachment is None:
        return None
    root = _upload_dir().resolve()
    path = (root / attachment.stored_name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return attachment, path
