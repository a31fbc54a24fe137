"""What the Records pane's PDF work costs: page renders and full-text search.

Builds three synthetic PDFs of 40 pages in all, like the reference server's letters
(Helvetica prose, a ruled table page, a scanned page that is only a picture), and times
with ``reviewer_app.records.RecordDocument`` in one thread, as the pane's workers do:

- ``open``: parsing each PDF from bytes (the vault hands the pane bytes, never a file);
- ``render``: every page at screen resolution (100 %, 96 dpi) to RGB bytes, repeated,
  and the same at 2x for a HiDPI screen; median and 99th percentile per page, in ms;
- ``search``: a word over all 40 pages (every hit's rectangle), median over repeats;
- ``words``: a page's words with rectangles (what text selection loads), per page.

Goals (from the "Review workspace" issue): render < 50 ms, search < 200 ms.

    .venv/bin/python bench/records_pdf.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reviewer_app.records import RecordDocument  # noqa: E402
from reviewer_app.records.geometry import SCREEN_SCALE  # noqa: E402
from tests.reviewer_app.records.pdfs import letter  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over every page")
    args = parser.parse_args()

    pdfs = [
        letter(16, seed=1, table=True, scanned=True),
        letter(14, seed=2, table=True),
        letter(10, seed=3, scanned=True),
    ]
    opens = []
    docs = []
    for data in pdfs:
        start = time.perf_counter()
        docs.append(RecordDocument(data))
        opens.append((time.perf_counter() - start) * 1000)
    pages = sum(d.page_count for d in docs)
    size = sum(len(p) for p in pdfs)
    print(f"{len(docs)} PDFs, {pages} pages, {size / 1024:.0f} KiB")
    print(f"open          : {statistics.median(opens):7.2f} ms median per PDF")

    scanned = {(i, n) for i, d in enumerate(docs) for n in range(d.page_count) if not d.text(n)}
    for label, zoom in (("render 1x", SCREEN_SCALE), ("render 2x", 2 * SCREEN_SCALE)):
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeat):
            for i, doc in enumerate(docs):
                for n in range(doc.page_count):
                    ms = timed(lambda d=doc, n=n, z=zoom: d.render(n, z))
                    times[(i, n) in scanned].append(ms)
        every = times[False] + times[True]
        image = docs[0].render(0, zoom)
        print(
            f"{label}     : {statistics.median(every):7.2f} ms median, {p99(every):7.2f} ms p99"
            f" per page ({image.width}x{image.height} px); text pages"
            f" {statistics.median(times[False]):.2f}, scanned pages"
            f" {statistics.median(times[True]):.2f} ms median"
        )

    searches = []
    hits = 0
    for _ in range(args.repeat * 4):
        start = time.perf_counter()
        hits = sum(len(doc.search("ejection")) for doc in docs)
        searches.append((time.perf_counter() - start) * 1000)
    print(
        f"search        : {statistics.median(searches):7.2f} ms median, {max(searches):7.2f} ms"
        f" max for all {pages} pages ({hits} hits)"
    )

    words = []
    for doc in docs:
        for n in range(doc.page_count):
            doc._words.clear()  # time the extraction, not the per-document cache
            words.append(timed(lambda d=doc, n=n: d.words(n)))
    print(f"words         : {statistics.median(words):7.2f} ms median, {p99(words):7.2f} ms p99")
    for doc in docs:
        doc.close()


if __name__ == "__main__":
    main()
