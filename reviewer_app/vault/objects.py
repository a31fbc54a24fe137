"""The encrypted payload file: how one PDF or DICOM instance lies on disk in the vault.

Small records live in the SQLCipher database; payloads (a PDF, a DICOM instance, a CT
study is hundreds of MB) live as files under ``objects/``, each encrypted under its own
random 256-bit key. The key is stored in the object's database row, so the database key
protects every payload key, and :class:`~reviewer_app.vault.store.ObjectStore` (the
caller of this module) never needs a second secret. This module is only crypto and file
I/O; it knows nothing of the database.

Threat model
    *Stolen laptop or copied profile folder*: without the database key every file is
    noise (AES-256-GCM). *Tampering or damage*: any flipped bit, truncation, dropped,
    duplicated or reordered chunk, or a file moved to another object's name fails
    authentication and raises :class:`~reviewer_app.errors.CorruptObject`; damaged data
    is never returned as if it were good. *Crypto-shredding*: deleting an object's key
    row makes its file unreadable even if the file itself survives in a backup, a
    snapshot, or a filesystem that does not really erase on unlink.

File format (version 1; all integers big-endian)::

    header  magic b"RVWOBJ\\r\\n" (8) | version u16 = 1 | flags u16 = 0 | chunk_size u32
    chunk*  nonce (12) | AES-256-GCM ciphertext (len = plaintext len) | tag (16)

The plaintext is cut into ``chunk_size`` pieces (:data:`CHUNK_SIZE`, 1 MiB, when
writing; any size the header gives is accepted when reading). Every chunk but the last
is exactly ``chunk_size`` bytes; the last one, the *final chunk*, is always present and
always shorter (it is empty when the size is a multiple of the chunk size). That makes
the plaintext size follow from the file size alone, and makes a file cut at a chunk
boundary fail: its last chunk was sealed as non-final.

Each chunk's associated data binds the header bytes, the object id, the chunk index (u64)
and the final-chunk flag. The header binding stops a chunk-size or version edit, the
object id stops swapping whole files between objects, the index stops reordering,
dropping and duplicating chunks, and the flag stops truncation (so does the layout rule
above: the two are independent guards, and the flag keeps the format safe should that
rule ever be relaxed). Chunking (rather than one
GCM message per object) keeps memory flat for large studies and gives random access:
the viewers decrypt only the chunks they read.

Nonces are random (96 bits) rather than counters: a resumed download may re-encrypt a
chunk index whose first attempt was torn by a crash, and a counter nonce would then be
reused under the same key with different plaintext. With one key per object and a few
hundred chunks at most, random nonces have no practical collision risk.

Writes are atomic (temp file in the profile's ``tmp/``, fsync, ``os.replace``, fsync of
the directory): after a crash a path holds either nothing or a complete object. The
:class:`PartialWriter` handles downloads that may be cut: full chunks are made durable as
they fill, and a re-opened partial file reports how many plaintext bytes it already
holds so the download resumes there. Plaintext is never written to disk unencrypted:
the unfinished tail of a download lives only in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reviewer_app.errors import CorruptObject, ObjectMissing

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "CHUNK_SIZE",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "KEY_SIZE",
    "MAX_CHUNK_SIZE",
    "ObjectInfo",
    "ObjectReader",
    "PartialWriter",
    "new_object_key",
    "write_object",
]

#: Plaintext bytes per chunk when writing.
CHUNK_SIZE = 1 << 20
#: The largest chunk size a header may declare; bounds what one damaged header can make
#: a reader allocate.
MAX_CHUNK_SIZE = 64 << 20
FORMAT_VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
#: Per-chunk overhead on disk.
CHUNK_OVERHEAD = NONCE_SIZE + TAG_SIZE

# \r\n in the magic, as in PNG's, shows up any text-mode line-ending mangling at once.
MAGIC = b"RVWOBJ\r\n"
_HEADER = struct.Struct(">8sHHI")
HEADER_SIZE = _HEADER.size
_CHUNK_POSITION = struct.Struct(">QB")

_FILE_MODE = 0o600
_DIR_MODE = 0o700


@dataclass(frozen=True)
class ObjectInfo:
    """What a finished write tells the caller to store next to the key."""

    #: Plaintext size in bytes.
    size: int
    #: SHA-256 of the plaintext, lower-case hex; None when the writer was told to skip it.
    sha256: str | None


def new_object_key() -> bytes:
    """Return a fresh random AES-256 key for one object."""
    return AESGCM.generate_key(bit_length=KEY_SIZE * 8)


def write_object(
    dest: Path,
    tmp_dir: Path,
    object_id: str,
    key: bytes,
    data: bytes | Iterable[bytes],
    *,
    chunk_size: int = CHUNK_SIZE,
    checksum: bool = True,
) -> ObjectInfo:
    """Encrypt ``data`` into the object file ``dest``, atomically.

    The file is built in ``tmp_dir`` (which must be on the same filesystem as ``dest``),
    fsynced and renamed into place, so ``dest`` never holds a half-written object. Missing
    parent folders are created 0700. ``data`` may be one bytes value or an iterable of
    pieces of any size (e.g. an HTTP response stream). ``checksum=False`` skips the
    plaintext SHA-256 (:attr:`ObjectInfo.sha256` is then None): GCM already authenticates
    every chunk, and the bulk of a study's instances have no use for the digest.
    """
    cipher = _ChunkCipher(key, object_id, _pack_header(chunk_size))
    fd, tmp_name = _create_temp(tmp_dir, object_id)
    try:
        if isinstance(data, bytes | bytearray | memoryview):
            try:
                info = _seal_whole(cipher, memoryview(data).cast("B"), fd, checksum)
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            with os.fdopen(fd, "wb") as f:
                sealer = _Sealer(cipher, f, start_index=0, sync_each_chunk=False, checksum=checksum)
                f.write(cipher.header)
                for piece in data:
                    sealer.append(piece)
                info = sealer.finish()
                f.flush()
                os.fsync(f.fileno())
        try:
            os.replace(tmp_name, dest)
        except FileNotFoundError:
            # The first object under a new prefix: make its folder (cheaper than
            # checking for it before every write).
            _ensure_dir(dest.parent)
            os.replace(tmp_name, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_dir(dest.parent)
    return info


def _create_temp(tmp_dir: Path, object_id: str) -> tuple[int, str]:
    """Create a new private temp file for an object; return its descriptor and path.

    Named from the object id plus a random part, so two writers never share one, and
    opened with O_EXCL (which refuses a symlink planted under that name)."""
    name = os.path.join(tmp_dir, f".object-{object_id}-{os.urandom(6).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, _FILE_MODE)
    except FileNotFoundError:
        _ensure_dir(tmp_dir)
        fd = os.open(name, flags, _FILE_MODE)
    if os.name != "nt":
        try:
            os.fchmod(fd, _FILE_MODE)  # exactly 0600, whatever the umask
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
    return fd, name


def _seal_whole(cipher: _ChunkCipher, plain: memoryview, fd: int, checksum: bool) -> ObjectInfo:
    """Write a whole plaintext held in memory as an object file (header included) to ``fd``.

    The same chunks :class:`_Sealer` makes, sealed straight from the caller's buffer:
    no copy of a short final chunk into a buffer of its own, no zeroed chunk-sized
    output buffer per object (a DICOM instance is usually one short chunk, and those two
    were most of the cost of storing it, after the SHA-256)."""
    aead = cipher._aead
    size = len(plain)
    cs = cipher.chunk_size
    full = size // cs
    pending: list[bytes | memoryview] = [cipher.header]
    for index in range(full + 1):
        nonce = os.urandom(NONCE_SIZE)
        piece = plain[index * cs : (index + 1) * cs]
        # The final chunk is the one after the last full chunk: shorter, maybe empty.
        sealed = aead.encrypt(nonce, piece, cipher._aad(index, index == full))
        pending += (nonce, sealed)
        _write_all(fd, pending)
        pending = []
    return ObjectInfo(size, hashlib.sha256(plain).hexdigest() if checksum else None)


def _write_all(fd: int, pieces: list[bytes | memoryview]) -> None:
    """Write every byte of ``pieces`` to ``fd``, in order (writes may be short)."""
    views = [memoryview(p) for p in pieces if len(p)]
    while views:
        # One system call for a sealed chunk and its nonce where the OS has writev.
        written = os.writev(fd, views) if hasattr(os, "writev") else os.write(fd, views[0])
        if written <= 0:
            raise OSError("an object file write wrote nothing")
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


class ObjectReader:
    """Read access to one object file: whole, chunk by chunk, or by byte range.

    Opening checks the header and authenticates the final chunk, so :attr:`size` is
    trustworthy and a truncated file fails here, at once. Other chunks are authenticated
    as they are read; nothing unauthenticated is ever returned. Each read opens the file
    anew (no descriptor is held, so there is nothing to close); the last decrypted chunk
    is kept, which makes the many small reads of a DICOM parser cheap. Safe to share
    between threads.

    Raises :class:`~reviewer_app.errors.ObjectMissing` when the file is not there and
    :class:`~reviewer_app.errors.CorruptObject` when it fails any check (including when
    the key or object id is not the one it was written with).
    """

    def __init__(self, path: Path, key: bytes, object_id: str) -> None:
        self.path = Path(path)
        try:
            with self.path.open("rb") as f:
                file_size = os.fstat(f.fileno()).st_size
                header = f.read(HEADER_SIZE)
                chunk_size = _parse_header(header)
                self._cipher = _ChunkCipher(key, object_id, header)
                record = chunk_size + CHUNK_OVERHEAD
                body = file_size - HEADER_SIZE
                full_chunks, final_record = divmod(body, record)
                if final_record < CHUNK_OVERHEAD:
                    raise CorruptObject(
                        "An encrypted file in the vault is truncated (no final chunk)."
                    )
                self.chunk_size = chunk_size
                self._record = record
                self._full_chunks = full_chunks
                self._final_len = final_record - CHUNK_OVERHEAD
                #: Plaintext size in bytes.
                self.size = full_chunks * chunk_size + self._final_len
                self._cache: tuple[int, bytes] | None = None
                final = self._read_chunk(f, full_chunks)
        except FileNotFoundError:
            raise ObjectMissing() from None
        self._cache = (full_chunks, final)

    @property
    def chunk_count(self) -> int:
        """Number of chunks in the file, the (possibly empty) final chunk included."""
        return self._full_chunks + 1

    def iter_chunks(self) -> Iterator[bytes]:
        """Yield the plaintext chunk by chunk, in order (empty chunks are skipped)."""
        with self._open() as f:
            f.seek(HEADER_SIZE)
            buf = bytearray(self._record)
            for index in range(self.chunk_count):
                plain = self._read_chunk(f, index, buf, seek=False)
                if plain:
                    yield plain

    def read_all(self) -> bytes:
        """Return the whole plaintext."""
        if self._full_chunks == 0:
            # One chunk, already decrypted at open: most DICOM instances are this size.
            return self.read(0, self.size)
        return b"".join(self.iter_chunks())

    def read(self, offset: int, length: int) -> bytes:
        """Return up to ``length`` plaintext bytes from ``offset``, decrypting only the
        chunks they lie in. Reading past the end returns fewer bytes (or none)."""
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        end = min(offset + length, self.size)
        if offset >= end:
            return b""
        first, last = offset // self.chunk_size, (end - 1) // self.chunk_size
        cached = self._cache
        if first == last and cached is not None and cached[0] == first:
            base = first * self.chunk_size
            return cached[1][offset - base : end - base]
        parts = []
        with self._open() as f:
            buf = bytearray(self._record)
            for index in range(first, last + 1):
                plain = self._read_chunk(f, index, buf)
                base = index * self.chunk_size
                parts.append(plain[max(offset - base, 0) : end - base])
        self._cache = (last, plain)
        return b"".join(parts)

    def verify(self) -> ObjectInfo:
        """Authenticate every chunk and return the plaintext's size and SHA-256."""
        digest = hashlib.sha256()
        for plain in self.iter_chunks():
            digest.update(plain)
        return ObjectInfo(self.size, digest.hexdigest())

    def stream(self) -> io.RawIOBase:
        """A read-only, seekable file object over the plaintext (for pydicom and the like).

        It holds no file descriptor; closing it is optional."""
        return _ObjectStream(self)

    def _open(self) -> io.BufferedReader:
        try:
            return self.path.open("rb")
        except FileNotFoundError:
            raise ObjectMissing() from None

    def _read_chunk(
        self, f: io.BufferedReader, index: int, buf: bytearray | None = None, *, seek: bool = True
    ) -> bytes:
        """Read and authenticate chunk ``index``; ``buf`` is a reusable record buffer."""
        final = index == self._full_chunks
        if seek:
            f.seek(HEADER_SIZE + index * self._record)
        want = self._final_len + CHUNK_OVERHEAD if final else self._record
        if buf is None:
            buf = bytearray(want)
        with memoryview(buf)[:want] as view:
            got = f.readinto(view)
            if got != want:
                # The file shrank after it was opened.
                raise CorruptObject("An encrypted file in the vault is truncated.")
            return self._cipher.open(index, final, view, count=self.chunk_count)


class PartialWriter:
    """Resumable writing of an object that arrives over an unreliable network.

    Plaintext is appended with :meth:`append`; each chunk, once full, is sealed,
    appended to the partial file at ``path`` and fsynced. If the process dies (network
    drop, SIGKILL, power cut), opening a ``PartialWriter`` on the same path, key and
    object id authenticates the chunks already there, cuts off a torn last chunk, and
    reports :attr:`committed_bytes`: the caller resumes the download at that offset.
    :meth:`finish` seals the final chunk and renames the file into place atomically.

    The partial file only ever holds non-final chunks, so it can never be mistaken for a
    complete object. The tail that does not fill a chunk is held in memory only.
    """

    def __init__(
        self, path: Path, key: bytes, object_id: str, *, chunk_size: int = CHUNK_SIZE
    ) -> None:
        self.path = Path(path)
        _ensure_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _O_BINARY, _FILE_MODE)
        self._file: BinaryIO | None = os.fdopen(fd, "r+b")
        try:
            _chmod(self.path, _FILE_MODE)
            self._sealer = self._resume(key, object_id, chunk_size)
        except BaseException:
            self._file.close()
            self._file = None
            raise

    def _resume(self, key: bytes, object_id: str, chunk_size: int) -> _Sealer:
        assert self._file is not None
        f = self._file
        header = f.read(HEADER_SIZE)
        try:
            existing_chunk_size = _parse_header(header)
        except CorruptObject:
            # A torn or foreign header: nothing in this file can be used, start afresh.
            # (Nothing is lost: a partial file only saves re-downloading.)
            header = _pack_header(chunk_size)
            cipher = _ChunkCipher(key, object_id, header)
            f.seek(0)
            f.truncate()
            f.write(header)
            f.flush()
            os.fsync(f.fileno())
            fsync_dir(self.path.parent)
            return _Sealer(cipher, f, start_index=0, sync_each_chunk=True)

        cipher = _ChunkCipher(key, object_id, header)
        record = existing_chunk_size + CHUNK_OVERHEAD
        digest = hashlib.sha256()
        index = 0
        while True:
            sealed = f.read(record)
            if len(sealed) < record:
                break
            try:
                plain = cipher.open(index, False, sealed, count=None)
            except CorruptObject:
                # Chunks are fsynced one by one, so only the last can be torn; any chunk
                # that fails is treated as the end of the usable prefix.
                break
            digest.update(plain)
            index += 1
        keep = HEADER_SIZE + index * record
        if os.fstat(f.fileno()).st_size != keep:
            f.truncate(keep)
            os.fsync(f.fileno())
        f.seek(keep)
        return _Sealer(cipher, f, start_index=index, sync_each_chunk=True, digest=digest)

    @property
    def chunk_size(self) -> int:
        """Plaintext bytes per chunk (taken from the file when resuming)."""
        return self._sealer.chunk_size

    @property
    def committed_bytes(self) -> int:
        """Plaintext bytes durably on disk (whole chunks): where a resumed download
        starts."""
        return self._sealer.index * self._sealer.chunk_size

    @property
    def received_bytes(self) -> int:
        """Plaintext bytes appended so far, the in-memory tail included."""
        return self._sealer.size

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add plaintext; every chunk that fills is sealed and made durable.

        If writing fails (disk full...), the writer is closed: open a new one on the same
        path to resume from what is durably on disk."""
        self._require_open()
        try:
            self._sealer.append(data)
        except BaseException:
            self._close_after_error()
            raise

    def finish(self, dest: Path) -> ObjectInfo:
        """Seal the final chunk and move the object to ``dest`` atomically.

        ``dest`` must be on the same filesystem as the partial file; missing parent
        folders are created 0700. The writer is closed afterwards."""
        f = self._require_open()
        try:
            info = self._sealer.finish()
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            # A half-written final chunk is cut off by the next resume.
            self._close_after_error()
            raise
        self.close()
        _ensure_dir(dest.parent)
        os.replace(self.path, dest)
        fsync_dir(dest.parent)
        if dest.parent != self.path.parent:
            fsync_dir(self.path.parent)
        return info

    def abort(self) -> None:
        """Give up: close and delete the partial file."""
        self.close()
        self.path.unlink(missing_ok=True)
        fsync_dir(self.path.parent)

    def close(self) -> None:
        """Close without finishing; the partial file stays for a later resume. The
        in-memory tail (less than one chunk) is dropped."""
        f, self._file = self._file, None
        if f is not None:
            f.close()

    def _close_after_error(self) -> None:
        # Closing flushes the buffer, which fails again the way the write did; the
        # descriptor is released anyway, and the first error is the one to report.
        with contextlib.suppress(OSError):
            self.close()

    @property
    def closed(self) -> bool:
        """True once finished, aborted or closed."""
        return self._file is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Not abort(): after a network error the partial file is what lets us resume.
        self.close()

    def _require_open(self) -> BinaryIO:
        if self._file is None:
            raise ValueError("this partial object is closed")
        return self._file


# --- internals ---------------------------------------------------------------------------

_O_BINARY: int = getattr(os, "O_BINARY", 0)


def _pack_header(chunk_size: int) -> bytes:
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be in 1..{MAX_CHUNK_SIZE}")
    return _HEADER.pack(MAGIC, FORMAT_VERSION, 0, chunk_size)


def _parse_header(header: bytes) -> int:
    """Check a header and return its chunk size."""
    if len(header) < HEADER_SIZE:
        raise CorruptObject("An encrypted file in the vault is truncated (no header).")
    magic, version, flags, chunk_size = _HEADER.unpack(header)
    if magic != MAGIC:
        raise CorruptObject("A file in the vault is not an encrypted Reviewer object.")
    if version != FORMAT_VERSION or flags != 0:
        raise CorruptObject(
            f"An encrypted file in the vault has an unknown format (version {version})."
        )
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise CorruptObject("An encrypted file in the vault has a damaged header.")
    return int(chunk_size)


class _ChunkCipher:
    """Seals and opens chunks of one object: its key, header and id."""

    def __init__(self, key: bytes, object_id: str, header: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"an object key is {KEY_SIZE} bytes")
        if not object_id:
            raise ValueError("an object needs an id")
        oid = object_id.encode("utf-8")
        self._aead = AESGCM(key)
        self.header = header
        self.chunk_size = _parse_header(header)
        # Length-prefixed so that no (header, id) pair can collide with another.
        self._aad_prefix = header + struct.pack(">I", len(oid)) + oid

    def _aad(self, index: int, final: bool) -> bytes:
        return self._aad_prefix + _CHUNK_POSITION.pack(index, final)

    def seal_into(
        self, index: int, final: bool, plain: bytes | memoryview, out: bytearray
    ) -> memoryview:
        """Seal ``plain`` into ``out`` (at least chunk size + overhead long) and return
        the sealed chunk as a view of it; the buffer is reused chunk after chunk."""
        view = memoryview(out)
        nonce = os.urandom(NONCE_SIZE)
        view[:NONCE_SIZE] = nonce
        end = NONCE_SIZE + len(plain) + TAG_SIZE
        self._aead.encrypt_into(nonce, plain, self._aad(index, final), view[NONCE_SIZE:end])
        return view[:end]

    def open(
        self, index: int, final: bool, sealed: bytes | memoryview, *, count: int | None
    ) -> bytes:
        view = memoryview(sealed)
        try:
            return self._aead.decrypt(view[:NONCE_SIZE], view[NONCE_SIZE:], self._aad(index, final))
        except InvalidTag:
            where = f"chunk {index + 1}" + (f" of {count}" if count is not None else "")
            raise CorruptObject(
                f"An encrypted file in the vault failed its integrity check ({where})."
            ) from None


class _Sealer:
    """Cuts appended plaintext into chunks and writes them sealed, in order."""

    def __init__(
        self,
        cipher: _ChunkCipher,
        f: BinaryIO,
        *,
        start_index: int,
        sync_each_chunk: bool,
        digest: hashlib._Hash | None = None,
        checksum: bool = True,
    ) -> None:
        self._cipher = cipher
        self._f = f
        self._sync = sync_each_chunk
        self.chunk_size = cipher.chunk_size
        self.index = start_index
        if digest is None and checksum:
            digest = hashlib.sha256()
        self._digest = digest
        self._tail = bytearray()
        self._out = bytearray(self.chunk_size + CHUNK_OVERHEAD)
        self.size = start_index * self.chunk_size

    def append(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        if self._digest is not None:
            self._digest.update(view)
        self.size += len(view)
        cs = self.chunk_size
        if self._tail:
            take = cs - len(self._tail)
            self._tail += view[:take]
            view = view[take:]
            if len(self._tail) < cs:
                return
            with memoryview(self._tail) as full:
                self._write(full)
            self._tail.clear()
        # Whole chunks straight from the caller's buffer: no copy for large bytes.
        while len(view) >= cs:
            self._write(view[:cs])
            view = view[cs:]
        self._tail += view

    def finish(self) -> ObjectInfo:
        with memoryview(self._tail) as tail:
            self._f.write(self._cipher.seal_into(self.index, True, tail, self._out))
        self._tail.clear()
        return ObjectInfo(self.size, self._digest.hexdigest() if self._digest else None)

    def _write(self, plain: bytes | memoryview) -> None:
        self._f.write(self._cipher.seal_into(self.index, False, plain, self._out))
        if self._sync:
            self._f.flush()
            os.fsync(self._f.fileno())
        self.index += 1


class _ObjectStream(io.RawIOBase):
    def __init__(self, reader: ObjectReader) -> None:
        super().__init__()
        self._reader = reader
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            base = 0
        elif whence == io.SEEK_CUR:
            base = self._pos
        elif whence == io.SEEK_END:
            base = self._reader.size
        else:
            raise ValueError(f"invalid whence ({whence})")
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._reader.read(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _ensure_dir(path: Path) -> None:
    """Create ``path`` and missing parents with mode 0700 (whatever the umask)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=_DIR_MODE, exist_ok=True)
        _chmod(d, _DIR_MODE)


def _chmod(path: Path, mode: int) -> None:
    # Windows has no POSIX modes; the profile folder's ACL (inherited) protects files.
    if os.name != "nt":
        os.chmod(path, mode)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    if os.name == "nt":
        # Windows cannot open a directory for fsync; NTFS journals the rename itself.
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
