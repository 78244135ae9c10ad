"""The ledger import: read a file, classify every row against the organisation's
register, then write the new and changed rows in batches (Core executemany).

    result = import_assets(scope, org_id, path, filename="台账.xlsx", dry_run=True)
    result.new, result.changed, result.unchanged, result.rejected, result.changes[:20]

Everything happens in the caller's session; nothing is committed here. A dry run
or an all-or-nothing run with a rejected row writes nothing at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import difflib
import gc
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from sqlalchemy import bindparam, select, update

from .. import clock
from ..assets.codes import check_import_row
from ..assets.models import Asset, AssetStatus, FundingSource
from ..assets.search import bulk_indexing
from ..assets.services import add_years, new_token
from ..bulk import BatchWriter, IdSequence, audit_many, reserve_ids
from ..catalog.models import Category
from ..enums import LabelledEnum
from ..extensions import db
from ..inspections.models import Obligation
from ..inspections.services import AssetFacts, DefaultDuties, duty_audit, duty_insert
from ..tenancy.scope import Scope, ScopeViolation, use_scope
from .columns import ASSET_FIELDS, fields_for
from .mapping import Mapping as ColumnMapping
from .mapping import saved_mapping
from .messages import N_
from .reader import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    LedgerHeader,
    LedgerRow,
    RowError,
    RowParser,
    UnusableFile,
    iter_rows,
)
from .synonyms import merged, synonym_key
from .values import ValueProblem, normalise_text

BATCH_SIZE = 2_000
PREVIEW_CHANGES = 20
PREVIEW_ROWS = 50
MSG_UNKNOWN_CATEGORY = N_("类别不存在（请填写系统中的类别名称或编码）")
MSG_UNKNOWN_CATEGORY_NEAR = N_("类别不存在（相近的类别：{options}）")

# Non-null columns: a blank cell keeps the current value (a new asset gets the default).
_NON_NULL_DEFAULTS = {
    "status": AssetStatus.IN_SERVICE.value,
    "radiation": False,
    "metrology": False,
}
# File keys → asset columns, in template order; derived columns follow.
FILE_COLUMNS = tuple("category_id" if f.key == "category" else f.key for f in ASSET_FIELDS)
# register_code: an older 注册代码 found in the 设备代码 column (assets.codes.check_import_row)
# design_life_from_category: no 设计使用年限 given, the category's default filled in
DERIVED_COLUMNS = ("is_special", "special_code", "design_life_end", "register_code",
                   "design_life_from_category")
ASSET_COLUMNS = FILE_COLUMNS + DERIVED_COLUMNS
_INDEX = {c: i for i, c in enumerate(ASSET_COLUMNS)}
_KEY_INDEX = {f.key: _INDEX["category_id" if f.key == "category" else f.key] for f in ASSET_FIELDS}
_KEY_INDEX["register_code"] = _INDEX["register_code"]


# --- choices --------------------------------------------------------------------


def _humanise(code: str) -> str:
    return code.replace("_", " ").capitalize()


def enum_choices(enum_cls: type[LabelledEnum]) -> dict[str, tuple[str, str]]:
    """{code: (Chinese label, English label)} whatever the user's current language."""
    labels = enum_cls.labels()
    with force_locale("zh_Hans_CN"):
        zh = {code: str(label) for code, label in labels.items()}
    with force_locale("en"):
        en = {code: str(label) for code, label in labels.items()}
    return {
        code: (zh[code], en[code] if en[code] != zh[code] else _humanise(code)) for code in labels
    }


# 检验结论 (DOMAIN.md): stored as the Chinese text, as the inspections domain does.
_CONCLUSION_EN = {
    "符合要求": "Pass",
    "基本符合要求": "Basically pass",
    "不符合要求": "Fail",
    "复检合格": "Pass after re-inspection",
    "允许运行": "Allowed to run",
    "整改后运行": "Run after rectification",
    "限制条件运行": "Run with restrictions",
    "停止运行": "Stopped",
    "正常": "Normal",
    "异常": "Abnormal",
}


def conclusion_choices() -> dict[str, tuple[str, str]]:
    from ..inspections.rules import CONCLUSIONS

    codes = [c for conclusions in CONCLUSIONS.values() for c in conclusions]
    return {c: (c, _CONCLUSION_EN.get(c, c)) for c in dict.fromkeys(codes)}


# the enumerated fields of each kind whose ledger words the synonyms table knows
SYNONYM_FIELDS = {
    "assets": ("status", "funding_source"),
    "plan_items": ("funding_source",),
    "inspections": (),
}


def aliases_for(kind: str, mapping: ColumnMapping | None) -> dict[str, dict[str, str]]:
    """{field key: {ledger word: code}} for the parser: the built-in and city-wide
    synonyms, then the organisation's own value mapping on top."""
    values = mapping.values if mapping is not None else {}
    keys = set(SYNONYM_FIELDS[kind]) | {k for k in values if k != "category"}
    return {key: merged(key, values.get(key)) if key in SYNONYM_FIELDS[kind] else {
        synonym_key(t): c for t, c in values.get(key, {}).items() if c
    } for key in keys}


def choices_for(kind: str) -> dict[str, dict[str, tuple[str, str]]]:
    if kind == "assets":
        return {"status": enum_choices(AssetStatus), "funding_source": enum_choices(FundingSource)}
    if kind == "plan_items":
        return {"funding_source": enum_choices(FundingSource)}
    from ..inspections.models import ObligationKind

    return {"conclusion": conclusion_choices(), "obligation_kind": enum_choices(ObligationKind)}


# --- categories -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    id: int
    code: str
    name: str
    is_special: bool
    special_code: str | None
    design_life_years: int | None
    accounting_life_years: int | None


_NUMBERED_NAME = re.compile(r"(\d{2,4})\s*(\S.*)")


def _category_key(text: str) -> str:
    return "".join(text.split()).casefold()


class CategoryLookup:
    """Every category by id, by code and by name (one query; the tree is global), and by
    the ledger words of the synonyms table and the organisation's value mapping."""

    def __init__(self, organisation_values: Mapping[str, str] | None = None) -> None:
        rows = db.session.execute(
            select(
                Category.id,
                Category.code,
                Category.name,
                Category.is_special,
                Category.special_code,
                Category.design_life_years,
                Category.accounting_life_years,
            ).order_by(Category.sort, Category.id)
        ).all()
        self.by_id = {r.id: CategoryInfo(*r) for r in rows}
        self.by_text: dict[str, CategoryInfo] = {}
        for info in self.by_id.values():  # codes win over names
            self.by_text.setdefault(_category_key(info.code), info)
        for info in self.by_id.values():
            self.by_text.setdefault(_category_key(normalise_text(info.name) or ""), info)
        # Ledgers write the medical catalogue as "医用成像器械" or "06" where the tree
        # says "06 医用成像器械", and special equipment by its kind code ("3000").
        for info in self.by_id.values():
            m = _NUMBERED_NAME.fullmatch(normalise_text(info.name) or "")
            if m:
                self.by_text.setdefault(_category_key(m[1]), info)
                self.by_text.setdefault(_category_key(m[2]), info)
            if info.special_code:
                self.by_text.setdefault(_category_key(info.special_code), info)
        self.by_text.pop("", None)
        by_code = {info.code: info for info in self.by_id.values()}
        # synonyms first, the organisation's own words on top (they may re-point one)
        for word, code in merged("category", organisation_values).items():
            info = by_code.get(code)
            if info is not None:
                self.by_text[word] = info
        self._names: list[str] | None = None
        self._name_info: dict[str, CategoryInfo] = {}

    def find(self, text: str) -> CategoryInfo | None:
        # normalise_text makes 场（厂） and 场(厂) one; the tree's names are normalised alike
        return self.by_text.get(_category_key(normalise_text(text) or ""))

    def nearest(self, text: str, n: int = 5) -> list[str]:
        """The names of the categories closest to `text` (for the error message)."""
        if self._names is None:
            self._names = []
            for info in self.by_id.values():
                name = normalise_text(info.name) or ""
                m = _NUMBERED_NAME.fullmatch(name)
                bare = m[2] if m else name
                self._name_info.setdefault(bare, info)
                self._names.append(bare)
        key = normalise_text(text) or ""
        close = difflib.get_close_matches(key, self._names, n=n, cutoff=0.3)
        if not close:  # nothing alike: share a character at least
            close = [name for name in self._names if set(name) & set(key)][:n]
        return [self._name_info[name].name for name in close]

    def unknown_message(self, text: str) -> str:
        near = self.nearest(text)
        if not near:
            return MSG_UNKNOWN_CATEGORY
        return MSG_UNKNOWN_CATEGORY_NEAR.format(options="、".join(near))


# --- results ---------------------------------------------------------------------


@dataclass
class Rejected:
    row_number: int
    raw_cells: list
    errors: list[RowError]


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    valid_only: bool
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped_blank: int = 0
    skipped_total: int = 0
    written: bool = False
    unusable: str | None = None  # the whole file was refused (Chinese message)
    header: LedgerHeader | None = None
    # first changes: {"row": 12, "code": "ZY-1", "changes": [(header, before, after), …]}
    changes: list[dict] = field(default_factory=list)
    rejected_rows: list[Rejected] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    obligations_created: int | None = None
    # (Excel row, why, text) of rows that are not data (合计, signature lines, unfilled)
    skipped_rows: list[tuple[int, str, str]] = field(default_factory=list)
    # a file refused as a whole: the header cells found, and the headers expected
    found_headers: list[str] = field(default_factory=list)
    # the first rows as they will be stored: [{header text: shown value}], and the
    # distinct values met in each enumerated column {key: {text: target code or None}}
    preview: list[dict] = field(default_factory=list)
    values_found: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # what the write did, for undo: {asset id: {column: value before}} of changed rows
    changed_before: dict[int, dict] = field(default_factory=dict)

    @property
    def expected_headers(self) -> list[str]:
        return [f.zh for f in fields_for(self.kind)]

    @property
    def required_headers(self) -> list[str]:
        return [f.zh for f in fields_for(self.kind) if f.required]

    def refuse(self, message: str, reader=None) -> ImportResult:
        """The whole file is unusable: nothing counted, nothing written; the headers
        the reader found are kept for the report."""
        self.unusable = message
        self.new = self.changed = self.unchanged = self.rejected = 0
        self.rejected_rows.clear()
        self.changes.clear()
        self.preview.clear()
        if reader is not None:
            self.found_headers = list(reader.found_headers)
        return self

    def read_through(self, reader, progress: Callable[[int], None] | None) -> None:
        """The reader is done: keep its skip counts, report the last progress."""
        self.skipped_blank = reader.skipped_blank
        self.skipped_total += reader.skipped_total  # the importer may have skipped rows too
        self.skipped_rows = list(reader.skipped_rows) + self.skipped_rows
        self.skipped_rows.sort()
        if progress is not None:
            progress(reader.data_rows)

    @property
    def skipped(self) -> int:
        return self.skipped_blank + self.skipped_total

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rejected_rows for e in r.errors]

    @property
    def unknown_columns(self) -> list[tuple[str, str]]:
        return self.header.unknown if self.header is not None else []

    @property
    def column_mapping(self) -> list[dict]:
        """Each column of the file: letter, header, field key (None: ignored), unit."""
        if self.header is None:
            return []
        return column_mapping(self.header)

    @property
    def exit_code(self) -> int:
        """CLI convention: 0 everything went in (or would), 1 rows rejected, 2 unusable file."""
        if self.unusable:
            return 2
        return 1 if self.rejected else 0

    def summary_line(self) -> str:
        if self.unusable:
            return f"无法导入：{self.unusable}"
        parts = [
            f"新增 {self.new}",
            f"修改 {self.changed}",
            f"未变 {self.unchanged}",
            f"拒绝 {self.rejected}",
            f"跳过 {self.skipped}",
        ]
        if self.dry_run:
            outcome = "试运行，未写入"
        elif self.written:
            outcome = "已写入"
        else:
            outcome = "有被拒绝的行，未写入任何数据"
        return "，".join(parts) + f"（{outcome}）"

    def as_summary(self, max_errors: int = 200) -> dict:
        """The JSON kept on the ImportJob row for the result page."""
        return {
            "changes": self.changes,
            "unknown_columns": self.unknown_columns,
            "skipped_blank": self.skipped_blank,
            "skipped_total": self.skipped_total,
            "errors": [
                {
                    "row": e.row_number,
                    "column": e.column,
                    "value": _shown(e.value),
                    "message": e.message,
                }
                for e in self.errors[:max_errors]
            ],
            "error_count": sum(len(r.errors) for r in self.rejected_rows),
            "obligations_created": self.obligations_created,
            "skipped_rows": [list(r) for r in self.skipped_rows[:200]],
            "found_headers": self.found_headers,
            "expected_headers": self.expected_headers if self.unusable else [],
            "required_headers": self.required_headers if self.unusable else [],
            "columns": self.column_mapping,
            "preview": self.preview,
            "values_found": self.values_found,
        }


def column_mapping(header: LedgerHeader) -> list[dict]:
    from .units import BASE_UNIT

    fields = {f.key: f for f in fields_for(header.kind)}
    out = []
    for letter, text, key in header.columns:
        if not text:
            continue
        f = fields.get(key) if key else None
        unit = None
        if f is not None and f.unit:
            unit = header.units.get(key, BASE_UNIT[f.unit])
        out.append(
            {
                "letter": letter,
                "header": text,
                "field": key,
                "field_label": f.zh if f is not None else None,
                "unit": unit,
            }
        )
    return out


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if not value.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- helpers -----------------------------------------------------------------------


def org_scope(scope: Scope, org_id: int) -> Scope:
    """The caller's scope narrowed to the importing organisation: upserts look only there."""
    if not scope.contains_org(org_id) or not scope.writable or scope.special_only:
        raise ScopeViolation("import target outside the scope")
    return dataclasses.replace(scope, org_ids=frozenset({org_id}), org_id=org_id)


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


def _sheet_rows(zf: zipfile.ZipFile, name: str) -> int:
    """The <dimension> Excel writes at the top, else count the <row> tags (streaming;
    openpyxl's write-only mode writes no dimension). Capped like the zip-bomb guard."""
    rows, budget, tail = 0, DEFAULT_MAX_BYTES * 10, b""
    with zf.open(name) as member:
        head = member.read(4096)
        m = _DIMENSION.search(head)
        if m and m.group(1) != b"1":
            return int(m.group(1))
        chunk = head
        while chunk and budget > 0:
            data = tail + chunk
            rows += data.count(b"<row ") - tail.count(b"<row ")
            tail, budget = data[-8:], budget - len(chunk)
            chunk = member.read(1 << 20)
    return rows


def estimate_rows(path: str, fmt: str | None = None) -> int:
    """Rows in the file, cheaply (for the progress bar): the sheet's <dimension> or lines."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head.startswith(b"PK"):
            best = 0
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                        best = max(best, _sheet_rows(zf, name))
            return best
        with open(path, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except (OSError, zipfile.BadZipFile, ValueError):
        return 0


# --- the asset import ---------------------------------------------------------------


@dataclass
class _Plan:
    new_rows: list[tuple] = field(default_factory=list)
    # (asset id, values, {column: before})
    changed_rows: list[tuple[int, tuple, dict]] = field(default_factory=list)


_MISSING = object()


class AssetClassifier:
    """Turns validated rows into full column tuples and compares them to the register."""

    def __init__(self, header: LedgerHeader, categories: CategoryLookup):
        self.header = header
        self.categories = categories
        # each distinct category text met → the category code it became (None: unknown)
        self.category_seen: dict[str, str | None] = {}
        self._found: dict[str, CategoryInfo | None] = {}
        self._unknown_messages: dict[str, str] = {}
        keys = [k for k in header.key_columns if k in _KEY_INDEX]
        self.file_keys = keys
        self.has_category = "category" in keys
        self.defaults = [None] * len(ASSET_COLUMNS)
        for key, value in _NON_NULL_DEFAULTS.items():
            self.defaults[_INDEX[key]] = value
        self.defaults[_INDEX["is_special"]] = False
        self.defaults = tuple(self.defaults)
        self.header_text = {
            key: header.columns[cols[0]][1] for key, cols in header.key_columns.items()
        }

    def resolve_category(self, row: LedgerRow, clean: dict) -> RowError | None:
        text = clean.get("category")
        if text is None:
            return None
        info = self._found.get(text, _MISSING)
        if info is _MISSING:  # each distinct text looked up once
            info = self.categories.find(text)
            if len(self._found) < 20_000:
                self._found[text] = info
            if len(self.category_seen) < 5_000:
                self.category_seen[text] = info.code if info is not None else None
        if info is None:
            col = self.header.column_for("category", row.raw_cells)
            letter, column, _ = self.header.columns[col]
            clean.pop("category")
            message = self._unknown_messages.get(text)
            if message is None:
                message = self._unknown_messages[text] = self.categories.unknown_message(text)
            return RowError(
                row.row_number,
                column,
                row.values.get("category"),
                message,
                "category",
                letter,
            )
        clean["category"] = info.id
        return None

    def preview(self, row_number: int, clean: dict, outcome: str, labels: dict) -> dict:
        """One row as it will be stored: the file's fields, converted and resolved."""
        shown = []
        for key, column in self.header_text.items():
            if key not in clean:  # a cell that failed: blank, so the columns stay aligned
                shown.append([column, ""])
                continue
            value = clean[key]
            name = "category_id" if key == "category" else key
            shown.append([column, _display(name, value, self.categories, labels)])
        return {"row": row_number, "outcome": outcome, "values": shown}

    def values(self, clean: dict, base: tuple | None) -> tuple:
        vals = list(base if base is not None else self.defaults)
        for key, value in clean.items():
            index = _KEY_INDEX.get(key)
            if index is None:
                continue
            if value is None and key in _NON_NULL_DEFAULTS:
                continue  # blank keeps the current value / the default
            vals[index] = value
        category = self.categories.by_id.get(vals[_INDEX["category_id"]])
        if category is not None and (base is None or self.has_category):
            for key in ("design_life_years", "accounting_life_years"):
                if vals[_INDEX[key]] is None and (base is None or key in clean):
                    vals[_INDEX[key]] = getattr(category, key)
                    if key == "design_life_years":
                        vals[_INDEX["design_life_from_category"]] = vals[_INDEX[key]] is not None
        given = clean.get("design_life_years")
        if given is not None and (base is None or given != base[_INDEX["design_life_years"]]):
            # a design life given in the file (an export's own value re-imported keeps
            # whatever it was: the round trip changes nothing)
            vals[_INDEX["design_life_from_category"]] = False
        if vals[_INDEX["design_life_from_category"]] is None:
            vals[_INDEX["design_life_from_category"]] = False
        special = bool(category and category.is_special)
        vals[_INDEX["is_special"]] = special
        vals[_INDEX["special_code"]] = category.special_code if special else None
        start = vals[_INDEX["commissioned_on"]] or vals[_INDEX["purchase_date"]]
        life = vals[_INDEX["design_life_years"]]
        vals[_INDEX["design_life_end"]] = add_years(start, life) if start and life else None
        return tuple(vals)


def _existing_ids(scope: Scope) -> dict[str, int]:
    """{asset code: id} of the organisation in `scope` (one streamed ORM query). Only
    the keys: the rows a file matches are read a batch at a time (`_current_values`);
    every column of 100,000 assets held at once took 200 MB."""
    stmt = select(Asset.asset_code, Asset.id).execution_options(yield_per=10_000)
    with use_scope(scope):
        return {code: asset_id for code, asset_id in db.session.execute(stmt)}


def _current_values(scope: Scope, asset_ids: list[int]) -> dict[int, tuple]:
    """{id: column tuple} of the given assets (one query for a batch)."""
    columns = [getattr(Asset, c) for c in ASSET_COLUMNS]
    with use_scope(scope):
        rows = db.session.execute(select(Asset.id, *columns).where(Asset.id.in_(asset_ids)))
        return {r[0]: tuple(r[1:]) for r in rows}


def _display(column: str, value: Any, categories: CategoryLookup, labels: dict) -> str:
    if value is None:
        return ""
    if column == "category_id":
        info = categories.by_id.get(value)
        return info.name if info else str(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if column in labels:
        return labels[column].get(value, (value,))[0]
    return _shown(value)


@contextlib.contextmanager
def _no_cyclic_gc():
    """The import holds 100,000s of live rows (tuples, dates, Decimals) and creates no
    reference cycles worth chasing; each cyclic collection walks all of them again
    (4 s of a 100,000-row import). The next automatic collection after it does."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_no_cyclic_gc()
def import_assets(
    scope: Scope,
    org_id: int,
    source: Any,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    valid_only: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    progress: Callable[[int], None] | None = None,
    progress_every: int = BATCH_SIZE,
    today: dt.date | None = None,
    mapping: ColumnMapping | None = None,
) -> ImportResult:
    """Read, validate, classify and (unless a dry run or a rejected row in
    all-or-nothing mode) write a ledger into organisation `org_id`. Flushes only.
    `mapping`: the organisation's column and value mapping (see mapping.py)."""
    target = org_scope(scope, org_id)
    result = ImportResult("assets", dry_run, valid_only)
    today = today or clock.today()
    choices = choices_for("assets")
    mapping = mapping or ColumnMapping()
    reader = iter_rows(
        source,
        "assets",
        filename=filename,
        max_rows=max_rows,
        max_bytes=max_bytes,
        overrides=mapping.columns,
    )
    plan = _Plan()
    try:
        with use_scope(target):
            categories = CategoryLookup(mapping.values.get("category"))
            existing = _existing_ids(target)
            aliases = aliases_for("assets", mapping)
        parser = RowParser("assets", today, choices, aliases=aliases)
        classifier: AssetClassifier | None = None
        known: list[tuple[int, str, int, dict]] = []  # rows matching a registered asset
        for item in reader:
            if isinstance(item, LedgerHeader):
                result.header = item
                classifier = AssetClassifier(item, categories)
                continue
            clean, errors = parser.parse(item)
            problem = classifier.resolve_category(item, clean)
            if problem is not None:
                errors.append(problem)
            elif "equipment_code" in clean or "catalogue_code" in clean:
                # the code rules of the form and the API (assets/codes.py)
                info = categories.by_id.get(clean.get("category"))
                for bad in check_import_row(clean, info, today):
                    errors.append(parser.error(item, bad.field, bad.message))
            if errors:
                errors.sort(key=lambda e: _column_order(item.header, e))
                result.rejected += 1
                result.rejected_rows.append(Rejected(item.row_number, item.raw_cells, errors))
                if len(result.preview) < PREVIEW_ROWS:
                    result.preview.append(
                        classifier.preview(item.row_number, clean, "rejected", choices)
                    )
            else:
                code = clean["asset_code"]
                asset_id = existing.get(code)
                if len(result.preview) < PREVIEW_ROWS:
                    outcome = "new" if asset_id is None else "known"
                    result.preview.append(
                        classifier.preview(item.row_number, clean, outcome, choices)
                    )
                if asset_id is None:
                    result.new += 1
                    plan.new_rows.append(classifier.values(clean, None))
                else:
                    known.append((item.row_number, code, asset_id, clean))
                    if len(known) == BATCH_SIZE:
                        _classify_known(result, plan, classifier, known, target, choices)
                        known.clear()
            if progress is not None and reader.data_rows % progress_every == 0:
                progress(reader.data_rows)
        if known:
            _classify_known(result, plan, classifier, known, target, choices)
    except UnusableFile as exc:
        return result.refuse(exc.message, reader)
    result.read_through(reader, progress)
    result.values_found = values_found(parser, ("status", "funding_source", "device_class"))
    if classifier is not None and "category" in classifier.file_keys:
        result.values_found["category"] = dict(classifier.category_seen)
    if dry_run or (result.rejected and not valid_only):
        return result
    del parser, classifier, existing, reader  # free the read side before writing
    _write_assets(target, org_id, plan, result, categories.by_id)
    result.written = True
    return result


def values_found(parser: RowParser, keys) -> dict[str, dict[str, str | None]]:
    """{field key: {distinct text met: code, or None if unrecognised}} of the columns in
    the file, read from the parser's memo (no extra work per row)."""
    found: dict[str, dict[str, str | None]] = {}
    header = parser._header
    for key in keys:
        if header is None or key not in header.key_columns:
            continue
        cache = parser.caches.get(key, {})
        words = {}
        for text, hit in list(cache.items())[:1000]:
            if not text or text.isspace():
                continue
            words[text] = None if isinstance(hit, ValueProblem) else hit
        found[key] = words
    return found


def _column_order(header: LedgerHeader | None, error: RowError) -> int:
    if header is None or error.letter is None:
        return -1
    for i, (letter, _, _) in enumerate(header.columns):
        if letter == error.letter:
            return i
    return -1


def _classify_known(result, plan, classifier, known, scope, choices) -> None:
    """Rows whose code is registered: unchanged, or changed (with the differences)."""
    current = _current_values(scope, [asset_id for _, _, asset_id, _ in known])
    categories = classifier.categories
    for row_number, code, asset_id, clean in known:
        before = current.get(asset_id)
        if before is None:  # deleted since the codes were read: registered anew
            result.new += 1
            plan.new_rows.append(classifier.values(clean, None))
            continue
        after = classifier.values(clean, before)
        if after == before:
            result.unchanged += 1
            continue
        result.changed += 1
        diff = {
            ASSET_COLUMNS[i]: old
            for i, (old, new) in enumerate(zip(before, after, strict=True))
            if old != new
        }
        plan.changed_rows.append((asset_id, after, diff))
        if len(result.changes) < PREVIEW_CHANGES:
            shown = []
            for column in diff:
                key = "category" if column == "category_id" else column
                if key not in classifier.header_text:
                    continue  # derived (is_special, design_life_end): follows from the others
                i = _INDEX[column]
                shown.append(
                    (
                        classifier.header_text[key],
                        _display(column, before[i], categories, choices),
                        _display(column, after[i], categories, choices),
                    )
                )
            result.changes.append({"row": row_number, "code": code, "changes": shown})


# Columns whose values JSON cannot hold as they are (dates, Decimal).
_CONVERTED = tuple(
    i
    for i, c in enumerate(ASSET_COLUMNS)
    if c in ("purchase_date", "commissioned_on", "design_life_end", "original_value")
)


def _audit_values(values: tuple) -> dict:
    """The audit "after" of a created asset: its non-null columns, JSON-ready."""
    out = {c: v for c, v in zip(ASSET_COLUMNS, values, strict=True) if v is not None}
    for i in _CONVERTED:
        v = values[i]
        if v is not None:
            out[ASSET_COLUMNS[i]] = _plain(v)
    return out


def _write_assets(
    scope: Scope, org_id: int, plan: _Plan, result: ImportResult, categories: dict
) -> None:
    """The new rows (with their audit rows and default duties, batch by batch through
    a pipelined writer), then the changed rows."""
    # SQLite: the connection's 64 MB page cache (db_events) holds the asset table's
    # indexes for a 100,000-row transaction; a 256 MB one raised peak memory to ~380 MB
    # with no clear gain in our runs.
    session = db.session()
    connection = session.connection()
    if plan.new_rows:
        with use_scope(scope):
            duties = DefaultDuties()  # reads the templates: before the writer starts
        with bulk_indexing(connection), BatchWriter(connection) as writer:
            _insert_new_assets(org_id, plan.new_rows, result, session, writer, duties, categories)
    if plan.changed_rows:
        _update_changed_assets(org_id, plan.changed_rows, session, connection, result)


def _insert_new_assets(org_id, new_rows, result, session, writer, duties, categories) -> None:
    table = Asset.__table__
    now = clock.utcnow_naive()
    # Plain executemany, no RETURNING: on SQLite, RETURNING in parameter order makes
    # SQLAlchemy fall back to one INSERT per row. The ids are reserved beforehand.
    # Columns empty on every new row (not in the file) are left to the table's
    # defaults: fewer parameters to bind, a third less work for 100,000 rows.
    used = [
        i
        for i, c in enumerate(ASSET_COLUMNS)
        if c in _NON_NULL_DEFAULTS or any(values[i] is not None for values in new_rows)
    ]
    keys = [
        "id",
        *(ASSET_COLUMNS[i] for i in used),
        "org_id",
        "qr_token",
        "created_at",
        "updated_at",
    ]
    connection = writer.connection
    result.new_ids = reserve_ids(connection, table, len(new_rows))
    duty_ids = IdSequence(connection, Obligation.__table__)
    result.obligations_created = 0
    for start in range(0, len(new_rows), BATCH_SIZE):
        ids = result.new_ids[start : start + BATCH_SIZE]
        batch = new_rows[start : start + BATCH_SIZE]
        writer.insert(
            table,
            keys,
            [
                (asset_id, *(values[i] for i in used), org_id, new_token(), now, now)
                for asset_id, values in zip(ids, batch, strict=True)
            ],
        )
        writer.audit(
            session,
            [
                {
                    "org_id": org_id,
                    "entity": "asset",
                    "entity_id": asset_id,
                    "action": "create",
                    "changes": {"before": {}, "after": _audit_values(values)},
                }
                for asset_id, values in zip(ids, batch, strict=True)
            ],
        )
        rows, audit_after = duties.plan(
            [
                _asset_facts(org_id, asset_id, values, categories)
                for asset_id, values in zip(ids, batch, strict=True)
            ]
        )
        oids = duty_ids.take(len(rows))
        writer.insert(Obligation.__table__, *duty_insert(oids, rows))
        writer.audit(session, duty_audit(oids, rows, audit_after))
        result.obligations_created += len(rows)


def _update_changed_assets(org_id, changed_rows, session, connection, result) -> None:
    table = Asset.__table__
    now = clock.utcnow_naive()
    update_stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}") for c in (*ASSET_COLUMNS, "updated_at")})
    )
    for batch in _chunks(changed_rows, BATCH_SIZE):
        params, audit = [], []
        for asset_id, values, diff in batch:
            row = {f"b_{c}": v for c, v in zip(ASSET_COLUMNS, values, strict=True)}
            row["b_id"], row["b_updated_at"] = asset_id, now
            params.append(row)
            result.changed_before[asset_id] = {c: _plain(old) for c, old in diff.items()}
            audit.append(
                {
                    "org_id": org_id,
                    "entity": "asset",
                    "entity_id": asset_id,
                    "action": "update",
                    "changes": {
                        "before": {c: _plain(old) for c, old in diff.items()},
                        "after": {c: _plain(values[_INDEX[c]]) for c in diff},
                    },
                }
            )
        connection.execute(update_stmt, params)
        audit_many(session, audit)


def _asset_facts(org_id: int, asset_id: int, values: tuple, categories: dict) -> AssetFacts:
    """What the default-duty rules read about a new asset, from the row being
    inserted (the same columns `inspections.services.asset_facts` would SELECT)."""
    category = categories.get(values[_INDEX["category_id"]])
    return AssetFacts(
        id=asset_id,
        org_id=org_id,
        category_id=values[_INDEX["category_id"]],
        base=values[_INDEX["commissioned_on"]] or values[_INDEX["purchase_date"]],
        design_life_end=values[_INDEX["design_life_end"]],
        is_special=values[_INDEX["is_special"]],
        special_code=values[_INDEX["special_code"]] or (category and category.special_code),
        vessel_grade=values[_INDEX["vessel_grade"]],
        radiation=values[_INDEX["radiation"]],
        metrology=values[_INDEX["metrology"]],
        own_design_life=values[_INDEX["design_life_years"]] is not None
        and not values[_INDEX["design_life_from_category"]],
    )


# --- inspection records ----------------------------------------------------------


def import_inspections(scope: Scope, org_id: int, source: Any, **options) -> ImportResult:
    """Inspection records; the same options as `import_assets` (no progress_every)."""
    from .inspections import import_inspection_records

    return import_inspection_records(scope, org_id, source, **options)


def import_plan_items(scope: Scope, org_id: int, source: Any, **options) -> ImportResult:
    """Items of the renewal plan `plan_id`; the same options as the others."""
    from .plan_items import import_plan_items as run

    return run(scope, org_id, source, **options)


IMPORTERS: Mapping[str, Callable[..., ImportResult]] = {
    "assets": import_assets,
    "inspections": import_inspections,
    "plan_items": import_plan_items,
}


def run_import(scope: Scope, org_id: int, kind: str, source: Any, **options: Any) -> ImportResult:
    """Run an import of `kind`. The organisation's saved mapping applies, with
    `mapping` (e.g. from `--mapping FILE.json`) on top of it."""
    fields_for(kind)
    given = options.pop("mapping", None)
    if options.pop("use_saved_mapping", True):
        saved = saved_mapping(scope, org_id, kind)
        given = saved.merged_with(given) if saved is not None else given
    return IMPORTERS[kind](scope, org_id, source, mapping=given, **options)
