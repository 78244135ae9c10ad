"""Keyset-free, COUNT-bounded pagination for long lists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from .extensions import db

PER_PAGE = 50


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, size: int = 2) -> list[int]:
        lo, hi = max(1, self.page - size), min(self.pages, self.page + size)
        return list(range(lo, hi + 1))


# a page number beyond this names no page of any list here (and its OFFSET would
# overflow the database's integer)
MAX_PAGE = 1_000_000


def paginate(
    stmt, args, per_page: int = PER_PAGE, scalars: bool = True, clamp: bool = True
) -> Page:
    """One page of `stmt`. `clamp`: a page past the end shows the last page (pages for
    people); without it that page is empty (the API: a client paging on stops)."""
    try:
        page = min(MAX_PAGE, max(1, int(str(args.get("page", 1)).strip())))
    except (TypeError, ValueError):
        page = 1
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if clamp:
        page = min(page, max(1, -(-total // per_page)))
    query = stmt.limit(per_page).offset((page - 1) * per_page)
    result = db.session.execute(query)
    items = list(result.scalars() if scalars else result)
    return Page(items=items, page=page, per_page=per_page, total=total or 0)
