"""The encrypted object file format: round trips, random access, tampering, resumable
writes, and what reaches the disk."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewer_app.errors import CorruptObject, ObjectMissing
from reviewer_app.vault.objects import (
    CHUNK_OVERHEAD,
    CHUNK_SIZE,
    HEADER_SIZE,
    ObjectInfo,
    ObjectReader,
    PartialWriter,
    new_object_key,
    write_object,
)

OBJECT_ID = "3f1c0a9e5b7d4e2f8a6c1b0d9e8f7a6b"
OTHER_ID = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
THIRD_ID = "0123456789abcdef0123456789abcdef"
# Tamper tests use small chunks: the format is the same, the files are tiny.
SMALL = 1024


def payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def key() -> bytes:
    return new_object_key()


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(objects dir, tmp dir), as in a profile."""
    return tmp_path / "objects", tmp_path / "tmp"


def dest_for(objects: Path, object_id: str = OBJECT_ID) -> Path:
    return objects / object_id[:2] / object_id


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345],
    ids=["empty", "one", "chunk-1", "chunk", "chunk+1", "several-MiB"],
)
def test_round_trip(size: int, key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    data = payload(size)
    dest = dest_for(objects)
    info = write_object(dest, tmp, OBJECT_ID, key, data)
    assert info == ObjectInfo(size, sha(data))

    reader = ObjectReader(dest, key, OBJECT_ID)
    assert reader.size == size
    # Every chunk but a (possibly empty) final one is full.
    assert reader.chunk_count == size // CHUNK_SIZE + 1
    assert dest.stat().st_size == HEADER_SIZE + size + reader.chunk_count * CHUNK_OVERHEAD
    assert reader.read_all() == data
    assert [len(c) for c in reader.iter_chunks()] == [
        min(CHUNK_SIZE, size - i) for i in range(0, size, CHUNK_SIZE)
    ]
    assert reader.verify() == info


@pytest.mark.parametrize("pieces", [False, True], ids=["bytes", "pieces"])
def test_without_checksum_only_the_digest_is_left_out(
    pieces: bool, key: bytes, dirs: tuple[Path, Path]
) -> None:
    objects, tmp = dirs
    data = payload(2 * CHUNK_SIZE + 5)
    dest = dest_for(objects)
    source = iter([data[:1000], data[1000:]]) if pieces else data
    info = write_object(dest, tmp, OBJECT_ID, key, source, checksum=False)
    assert info == ObjectInfo(len(data), None)
    # Same file format, same authentication: a reader cannot tell the difference.
    reader = ObjectReader(dest, key, OBJECT_ID)
    assert reader.read_all() == data
    assert reader.verify() == ObjectInfo(len(data), sha(data))


def test_write_makes_missing_folders_and_leaves_no_temp_file(key: bytes, tmp_path: Path) -> None:
    # Neither tmp/ nor the object's prefix folder exists yet.
    objects, tmp = tmp_path / "objects", tmp_path / "tmp"
    write_object(dest_for(objects), tmp, OBJECT_ID, key, b"first")
    write_object(dest_for(objects, OTHER_ID), tmp, OTHER_ID, key, b"second")
    assert ObjectReader(dest_for(objects), key, OBJECT_ID).read_all() == b"first"
    assert ObjectReader(dest_for(objects, OTHER_ID), key, OTHER_ID).read_all() == b"second"
    assert list(tmp.iterdir()) == []


def test_a_leftover_temp_file_or_planted_symlink_is_never_written_through(
    key: bytes, dirs: tuple[Path, Path]
) -> None:
    objects, tmp = dirs
    tmp.mkdir(parents=True, exist_ok=True)
    victim = tmp.parent / "victim"
    victim.write_bytes(b"not to be touched")
    (tmp / f".object-{OBJECT_ID}.tmp").symlink_to(victim)
    (tmp / f".object-{OTHER_ID}.tmp").write_bytes(b"a crashed write's leftover")
    write_object(dest_for(objects), tmp, OBJECT_ID, key, b"first")
    write_object(dest_for(objects, OTHER_ID), tmp, OTHER_ID, key, b"second")
    assert victim.read_bytes() == b"not to be touched"
    assert ObjectReader(dest_for(objects), key, OBJECT_ID).read_all() == b"first"
    assert ObjectReader(dest_for(objects, OTHER_ID), key, OTHER_ID).read_all() == b"second"


def test_write_accepts_pieces_of_any_size(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    data = payload(5 * SMALL + 77)
    cuts = [0, 1, 2, 700, 700, 3000, 3000 + 2 * SMALL, len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(cuts)]
    dest = dest_for(objects)
    info = write_object(dest, tmp, OBJECT_ID, key, iter(pieces), chunk_size=SMALL)
    assert info == ObjectInfo(len(data), sha(data))
    assert ObjectReader(dest, key, OBJECT_ID).read_all() == data


def test_reader_uses_the_chunk_size_in_the_header(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    data = payload(10 * 333 + 5)
    dest = dest_for(objects)
    write_object(dest, tmp, OBJECT_ID, key, data, chunk_size=333)
    reader = ObjectReader(dest, key, OBJECT_ID)
    assert (reader.chunk_size, reader.chunk_count, reader.size) == (333, 11, len(data))
    assert reader.read_all() == data


def test_overwrite_replaces_the_object(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    dest = dest_for(objects)
    write_object(dest, tmp, OBJECT_ID, key, b"first version")
    new_key = new_object_key()
    write_object(dest, tmp, OBJECT_ID, new_key, b"second")
    assert ObjectReader(dest, new_key, OBJECT_ID).read_all() == b"second"


def test_keys_are_random_and_256_bit() -> None:
    keys = {new_object_key() for _ in range(8)}
    assert len(keys) == 8
    assert all(len(k) == 32 for k in keys)


def test_bad_arguments_are_programming_errors(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    with pytest.raises(ValueError, match="32 bytes"):
        write_object(dest_for(objects), tmp, OBJECT_ID, key[:16], b"x")
    with pytest.raises(ValueError, match="id"):
        write_object(dest_for(objects), tmp, "", key, b"x")
    with pytest.raises(ValueError, match="chunk size"):
        write_object(dest_for(objects), tmp, OBJECT_ID, key, b"x", chunk_size=0)


# --- random access -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_object(tmp_path_factory: pytest.TempPathFactory) -> tuple[ObjectReader, bytes]:
    root = tmp_path_factory.mktemp("big")
    key = new_object_key()
    data = payload(4 * CHUNK_SIZE + 999, seed=11)
    dest = root / "objects" / OBJECT_ID
    write_object(dest, root / "tmp", OBJECT_ID, key, data)
    return ObjectReader(dest, key, OBJECT_ID), data


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (0, 0),
        (0, 1),
        (0, CHUNK_SIZE),
        (CHUNK_SIZE - 1, 1),
        (CHUNK_SIZE - 1, 2),
        (CHUNK_SIZE, 1),
        (CHUNK_SIZE, CHUNK_SIZE),
        (CHUNK_SIZE - 5, CHUNK_SIZE + 10),
        (2 * CHUNK_SIZE + 17, 2 * CHUNK_SIZE),  # into the final chunk and past the end
        (4 * CHUNK_SIZE, 999),  # exactly the final chunk
        (4 * CHUNK_SIZE + 998, 1),  # the last byte
        (4 * CHUNK_SIZE + 999, 10),  # at the end
        (10 * CHUNK_SIZE, 10),  # far past the end
        (0, 10 * CHUNK_SIZE),  # everything
    ],
)
def test_random_access(big_object: tuple[ObjectReader, bytes], offset: int, length: int) -> None:
    reader, data = big_object
    assert reader.read(offset, length) == data[offset : offset + length]


def test_random_access_small_reads_in_and_across_chunks(
    big_object: tuple[ObjectReader, bytes],
) -> None:
    reader, data = big_object
    rng = random.Random(3)
    for _ in range(200):
        offset = rng.randrange(len(data))
        length = rng.choice([1, 2, 16, 132, 4096])
        assert reader.read(offset, length) == data[offset : offset + length]


def test_negative_offset_or_length_is_refused(big_object: tuple[ObjectReader, bytes]) -> None:
    reader, _ = big_object
    with pytest.raises(ValueError, match="negative"):
        reader.read(-1, 5)
    with pytest.raises(ValueError, match="negative"):
        reader.read(0, -5)


def test_stream_is_a_seekable_file(big_object: tuple[ObjectReader, bytes]) -> None:
    reader, data = big_object
    with reader.stream() as f:
        assert f.seekable() and f.readable() and not f.writable()
        assert f.read(10) == data[:10]
        f.seek(CHUNK_SIZE - 3)
        assert f.read(6) == data[CHUNK_SIZE - 3 : CHUNK_SIZE + 3]
        assert f.tell() == CHUNK_SIZE + 3
        f.seek(-4, io.SEEK_END)
        assert f.read() == data[-4:]
        assert f.read(1) == b""
        f.seek(-10, io.SEEK_CUR)
        assert f.read(3) == data[-10:-7]
        with pytest.raises(ValueError, match="negative"):
            f.seek(-1)


def test_pydicom_reads_an_instance_through_the_stream(key: bytes, dirs: tuple[Path, Path]) -> None:
    from pydicom import dcmread
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.PatientName = "Testpatient^Alpha"
    ds.PatientID = "SYN-0001"
    ds.Modality = "CT"
    ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    objects, tmp = dirs
    dest = dest_for(objects)
    # Small chunks so that the parser's reads cross chunk boundaries.
    write_object(dest, tmp, OBJECT_ID, key, buf.getvalue(), chunk_size=64)

    read_back = dcmread(ObjectReader(dest, key, OBJECT_ID).stream())
    assert read_back.PatientName == "Testpatient^Alpha"
    assert read_back.SOPInstanceUID == ds.SOPInstanceUID


# --- missing and tampered files ----------------------------------------------------------


def test_missing_file(key: bytes, tmp_path: Path) -> None:
    with pytest.raises(ObjectMissing):
        ObjectReader(tmp_path / "nope", key, OBJECT_ID)


def test_file_deleted_after_open(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    dest = dest_for(objects)
    write_object(dest, tmp, OBJECT_ID, key, payload(3 * SMALL), chunk_size=SMALL)
    reader = ObjectReader(dest, key, OBJECT_ID)
    dest.unlink()
    with pytest.raises(ObjectMissing):
        reader.read_all()
    with pytest.raises(ObjectMissing):
        reader.read(0, 10)


MARKER = b"Testpatient^Marker"
TAMPER_DATA = (MARKER + payload(200)) * 20  # 4 full chunks of SMALL and a final one


@pytest.fixture
def victim(key: bytes, dirs: tuple[Path, Path]) -> Path:
    objects, tmp = dirs
    dest = dest_for(objects)
    write_object(dest, tmp, OBJECT_ID, key, TAMPER_DATA, chunk_size=SMALL)
    assert ObjectReader(dest, key, OBJECT_ID).chunk_count == 5
    return dest


def record_span(index: int) -> tuple[int, int]:
    """Byte range of chunk ``index`` (a full one) in the victim file."""
    start = HEADER_SIZE + index * (SMALL + CHUNK_OVERHEAD)
    return start, start + SMALL + CHUNK_OVERHEAD


def assert_corrupt(path: Path, key: bytes, object_id: str = OBJECT_ID) -> CorruptObject:
    with pytest.raises(CorruptObject) as caught:
        ObjectReader(path, key, object_id).read_all()
    message = str(caught.value)
    # The message names what failed, never the content, the id or the file.
    assert "Marker" not in message and object_id not in message and str(path) not in message
    return caught.value


def flip_bit(path: Path, position: int, bit: int = 0) -> None:
    raw = bytearray(path.read_bytes())
    raw[position] ^= 1 << bit
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("chunk", [0, 2, 4], ids=["first", "middle", "final"])
@pytest.mark.parametrize("part", ["nonce", "ciphertext", "tag"])
def test_flipped_bit_is_detected(victim: Path, key: bytes, chunk: int, part: str) -> None:
    start, end = record_span(chunk)
    if chunk == 4:  # the final chunk is shorter: it ends with the file
        end = victim.stat().st_size
    position = {"nonce": start + 5, "ciphertext": start + 12 + 100, "tag": end - 3}[part]
    flip_bit(victim, position, bit=3)
    error = assert_corrupt(victim, key)
    assert f"chunk {chunk + 1} of 5" in str(error)


def test_damage_is_found_on_the_chunk_read_not_before(victim: Path, key: bytes) -> None:
    # Random access authenticates what it reads: a damaged chunk 2 does not stop reading
    # chunk 0, but reading chunk 2 fails instead of returning damaged bytes.
    flip_bit(victim, record_span(2)[0] + 40)
    reader = ObjectReader(victim, key, OBJECT_ID)
    assert reader.read(0, 100) == TAMPER_DATA[:100]
    with pytest.raises(CorruptObject):
        reader.read(2 * SMALL + 10, 5)


@pytest.mark.parametrize("position", range(HEADER_SIZE))
def test_any_header_bit_flip_is_detected(victim: Path, key: bytes, position: int) -> None:
    for bit in range(8):
        flip_bit(victim, position, bit)
        assert_corrupt(victim, key)
        flip_bit(victim, position, bit)  # undo
    assert ObjectReader(victim, key, OBJECT_ID).read_all() == TAMPER_DATA


def truncate(path: Path, size: int) -> None:
    with path.open("r+b") as f:
        f.truncate(size)


@pytest.mark.parametrize(
    "keep",
    [
        0,
        HEADER_SIZE - 1,
        HEADER_SIZE,
        HEADER_SIZE + 5,
        HEADER_SIZE + CHUNK_OVERHEAD,
        record_span(1)[0] + 500,  # mid-chunk
        record_span(3)[1] - 1,  # one byte short of a full chunk
    ],
)
def test_truncation_mid_chunk_is_detected(victim: Path, key: bytes, keep: int) -> None:
    truncate(victim, keep)
    assert_corrupt(victim, key)


@pytest.mark.parametrize("chunks_kept", [1, 4], ids=["one-chunk", "drop-final"])
def test_truncation_at_a_chunk_boundary_is_detected(
    victim: Path, key: bytes, chunks_kept: int
) -> None:
    truncate(victim, record_span(chunks_kept)[0])
    assert_corrupt(victim, key)


def test_truncation_to_a_non_final_chunk_that_looks_final_is_detected(
    victim: Path, key: bytes
) -> None:
    # Cut so the reader sees 2 full chunks and a 28+ byte "final" one: the bytes left are
    # the start of a non-final chunk and fail as the final one.
    truncate(victim, record_span(2)[0] + CHUNK_OVERHEAD + 10)
    assert_corrupt(victim, key)


def rewrite_chunks(path: Path, order: list[int]) -> None:
    """Rebuild the victim from its header, its full chunks in ``order``, and its final."""
    raw = path.read_bytes()
    chunks = [raw[slice(*record_span(i))] for i in range(4)]
    final = raw[record_span(4)[0] :]
    path.write_bytes(raw[:HEADER_SIZE] + b"".join(chunks[i] for i in order) + final)


@pytest.mark.parametrize(
    "order",
    [[0, 1, 2, 3], [0, 2, 3], [1, 0, 2, 3], [0, 1, 1, 2, 3], [0, 1, 2, 3, 3]],
    ids=["unchanged", "drop-middle", "swap", "duplicate", "duplicate-last"],
)
def test_reordered_chunks_are_detected(victim: Path, key: bytes, order: list[int]) -> None:
    rewrite_chunks(victim, order)
    if order == [0, 1, 2, 3]:
        # The control: the rebuild itself is faithful.
        assert ObjectReader(victim, key, OBJECT_ID).read_all() == TAMPER_DATA
    else:
        assert_corrupt(victim, key)


def test_extra_final_chunk_is_detected(victim: Path, key: bytes) -> None:
    raw = victim.read_bytes()
    victim.write_bytes(raw + raw[record_span(4)[0] :])
    assert_corrupt(victim, key)


def test_file_copied_to_another_object_id_is_detected(
    victim: Path, key: bytes, dirs: tuple[Path, Path]
) -> None:
    other = dest_for(dirs[0], OTHER_ID)
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(victim.read_bytes())
    # Even with the right key: the id is bound into every chunk.
    assert_corrupt(other, key, OTHER_ID)


def test_wrong_key_is_detected(victim: Path) -> None:
    assert_corrupt(victim, new_object_key())


def test_not_an_object_file(key: bytes, tmp_path: Path) -> None:
    path = tmp_path / "plain.pdf"
    path.write_bytes(b"%PDF-1.7\n" + payload(3000))
    assert_corrupt(path, key)


# --- resumable writes --------------------------------------------------------------------


def pieces_of(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_partial_writer_without_interruption(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, _ = dirs
    partial = dirs[0].parent / "partial" / OBJECT_ID
    data = payload(3 * SMALL + 100)
    with PartialWriter(partial, key, OBJECT_ID, chunk_size=SMALL) as writer:
        assert writer.committed_bytes == 0
        for piece in pieces_of(data, 300):
            writer.append(piece)
        assert writer.committed_bytes == 3 * SMALL
        assert writer.received_bytes == len(data)
        info = writer.finish(dest_for(objects))
    assert info == ObjectInfo(len(data), sha(data))
    assert not partial.exists()
    assert ObjectReader(dest_for(objects), key, OBJECT_ID).read_all() == data
    with pytest.raises(ValueError, match="closed"):
        writer.append(b"more")


def test_committed_bytes_grow_chunk_by_chunk(key: bytes, tmp_path: Path) -> None:
    writer = PartialWriter(tmp_path / "p", key, OBJECT_ID, chunk_size=SMALL)
    seen = []
    for _ in range(5):
        writer.append(payload(SMALL // 2))
        seen.append(writer.committed_bytes)
    writer.close()
    assert seen == [0, SMALL, SMALL, 2 * SMALL, 2 * SMALL]
    # Only whole chunks are on disk; the half chunk in memory was dropped with the writer.
    assert (tmp_path / "p").stat().st_size == HEADER_SIZE + 2 * (SMALL + CHUNK_OVERHEAD)


@pytest.mark.parametrize(
    "torn",
    ["clean", "mid-chunk", "header-only-of-chunk", "full-length-zeros"],
)
def test_resume_after_a_kill(key: bytes, dirs: tuple[Path, Path], torn: str) -> None:
    objects, _ = dirs
    partial = objects.parent / "partial" / OBJECT_ID
    data = (MARKER + payload(500)) * 40
    sent = 7 * SMALL + 300

    writer = PartialWriter(partial, key, OBJECT_ID, chunk_size=SMALL)
    for piece in pieces_of(data[:sent], 777):
        writer.append(piece)
    writer.close()  # the process dies: the writer is gone without finish()

    on_disk = partial.stat().st_size
    assert on_disk == HEADER_SIZE + 7 * (SMALL + CHUNK_OVERHEAD)
    # A torn write of the next chunk, as a crash in the middle of write() leaves it.
    with partial.open("ab") as f:
        if torn == "mid-chunk":
            f.write(os.urandom(SMALL // 2))
        elif torn == "header-only-of-chunk":
            f.write(os.urandom(5))
        elif torn == "full-length-zeros":
            f.write(bytes(SMALL + CHUNK_OVERHEAD))
    if torn == "mid-chunk":
        # Also tear the last durable chunk itself: it must be dropped, not trusted.
        truncate(partial, on_disk - 100)

    resumed = PartialWriter(partial, key, OBJECT_ID, chunk_size=SMALL)
    committed = resumed.committed_bytes
    assert committed % SMALL == 0 and committed <= sent
    assert committed == (6 if torn == "mid-chunk" else 7) * SMALL
    # The torn tail was cut off.
    assert partial.stat().st_size == HEADER_SIZE + committed // SMALL * (SMALL + CHUNK_OVERHEAD)
    for piece in pieces_of(data[committed:], 1000):
        resumed.append(piece)
    info = resumed.finish(dest_for(objects))
    assert info == ObjectInfo(len(data), sha(data))
    assert ObjectReader(dest_for(objects), key, OBJECT_ID).read_all() == data


def test_resume_twice_and_finish_on_a_chunk_boundary(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, _ = dirs
    partial = objects.parent / "partial" / OBJECT_ID
    data = payload(6 * SMALL)
    for stop in (2 * SMALL + 5, 4 * SMALL + 9):
        with PartialWriter(partial, key, OBJECT_ID, chunk_size=SMALL) as writer:
            writer.append(data[writer.committed_bytes : stop])
    writer = PartialWriter(partial, key, OBJECT_ID, chunk_size=SMALL)
    assert writer.committed_bytes == 4 * SMALL
    writer.append(data[writer.committed_bytes :])
    info = writer.finish(dest_for(objects))
    assert info == ObjectInfo(len(data), sha(data))
    reader = ObjectReader(dest_for(objects), key, OBJECT_ID)
    assert reader.chunk_count == 7  # six full chunks and an empty final one
    assert reader.read_all() == data


def test_resume_keeps_the_chunk_size_of_the_file(key: bytes, tmp_path: Path) -> None:
    data = payload(5 * SMALL)
    with PartialWriter(tmp_path / "p", key, OBJECT_ID, chunk_size=SMALL) as writer:
        writer.append(data[: 3 * SMALL])
    resumed = PartialWriter(tmp_path / "p", key, OBJECT_ID)  # default CHUNK_SIZE asked
    assert (resumed.chunk_size, resumed.committed_bytes) == (SMALL, 3 * SMALL)
    resumed.append(data[3 * SMALL :])
    resumed.finish(tmp_path / "obj")
    assert ObjectReader(tmp_path / "obj", key, OBJECT_ID).read_all() == data


def test_partial_of_another_object_or_key_is_not_resumed(key: bytes, tmp_path: Path) -> None:
    path = tmp_path / "p"
    with PartialWriter(path, key, OBJECT_ID, chunk_size=SMALL) as writer:
        writer.append(payload(3 * SMALL))
    with PartialWriter(path, key, OTHER_ID, chunk_size=SMALL) as other:
        assert other.committed_bytes == 0
    with PartialWriter(path, new_object_key(), OBJECT_ID, chunk_size=SMALL) as rekeyed:
        assert rekeyed.committed_bytes == 0


def test_partial_with_a_torn_header_starts_afresh(key: bytes, tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_bytes(b"RVW")  # the crash came while the header was being written
    data = payload(2 * SMALL + 1)
    writer = PartialWriter(path, key, OBJECT_ID, chunk_size=SMALL)
    assert writer.committed_bytes == 0
    writer.append(data)
    assert writer.finish(tmp_path / "obj") == ObjectInfo(len(data), sha(data))
    assert ObjectReader(tmp_path / "obj", key, OBJECT_ID).read_all() == data


def test_a_partial_file_is_never_a_readable_object(key: bytes, tmp_path: Path) -> None:
    path = tmp_path / "p"
    with PartialWriter(path, key, OBJECT_ID, chunk_size=SMALL) as writer:
        writer.append(payload(3 * SMALL))
    # It holds only non-final chunks, so read as an object it fails.
    with pytest.raises(CorruptObject):
        ObjectReader(path, key, OBJECT_ID).read_all()


def test_abort_deletes_the_partial_file(key: bytes, tmp_path: Path) -> None:
    path = tmp_path / "partial" / OBJECT_ID
    writer = PartialWriter(path, key, OBJECT_ID, chunk_size=SMALL)
    writer.append(payload(2 * SMALL))
    writer.abort()
    assert writer.closed and not path.exists()
    assert list(path.parent.iterdir()) == []


KILLED_WRITER = textwrap.dedent(
    """
    import os, random, signal, sys
    from pathlib import Path
    from reviewer_app.vault.objects import PartialWriter

    path, key_hex, object_id = sys.argv[1], sys.argv[2], sys.argv[3]
    data = random.Random(5).randbytes(20 * 1024)
    writer = PartialWriter(Path(path), bytes.fromhex(key_hex), object_id, chunk_size=1024)
    for i in range(0, 13 * 1024 + 500, 100):
        writer.append(data[i : i + 100])
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_resume_after_a_real_sigkill(key: bytes, tmp_path: Path) -> None:
    partial = tmp_path / "partial" / OBJECT_ID
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(partial), key.hex(), OBJECT_ID],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    data = random.Random(5).randbytes(20 * 1024)
    writer = PartialWriter(partial, key, OBJECT_ID, chunk_size=SMALL)
    assert writer.committed_bytes == 13 * SMALL  # the chunks it fsynced before dying
    writer.append(data[writer.committed_bytes :])
    assert writer.finish(tmp_path / "obj") == ObjectInfo(len(data), sha(data))
    assert ObjectReader(tmp_path / "obj", key, OBJECT_ID).read_all() == data


# --- what reaches the disk ---------------------------------------------------------------


def test_plaintext_never_reaches_the_disk(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    data = (MARKER + b" born 1950-01-01 ") * 5000
    write_object(dest_for(objects), tmp, OBJECT_ID, key, data, chunk_size=SMALL)
    partial = objects.parent / "partial" / OTHER_ID
    with PartialWriter(partial, key, OTHER_ID, chunk_size=SMALL) as writer:
        writer.append(data)
    for path in objects.parent.rglob("*"):
        if path.is_file():
            assert MARKER not in path.read_bytes()
            assert b"1950-01-01" not in path.read_bytes()
    assert any(objects.rglob("*")) and partial.exists()  # the check looked at both


def test_file_and_folder_modes(key: bytes, tmp_path: Path) -> None:
    if os.name == "nt":
        pytest.skip("POSIX modes")
    objects, tmp = tmp_path / "objects", tmp_path / "tmp"
    old = os.umask(0)  # a permissive umask must not leak into the vault
    try:
        write_object(dest_for(objects), tmp, OBJECT_ID, key, b"x" * 5000)
        # A umask that takes the owner's own bits does not either.
        os.umask(0o277)
        write_object(dest_for(objects, THIRD_ID), tmp, THIRD_ID, key, b"z" * 10)
        os.umask(0)
        partial = tmp_path / "partial" / "ab" / OTHER_ID
        writer = PartialWriter(partial, key, OTHER_ID, chunk_size=SMALL)
        writer.append(b"y" * 3000)
        partial_mode = stat.S_IMODE(partial.stat().st_mode)
        writer.finish(dest_for(objects, OTHER_ID))
    finally:
        os.umask(old)
    assert partial_mode == 0o600
    for path in [objects, objects / OBJECT_ID[:2], objects / OTHER_ID[:2], tmp, partial.parent]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for object_id in (OBJECT_ID, OTHER_ID, THIRD_ID):
        assert stat.S_IMODE(dest_for(objects, object_id).stat().st_mode) == 0o600


def test_failed_write_leaves_nothing_behind(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs

    def dropped_download() -> Iterator[bytes]:
        yield payload(3 * SMALL)
        raise ConnectionError("network gone")

    dest = dest_for(objects)
    with pytest.raises(ConnectionError):
        write_object(dest, tmp, OBJECT_ID, key, dropped_download(), chunk_size=SMALL)
    assert not dest.exists()
    assert list(tmp.iterdir()) == []


def test_failed_write_from_memory_leaves_nothing_behind(
    key: bytes, dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    objects, tmp = dirs

    def disk_gone(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", disk_gone)
    dest = dest_for(objects)
    with pytest.raises(OSError, match="Input/output"):
        write_object(dest, tmp, OBJECT_ID, key, payload(3 * SMALL), checksum=False)
    assert not dest.exists()
    assert list(tmp.iterdir()) == []


def test_failed_write_keeps_the_previous_object(key: bytes, dirs: tuple[Path, Path]) -> None:
    objects, tmp = dirs
    dest = dest_for(objects)
    write_object(dest, tmp, OBJECT_ID, key, b"the good copy")

    def dropped_download() -> Iterator[bytes]:
        yield b"half of the new"
        raise ConnectionError("network gone")

    with pytest.raises(ConnectionError):
        write_object(dest, tmp, OBJECT_ID, new_object_key(), dropped_download())
    assert ObjectReader(dest, key, OBJECT_ID).read_all() == b"the good copy"


DISK_FULL_WRITER = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from reviewer_app.vault.objects import PartialWriter

    path, key_hex, object_id, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    # A file-size limit makes the kernel refuse the write (EFBIG), like a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    writer = PartialWriter(Path(path), bytes.fromhex(key_hex), object_id, chunk_size=1024)
    try:
        writer.append(bytes(range(256)) * 4 * 5)
    except OSError as exc:
        print("refused", exc.errno, writer.closed)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_failed_append_closes_the_writer_and_resume_works(key: bytes, tmp_path: Path) -> None:
    partial = tmp_path / "partial" / OBJECT_ID
    limit = HEADER_SIZE + 2 * (SMALL + CHUNK_OVERHEAD) + 300  # room for 2.3 chunks
    child = subprocess.run(
        [sys.executable, "-c", DISK_FULL_WRITER, str(partial), key.hex(), OBJECT_ID, str(limit)],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert child.stdout.split() == [b"refused", b"27", b"True"]  # EFBIG, and closed
    assert partial.stat().st_size == limit  # a torn third chunk is on disk
    data = bytes(range(256)) * 4 * 5
    writer = PartialWriter(partial, key, OBJECT_ID, chunk_size=SMALL)
    assert writer.committed_bytes == 2 * SMALL
    writer.append(data[writer.committed_bytes :])
    assert writer.finish(tmp_path / "obj") == ObjectInfo(len(data), sha(data))
    assert ObjectReader(tmp_path / "obj", key, OBJECT_ID).read_all() == data
