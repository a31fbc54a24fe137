"""The ObjectStore: payload files (PDFs, DICOM instances) and their keys in the database.

Each object is a file under ``objects/`` encrypted with its own random key (see
:mod:`reviewer_app.vault.objects` for the file format); the key lives only in the
object's row of the ``objects`` table, so the database key protects every payload.

Ordering is what keeps this crash-safe without a second journal:

* ``put`` encrypts in the caller's thread (never on the writer thread, which must stay
  free for short transactions), renames the file into place, and only then registers the
  key row. A crash in between leaves a file without a key: unreadable garbage, removed
  by :meth:`ObjectStore.cleanup` the next time the profile opens.
* ``shred`` deletes the key rows first, then the files: once the rows are gone the files
  are undecryptable, even if unlinking fails or a backup kept a copy (crypto-shredding).
* Resumable downloads register their key row (state ``partial``) before the first byte
  is written, so a partial file can always be resumed or cleaned up.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from reviewer_app.errors import CorruptObject, ObjectMissing
from reviewer_app.vault.database import Connection
from reviewer_app.vault.objects import (
    ObjectInfo,
    ObjectReader,
    PartialWriter,
    new_object_key,
    write_object,
)
from reviewer_app.vault.profile import Profile

log = logging.getLogger(__name__)
T = TypeVar("T")

_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


class _Database(Protocol):
    def read(self) -> Connection: ...
    def write_sync(self, fn: Callable[[Connection], T]) -> T: ...


@dataclass(frozen=True)
class ObjectRef:
    """A stored object: what callers keep (e.g. in an outbox row) to find it again."""

    object_id: str
    kind: str
    size: int
    sha256: str | None  # None for objects written without a checksum (DICOM instances)


@dataclass(frozen=True)
class CleanupReport:
    """What :meth:`ObjectStore.cleanup` removed or recovered (counts only, no names)."""

    orphans_removed: int = 0
    tmp_removed: int = 0
    recovered: int = 0


@dataclass(frozen=True)
class ObjectProblem:
    """One object that failed :meth:`ObjectStore.verify_all`."""

    object_id: str
    problem: str


def check_object_id(object_id: str) -> str:
    """Object ids become file names: only our own 32-hex-digit ids are accepted."""
    if not _ID_PATTERN.fullmatch(object_id):
        raise ValueError("not a vault object id")
    return object_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PartialObject:
    """An object still arriving: append bytes, then finish (or abort, or resume later)."""

    def __init__(
        self, store: ObjectStore, object_id: str, kind: str, writer: PartialWriter
    ) -> None:
        self._store = store
        self.object_id = object_id
        self.kind = kind
        self._writer = writer

    @property
    def committed_bytes(self) -> int:
        """Plaintext bytes durably stored: where a resumed download starts."""
        return self._writer.committed_bytes

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add the next bytes of the object."""
        self._writer.append(data)

    def finish(self) -> ObjectRef:
        """Seal the object, move it into ``objects/`` and mark its row complete."""
        info = self._writer.finish(self._store.path_for(self.object_id))
        self._store._mark_complete(self.object_id, info)
        return ObjectRef(self.object_id, self.kind, info.size, info.sha256)

    def abort(self) -> None:
        """Give up on this object: its key row and partial file are deleted."""
        self._writer.close()
        self._store.shred([self.object_id])

    def close(self) -> None:
        """Stop for now; the partial file and key stay so the download can resume."""
        self._writer.close()

    def __enter__(self) -> PartialObject:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ObjectStore:
    """Encrypted payload objects of one profile."""

    def __init__(self, db: _Database, profile: Profile) -> None:
        self._db = db
        self._profile = profile

    def path_for(self, object_id: str) -> Path:
        """Where a complete object's file lives."""
        check_object_id(object_id)
        return self._profile.objects_dir / object_id[:2] / object_id

    def partial_path_for(self, object_id: str) -> Path:
        """Where a still-incoming object's file lives."""
        check_object_id(object_id)
        return self._profile.partial_dir / object_id

    # --- writing ------------------------------------------------------------------------

    def put(self, data: bytes | Iterable[bytes], *, kind: str) -> ObjectRef:
        """Encrypt and store ``data`` as a new object (call from any thread but the writer)."""
        object_id = uuid.uuid4().hex
        key = new_object_key()
        info = write_object(self.path_for(object_id), self._profile.tmp_dir, object_id, key, data)

        def register(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO objects (object_id, key, kind, size, sha256, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'complete', ?)",
                (object_id, key, kind, info.size, info.sha256, _now()),
            )

        try:
            self._db.write_sync(register)
        except BaseException:
            # Without its key row the file is useless; do not leave it behind.
            self.path_for(object_id).unlink(missing_ok=True)
            raise
        return ObjectRef(object_id, kind, info.size, info.sha256)

    def begin_partial(self, object_id: str | None, *, kind: str) -> PartialObject:
        """Start (``object_id=None``) or resume a resumable object.

        Resuming needs the id of a partial object begun earlier; its
        :attr:`PartialObject.committed_bytes` tells where to continue.
        """
        if object_id is None:
            object_id = uuid.uuid4().hex
            key = new_object_key()

            def register(conn: Connection) -> None:
                conn.execute(
                    "INSERT INTO objects (object_id, key, kind, state, created_at) "
                    "VALUES (?, ?, ?, 'partial', ?)",
                    (object_id, key, kind, _now()),
                )

            self._db.write_sync(register)
        else:
            check_object_id(object_id)
            row = (
                self._db.read()
                .execute("SELECT key, state FROM objects WHERE object_id = ?", (object_id,))
                .fetchone()
            )
            if row is None:
                raise ObjectMissing()
            if row[1] != "partial":
                raise ValueError("this object is already complete")
            key = bytes(row[0])
        writer = PartialWriter(self.partial_path_for(object_id), key, object_id)
        return PartialObject(self, object_id, kind, writer)

    def _mark_complete(self, object_id: str, info: ObjectInfo) -> None:
        def mark(conn: Connection) -> None:
            conn.execute(
                "UPDATE objects SET state = 'complete', size = ?, sha256 = ? WHERE object_id = ?",
                (info.size, info.sha256, object_id),
            )

        self._db.write_sync(mark)

    def shred(self, object_ids: Iterable[str]) -> None:
        """Destroy objects: their keys first (crypto-shredding), then their files."""
        ids = [check_object_id(object_id) for object_id in object_ids]
        if not ids:
            return

        def forget(conn: Connection) -> None:
            conn.executemany("DELETE FROM objects WHERE object_id = ?", [(i,) for i in ids])

        self._db.write_sync(forget)
        for object_id in ids:
            for path in (self.path_for(object_id), self.partial_path_for(object_id)):
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    # The key is gone, so the file is unreadable; the next open's
                    # cleanup removes it.
                    log.warning("could not remove a shredded object file", exc_info=True)

    # --- reading ------------------------------------------------------------------------

    def _key(self, object_id: str) -> bytes:
        check_object_id(object_id)
        row = (
            self._db.read()
            .execute(
                "SELECT key FROM objects WHERE object_id = ? AND state = 'complete'",
                (object_id,),
            )
            .fetchone()
        )
        if row is None:
            raise ObjectMissing()
        return bytes(row[0])

    def open(self, object_id: str) -> ObjectReader:
        """A reader for a complete object (ObjectMissing, CorruptObject)."""
        return ObjectReader(self.path_for(object_id), self._key(object_id), object_id)

    def read_bytes(self, object_id: str) -> bytes:
        """The whole plaintext of an object."""
        return self.open(object_id).read_all()

    def count(self) -> int:
        """Number of complete objects."""
        row = (
            self._db.read()
            .execute("SELECT count(*) FROM objects WHERE state = 'complete'")
            .fetchone()
        )
        return int(row[0])

    def verify_all(self) -> list[ObjectProblem]:
        """Decrypt every complete object (each chunk is authenticated) and compare its
        size, and its SHA-256 where the row has one, with the row."""
        rows = (
            self._db.read()
            .execute(
                "SELECT object_id, key, size, sha256 FROM objects WHERE state = 'complete' "
                "ORDER BY object_id"
            )
            .fetchall()
        )
        problems = []
        for object_id, key, size, sha256 in rows:
            try:
                info = ObjectReader(self.path_for(object_id), bytes(key), object_id).verify()
            except (CorruptObject, ObjectMissing) as exc:
                problems.append(ObjectProblem(object_id, exc.message))
                continue
            if info.size != size or (sha256 is not None and info.sha256 != sha256):
                problems.append(
                    ObjectProblem(object_id, "The file does not match its recorded checksum.")
                )
        return problems

    # --- housekeeping -------------------------------------------------------------------

    def cleanup(self) -> CleanupReport:
        """Remove leftovers of interrupted work (called when the profile opens).

        Temp files are deleted; object and partial files without a key row are
        deleted (they can never be decrypted). A download that was renamed into place
        but not yet marked complete is verified and recovered.
        """
        tmp_removed = 0
        tmp_dir = self._profile.tmp_dir
        if tmp_dir.is_dir():
            for entry in tmp_dir.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                tmp_removed += 1

        rows = self._db.read().execute("SELECT object_id, key, state FROM objects").fetchall()
        complete = {row[0] for row in rows if row[2] == "complete"}
        partial = {row[0]: bytes(row[1]) for row in rows if row[2] == "partial"}

        orphans = 0
        recovered = 0
        objects_dir = self._profile.objects_dir
        if objects_dir.is_dir():
            for path in objects_dir.glob("*/*"):
                name = path.name
                if name in complete and path.parent.name == name[:2]:
                    continue
                in_place = path.parent.name == name[:2]
                if name in partial and in_place and self._recover(name, partial[name], path):
                    recovered += 1
                    continue
                self._remove(path)
                orphans += 1
        partial_dir = self._profile.partial_dir
        if partial_dir.is_dir():
            for path in partial_dir.iterdir():
                if path.name not in partial:
                    self._remove(path)
                    orphans += 1
        report = CleanupReport(orphans, tmp_removed, recovered)
        if report != CleanupReport():
            log.info(
                "vault cleanup: %d orphan files, %d temp files removed, %d recovered",
                orphans,
                tmp_removed,
                recovered,
            )
        return report

    def _recover(self, object_id: str, key: bytes, path: Path) -> bool:
        try:
            info = ObjectReader(path, key, object_id).verify()
        except (CorruptObject, ObjectMissing):
            return False
        self._mark_complete(object_id, info)
        return True

    @staticmethod
    def _remove(path: Path) -> None:
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
