"""Load: N signed-in users for a fixed time against a running server (gunicorn).

    PYTHONPATH=. python bench/load.py --base-url http://127.0.0.1:8000 \
        --db-url postgresql+psycopg://postgres@127.0.0.1:5432/ar_load --users 50 --seconds 60

Each user is a thread with its own cookie jar, signed in as one of the demo accounts
(password `demo12345`), looping without think time over a mix of requests: the asset
list, a search, an asset's page, the public scan page of a QR token (signed out) and,
now and then, recording an inspection through the form (a statutory duty gets a report
number and agency; confirm_restart=1 lets a pass restart a stopped device). Asset ids
and record links are read from the list and detail pages the users see; QR tokens are
read once from --db-url. Reports requests/s, p50/p95 per kind and overall, and errors
(any 5xx, a connection error, or a 4xx other than a form's 422 refusal). Plain threads
and urllib: nothing beyond the standard library and SQLAlchemy.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import random
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSWORD = "demo12345"
# institution people who may record inspections (statutory ones too: managers)
USERS = ("rmyy", "sxkj", "hcxf", "wml", "stxz", "tyc", "rmyy_xj")
MIX = (("list", 30), ("search", 20), ("detail", 25), ("scan", 20), ("inspect", 5))
SEARCHES = ("监护", "CT", "电梯", "呼吸机", "观光车", "锅炉", "超声", "2019")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ASSET_LINK = re.compile(r'href="/assets/(\d+)"')
RECORD_LINK = re.compile(r'href="(/inspections/obligations/\d+/record)"')
CONCLUSION_SELECT = re.compile(r'<select[^>]*name="conclusion".*?</select>', re.S)
OPTION = re.compile(r'<option[^>]*value="([^"]+)"')


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.refused = 0
        self.examples: list[str] = []

    def add(self, kind: str, ms: float, error: str | None = None) -> None:
        with self.lock:
            self.samples[kind].append(ms)
            if error:
                self.errors[kind] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{kind}: {error}")


class User:
    def __init__(self, base: str, username: str, stats: Stats, rng: random.Random) -> None:
        self.base, self.username, self.stats, self.rng = base, username, stats, rng
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
        )
        self.anonymous = urllib.request.build_opener(_NoRedirect())
        self.asset_ids: list[int] = []
        self.record_links: list[str] = []

    def request(self, kind, path, data=None, opener=None, record=True) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = time.perf_counter()
        status, text, error = 0, "", None
        try:
            with (opener or self.opener).open(self.base + path, body, timeout=30) as r:
                status, text = r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - started) * 1000
        if error is None and (status >= 500 or (status >= 400 and status != 422)):
            error = f"HTTP {status} {path}"
        if status == 422:
            with self.stats.lock:
                self.stats.refused += 1
        if record:
            self.stats.add(kind, ms, error)
        return status, text

    def sign_in(self) -> None:
        _, page = self.request("login", "/login", record=False)
        token = CSRF.search(page).group(1)
        status, _ = self.request(
            "login", "/login",
            {"csrf_token": token, "username": self.username, "password": PASSWORD},
            record=False,
        )
        if status != 302:
            raise RuntimeError(f"sign-in of {self.username} answered {status}")
        _, page = self.request("list", "/assets/", record=False)
        self.asset_ids = [int(i) for i in ASSET_LINK.findall(page)]

    def step(self, kind: str, tokens: list[str]) -> None:
        if kind == "list":
            page = self.rng.choice(("", "?page=2", "?sort=name", "?status=in_service"))
            _, text = self.request(kind, f"/assets/{page}")
            self.asset_ids = [int(i) for i in ASSET_LINK.findall(text)] or self.asset_ids
        elif kind == "search":
            q = urllib.parse.quote(self.rng.choice(SEARCHES))
            self.request(kind, f"/assets/?q={q}")
        elif kind == "detail" and self.asset_ids:
            _, text = self.request(kind, f"/assets/{self.rng.choice(self.asset_ids)}")
            self.record_links = RECORD_LINK.findall(text) or self.record_links
        elif kind == "scan" and tokens:
            self.request(kind, f"/a/{self.rng.choice(tokens)}", opener=self.anonymous)
        elif kind == "inspect" and self.record_links:
            self.inspect(self.rng.choice(self.record_links))

    def inspect(self, link: str) -> None:
        status, form = self.request("inspect_form", link)
        token = CSRF.search(form)
        select = CONCLUSION_SELECT.search(form)
        if status != 200 or not token or not select:
            return
        conclusions = OPTION.findall(select.group(0))
        if not conclusions:
            return
        self.request("inspect", link, {
            "csrf_token": token.group(1),
            "inspected_on": time.strftime("%Y-%m-%d"),
            "conclusion": conclusions[0],  # the passing one comes first
            "report_no": f"LOAD-{self.username}-{self.rng.getrandbits(40):x}",
            "agency": "负载测试检验机构",
            "confirm_restart": "1",
        })


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 302 is an answer (an HTTPError here)
        return None


def tokens_from(db_url: str | None, limit: int = 500) -> list[str]:
    if not db_url:
        return []
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        tokens = list(conn.execute(
            text("SELECT qr_token FROM asset WHERE qr_token IS NOT NULL LIMIT :n"), {"n": limit}
        ).scalars())
    engine.dispose()
    return tokens


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--db-url", help="read QR tokens for the public scan from here")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    stats = Stats()
    tokens = tokens_from(args.db_url)
    users = [User(args.base_url.rstrip("/"), USERS[i % len(USERS)], stats,
                  random.Random(args.seed + i)) for i in range(args.users)]
    for user in users:
        user.sign_in()
    kinds, weights = zip(*MIX, strict=True)
    stop_at = time.monotonic() + args.seconds

    def loop(user: User) -> None:
        while time.monotonic() < stop_at:
            user.step(user.rng.choices(kinds, weights)[0], tokens)

    threads = [threading.Thread(target=loop, args=(u,), daemon=True) for u in users]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    everything = [ms for samples in stats.samples.values() for ms in samples]
    errors = sum(stats.errors.values())
    print(f"{args.users} users, {elapsed:.1f} s, {len(everything):,} requests, "
          f"{len(everything) / elapsed:.1f} requests/s, errors {errors}, "
          f"form refusals (422) {stats.refused}")
    print(f"{'kind':<14}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    for kind in sorted(stats.samples):
        samples = stats.samples[kind]
        print(f"{kind:<14}{len(samples):>7}{statistics.median(samples):>9.0f}"
              f"{percentile(samples, 0.95):>9.0f}{stats.errors[kind]:>8}")
    print(f"{'all':<14}{len(everything):>7}{statistics.median(everything):>9.0f}"
          f"{percentile(everything, 0.95):>9.0f}{errors:>8}")
    for line in stats.examples:
        print("  e.g.", line)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
