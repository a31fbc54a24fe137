"""Opening the SQLCipher database with a raw key, and telling its failures apart.

Every connection is keyed with the 32-byte raw key (``PRAGMA key = "x'…'"``), so opening
costs no key derivation. The caller has already checked the key's fingerprint against
profile.json; if the database still does not read, it is damaged (DatabaseCorrupt),
not locked with another key.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from sqlcipher3 import dbapi2 as sqlcipher

from reviewer_app.errors import DatabaseCorrupt

#: sqlcipher3 ships no type stubs; connections are typed loosely.
Connection = Any
DatabaseError = sqlcipher.DatabaseError
Row = sqlcipher.Row


def connect(path: Path, key: bytes, *, writer: bool) -> Connection:
    """A keyed connection in autocommit mode (transactions are explicit).

    Raises sqlcipher's DatabaseError unchanged; :func:`verify_readable` classifies it.
    Connections may be closed from another thread than the one using them (the vault
    closes every reader on close()), hence ``check_same_thread=False``.
    """
    # mode=rw: never create a database by opening (a missing file is an error).
    uri = f"file:{urllib.parse.quote(str(path))}?mode=rw"
    conn = sqlcipher.connect(
        uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30.0
    )
    try:
        # SQLCipher logs decryption failures to stderr by default; errors reach the user
        # through our own exceptions instead.
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        # Temporary tables and sort spills stay in RAM, never in clear files in /tmp.
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA foreign_keys = ON")
        if not writer:
            conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def read_user_version(conn: Connection) -> int:
    """The schema version; DatabaseCorrupt if the (correctly keyed) file does not read."""
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except DatabaseError as exc:
        raise DatabaseCorrupt() from exc


def quick_check(conn: Connection) -> list[str]:
    """``PRAGMA quick_check`` rows; ["ok"] when healthy. Errors are returned as rows."""
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
    except DatabaseError as exc:
        return [f"quick_check failed: {exc}"]


def cipher_integrity_check(conn: Connection) -> list[str]:
    """SQLCipher's HMAC check of every page; [] when healthy."""
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA cipher_integrity_check").fetchall()]
    except DatabaseError as exc:
        return [f"cipher_integrity_check failed: {exc}"]


def ensure_healthy(conn: Connection) -> None:
    """Raise DatabaseCorrupt unless quick_check says ok."""
    if quick_check(conn) != ["ok"]:
        raise DatabaseCorrupt()


def configure_writer(conn: Connection) -> None:
    """Durability settings for the single writing connection."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise DatabaseCorrupt("The vault database could not switch to its journal mode.")
    # FULL: a commit the app has acknowledged survives a power cut, not just a crash.
    conn.execute("PRAGMA synchronous = FULL")


def get_setting(conn: Connection, key: str) -> str | None:
    """A value from the settings table, or None."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_setting(conn: Connection, key: str, value: str) -> None:
    """Insert or replace a setting (call inside a write transaction)."""
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
