"""SQLite persistence of the reference server: resources with their version history,
binaries, the DICOM instance index with its rendered-bytes cache, and OAuth tokens.

One connection, one lock: the server is small, and serialising every access keeps the
version checks (If-Match, ifNoneExist) and the strictly increasing ``lastUpdated`` clock
trivially correct under the threaded HTTP server.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resource (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    last_updated TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (type, id));
CREATE TABLE IF NOT EXISTS history (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    last_updated TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (type, id, version));
CREATE TABLE IF NOT EXISTS binary (
    id TEXT PRIMARY KEY, content_type TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS instance (
    sop_uid TEXT PRIMARY KEY, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL, transfer_syntax_uid TEXT NOT NULL, modality TEXT NOT NULL,
    number INTEGER NOT NULL, case_key TEXT NOT NULL, ordinal INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS instance_series ON instance (study_uid, series_uid, number);
CREATE TABLE IF NOT EXISTS rendered (sop_uid TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS token (
    hash TEXT PRIMARY KEY, kind TEXT NOT NULL, practitioner TEXT NOT NULL,
    family TEXT NOT NULL, expires REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL DEFAULT '{}');
"""


def format_instant(moment: datetime) -> str:
    """A FHIR instant with microseconds and ``Z``: fixed width, so it sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    """Parse a FHIR instant/dateTime (``Z`` or offset; date alone means midnight UTC)."""
    value = text.strip().replace("Z", "+00:00")
    if len(value) == 10:
        value += "T00:00:00+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class InstanceRow:
    """Where one DICOM instance sits in the study/series tree."""

    sop_uid: str
    study_uid: str
    series_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    modality: str
    number: int
    case_key: str
    ordinal: int


class Store:
    """The server's database. Every method is safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self.lock = threading.RLock()
        self._depth = 0
        last = self.get_meta("clock")
        self._last = parse_instant(last) if last else datetime.fromtimestamp(0, UTC)

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block atomically and alone; nested blocks join the outer one."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # --- clock --------------------------------------------------------------------------

    def tick(self) -> str:
        """The next ``lastUpdated``: now, but strictly after every earlier one."""
        with self.lock:
            now = datetime.now(UTC)
            if now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            text = format_instant(now)
            self.set_meta("clock", text)
            return text

    # --- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A server setting kept with the data (seed, case count, …)."""
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a server setting."""
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- resources ----------------------------------------------------------------------

    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of ``resource`` (creating it at version 1) and return it
        with ``meta.versionId`` and ``meta.lastUpdated`` set."""
        rtype, rid = resource["resourceType"], resource["id"]
        with self.transaction():
            row = self._db.execute(
                "SELECT version FROM resource WHERE type=? AND id=?", (rtype, rid)
            ).fetchone()
            version = row[0] + 1 if row else 1
            stamp = self.tick()
            stored = dict(resource)
            stored["meta"] = {
                **resource.get("meta", {}),
                "versionId": str(version),
                "lastUpdated": stamp,
            }
            text = json.dumps(stored, separators=(",", ":"))
            self._db.execute(
                "INSERT OR REPLACE INTO resource VALUES (?, ?, ?, ?, ?)",
                (rtype, rid, version, stamp, text),
            )
            self._db.execute(
                "INSERT INTO history VALUES (?, ?, ?, ?, ?)", (rtype, rid, version, stamp, text)
            )
        return stored

    def get(self, rtype: str, rid: str) -> dict[str, Any] | None:
        """The current version of a resource, or None."""
        with self.lock:
            row = self._db.execute(
                "SELECT json FROM resource WHERE type=? AND id=?", (rtype, rid)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def vread(self, rtype: str, rid: str, version: int) -> dict[str, Any] | None:
        """One version of a resource, or None."""
        with self.lock:
            row = self._db.execute(
                "SELECT json FROM history WHERE type=? AND id=? AND version=?",
                (rtype, rid, version),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def all(self, rtype: str) -> list[dict[str, Any]]:
        """Every current resource of a type, oldest ``lastUpdated`` first."""
        with self.lock:
            rows = self._db.execute(
                "SELECT json FROM resource WHERE type=? ORDER BY last_updated, id", (rtype,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, rtype: str) -> int:
        """How many resources of a type exist."""
        with self.lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM resource WHERE type=?", (rtype,)).fetchone()[
                    0
                ]
            )

    # --- binaries -----------------------------------------------------------------------

    def put_binary(self, bid: str, content_type: str, data: bytes) -> None:
        """Store the bytes of a Binary."""
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO binary VALUES (?, ?, ?)", (bid, content_type, data)
            )

    def get_binary(self, bid: str) -> tuple[str, bytes] | None:
        """(content type, bytes) of a Binary, or None."""
        with self.lock:
            row = self._db.execute(
                "SELECT content_type, data FROM binary WHERE id=?", (bid,)
            ).fetchone()
        return (row[0], bytes(row[1])) if row else None

    # --- DICOM instances ----------------------------------------------------------------

    def add_instance(self, row: InstanceRow) -> None:
        """Index one instance (its bytes are rendered later, on first request)."""
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO instance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.sop_uid,
                    row.study_uid,
                    row.series_uid,
                    row.sop_class_uid,
                    row.transfer_syntax_uid,
                    row.modality,
                    row.number,
                    row.case_key,
                    row.ordinal,
                ),
            )

    def instances(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[InstanceRow]:
        """Instances of a study, optionally of one series or one instance, in order."""
        sql = "SELECT * FROM instance WHERE study_uid=?"
        args: list[str] = [study_uid]
        if series_uid is not None:
            sql += " AND series_uid=?"
            args.append(series_uid)
        if sop_uid is not None:
            sql += " AND sop_uid=?"
            args.append(sop_uid)
        sql += " ORDER BY series_uid, number"
        with self.lock:
            rows = self._db.execute(sql, args).fetchall()
        return [InstanceRow(*r) for r in rows]

    def study_uids(self) -> list[str]:
        """Every study with instances."""
        with self.lock:
            rows = self._db.execute("SELECT DISTINCT study_uid FROM instance").fetchall()
        return [r[0] for r in rows]

    def get_rendered(self, sop_uid: str) -> bytes | None:
        """The cached Part 10 bytes of an instance, if it was rendered before."""
        with self.lock:
            row = self._db.execute(
                "SELECT data FROM rendered WHERE sop_uid=?", (sop_uid,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def put_rendered(self, sop_uid: str, data: bytes) -> None:
        """Cache the Part 10 bytes of an instance."""
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO rendered VALUES (?, ?)", (sop_uid, data))

    # --- OAuth tokens (stored by their SHA-256, never in clear) -------------------------

    def put_token(
        self,
        token_hash: str,
        kind: str,
        practitioner: str,
        family: str,
        *,
        expires: float,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Remember an issued code or token."""
        with self.lock:
            self._db.execute(
                "INSERT INTO token VALUES (?, ?, ?, ?, ?, 0, ?)",
                (token_hash, kind, practitioner, family, expires, json.dumps(data or {})),
            )

    def get_token(self, token_hash: str) -> dict[str, Any] | None:
        """An issued code or token by its hash, or None."""
        with self.lock:
            row = self._db.execute(
                "SELECT kind, practitioner, family, expires, revoked, data FROM token WHERE hash=?",
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        kind, practitioner, family, expires, revoked, data = row
        return {
            "kind": kind,
            "practitioner": practitioner,
            "family": family,
            "expires": expires,
            "revoked": bool(revoked),
            "data": json.loads(data),
        }

    def revoke_token(self, token_hash: str) -> None:
        """Mark one code or token as used or revoked."""
        with self.lock:
            self._db.execute("UPDATE token SET revoked=1 WHERE hash=?", (token_hash,))

    def revoke_family(self, family: str) -> None:
        """Revoke every token descended from one sign-in."""
        with self.lock:
            self._db.execute("UPDATE token SET revoked=1 WHERE family=?", (family,))

    def clear(self) -> None:
        """Forget everything (admin reset)."""
        with self.transaction():
            for table in ("meta", "resource", "history", "binary", "instance", "rendered"):
                self._db.execute(f"DELETE FROM {table}")
