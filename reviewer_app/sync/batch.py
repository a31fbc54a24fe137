"""Group commit of downloaded DICOM instances: many objects, one transaction.

:meth:`ObjectStore.put` commits one transaction per object, and the database runs with
``synchronous=FULL``, so a 500-slice series would cost two synchronous commits (the key
row, then the item) per slice, serialised on the single writer thread. Here each
instance is encrypted into its file at once, with the object store's own format and
atomic write (:func:`reviewer_app.vault.objects.write_object`), and its key row and
"item done" are committed together with the others of the batch: one ``vault.write``
per :data:`BATCH_SIZE` instances or :data:`BATCH_SECONDS`, whichever comes first.

Crash safety is unchanged: a file whose key row was not committed yet is an orphan that
the vault removes when it next opens (``ObjectStore.cleanup``), and its item is still
pending, so the next sync fetches it again. Nothing is ever marked done before its
encrypted file is durable.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

from reviewer_app.sync.local import INSTANCE_KIND, WorkItem, now_text
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection
from reviewer_app.vault.objects import new_object_key, write_object

BATCH_SIZE = 32
BATCH_SECONDS = 0.25


@dataclass(frozen=True)
class _Stored:
    item: WorkItem
    object_id: str
    key: bytes
    size: int
    sha256: str | None


class InstanceBatcher:
    """Encrypts instances into the object store and commits them in batches."""

    def __init__(
        self,
        vault: Vault,
        *,
        size: int = BATCH_SIZE,
        seconds: float = BATCH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vault = vault
        self._size = size
        self._seconds = seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._waiting: list[_Stored] = []
        self._since = monotonic()
        self._futures: list[Future[None]] = []

    def store(self, item: WorkItem, data: bytes) -> tuple[str, int]:
        """Encrypt ``data`` into a new object file (durable on return); queue its commit."""
        object_id = uuid.uuid4().hex
        key = new_object_key()
        objects = self.vault.objects
        # No plaintext SHA-256: GCM authenticates every chunk, and nothing reads a
        # digest of an instance; it was a sixth of a CT series' storing cost.
        info = write_object(
            objects.path_for(object_id),
            self.vault.profile.tmp_dir,
            object_id,
            key,
            data,
            checksum=False,
        )
        stored = _Stored(item, object_id, key, info.size, info.sha256)
        with self._lock:
            self._waiting.append(stored)
            due = (
                len(self._waiting) >= self._size or self._monotonic() - self._since >= self._seconds
            )
        if due:
            self.flush()
        return object_id, info.size

    def flush(self) -> None:
        """Commit what is queued (without waiting for the commit)."""
        with self._lock:
            batch, self._waiting = self._waiting, []
            self._since = self._monotonic()
        if batch:
            self._futures.append(self.vault.write(lambda conn: _commit(conn, batch)))

    def wait(self) -> None:
        """Commit what is queued and wait for every commit (raises a commit's error)."""
        self.flush()
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()


def _commit(conn: Connection, batch: list[_Stored]) -> None:
    stamp = now_text()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    for stored in batch:
        item = stored.item
        # The same row ObjectStore.put writes for a complete object.
        conn.execute(
            "INSERT INTO objects (object_id, key, kind, size, sha256, state, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'complete', ?)",
            (stored.object_id, stored.key, INSTANCE_KIND, stored.size, stored.sha256, created),
        )
        conn.execute(
            "UPDATE sync_items SET state = 'done', object_id = ?, bytes_done = ?, "
            "bytes_expected = ?, error = NULL, error_kind = NULL, attempts = attempts + 1, "
            "updated_at = ? WHERE case_id = ? AND kind = ? AND ref = ?",
            (
                stored.object_id,
                stored.size,
                stored.size,
                stamp,
                item.case_id,
                item.kind,
                item.ref,
            ),
        )
        conn.execute(
            "UPDATE instances SET object_id = ? WHERE case_id = ? AND sop_instance_uid = ?",
            (stored.object_id, item.case_id, item.ref),
        )
