"""Benchmark the label sheet renderer against bare QR encoding.

    PYTHONPATH=. python bench/bench_labels.py --count 1000

Times (1) plain ``qrcode`` encoding of N distinct scan URLs -- the floor, since
the renderer must encode every code too -- and (2) ``render_labels`` of the same
N labels on the a4-24 layout, then prints both, their ratio and labels/s.
The target is a ratio of at most 1.5.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asset_registry.labels.render import Label, render_labels  # noqa: E402


def make_urls(count: int) -> list[str]:
    urls: set[str] = set()
    while len(urls) < count:
        urls.add(f"https://reg.example/a/{secrets.token_urlsafe(16)}")  # 22 chars
    return sorted(urls)


def bare_encode(urls: list[str]) -> float:
    start = time.perf_counter()
    for url in urls:
        qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
        qr.add_data(url)
        qr.make(fit=True)
        qr.get_matrix()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="number of labels (default 1000)")
    parser.add_argument("--layout", default="a4-24", help="label layout (default a4-24)")
    parser.add_argument("--out", type=Path, help="also write the PDF here")
    args = parser.parse_args(argv)

    urls = make_urls(args.count)
    labels = [
        Label(url, f"CT-2024-{i:05d}", "64排螺旋CT 计算机断层扫描系统", "晋城市人民医院")
        for i, url in enumerate(urls)
    ]

    # Warm up imports, font registration and caches outside the timings.
    render_labels(labels[:3], args.layout)

    t_bare = bare_encode(urls)
    start = time.perf_counter()
    pdf = render_labels(labels, args.layout)
    t_render = time.perf_counter() - start

    if args.out:
        args.out.write_bytes(pdf)
    ratio = t_render / t_bare if t_bare else float("inf")
    print(f"labels:              {args.count} ({args.layout})")
    print(f"bare qrcode encode:  {t_bare:.3f} s ({t_bare / args.count * 1000:.2f} ms/code)")
    print(f"render_labels:       {t_render:.3f} s ({len(pdf) / 1024:.0f} KiB PDF)")
    print(f"ratio render/bare:   {ratio:.3f} (target <= 1.5)")
    print(f"throughput:          {args.count / t_render:.0f} labels/s")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
