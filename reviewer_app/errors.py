"""Every failure a user can meet, one exception type each.

Each type carries the sentence a specialist (or the IT person helping them) reads in
the app's dialog or on the CLI's stderr, so the wording lives in one place. The CLI
exits with :attr:`ReviewerError.exit_code` (2 for all of these). Messages never carry
patient data: they name files, settings and actions, not people.
"""

from __future__ import annotations


class ReviewerError(Exception):
    """Base of all expected, user-facing failures."""

    exit_code = 2
    #: Short title for a dialog.
    title = "Reviewer could not continue"
    #: What the user can do about it.
    hint = ""

    def __init__(self, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or self.__doc__ or self.title)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0])

    def user_text(self) -> str:
        """The full text for a dialog or the CLI: message, then what to do."""
        return f"{self.message}\n{self.hint}".strip()


# --- profile and vault ------------------------------------------------------------------


class VaultError(ReviewerError):
    """The local vault could not be used."""

    title = "The local vault could not be opened"


class ProfileMissing(VaultError):
    """There is no Reviewer profile in this folder."""

    title = "No profile"
    hint = "Run `reviewer-app profile init` or start the app to set one up."


class ProfileExists(VaultError):
    """A Reviewer profile already exists in this folder."""

    title = "Profile exists"
    hint = "Open it, or choose another folder with --profile."


class ProfileInUse(VaultError):
    """This profile is open in another Reviewer window or process."""

    title = "Profile in use"
    hint = "Close the other Reviewer window first."


class WrongKey(VaultError):
    """The vault key does not open this profile's database."""

    title = "Wrong key"
    hint = (
        "The key in the keyring or the passphrase does not belong to this profile. "
        "Nothing was changed. Check that you use the right profile (--profile), or "
        "restore the keyring entry; resetting the profile erases its local data."
    )


class WrongPassphrase(VaultError):
    """The passphrase is not correct."""

    title = "Wrong passphrase"
    hint = "Try again; after several wrong attempts Reviewer waits longer between tries."


class KeyringEntryMissing(VaultError):
    """The OS keyring has no key for this profile."""

    title = "Key missing from keyring"
    hint = (
        "The keyring works, but this profile's key is not in it (it may have been "
        "deleted, or the profile was copied from another computer). Nothing was "
        "changed. Restore the keyring, or reset the profile to start again."
    )


class KeyringLocked(VaultError):
    """The OS keyring is locked."""

    title = "Keyring locked"
    hint = "Unlock your keyring (log in to your desktop session), then try again."


class KeyringUnavailable(VaultError):
    """No usable OS keyring (Secret Service, Keychain or Credential Manager) answered."""

    title = "Keyring unavailable"
    hint = (
        "Start your desktop's keyring service, or create the profile with a passphrase "
        "instead (`reviewer-app profile init --passphrase-only`)."
    )


class DatabaseCorrupt(VaultError):
    """The vault database is damaged."""

    title = "Vault damaged"
    hint = (
        "The key is right but the database does not read back intact. Nothing was "
        "changed. Keep the folder for support; unsent opinions may still be recoverable."
    )


class DatabaseTooNew(VaultError):
    """This profile was written by a newer version of Reviewer."""

    title = "Profile from a newer Reviewer"
    hint = "Install the newer Reviewer again; this version will not change the profile."


class CorruptObject(VaultError):
    """An encrypted file in the vault failed its integrity check."""

    title = "Damaged file in the vault"
    hint = "The item will be fetched again at the next sync."


class ObjectMissing(VaultError):
    """An item's encrypted file is not in the vault."""

    title = "Missing file in the vault"
    hint = "The item will be fetched again at the next sync."


class LockThrottled(VaultError):
    """Too many wrong passphrases: Reviewer waits before the next attempt."""

    title = "Please wait"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many wrong attempts. Try again in {retry_after:.0f} s.")
        self.retry_after = retry_after
