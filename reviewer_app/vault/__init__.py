"""The encrypted local vault: profile folder, SQLCipher database, payload objects.

Everything a specialist downloads or writes is stored here and only here, encrypted at
rest. See ``/docs`` and ``VAULT_API.md`` for the contract; the names below are the
public API that the UI and the sync engine use.
"""

from reviewer_app.vault.keystore import KeySource, ScryptParams
from reviewer_app.vault.lock import LocalLock
from reviewer_app.vault.profile import Profile
from reviewer_app.vault.store import ObjectRef, ObjectStore, PartialObject
from reviewer_app.vault.vault import (
    ResetResult,
    Vault,
    VaultClosed,
    create_profile,
    open_profile,
    reset_profile,
)

__all__ = [
    "KeySource",
    "LocalLock",
    "ObjectRef",
    "ObjectStore",
    "PartialObject",
    "Profile",
    "ResetResult",
    "ScryptParams",
    "Vault",
    "VaultClosed",
    "create_profile",
    "open_profile",
    "reset_profile",
]
