"""The Vault: one open profile — its database, objects, local lock, and single writer.

Everything that changes the database goes through :meth:`Vault.write`, which runs the
given function on one dedicated writer thread inside ``BEGIN IMMEDIATE … COMMIT`` (the
way Anki runs collection operations on a single-worker executor). There is no lock
juggling and no "database is locked": readers use their own thread-local connections,
which WAL lets read while the writer writes.

:func:`create_profile` and :func:`open_profile` are the only ways to get a Vault; they
hold the profile lock for the Vault's lifetime and map every failure to one of the
user-facing errors in :mod:`reviewer_app.errors` without deleting or rewriting anything.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from reviewer_app.domain import CaseSummary, parse_date
from reviewer_app.errors import (
    DatabaseCorrupt,
    KeyringEntryMissing,
    KeyringLocked,
    KeyringUnavailable,
    MemoryKeyLost,
    PassphraseRequired,
    ProfileDamaged,
    ProfileExists,
    ProfileFolderNotEmpty,
    ProfileMissing,
    WrongKey,
)
from reviewer_app.vault import database, keystore
from reviewer_app.vault.database import Connection
from reviewer_app.vault.keystore import SCRYPT_DEFAULT, KeySource, ScryptParams
from reviewer_app.vault.lock import LocalLock, check_passphrase_strength, store_verifier
from reviewer_app.vault.migrations import LATEST_VERSION, check_not_too_new, migrate
from reviewer_app.vault.profile import (
    Profile,
    ProfileLock,
    ProfileMeta,
    create_private_file,
    private_umask,
    read_meta,
    write_meta,
)
from reviewer_app.vault.store import ObjectStore

log = logging.getLogger(__name__)
T = TypeVar("T")

WRITER_THREAD_NAME = "vault-writer"


class VaultClosed(RuntimeError):
    """The vault was used after close() (a programming error, not a user-facing one)."""


@dataclass
class _WriteJob:
    fn: Callable[[Connection], Any]
    future: Future[Any]


class Vault:
    """An open profile. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        profile: Profile,
        *,
        meta: ProfileMeta,
        key: bytes,
        writer_conn: Connection,
        profile_lock: ProfileLock,
        schema_version: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = profile
        self.schema_version = schema_version
        self._meta = meta
        self._key = key
        self._profile_lock = profile_lock
        self._closed = False
        self._close_lock = threading.Lock()
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._jobs: queue.SimpleQueue[_WriteJob | None] = queue.SimpleQueue()
        self._writer_conn = writer_conn
        self._writer = threading.Thread(
            target=self._writer_loop, name=WRITER_THREAD_NAME, daemon=True
        )
        self._writer.start()
        self.objects = ObjectStore(self, profile)
        rewrap = self._rewrap if meta.key_source is KeySource.PASSPHRASE else None
        self.lock = LocalLock(self, clock=clock, on_change=rewrap)

    # --- identity -----------------------------------------------------------------------

    @property
    def profile_id(self) -> str:
        return self._meta.profile_id

    @property
    def key_source(self) -> KeySource:
        return self._meta.key_source

    @property
    def created(self) -> str:
        """When the profile was created (UTC, ISO 8601)."""
        return self._meta.created

    @property
    def closed(self) -> bool:
        return self._closed

    # --- writing ------------------------------------------------------------------------

    def write(self, fn: Callable[[Connection], T]) -> Future[T]:
        """Run ``fn(conn)`` on the writer thread in one transaction; returns its future.

        The transaction commits when ``fn`` returns and rolls back if it raises (the
        future then raises the same exception). Keep ``fn`` short: no network, no big
        file work (encrypt payloads before, as ObjectStore.put does).
        """
        future: Future[T] = Future()
        with self._close_lock:
            if self._closed:
                raise VaultClosed("the vault is closed")
            self._jobs.put(_WriteJob(fn, future))
        return future

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        """:meth:`write` and wait for the result (not from the writer thread itself)."""
        if threading.current_thread() is self._writer:
            raise RuntimeError("write_sync() on the writer thread would wait forever")
        return self.write(fn).result()

    def _writer_loop(self) -> None:
        conn = self._writer_conn
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                if not job.future.set_running_or_notify_cancel():
                    continue
                try:
                    result = self._run_transaction(conn, job.fn)
                except BaseException as exc:
                    job.future.set_exception(exc)
                else:
                    job.future.set_result(result)
        finally:
            conn.close()

    @staticmethod
    def _run_transaction(conn: Connection, fn: Callable[[Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(database.DatabaseError):
                    conn.execute("ROLLBACK")
            raise
        return result

    # --- reading ------------------------------------------------------------------------

    def read(self) -> Connection:
        """This thread's read-only connection (created on first use).

        Each statement sees the latest committed state; wrap several in
        ``BEGIN``/``COMMIT`` for one consistent snapshot.
        """
        if self._closed:
            raise VaultClosed("the vault is closed")
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = database.connect(self.profile.db_path, self._key, writer=False)
            with self._readers_lock:
                if self._closed:
                    conn.close()
                    raise VaultClosed("the vault is closed")
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def cases(self) -> list[CaseSummary]:
        """The worklist: every case, pinned first, then by due date."""
        rows = (
            self.read()
            .execute(
                "SELECT case_id, patient_name, patient_sex, patient_birth_date, specialty, "
                "priority, due_date, status, clinical_question, sync_state, pinned "
                "FROM cases ORDER BY pinned DESC, due_date IS NULL, due_date, received_at, case_id"
            )
            .fetchall()
        )
        return [
            CaseSummary(
                case_id=row[0],
                patient_name=row[1] or "",
                patient_sex=row[2] or "",
                patient_birth_date=parse_date(row[3]),
                specialty=row[4] or "",
                priority=row[5] or "",
                due_date=parse_date(row[6]),
                status=row[7] or "",
                clinical_question=row[8] or "",
                sync_state=row[9] or "",
                pinned=bool(row[10]),
            )
            for row in rows
        ]

    def count_cases(self) -> int:
        """Number of cases in the vault."""
        return int(self.read().execute("SELECT count(*) FROM cases").fetchone()[0])

    # --- passphrase mode ----------------------------------------------------------------

    def _rewrap(self, new_passphrase: str) -> str:
        """Wrap the database key under a new passphrase (same scrypt cost as before).

        Returns the new wrapping's id, which the lock stores with the new verifier.
        """
        old = self._meta.wrapped_key
        params = SCRYPT_DEFAULT if old is None else ScryptParams(old.n, old.r, old.p)
        wrapped = keystore.wrap_key(self._key, new_passphrase, params)
        meta = replace(self._meta, wrapped_key=wrapped)
        write_meta(self.profile, meta)
        self._meta = meta
        return wrapped.nonce

    # --- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Finish queued writes, stop the writer thread, close every connection."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        # Readers first, so the writer's connection is the last one: closing it
        # checkpoints the WAL into the database and removes the -wal/-shm files.
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            with contextlib.suppress(database.DatabaseError):
                conn.close()
        self._jobs.put(None)
        if threading.current_thread() is self._writer:
            raise RuntimeError("close() from inside a write would wait forever")
        self._writer.join()
        self._profile_lock.release()

    def __enter__(self) -> Vault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Vault {self.profile.root} {self.key_source.value} {state}>"


# --- creating and opening ---------------------------------------------------------------


def create_profile(
    profile: Profile,
    passphrase: str,
    *,
    key_source: KeySource | None = None,
    key: bytes | None = None,
    scrypt: ScryptParams = SCRYPT_DEFAULT,
    clock: Callable[[], float] = time.time,
) -> Vault:
    """Create a new profile and return it open.

    ``passphrase`` is the specialist's local passphrase (unlocks the app; in passphrase
    mode it also wraps the database key). ``key_source`` None means the OS keyring if a
    usable one answers, else passphrase mode. ``key`` (memory mode only) supplies the
    database key instead of a random one, so the caller can reopen a demo profile.
    ``scrypt`` is the KDF cost; only tests lower it.
    """
    check_passphrase_strength(passphrase)
    if key is not None and key_source is not KeySource.MEMORY:
        raise ValueError("a caller-supplied key is only for memory (demo) profiles")
    if profile.exists():
        raise ProfileExists()
    root = profile.root
    created_root = not root.exists()
    if not created_root and not root.is_dir():
        raise ProfileFolderNotEmpty()
    # Only a logs/ folder may be there already (the app may log before the profile exists).
    preexisting = set() if created_root else set(root.iterdir())
    if preexisting - {profile.logs_dir}:
        raise ProfileFolderNotEmpty()

    with private_umask():
        profile.make_dirs()
    profile_lock = ProfileLock(profile)
    profile_lock.acquire()
    db_key = key if key is not None else keystore.new_db_key()
    meta: ProfileMeta | None = None
    stored_in_keyring = False
    conn: Connection | None = None
    try:
        source = key_source
        if source is None:
            source = KeySource.KEYRING if keystore.keyring_usable() else KeySource.PASSPHRASE
        if source is KeySource.KEYRING:
            meta = ProfileMeta.new(source, keystore.key_check(db_key))
            try:
                keystore.keyring_store(meta.profile_id, db_key)
                stored_in_keyring = True
            except KeyringUnavailable:
                if key_source is not None:
                    raise
                log.warning("keyring unusable at profile creation; using passphrase mode")
                source = KeySource.PASSPHRASE
        if source is KeySource.PASSPHRASE:
            wrapped = keystore.wrap_key(db_key, passphrase, scrypt)
            meta = ProfileMeta.new(source, keystore.key_check(db_key), wrapped)
        elif source is KeySource.MEMORY:
            meta = ProfileMeta.new(source, keystore.key_check(db_key))
        assert meta is not None

        with private_umask():
            create_private_file(profile.db_path)
            conn = database.connect(profile.db_path, db_key, writer=True)
            database.configure_writer(conn)
            version = migrate(conn)
            conn.execute("BEGIN IMMEDIATE")
            wrap_id = meta.wrapped_key.nonce if meta.wrapped_key is not None else None
            store_verifier(conn, passphrase, scrypt, wrap_id)
            conn.execute("COMMIT")
        # profile.json last: until it exists, the folder is not a profile.
        write_meta(profile, meta)
        vault = Vault(
            profile,
            meta=meta,
            key=db_key,
            writer_conn=conn,
            profile_lock=profile_lock,
            schema_version=version,
            clock=clock,
        )
    except BaseException:
        if conn is not None:
            conn.close()
        if stored_in_keyring and meta is not None:
            with contextlib.suppress(Exception):
                keystore.keyring_delete(meta.profile_id)
        _remove_owned(profile, remove_root=created_root, keep=preexisting)
        profile_lock.release()
        raise
    log.info("profile created (%s key)", meta.key_source.value)
    return vault


def _remove_owned(profile: Profile, *, remove_root: bool, keep: set[Path] | None = None) -> None:
    """Delete what Reviewer created in the folder (never other files, nor ``keep``)."""
    import shutil

    for path in profile.owned_entries():
        if keep and path in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if remove_root:
        with contextlib.suppress(OSError):
            profile.root.rmdir()


def _resolve_key(meta: ProfileMeta, passphrase: str | None, key: bytes | None) -> bytes:
    if key is not None:
        return key
    if meta.key_source is KeySource.KEYRING:
        return keystore.keyring_load(meta.profile_id)
    if meta.key_source is KeySource.PASSPHRASE:
        if passphrase is None:
            raise PassphraseRequired()
        assert meta.wrapped_key is not None
        return keystore.unwrap_key(meta.wrapped_key, passphrase)
    raise MemoryKeyLost()


def open_profile(
    profile: Profile,
    *,
    passphrase: str | None = None,
    key: bytes | None = None,
    clock: Callable[[], float] = time.time,
) -> Vault:
    """Open an existing profile.

    Keyring profiles need no passphrase; passphrase profiles need it (WrongPassphrase if
    wrong); memory profiles need ``key``. Errors: ProfileMissing, ProfileDamaged,
    ProfileInUse, WrongKey, WrongPassphrase, KeyringEntryMissing, KeyringLocked,
    KeyringUnavailable, DatabaseCorrupt, DatabaseTooNew. None of them changes a file.
    """
    if not profile.exists():
        if profile.db_path.exists():
            raise ProfileDamaged()
        raise ProfileMissing()
    profile_lock = ProfileLock(profile)
    profile_lock.acquire()
    conn: Connection | None = None
    try:
        meta = read_meta(profile)
        db_key = _resolve_key(meta, passphrase, key)
        if not keystore.key_matches(db_key, meta.key_check):
            raise WrongKey()
        if not profile.db_path.is_file():
            raise DatabaseCorrupt("The vault database file is missing.")
        try:
            conn = database.connect(profile.db_path, db_key, writer=True)
        except database.DatabaseError as exc:
            raise DatabaseCorrupt() from exc
        # Read-only checks first: a refused database is closed untouched.
        version = database.read_user_version(conn)
        check_not_too_new(version)
        database.ensure_healthy(conn)
        try:
            database.configure_writer(conn)
            if version < LATEST_VERSION:
                log.info("migrating vault schema %d -> %d", version, LATEST_VERSION)
            version = migrate(conn)
        except database.DatabaseError as exc:
            raise DatabaseCorrupt() from exc
        vault = Vault(
            profile,
            meta=meta,
            key=db_key,
            writer_conn=conn,
            profile_lock=profile_lock,
            schema_version=version,
            clock=clock,
        )
        conn = None  # the writer thread owns it now
    except BaseException:
        if conn is not None:
            conn.close()
        profile_lock.release()
        raise
    try:
        vault.objects.cleanup()
        wrapped = meta.wrapped_key
        if wrapped is not None and passphrase is not None and vault.lock.wrap_id() != wrapped.nonce:
            # A passphrase change stopped after re-wrapping the key but before the new
            # verifier was stored. Whoever unwrapped the key knows the new passphrase,
            # so the verifier follows it.
            log.warning("local passphrase verifier repaired after an interrupted change")
            vault.lock.reset_to(passphrase, wrapped.nonce)
    except BaseException:
        vault.close()
        raise
    return vault


@dataclass(frozen=True)
class ResetResult:
    """What :func:`reset_profile` did."""

    keyring_entry_removed: bool
    #: Files in the folder that were not Reviewer's and were left alone.
    foreign_files_left: bool


def reset_profile(profile: Profile) -> ResetResult:
    """Erase a profile: its keyring entry and every file Reviewer made in the folder.

    An explicit, destructive action (the CLI asks for ``--yes-erase-local-data``). It
    refuses folders that do not hold a profile (ProfileMissing) and profiles open
    elsewhere (ProfileInUse). Files in the folder that Reviewer did not create stay.
    """
    if not profile.exists() and not profile.db_path.exists():
        raise ProfileMissing()
    profile_lock = ProfileLock(profile)
    profile_lock.acquire()
    removed = False
    try:
        try:
            meta: ProfileMeta | None = read_meta(profile)
        except (ProfileDamaged, ValueError):
            meta = None
        except Exception as exc:  # DatabaseTooNew from a newer format: still erasable
            log.info("reset: profile.json unreadable (%s)", type(exc).__name__)
            meta = None
        if meta is not None and meta.key_source is KeySource.KEYRING:
            try:
                removed = keystore.keyring_delete(meta.profile_id)
            except (KeyringLocked, KeyringUnavailable, KeyringEntryMissing) as exc:
                log.warning("reset: keyring entry not removed (%s)", type(exc).__name__)
        _remove_owned(profile, remove_root=False)
    finally:
        profile_lock.release()
        with contextlib.suppress(FileNotFoundError):
            profile.lock_path.unlink()
    foreign = profile.root.is_dir() and any(profile.root.iterdir())
    if not foreign:
        with contextlib.suppress(OSError):
            profile.root.rmdir()
    return ResetResult(keyring_entry_removed=removed, foreign_files_left=foreign)
