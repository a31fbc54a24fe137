"""The profile folder: where a specialist's vault lives on disk, and who may open it.

A profile is one folder (by default under the platform's user-data directory) holding
``profile.json`` (non-secret metadata), the SQLCipher database, encrypted payload
objects, and a ``.lock`` file that admits one process at a time. Folders are created
0700 and files 0600: other local users see nothing, not even file names' contents.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from reviewer_app.errors import DatabaseTooNew, ProfileDamaged, ProfileInUse
from reviewer_app.vault.keystore import KeySource, WrappedKey
from reviewer_app.vault.objects import fsync_dir

DIR_MODE = 0o700
FILE_MODE = 0o600
#: Format of profile.json; a newer number means a newer Reviewer wrote it.
META_FORMAT = 1


class Profile:
    """A profile folder and the paths inside it. Creating the object touches nothing."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()

    @classmethod
    def default(cls) -> Profile:
        """The profile in the platform's per-user data folder."""
        import platformdirs

        return cls(Path(platformdirs.user_data_dir("Reviewer", "Reviewer")) / "profile")

    def __repr__(self) -> str:
        return f"Profile({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    @property
    def meta_path(self) -> Path:
        return self.root / "profile.json"

    @property
    def db_path(self) -> Path:
        return self.root / "vault.db"

    @property
    def objects_dir(self) -> Path:
        return self.root / "objects"

    @property
    def partial_dir(self) -> Path:
        return self.root / "partial"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def lock_path(self) -> Path:
        return self.root / ".lock"

    def exists(self) -> bool:
        """True if the folder holds a profile (its profile.json)."""
        return self.meta_path.is_file()

    def owned_entries(self) -> list[Path]:
        """Every path Reviewer itself creates in the folder (used by reset)."""
        db = self.db_path
        return [
            self.meta_path,
            db,
            db.with_name(db.name + "-wal"),
            db.with_name(db.name + "-shm"),
            db.with_name(db.name + "-journal"),
            self.objects_dir,
            self.partial_dir,
            self.tmp_dir,
            self.logs_dir,
            self.lock_path,
        ]

    def make_dirs(self) -> None:
        """Create the folder and its subfolders, private to the user."""
        make_private_dir(self.root)
        for sub in (self.objects_dir, self.partial_dir, self.tmp_dir, self.logs_dir):
            make_private_dir(sub)

    def disk_usage(self) -> int:
        """Bytes used by all files in the profile folder."""
        total = 0
        for path in self.root.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink():
                    total += path.stat().st_size
        return total


def make_private_dir(path: Path) -> None:
    """mkdir -p with 0700 on every folder created, and 0700 enforced on ``path``."""
    missing = []
    for parent in [path, *path.parents]:
        if parent.exists():
            break
        missing.append(parent)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        os.chmod(folder, DIR_MODE)
    os.chmod(path, DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file (fails if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created meanwhile (e.g. by SQLite) get no group/other permissions."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


# --- profile.json -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileMeta:
    """The non-secret metadata in profile.json."""

    profile_id: str
    key_source: KeySource
    key_check: str
    created: str
    wrapped_key: WrappedKey | None = None
    format: int = META_FORMAT

    @classmethod
    def new(
        cls, key_source: KeySource, key_check: str, wrapped_key: WrappedKey | None = None
    ) -> ProfileMeta:
        """Metadata for a profile created now, with a fresh profile id."""
        return cls(
            profile_id=uuid.uuid4().hex,
            key_source=key_source,
            key_check=key_check,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            wrapped_key=wrapped_key,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": self.format,
            "profile_id": self.profile_id,
            "key_source": self.key_source.value,
            "key_check": self.key_check,
            "created": self.created,
        }
        if self.wrapped_key is not None:
            data["wrapped_key"] = self.wrapped_key.to_json()
        return data

    @classmethod
    def from_json(cls, data: Any) -> ProfileMeta:
        if not isinstance(data, dict):
            raise ProfileDamaged()
        fmt = data.get("format")
        if isinstance(fmt, int) and fmt > META_FORMAT:
            raise DatabaseTooNew()
        try:
            key_source = KeySource(data["key_source"])
            meta = cls(
                profile_id=str(data["profile_id"]),
                key_source=key_source,
                key_check=str(data["key_check"]),
                created=str(data["created"]),
                wrapped_key=(
                    WrappedKey.from_json(data["wrapped_key"])
                    if key_source is KeySource.PASSPHRASE
                    else None
                ),
                format=int(data["format"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileDamaged() from exc
        if len(meta.profile_id) != 32 or len(meta.key_check) != 32:
            raise ProfileDamaged()
        return meta


def read_meta(profile: Profile) -> ProfileMeta:
    """Read profile.json (ProfileDamaged if unreadable)."""
    try:
        raw = profile.meta_path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError as exc:
        raise ProfileDamaged() from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileDamaged() from exc
    return ProfileMeta.from_json(data)


def write_meta(profile: Profile, meta: ProfileMeta) -> None:
    """Replace profile.json atomically (temp file, fsync, rename, fsync folder)."""
    profile.tmp_dir.mkdir(mode=DIR_MODE, exist_ok=True)
    tmp = profile.tmp_dir / f"profile.json.{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(meta.to_json(), handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, profile.meta_path)
    fsync_dir(profile.root)


# --- one process per profile ----------------------------------------------------------


class ProfileLock:
    """An OS lock on ``.lock``: held while a process has the profile open.

    The OS drops it when the process dies, so a crash never leaves a stale lock.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._handle: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock or raise ProfileInUse (never waits)."""
        path = self.profile.lock_path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        handle = os.fdopen(fd, "r+b")
        try:
            _lock_file(handle)
        except OSError:
            handle.close()
            raise ProfileInUse() from None
        self._handle = handle

    def release(self) -> None:
        """Let other processes open the profile."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                _unlock_file(self._handle)
            self._handle.close()
            self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_file(handle: IO[bytes]) -> None:
        # flock locks belong to the open file description, so a second open in the same
        # process conflicts too (two Vaults on one profile in one process are refused).
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
