"""What signing an opinion costs: re-authentication, PAdES signing, verification.

Starts the reference server (its CA, TSA and CRL) on 127.0.0.1, signs in through the
real OAuth flow, enrolls a fresh EC P-256 key, and with a synthetic 6-page opinion PDF
times, median over ``--repeat`` runs (milliseconds):

- ``unlock``: unwrapping the signing key with the passphrase (scrypt n=2**17, the
  production cost) — what re-authentication adds before each signature;
- ``sign``: PAdES B-B with the visible signature block (bytes in, bytes out);
- ``verify``: ``verify_pdf`` of the signed file (integrity, trust, modification level);
- ``extend``: the later update (CRL fetch, DSS, RFC 3161 document timestamp over HTTP);
- ``verify extended``: the same file after that update (two signatures to check).

Goal (from "The opinion" issue): verify under 100 ms.

    .venv/bin/python bench/sign_verify.py [--repeat 15]
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

import httpx  # noqa: E402

from demo_server.server import start  # noqa: E402
from reviewer_app.opinion import (  # noqa: E402
    HttpTimeStamper,
    SigningKeyStore,
    add_timestamp_and_revocation,
    enroll,
    fetch_crl,
    new_private_key,
    sign_pdf,
    verify_pdf,
)
from tests.reviewer_app.opinion.helpers import PASSPHRASE, opinion_pdf  # noqa: E402
from tests.reviewer_app.sync.helpers import memory_vault, signed_in  # noqa: E402


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start_at = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start_at) * 1000, result


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sign-"))
    server = start(cases=1, ct_slices=2, storage=work / "server")
    vault, _ = memory_vault(work / "profile")
    try:
        with signed_in(server) as session:
            key = new_private_key()
            enroll_ms, enrollment = timed(
                lambda: enroll(session, key, common_name="Dr Demo Specialist")
            )
        store = SigningKeyStore(vault)  # production scrypt cost
        store.store(
            key, list(enrollment.chain), PASSPHRASE, platform_ca=list(enrollment.platform_ca)
        )
        trust = store.platform_ca()
        pdf = opinion_pdf(6)
        unlock_ms = median_ms(lambda: store.unlock(PASSPHRASE), max(3, args.repeat // 5))
        identity = store.unlock(PASSPHRASE)
        sign_ms = median_ms(lambda: sign_pdf(pdf, identity), args.repeat)
        signed = sign_pdf(pdf, identity)
        report = verify_pdf(signed, trust)
        assert report.ok, report.reason
        verify_ms = median_ms(lambda: verify_pdf(signed, trust), args.repeat)
        with httpx.Client(timeout=10) as client:

            def extend() -> bytes:
                crl = fetch_crl(client, f"{server.base_url}/crl")
                stamper = HttpTimeStamper(client, f"{server.base_url}/tsa")
                return add_timestamp_and_revocation(
                    signed, timestamper=stamper, trust=trust, crls=[crl]
                )

            extend_ms = median_ms(extend, max(3, args.repeat // 3))
            extended = extend()
        assert verify_pdf(extended, trust).ok
        verify_ext_ms = median_ms(lambda: verify_pdf(extended, trust), args.repeat)
    finally:
        vault.close()
        server.stop()
    print(f"6-page opinion: {len(pdf)} bytes, signed {len(signed)}, extended {len(extended)}")
    print(f"enroll (once, HTTP)      {enroll_ms:8.1f} ms")
    print(f"unlock (scrypt n=2**17)  {unlock_ms:8.1f} ms")
    print(f"sign (PAdES B-B)         {sign_ms:8.1f} ms")
    print(f"verify                   {verify_ms:8.1f} ms   (goal < 100 ms)")
    print(f"extend (CRL+DSS+TSA)     {extend_ms:8.1f} ms")
    print(f"verify extended          {verify_ext_ms:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
