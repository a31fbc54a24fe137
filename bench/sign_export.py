"""What producing a signed opinion costs: rendering the letter PDF, signing, verifying.

Starts the reference server (its CA) on 127.0.0.1, signs in through the real OAuth flow
and enrolls a fresh EC P-256 key. Then, median over ``--repeat`` runs (milliseconds),
side by side for two 6-page documents:

- **opinion**: ``export.render_pdf`` of a synthetic opinion (letterhead, 4 key images and
  a trend figure, a 30-row table with repeated header, Arabic and Chinese text, appendix),
  6 pages, on the bundled letterhead;
- **baseline**: the 6-page text-only PDF that bench/sign_verify.py signs (PyMuPDF
  ``insert_text``, no layout, one built-in font), i.e. what signing costs without our
  renderer and fonts.

Columns: ``render`` (opinion only), ``sign`` (PAdES B-B with the visible block in
``SIGNATURE_BOX``), ``render+sign`` (goal under 1 s), ``verify`` (goal under 100 ms),
then the ratio opinion / baseline.

    .venv/bin/python bench/sign_export.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

from demo_server.server import start  # noqa: E402
from reviewer_app.opinion import (  # noqa: E402
    SigningIdentity,
    enroll,
    new_private_key,
    sign_pdf,
    verify_pdf,
)
from reviewer_app.opinion.export import SIGNATURE_BOX, letterhead, render_pdf  # noqa: E402
from reviewer_app.opinion.signing import Placement  # noqa: E402
from tests.reviewer_app.opinion.helpers import opinion_pdf  # noqa: E402
from tests.reviewer_app.opinion.test_export_samples import sample_document  # noqa: E402
from tests.reviewer_app.sync.helpers import signed_in  # noqa: E402


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start_at = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start_at) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    server = start(cases=1, ct_slices=2, storage=work / "server")
    try:
        with signed_in(server) as session:
            key = new_private_key()
            enrollment = enroll(session, key, common_name="Dr Demo Specialist")
    finally:
        server.stop()
    identity = SigningIdentity(key, enrollment.chain)
    trust = list(enrollment.platform_ca)
    placement = Placement(page=-1, box=SIGNATURE_BOX)
    doc = sample_document(pages_of_text=0, key_images=4, table_rows=30)
    head = letterhead()
    opinion = render_pdf(doc, head)
    baseline = opinion_pdf(6)
    for pdf in (opinion, baseline):
        with pymupdf.open("pdf", pdf) as opened:
            assert opened.page_count == 6, opened.page_count
        assert verify_pdf(sign_pdf(pdf, identity, placement=placement), trust).ok

    render_ms = median_ms(lambda: render_pdf(doc, head), args.repeat)
    rows = {}
    for name, pdf in (("opinion", opinion), ("baseline", baseline)):
        sign_ms = median_ms(lambda p=pdf: sign_pdf(p, identity, placement=placement), args.repeat)
        signed = sign_pdf(pdf, identity, placement=placement)
        verify_ms = median_ms(lambda s=signed: verify_pdf(s, trust), args.repeat)
        rows[name] = (len(pdf), len(signed), sign_ms, verify_ms)

    def both(name: str) -> float:
        render = render_ms if name == "opinion" else 0.0
        return render + rows[name][2]

    print(f"6 pages, median of {args.repeat} (ms)")
    print(f"{'':10} {'bytes':>9} {'render':>8} {'sign':>8} {'render+sign':>12} {'verify':>8}")
    for name in ("opinion", "baseline"):
        size, _, sign_ms, verify_ms = rows[name]
        render = f"{render_ms:8.1f}" if name == "opinion" else f"{'-':>8}"
        print(f"{name:10} {size:9d} {render} {sign_ms:8.1f} {both(name):12.1f} {verify_ms:8.1f}")
    opinion_row, base_row = rows["opinion"], rows["baseline"]
    print(
        f"{'ratio':10} {opinion_row[0] / base_row[0]:8.1f}x {'':>8} "
        f"{opinion_row[2] / base_row[2]:7.2f}x {both('opinion') / both('baseline'):11.2f}x "
        f"{opinion_row[3] / base_row[3]:7.2f}x"
    )
    print("goals: render+sign < 1000 ms, verify < 100 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
