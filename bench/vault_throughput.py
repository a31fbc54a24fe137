"""How much does encrypting payloads cost? Plain files vs encrypted objects vs SQLCipher.

Writes and reads the same random data, in the same run, three ways:

* a plain, unencrypted file, with the vault's atomic-write policy (temp file, fsync,
  ``os.replace``, fsync of the folder);
* an encrypted object (:mod:`reviewer_app.vault.objects`: chunked AES-256-GCM, same
  atomic policy);
* for reference, one SQLCipher BLOB (raw key, WAL, ``synchronous=FULL``), the design the
  vault does *not* use for payloads.

Each figure is the median of ``--repeat`` runs. Reads are timed twice: "cold" after the
file's pages were dropped from the page cache with ``posix_fadvise(DONTNEED)`` (on a
virtual machine the host may still cache them), and "warm" right after, from the page
cache, which isolates the CPU cost of decryption.

Run: ``.venv/bin/python bench/vault_throughput.py [--mib 256] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import sqlcipher3
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reviewer_app.vault.objects import ObjectReader, new_object_key, write_object

MiB = 1 << 20
KINDS = ("write", "read cold", "read warm", "stream warm")
OBJECT_ID = "0123456789abcdef0123456789abcdef"


def drop_cache(*paths: Path) -> bool:
    """Ask the kernel to forget the cached pages of ``paths``; False where it cannot."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in paths:
        if path.exists():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)  # only clean pages can be dropped
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Plain:
    label = "plain file"

    def __init__(self, root: Path) -> None:
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        self.dest = root / "plain" / OBJECT_ID
        self.dest.parent.mkdir()

    def write(self, data: bytes) -> None:
        fd, name = tempfile.mkstemp(dir=self.tmp)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(name, self.dest)
        fsync_dir(self.dest.parent)

    def read(self) -> bytes:
        return self.dest.read_bytes()

    def stream(self) -> int:
        total = 0
        with self.dest.open("rb", buffering=0) as f:
            while piece := f.read(MiB):
                total += len(piece)
        return total

    def files(self) -> list[Path]:
        return [self.dest]


class Encrypted:
    label = "encrypted object"

    def __init__(self, root: Path) -> None:
        self.tmp = root / "tmp-objects"
        self.dest = root / "objects" / OBJECT_ID[:2] / OBJECT_ID
        self.key = new_object_key()

    def write(self, data: bytes) -> None:
        write_object(self.dest, self.tmp, OBJECT_ID, self.key, data)

    def read(self) -> bytes:
        return ObjectReader(self.dest, self.key, OBJECT_ID).read_all()

    def stream(self) -> int:
        reader = ObjectReader(self.dest, self.key, OBJECT_ID)
        return sum(len(chunk) for chunk in reader.iter_chunks())

    def files(self) -> list[Path]:
        return [self.dest]


class SQLCipherBlob:
    label = "SQLCipher BLOB"

    def __init__(self, root: Path) -> None:
        self.root = root / "sqlcipher"
        self.root.mkdir()
        self.key_hex = os.urandom(32).hex()
        self.runs = 0
        self.db = self.root / "vault.db"

    def _connect(self) -> sqlcipher3.Connection:
        con = sqlcipher3.connect(self.db, isolation_level=None)
        con.execute(f"PRAGMA key = \"x'{self.key_hex}'\"")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = FULL")
        return con

    def write(self, data: bytes) -> None:
        # A fresh database per run, made before the clock starts, so every run pays the
        # same: growing the file, and the WAL checkpoint that follows a large commit.
        self.runs += 1
        self.db = self.root / f"vault-{self.runs}.db"
        con = self._connect()
        con.execute("CREATE TABLE objects (object_id TEXT PRIMARY KEY, data BLOB NOT NULL)")
        start = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO objects VALUES (?, ?)", (OBJECT_ID, data))
        con.execute("COMMIT")
        con.close()
        self.last_write = time.perf_counter() - start

    def read(self) -> bytes:
        con = self._connect()
        try:
            (data,) = con.execute(
                "SELECT data FROM objects WHERE object_id = ?", (OBJECT_ID,)
            ).fetchone()
        finally:
            con.close()
        return data

    def files(self) -> list[Path]:
        return [self.db, Path(f"{self.db}-wal")]

    # No stream(): sqlcipher3 has no incremental BLOB I/O (no blobopen), and substr()
    # on a BLOB loads the whole value; a BLOB can only be read whole.

    def version(self) -> str:
        con = self._connect()
        try:
            return str(con.execute("PRAGMA cipher_version").fetchone()[0])
        finally:
            con.close()


def cell(value: float | None, fmt: str, suffix: str = "") -> str:
    width = int(fmt.split(".", maxsplit=1)[0]) + len(suffix)
    return f"{'n/a':>{width}}" if value is None else f"{value:{fmt}}{suffix}"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(store: Plain | Encrypted | SQLCipherBlob, data: bytes, repeat: int) -> dict[str, float]:
    mib = len(data) / MiB
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(repeat):
        seconds, _ = timed(lambda: store.write(data))
        if isinstance(store, SQLCipherBlob):
            seconds = store.last_write  # without creating the empty database
        times["write"].append(seconds)
        drop_cache(*store.files())
        for kind in ("read cold", "read warm"):
            seconds, back = timed(store.read)
            if back != data:
                raise SystemExit(f"{store.label}: read back different data")
            times[kind].append(seconds)
            del back
        if hasattr(store, "stream"):
            seconds, total = timed(store.stream)
            if total != len(data):
                raise SystemExit(f"{store.label}: streamed a different size")
            times["stream warm"].append(seconds)
    return {kind: mib / statistics.median(values) for kind, values in times.items() if values}


def cpu_costs(data: bytes) -> dict[str, float]:
    """MiB/s of the two CPU costs an encrypted write adds, alone, in memory."""
    aead = AESGCM(new_object_key())
    nonce, out = os.urandom(12), bytearray(MiB + 16)
    view = memoryview(data)

    def seal() -> None:
        for i in range(0, len(data), MiB):
            piece = view[i : i + MiB]
            aead.encrypt_into(nonce, piece, b"aad", memoryview(out)[: len(piece) + 16])

    mib = len(data) / MiB
    return {
        "AES-256-GCM": mib / statistics.median(timed(seal)[0] for _ in range(3)),
        "SHA-256": mib
        / statistics.median(timed(lambda: hashlib.sha256(data).digest())[0] for _ in range(3)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256, help="payload size (default 256)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: the system temp)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    args = parser.parse_args()

    data = os.urandom(args.mib * MiB)
    where = Path(args.dir or tempfile.gettempdir()).resolve()
    with tempfile.TemporaryDirectory(prefix="vault-bench-", dir=where) as tmp:
        root = Path(tmp)
        stores = (Plain(root), Encrypted(root), SQLCipherBlob(root))
        cipher_version = stores[2].version()
        results = {}
        for store in stores:
            print(f"measuring {store.label} ...", file=sys.stderr, flush=True)
            results[store.label] = measure(store, data, args.repeat)
    cpu = cpu_costs(data)

    width = 13
    print(
        f"\nVault throughput: {args.mib} MiB of random data in {where}, "
        f"median of {args.repeat} runs, MiB/s"
    )
    print(f"{'':22}" + "".join(f"{k:>{width}}" for k in KINDS))
    for label, figures in results.items():
        print(f"{label:22}" + "".join(cell(figures.get(k), f"{width}.0f") for k in KINDS))
    plain = results["plain file"]
    for label in ("encrypted object", "SQLCipher BLOB"):
        figures = results[label]
        ratios = "".join(
            cell(figures[k] / plain[k] if k in figures else None, f"{width - 1}.2f", "x")
            for k in KINDS
        )
        print(f"{label.split()[0] + ' / plain':22}{ratios}")
    print()
    print(
        textwrap.fill(
            "In memory, alone: "
            + ", ".join(f"{name} {speed:.0f} MiB/s" for name, speed in cpu.items())
            + f". SQLCipher {cipher_version}, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs.",
            width=100,
        )
    )
    notes = [
        (
            "read cold: the file's pages were dropped from the page cache "
            "(posix_fadvise DONTNEED) just before; on a virtual machine the host may still "
            "cache them, so cold reads can be faster than the disk."
            if hasattr(os, "posix_fadvise")
            else "read cold: this system cannot drop a file's pages from the page cache, "
            "so these reads may hit it."
        ),
        "read warm: the same read again, from the page cache: CPU and memory cost only.",
        "read: the whole payload as one bytes value (on a VM, allocating it is a large "
        "part of the cost). stream: through it in 1 MiB pieces (ObjectReader.iter_chunks), "
        "as an export or a viewer does. sqlcipher3 has no incremental BLOB I/O, so a BLOB "
        "can only be read whole.",
        "write: includes fsync of the file and its folder (SQLCipher: the WAL commit with "
        "synchronous=FULL and the automatic checkpoint after it). The encrypted write also "
        "computes the SHA-256 the vault records for each object; the plain write does not.",
    ]
    for note in notes:
        print(textwrap.fill(note, width=100, initial_indent="* ", subsequent_indent="  "))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = {"mib": args.mib, "repeat": args.repeat, "mib_per_s": results, "cpu": cpu}
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
