"""Sealing: the platform's timestamp and revocation data added to a signed opinion
before it leaves the laptop.

A signature made offline (PAdES B-B) says who signed, but only claims when. Once online,
the outbox adds what proves it and keeps it checkable for years: the platform CA's
current CRL with the chain (validation data) and an RFC 3161 document timestamp from the
platform's TSA, as two incremental updates written by pyHanko
(:func:`~reviewer_app.opinion.signing.add_timestamp_and_revocation`). The signed bytes
stay, unchanged, at the start of the new file (checked there), so the signature stays
valid; the sealed file takes the outbox copy's place before the first upload attempt, so
the platform receives one document, sealed. A platform that offers no TSA, or a failure
here, never holds an opinion back: it goes as signed, and the next sync tries again
only for opinions that have not been sent yet.
"""

from __future__ import annotations

import hashlib
import logging

from reviewer_app.errors import ReviewerError
from reviewer_app.exchange import PlatformSession
from reviewer_app.exchange.http import make_client
from reviewer_app.opinion.enrollment import discover_pki
from reviewer_app.opinion.keys import SigningKeyStore
from reviewer_app.opinion.outbox import PDF_KIND, now_stamp, signed_pdf
from reviewer_app.opinion.signing import HttpTimeStamper, add_timestamp_and_revocation, fetch_crl
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

log = logging.getLogger(__name__)


def unsealed(vault: Vault) -> list[tuple[str, str]]:
    """(item id, object id) of the queued documents never sent and not sealed yet."""
    rows = vault.read().execute(
        "SELECT item_id, object_id FROM outbox WHERE state = 'queued' AND attempts = 0 "
        "AND sealed_at IS NULL ORDER BY created_at, rowid"
    )
    return [(str(item), str(obj)) for item, obj in rows.fetchall()]


def seal_queued(vault: Vault, session: PlatformSession) -> list[str]:
    """Seal every queued, never-sent signed document; return the item ids sealed.

    Errors reaching the platform's PKI (discovery, CRL) propagate for the caller to log;
    a document that cannot be sealed is left as signed and the others go on.
    """
    pending = unsealed(vault)
    if not pending:
        return []
    trust = SigningKeyStore(vault).platform_ca()
    if not trust:
        # An imported PKCS#12 identity: the platform's CA is not known to check against.
        log.info("signed opinions not sealed: no platform CA stored")
        return []
    sealed = []
    with make_client(session.settings) as client:
        pki = discover_pki(client, session.fhir_base)
        if pki.tsa is None:
            log.info("signed opinions not sealed: the platform offers no timestamp service")
            return []
        crls = [fetch_crl(client, pki.crl)] if pki.crl else []
        stamper = HttpTimeStamper(client, pki.tsa)
        for item_id, object_id in pending:
            signed = signed_pdf(vault, item_id)
            try:
                whole = add_timestamp_and_revocation(
                    signed, timestamper=stamper, trust=trust, crls=crls
                )
            except ReviewerError as error:
                log.warning("a signed opinion was not sealed: %s", type(error).__name__)
                continue
            if _replace(vault, item_id, object_id, whole):
                sealed.append(item_id)
    return sealed


def _replace(vault: Vault, item_id: str, old_object: str, sealed: bytes) -> bool:
    """Put the sealed file in place of the signed one, if the item is still unsent."""
    ref = vault.objects.put(sealed, kind=PDF_KIND)
    now = now_stamp()

    def write(conn: Connection) -> bool:
        # Only while nobody sent it meanwhile: what the platform may have received must
        # stay the document the outbox keeps.
        changed = conn.execute(
            "UPDATE outbox SET object_id = ?, pdf_sha256 = ?, sealed_at = ?, updated_at = ? "
            "WHERE item_id = ? AND object_id = ? AND state = 'queued' AND attempts = 0 "
            "AND sealed_at IS NULL",
            (ref.object_id, hashlib.sha256(sealed).hexdigest(), now, now, item_id, old_object),
        )
        return bool(changed.rowcount == 1)

    try:
        replaced = vault.write_sync(write)
    except BaseException:
        vault.objects.shred([ref.object_id])
        raise
    # The signed bytes live on, unchanged, at the start of the sealed file.
    vault.objects.shred([old_object] if replaced else [ref.object_id])
    return replaced
