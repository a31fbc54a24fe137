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


class ProfileDamaged(VaultError):
    """This profile's settings file (profile.json) is missing or damaged."""

    title = "Profile damaged"
    hint = (
        "Nothing was changed. Keep the folder for support; if it cannot be repaired, "
        "`reviewer-app profile reset --yes-erase-local-data` starts again."
    )


class ProfileFolderNotEmpty(VaultError):
    """The folder chosen for a new profile already holds other files."""

    title = "Folder not empty"
    hint = "Choose an empty or new folder with --profile."


class PassphraseRequired(VaultError):
    """This profile is protected by a passphrase, and none was given."""

    title = "Passphrase needed"
    hint = "Enter the profile's passphrase (on the CLI: type it, or use --passphrase-stdin)."


class MemoryKeyLost(VaultError):
    """This demo profile kept its key only in memory, so it cannot be opened again."""

    title = "Demo profile closed"
    hint = "Start a new demo; demo profiles are thrown away when Reviewer closes."


# --- exchange with the platform (FHIR, DICOMweb, sign-in) -----------------------------------


class ExchangeError(ReviewerError):
    """The exchange with the platform failed."""

    title = "Exchange with the platform failed"


class ServerUnreachable(ExchangeError):
    """The platform could not be reached (offline, refused, or timed out)."""

    title = "Offline"
    hint = "Your work stays on this computer; Reviewer tries again when the connection is back."


class TLSFailure(ExchangeError):
    """The platform's certificate could not be verified, so Reviewer did not connect."""

    title = "Secure connection failed"
    hint = (
        "Check the computer's date and time. If your platform uses its own certificate "
        "authority, set its CA bundle in the settings; ask your IT team for the file."
    )


class InsecureServerAddress(ExchangeError):
    """The platform address does not use https."""

    title = "Insecure platform address"
    hint = "Use the platform's https:// address; plain http is allowed only on this computer."


class ServerError(ExchangeError):
    """The platform answered with an error."""

    title = "The platform reported an error"
    hint = "Reviewer tries again later; your work stays on this computer."

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"The platform answered with HTTP status {status}.")
        self.status = status
        #: Seconds the server asked us to wait (Retry-After), if it said.
        self.retry_after = retry_after


class SignInRequired(ExchangeError):
    """Your session with the platform has ended; please sign in again."""

    title = "Sign in again"
    hint = "Nothing on this computer was lost; unsent work is sent after you sign in."


class SignInFailed(ExchangeError):
    """Signing in to the platform did not complete."""

    title = "Sign-in failed"
    hint = "Try again. If it keeps failing, ask the platform's support."


class VersionConflict(ExchangeError):
    """The case changed on the platform since Reviewer last read it."""

    title = "Case changed on the platform"
    hint = "Reviewer fetches the new version; your opinion is kept and can be sent again."


class MalformedServerData(ExchangeError):
    """The platform sent data Reviewer cannot use."""

    title = "Unusable data from the platform"
    hint = "The item was not stored. Please tell the platform's support."

    def __init__(self, resource: str, field: str, reason: str) -> None:
        # Only names and reasons, never values: values may be patient data.
        super().__init__(f"The platform sent an unusable {resource} ({field}: {reason}).")
        self.resource = resource
        self.field = field
        self.reason = reason


class HashMismatch(ExchangeError):
    """A downloaded file does not match its checksum; it was not stored."""

    title = "Damaged download"
    hint = "The file is fetched again at the next sync."


class SizeLimitExceeded(ExchangeError):
    """A file from the platform is larger than Reviewer accepts; it was not downloaded."""

    title = "File too large"
    hint = "The limit is in the settings; ask the platform's support about the file."

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(
            f"A {what} of {size} bytes is larger than the limit of {limit} bytes; "
            "it was not downloaded."
        )
        self.size = size
        self.limit = limit


class NotDicom(ExchangeError):
    """An image from the platform is not a DICOM file; it was not stored."""

    title = "Not a DICOM image"
    hint = "Please tell the platform's support."


class PassphraseTooShort(VaultError):
    """The new passphrase is too short."""

    title = "Passphrase too short"
    hint = "Use at least 8 characters; a short sentence is easy to remember and hard to guess."


class PassphraseMismatch(VaultError):
    """The two passphrases typed do not match."""

    title = "Passphrases differ"
    hint = "Type the same passphrase twice."


class EraseNotConfirmed(VaultError):
    """Resetting a profile erases its local data and needs explicit confirmation."""

    title = "Not confirmed"
    hint = (
        "Unsent opinions and drafts in this profile would be lost. If you are sure, add "
        "--yes-erase-local-data."
    )


# --- images -------------------------------------------------------------------------------


class UndecodableImage(ReviewerError):
    """This image cannot be shown."""

    title = "Image cannot be shown"

    def __init__(self, reason: str) -> None:
        # One line, no hint: the CLI prints it as is, the viewer shows it in the image's
        # place. The reason names the file's encoding or damage, never its contents.
        super().__init__(f"This image cannot be shown: {reason}.")
        self.reason = reason


# --- review workspace ---------------------------------------------------------------------


class CaseNotFound(VaultError):
    """This case is no longer in the local vault."""

    title = "Case not found"
    hint = (
        "It may have been withdrawn, reassigned or removed after its retention period. "
        "Refresh the worklist."
    )


# --- records (PDF documents) ----------------------------------------------------------------


class UnreadableRecord(ReviewerError):
    """This record cannot be shown."""

    title = "Record cannot be shown"
    hint = "Ask the referring team to send the document again."


class EncryptedDocument(UnreadableRecord):
    """This record is password-protected, so Reviewer cannot show it."""

    title = "Password-protected record"
    hint = "Ask the referring team to send it again without a password."


class DamagedDocument(UnreadableRecord):
    """This record is damaged: its PDF file cannot be read."""

    title = "Damaged record"


class EmptyDocument(UnreadableRecord):
    """This record is empty: its PDF file has no pages."""

    title = "Empty record"


class NotAPdf(UnreadableRecord):
    """This record is not a PDF file, so Reviewer cannot show it."""

    title = "Not a PDF"


class NothingToImport(ReviewerError):
    """A folder chosen for import holds no DICOM image Reviewer can add to the case."""

    title = "Nothing to import"
    hint = (
        "Choose the folder of the CD or USB stick (the one with DICOMDIR), or a folder "
        "that contains DICOM files."
    )


# --- opinion signing ------------------------------------------------------------------------


class SigningError(ReviewerError):
    """The opinion could not be signed."""

    title = "Signing failed"


class SigningKeyMissing(SigningError):
    """No signing certificate is set up in this profile."""

    title = "No signing certificate"
    hint = "Enroll for a signing certificate with the platform, or import a PKCS#12 file."


class InvalidSigningCertificate(SigningError):
    """The signing certificate cannot be used."""

    title = "Unusable signing certificate"
    hint = "Enroll again with the platform, or import another PKCS#12 file."


class NotAPkcs12File(SigningError):
    """The file could not be opened as a PKCS#12 certificate file with this password."""

    title = "Certificate file not opened"
    hint = "Check the file's password; the file must be a .p12 or .pfx with the private key."


class EnrollmentFailed(SigningError):
    """The platform did not issue a signing certificate."""

    title = "Enrollment failed"
    hint = "Nothing was stored; try again later or ask the platform's support."


class SignatureInvalid(ReviewerError):
    """The document's signature is not valid."""

    title = "Signature not valid"
    hint = "Do not rely on this document; ask the sender for the original signed file."


class NotSignedDocument(SignatureInvalid):
    """The document carries no signature."""

    title = "Not signed"


class CertificateRevoked(SignatureInvalid):
    """The signing certificate has been revoked by the platform."""

    title = "Certificate revoked"
    hint = "Enroll for a new signing certificate; documents signed with this one are not valid."


# --- opinion drafts and outbox ----------------------------------------------------------------


class DraftVersionMissing(VaultError):
    """That saved version of the opinion draft does not exist."""

    title = "Version not found"
    hint = "Choose one of the versions listed in the draft's history."


class OpinionAlreadyQueued(ReviewerError):
    """An opinion for this case is already waiting to be sent."""

    title = "Opinion already in the outbox"
    hint = "Wait until it is sent, or resolve its conflict, before signing another one."


# --- opinion evidence, addenda and finishing ----------------------------------------------------


class CitationMissing(ReviewerError):
    """This citation is no longer in the vault."""

    title = "Citation not found"
    hint = "The case may have been removed from this computer; cite the view again."


class InvalidCitation(ReviewerError):
    """This citation cannot be stored: its reference, view or image is not valid."""

    title = "Citation not stored"
    hint = "Nothing was changed; try citing the view again."


class AddendumNotAllowed(ReviewerError):
    """An addendum can only follow a signed opinion, one draft at a time."""

    title = "Addendum not possible"
    hint = "Sign the opinion first, or finish the draft that is open for this case."


class DraftSigned(ReviewerError):
    """This opinion is signed and can no longer change."""

    title = "Opinion signed"
    hint = "Corrections and follow-up answers go in an addendum."


class IncompleteOpinion(ReviewerError):
    """The opinion is not complete, so it was not signed."""

    title = "Opinion incomplete"

    def __init__(self, missing: list[str]) -> None:
        # The findings name sections and question numbers, never their text.
        super().__init__(
            "The opinion is not complete: " + " ".join(missing),
            hint="Complete what is listed, then sign again.",
        )
        self.missing = tuple(missing)


class ExportFailed(ReviewerError):
    """The signed opinion could not be written to the chosen place."""

    title = "Export failed"
    hint = "Choose another folder (check that it exists and that you may write there)."


class LetterheadInvalid(ReviewerError):
    """The letterhead folder is not usable: letterhead.json is missing or not valid."""

    title = "Letterhead not usable"
    hint = (
        "Check the letterhead folder set by the platform (letterhead.json and its PNG logo), "
        "or remove the setting to use the built-in letterhead."
    )
