"""ObjectStore: keys in the database, files on disk, crash leftovers cleaned on open."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pytest

from reviewer_app.errors import CorruptObject, ObjectMissing
from reviewer_app.vault import Vault, open_profile
from reviewer_app.vault.objects import new_object_key, write_object

CHUNK = 1 << 20


def _key_row(vault: Vault, object_id: str) -> tuple[Any, ...] | None:
    row = (
        vault.read()
        .execute("SELECT key, state, size, sha256 FROM objects WHERE object_id = ?", (object_id,))
        .fetchone()
    )
    return None if row is None else tuple(row)


def test_put_and_read_back(vault: Vault) -> None:
    data = os.urandom(CHUNK + 12345)
    ref = vault.objects.put(data, kind="dicom")
    assert ref.size == len(data)
    assert vault.objects.read_bytes(ref.object_id) == data
    reader = vault.objects.open(ref.object_id)
    assert reader.read(CHUNK - 2, 4) == data[CHUNK - 2 : CHUNK + 2]
    row = _key_row(vault, ref.object_id)
    assert row is not None
    assert row[1] == "complete"
    assert len(bytes(row[0])) == 32
    # The file is ciphertext, not the payload.
    assert data[:64] not in vault.objects.path_for(ref.object_id).read_bytes()


def test_put_accepts_an_iterable_of_pieces(vault: Vault) -> None:
    pieces = [b"abc", b"", b"def" * 1000]
    ref = vault.objects.put(iter(pieces), kind="pdf")
    assert vault.objects.read_bytes(ref.object_id) == b"".join(pieces)


def test_put_encrypts_in_the_callers_thread(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    from reviewer_app.vault import store

    threads: list[str] = []
    real = store.write_object

    def spy(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "write_object", spy)
    vault.objects.put(b"data", kind="pdf")
    assert threads == [threading.current_thread().name]


def test_unknown_and_malformed_ids(vault: Vault) -> None:
    with pytest.raises(ObjectMissing):
        vault.objects.open(uuid.uuid4().hex)
    with pytest.raises(ValueError, match="object id"):
        vault.objects.open("../../profile.json")


def test_shred_deletes_key_then_file(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = vault.objects.put(b"to be shredded", kind="pdf")
    keep = vault.objects.put(b"to be kept", kind="pdf")
    path = vault.objects.path_for(ref.object_id)
    seen_when_unlinking: list[object] = []
    real_unlink = type(path).unlink

    def spy_unlink(self: object, missing_ok: bool = False) -> None:
        if self == path:
            seen_when_unlinking.append(_key_row(vault, ref.object_id))
        real_unlink(self, missing_ok=missing_ok)  # type: ignore[arg-type]

    monkeypatch.setattr(type(path), "unlink", spy_unlink)
    vault.objects.shred([ref.object_id])
    monkeypatch.undo()
    assert seen_when_unlinking == [None]  # the key row was already gone
    assert not path.exists()
    with pytest.raises(ObjectMissing):
        vault.objects.open(ref.object_id)
    assert vault.objects.read_bytes(keep.object_id) == b"to be kept"


def test_cleanup_on_open_removes_orphans_and_tmp(vault: Vault, memory_key: bytes) -> None:
    profile = vault.profile
    kept = vault.objects.put(b"kept", kind="pdf")
    # A crash between rename and key registration: a file whose key was never stored.
    orphan_id = uuid.uuid4().hex
    orphan = profile.objects_dir / orphan_id[:2] / orphan_id
    write_object(orphan, profile.tmp_dir, orphan_id, new_object_key(), b"lost key")
    stale_partial = profile.partial_dir / uuid.uuid4().hex
    stale_partial.write_bytes(b"half a download with no key row")
    (profile.tmp_dir / ".object-123.tmp").write_bytes(b"torn temp file")
    vault.close()

    with open_profile(profile, key=memory_key) as again:
        assert not orphan.exists()
        assert not stale_partial.exists()
        assert list(profile.tmp_dir.iterdir()) == []
        assert again.objects.read_bytes(kept.object_id) == b"kept"


def test_partial_object_resumes_after_reopen(vault: Vault, memory_key: bytes) -> None:
    profile = vault.profile
    data = os.urandom(2 * CHUNK + 500)
    partial = vault.objects.begin_partial(None, kind="dicom")
    object_id = partial.object_id
    partial.append(data[: CHUNK + 100])  # one chunk durable, 100 bytes only in memory
    partial.close()
    vault.close()

    with open_profile(profile, key=memory_key) as again:
        resumed = again.objects.begin_partial(object_id, kind="dicom")
        assert resumed.committed_bytes == CHUNK
        resumed.append(data[CHUNK:])
        ref = resumed.finish()
        assert ref.size == len(data)
        assert again.objects.read_bytes(object_id) == data
        assert not (profile.partial_dir / object_id).exists()
        with pytest.raises(ValueError, match="complete"):
            again.objects.begin_partial(object_id, kind="dicom")


def test_partial_abort_shreds(vault: Vault) -> None:
    partial = vault.objects.begin_partial(None, kind="dicom")
    partial.append(os.urandom(CHUNK))
    path = vault.profile.partial_dir / partial.object_id
    assert path.exists()
    partial.abort()
    assert not path.exists()
    assert _key_row(vault, partial.object_id) is None


def test_finished_but_unmarked_partial_is_recovered(vault: Vault, memory_key: bytes) -> None:
    """Crash after the rename into objects/ but before the row said 'complete'."""
    profile = vault.profile
    partial = vault.objects.begin_partial(None, kind="dicom")
    partial.append(b"finished download")
    writer = partial._writer
    info = writer.finish(vault.objects.path_for(partial.object_id))  # row not updated
    vault.close()
    with open_profile(profile, key=memory_key) as again:
        assert again.objects.read_bytes(partial.object_id) == b"finished download"
        row = _key_row(again, partial.object_id)
        assert row is not None
        assert row[1:] == ("complete", info.size, info.sha256)


def test_verify_all_reports_damaged_and_missing_files(vault: Vault) -> None:
    good = vault.objects.put(b"good", kind="pdf")
    damaged = vault.objects.put(os.urandom(5000), kind="pdf")
    missing = vault.objects.put(b"missing", kind="pdf")
    path = vault.objects.path_for(damaged.object_id)
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0x01
    path.write_bytes(bytes(raw))
    vault.objects.path_for(missing.object_id).unlink()

    problems = {p.object_id: p.problem for p in vault.objects.verify_all()}
    assert set(problems) == {damaged.object_id, missing.object_id}
    assert good.object_id not in problems
    with pytest.raises(CorruptObject):
        vault.objects.read_bytes(damaged.object_id)
    assert vault.objects.count() == 3
