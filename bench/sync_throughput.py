"""Sync throughput: the app against ``curl`` fetching the same DICOM instances.

One case holding a 500-slice CT series on the reference server, over loopback. In the
same run, alternately:

* **curl**: ``curl --parallel --parallel-max N`` with a config file listing one WADO-RS
  URL per instance (``studies/{s}/series/{se}/instances/{i}``) with the bearer token and
  the WADO-RS ``Accept`` header, each reply written to a plain file;
* **app**: the sync engine's imaging phase with ``N`` workers into a fresh vault: it
  fetches each series of four or more instances as one WADO-RS stream
  (``studies/{s}/series/{se}``, its body read straight off the socket) and smaller ones
  per instance, checks each instance is DICOM and the one asked for, encrypts it
  (AES-256-GCM) into the object store with fsync, and commits its row (SQLCipher,
  ``synchronous=FULL``);
* for reference only (not in the ratio), **curl-series**: curl fetching the same series
  streams the app asks for, each into a plain file, ``N`` at a time, which shows what the
  server's series streams cost on their own.

The server's DICOM cache is warmed first, so both sides measure transfer, not rendering,
and the server runs in a process of its own (``python -m demo_server serve``), so the
app does not share its interpreter with it. Both fetch every instance of the case (the
CT and the case's few other series). Throughput counts DICOM payload bytes (the same for
all) per second of wall time; the app's time is its imaging phase. Goal: app / curl >=
0.7.

Each side's CPU time is measured too (the client's own and the server process's, Linux
only): on a shared machine wall times move with the load, CPU seconds much less.

Run: ``.venv/bin/python bench/sync_throughput.py [--slices 500] [--workers 4] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo_server.server import RunningServer, start  # noqa: E402
from reviewer_app.exchange import MemoryTokenStore, PlatformSession  # noqa: E402
from reviewer_app.exchange.dicomweb import WADO_ACCEPT  # noqa: E402
from reviewer_app.sync.engine import SyncEngine  # noqa: E402
from reviewer_app.sync.events import Phase, PhaseStarted, SyncEvent  # noqa: E402
from reviewer_app.sync.series import STREAM_MIN  # noqa: E402
from reviewer_app.vault import KeySource, Profile, create_profile  # noqa: E402


def browser(url: str) -> None:
    """Stand-in for the system browser: log in as the demo specialist."""

    def go() -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        with httpx.Client(timeout=30) as client:
            client.get(url).raise_for_status()
            answer = client.post(
                url.split("?", 1)[0], data={**query, "username": "dr.demo", "password": "demo"}
            )
            client.get(answer.headers["location"])

    threading.Thread(target=go, daemon=True).start()


def ct_instances(server: RunningServer) -> list[tuple[str, str, str]]:
    """(study, series, instance) UIDs of the case's largest series (the CT)."""
    best: list[tuple[str, str, str]] = []
    for study in server.app.store.all("ImagingStudy"):
        study_uid = next(
            i["value"].removeprefix("urn:oid:")
            for i in study["identifier"]
            if i.get("system") == "urn:dicom:uid"
        )
        for series in study["series"]:
            uids = [(study_uid, series["uid"], i["uid"]) for i in series["instance"]]
            if len(uids) > len(best):
                best = uids
    return best


def prepare(storage: Path, slices: int) -> tuple[list[tuple[str, str, str]], int, int, int]:
    """Load the case and render every instance into the server's cache (sequentially).

    Returns every instance's UIDs, the CT's slice count, the CT's and all bytes."""
    server = start(cases=1, seed=1, storage=storage, ct_slices=slices)
    try:
        instances = [
            (s.study_uid, s.series_uid, s.sop_instance_uid) for s in server.app._specs.values()
        ]
        sizes = {sop: len(server.app.dicomweb.instance_bytes(sop)) for _, _, sop in instances}
        ct = ct_instances(server)
        return instances, len(ct), sum(sizes[s] for _, _, s in ct), sum(sizes.values())
    finally:
        server.stop()


def serve(storage: Path, slices: int) -> tuple[subprocess.Popen[bytes], str]:
    """The reference server in its own process on a free port; (process, base URL)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo_server",
            "serve",
            "--port",
            str(port),
            "--storage",
            str(storage),
            "--cases",
            "1",
            "--seed",
            "1",
            "--ct-slices",
            str(slices),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/fhir/metadata", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the reference server did not start")


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu(who: int = resource.RUSAGE_SELF) -> float:
    """CPU seconds used by this process (or, with RUSAGE_CHILDREN, its finished children)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def settle() -> None:
    """Write back what earlier runs left in the page cache before timing the next one.

    curl does not fsync its files, so without this up to 265 MB of its dirty pages
    were written back while the next run was timed, and whichever side came next paid
    for them (the app, which fsyncs its own files, leaves none behind)."""
    if hasattr(os, "sync"):
        os.sync()


def instance_urls(base_url: str, instances: list[tuple[str, str, str]]) -> list[str]:
    """One WADO-RS URL per instance."""
    return [
        f"{base_url}/dicomweb/studies/{study}/series/{series}/instances/{sop}"
        for study, series, sop in instances
    ]


def series_urls(base_url: str, instances: list[tuple[str, str, str]]) -> list[str]:
    """What the app asks for: one WADO-RS URL per series of at least STREAM_MIN
    instances, one per instance for the others."""
    members: dict[tuple[str, str], list[str]] = {}
    for study, series, sop in instances:
        members.setdefault((study, series), []).append(sop)
    urls = []
    for (study, series), sops in members.items():
        if len(sops) >= STREAM_MIN:
            urls.append(f"{base_url}/dicomweb/studies/{study}/series/{series}")
        else:
            urls += instance_urls(base_url, [(study, series, sop) for sop in sops])
    return urls


def run_curl(
    base_url: str, token: str, urls: list[str], workers: int, work: Path
) -> tuple[float, float]:
    """Seconds for curl to fetch every URL into a file of its own, and curl's CPU seconds."""
    out = work / "curl"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    lines = [
        f'header = "Authorization: Bearer {token}"',
        'header = "Accept: ' + WADO_ACCEPT.replace('"', '\\"') + '"',
    ]
    for n, url in enumerate(urls):
        lines += [f'url = "{url}"', f'output = "{out / f"{n}.bin"}"']
    config = work / "curl.cfg"
    config.write_text("\n".join(lines) + "\n")
    settle()
    cpu = own_cpu(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(
        [
            "curl",
            "--silent",
            "--no-progress-meter",
            "--show-error",
            "--fail",
            "--parallel",
            "--parallel-max",
            str(workers),
            "--config",
            str(config),
        ],
        check=True,
    )
    elapsed = time.perf_counter() - began
    cpu = own_cpu(resource.RUSAGE_CHILDREN) - cpu
    got = len(list(out.iterdir()))
    if got != len(urls):
        raise SystemExit(f"curl fetched {got} of {len(urls)} answers")
    return elapsed, cpu


def run_app(session: PlatformSession, workers: int, work: Path) -> tuple[float, float, int]:
    """Seconds the app's imaging phase took, the CPU seconds this process used in it, and
    the instances it stored."""
    root = work / "profile"
    shutil.rmtree(root, ignore_errors=True)
    settle()
    marks: dict[str, float] = {}

    def on_event(event: SyncEvent) -> None:
        if isinstance(event, PhaseStarted) and event.phase is Phase.IMAGING:
            marks["imaging"] = time.perf_counter()
            marks["cpu"] = own_cpu()

    with (
        create_profile(Profile(root), "bench passphrase", key_source=KeySource.MEMORY) as vault,
        SyncEngine(vault, session, workers=workers, on_event=on_event) as engine,
    ):
        report = engine.run()
        ended = time.perf_counter()
        cpu = own_cpu() - marks["cpu"]
        if report.state != "complete":
            raise SystemExit(f"sync ended {report.state}: {report.errors}")
        stored = (
            vault.read()
            .execute("SELECT count(*) FROM instances WHERE object_id IS NOT NULL")
            .fetchone()[0]
        )
    return ended - marks["imaging"], cpu, int(stored)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=1, help="unmeasured rounds first (curl, then the app)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed")

    work = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    print(f"loading the case and rendering its instances ({args.slices}-slice CT)...", flush=True)
    instances, ct_slices, ct_bytes, all_bytes = prepare(work / "srv", args.slices)
    process, base_url = serve(work / "srv", args.slices)
    curl_rates: list[float] = []
    app_rates: list[float] = []
    series_rates: list[float] = []
    # CPU seconds per side and round: the client's own plus the server's.
    curl_cpu: list[float] = []
    app_cpu: list[float] = []
    per_instance = instance_urls(base_url, instances)
    per_series = series_urls(base_url, instances)
    try:
        session = PlatformSession(f"{base_url}/fhir", MemoryTokenStore())
        session.sign_in(open_browser=browser, timeout=30)
        tokens = session.store.load()
        assert tokens is not None
        for _ in range(args.warmup):
            # The server's first answers cost it more (its caches, the interpreter's):
            # unmeasured, so that round 1 does not favour whichever side goes second.
            run_curl(base_url, tokens.access_token, per_instance, args.workers, work)
            run_app(session, args.workers, work)
        for round_ in range(args.rounds):
            server_cpu = process_cpu(process.pid)
            curl_s, curl_own = run_curl(
                base_url, tokens.access_token, per_instance, args.workers, work
            )
            server_curl = process_cpu(process.pid)
            app_s, app_own, stored = run_app(session, args.workers, work)
            server_app = process_cpu(process.pid)
            if stored != len(instances):
                raise SystemExit(f"the app stored {stored} of {len(instances)} instances")
            series_s, _ = run_curl(base_url, tokens.access_token, per_series, args.workers, work)
            cpu_note = ""
            if server_cpu is not None and server_curl is not None and server_app is not None:
                # The app's share of the server is its imaging phase and its metadata
                # requests before it: a little more than the streams alone.
                curl_cpu.append(curl_own + server_curl - server_cpu)
                app_cpu.append(app_own + server_app - server_curl)
                cpu_note = f", CPU s curl {curl_cpu[-1]:.2f} app {app_cpu[-1]:.2f}"
            curl_rates.append(all_bytes / curl_s / 1e6)
            app_rates.append(all_bytes / app_s / 1e6)
            series_rates.append(all_bytes / series_s / 1e6)
            print(
                f"round {round_ + 1}: curl {curl_s:.2f} s ({curl_rates[-1]:.1f} MB/s), "
                f"app {app_s:.2f} s ({app_rates[-1]:.1f} MB/s, "
                f"{app_rates[-1] / curl_rates[-1]:.2f}x), "
                f"curl-series {series_s:.2f} s ({series_rates[-1]:.1f} MB/s){cpu_note}",
                flush=True,
            )
        session.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    curl_mb, app_mb = statistics.median(curl_rates), statistics.median(app_rates)
    series_mb = statistics.median(series_rates)
    ratios = [app / curl for app, curl in zip(app_rates, curl_rates, strict=True)]
    figures: dict[str, Any] = {
        "instances": len(instances),
        "ct_slices": ct_slices,
        "ct_bytes": ct_bytes,
        "bytes": all_bytes,
        "workers": args.workers,
        "curl_mb_s": round(curl_mb, 1),
        "app_mb_s": round(app_mb, 1),
        "ratio": round(app_mb / curl_mb, 2),
        "median_round_ratio": round(statistics.median(ratios), 2),
        "curl_series_mb_s": round(series_mb, 1),
        "round_ratios": [round(r, 2) for r in ratios],
    }
    if curl_cpu:
        figures["curl_cpu_s"] = round(statistics.median(curl_cpu), 2)
        figures["app_cpu_s"] = round(statistics.median(app_cpu), 2)
    print(
        f"{len(instances)} instances ({ct_slices}-slice CT), {all_bytes / 1e6:.0f} MB, "
        f"{args.workers} parallel, median of {args.rounds}:"
    )
    print(
        f"  curl {curl_mb:.1f} MB/s   app {app_mb:.1f} MB/s   app/curl {app_mb / curl_mb:.2f}"
        f" (goal >= 0.70; median of the rounds' ratios {statistics.median(ratios):.2f})"
    )
    print(f"  for reference, curl fetching the app's series streams: {series_mb:.1f} MB/s")
    print(f"  rounds' ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
    if curl_cpu:
        print(
            f"  CPU seconds (client + server, median): curl {statistics.median(curl_cpu):.2f}"
            f"   app {statistics.median(app_cpu):.2f}"
            f"   curl/app {statistics.median(curl_cpu) / statistics.median(app_cpu):.2f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
