"""Signing an opinion PDF (PAdES B-B, offline) and extending it later (timestamp, CRLs).

Bytes in, bytes out. A signed file is only ever appended to, and only by pyHanko's
incremental writers: after signing, nothing (PyMuPDF included) rewrites it, because any
rewrite changes bytes inside the signed range and breaks the signature.

* :func:`sign_pdf` — PAdES B-B with a visible signature block (name, credentials,
  licence number, date and time) on the last page. Works offline.
* :func:`add_timestamp_and_revocation` — when online: the platform's CRL and the CA
  chain go into the document security store, then an RFC 3161 document timestamp
  covers everything (PAdES B-T via a document timestamp, and B-LT). Both are
  incremental updates; the original signature stays valid (modification level
  ``LTA_UPDATES``).
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fontTools.ttLib import TTFont, TTLibError
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigAuthType, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import add_validation_info
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import RevokedError, ValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from reviewer_app.errors import (
    CertificateRevoked,
    MalformedServerData,
    NotSignedDocument,
    SignatureInvalid,
    SigningError,
)
from reviewer_app.exchange.http import check_status, translate_errors
from reviewer_app.opinion.keys import SigningIdentity, signer_info

FIELD_NAME = "OpinionSignature"
#: Where the signature block goes on the last page, in points from the bottom left.
DEFAULT_BOX = (56, 40, 356, 120)
MD_ALGORITHM = "sha256"
_MAX_TSA_REPLY = 64 * 1024
_MAX_CRL = 8 * 1024 * 1024

# fontTools says at WARNING level which tables it drops while subsetting the block's font
# (e.g. FFTM, a FontForge timestamp): expected, and noise in the log.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
# pyHanko notes at WARNING level that a CFF font has no CID ordering and it assumes the
# identity one, which is what we want.
logging.getLogger("pyhanko.pdf_utils.font.opentype").setLevel(logging.ERROR)

#: Fonts for the signature block, first usable one wins. The app ships its own (Noto Sans
#: subset to Latin, Greek and Cyrillic, CFF outlines; resources/fonts/README.md), so the
#: block looks the same on Windows, macOS and Linux. The PDF's 14 built-in fonts only
#: cover Latin-1, which would garble names such as "Łukasz Żółć"; an embedded (subset)
#: OpenType font does not. pyHanko writes glyph widths in font units, right only for
#: fonts of 1000 units per em (CFF-flavoured .otf); TrueType fonts (2048) come out
#: letter-spaced, so they are skipped. This copy has no layout tables: pyHanko subsets
#: the font at every signature, and that takes a sixth of the time without them.
STAMP_FONTS = (
    Path(__file__).resolve().parents[2] / "resources" / "fonts" / "NotoSans-Signature.otf",
)

STAMP_TEXT = (
    "Digitally signed by %(signer_name)s\n%(credentials)s\nLicence no. %(licence)s\nSigned %(ts)s"
)


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The asn1crypto form pyHanko works with."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True)
class Placement:
    """Where the visible signature block goes."""

    page: int = -1
    box: tuple[int, int, int, int] = DEFAULT_BOX


def _signer(identity: SigningIdentity) -> signers.SimpleSigner:
    der = identity.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=to_asn1(identity.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in identity.chain]),
    )


def _page_count(pdf: bytes) -> int:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return int(reader.root["/Pages"]["/Count"])


def sign_pdf(
    pdf: bytes,
    identity: SigningIdentity,
    *,
    reason: str = "Second opinion",
    placement: Placement = Placement(),
) -> bytes:
    """Sign ``pdf`` with PAdES B-B and a visible signature block; return the new bytes.

    ``identity`` comes from :meth:`SigningKeyStore.unlock` (the specialist just typed the
    passphrase). The input must not be signed yet: a signed opinion is immutable, and
    corrections are addenda (new documents).
    """
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except Exception as exc:
        raise SigningError("The opinion is not a readable PDF file.") from exc
    if writer.prev.embedded_signatures:
        raise SigningError(
            "This document is already signed; a signed opinion cannot change.",
            hint="Write an addendum instead: it is a new document that refers to this one.",
        )
    pages = _page_count(pdf)
    page = placement.page if placement.page >= 0 else pages + placement.page
    info = signer_info(identity.certificate)
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm=MD_ALGORITHM,
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        name=info.name,
        prop_auth_type=SigAuthType.PASSWORD,
        signer_key_usage={"non_repudiation"},
    )
    style = _stamp_style(f"{STAMP_TEXT} {info.name} {info.credentials} {info.licence}")
    pdf_signer = signers.PdfSigner(
        metadata,
        signer=_signer(identity),
        stamp_style=style,
        new_field_spec=SigFieldSpec(FIELD_NAME, on_page=page, box=placement.box),
    )
    out = pdf_signer.sign_pdf(
        writer,
        appearance_text_params={
            "signer_name": info.name,
            "credentials": info.credentials or "-",
            "licence": info.licence or "-",
        },
    )
    return bytes(out.getvalue())


@functools.cache
def _font_characters(path: Path) -> frozenset[int] | None:
    """The code points a usable block font draws; None if it is missing or unusable."""
    try:
        with TTFont(path, lazy=True) as font:
            if font["head"].unitsPerEm != 1000:
                return None
            return frozenset(font.getBestCmap())
    except (OSError, KeyError, TTLibError):
        return None


def _stamp_font(text: str) -> Path | None:
    """The first font that draws every character of ``text``."""
    needed = {ord(c) for c in text if not c.isspace()}
    for path in STAMP_FONTS:
        characters = _font_characters(path)
        if characters is not None and needed <= characters:
            return path
    return None


class _FontFromBytes(GlyphAccumulatorFactory):
    """pyHanko's factory opens the font file and never closes it; this one hands it the
    bytes instead (read once per font)."""

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: Any = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(_font_bytes(self.font_file)),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )


@functools.cache
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def _stamp_style(text: str) -> TextStampStyle:
    """The signature block's look, with an embedded font when one is available."""
    font = _stamp_font(text)
    if font is not None:
        return TextStampStyle(
            stamp_text=STAMP_TEXT,
            timestamp_format="%Y-%m-%d %H:%M %Z",
            text_box_style=TextBoxStyle(font=_FontFromBytes(str(font))),
        )
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        raise SigningError(
            "The signature block needs a font for the characters of the signer's name.",
            hint="Reinstall Reviewer: its font file is missing or lacks these characters.",
        ) from None
    return TextStampStyle(stamp_text=STAMP_TEXT, timestamp_format="%Y-%m-%d %H:%M %Z")


# --- later, online: timestamp and revocation data ---------------------------------------


class HttpTimeStamper(TimeStamper):
    """RFC 3161 over HTTP with our own httpx client (TLS settings, timeouts, errors)."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        super().__init__(include_nonce=True)
        self._client = client
        self._url = url

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """POST the request; the answer is checked by pyHanko (status, imprint, nonce)."""
        with translate_errors():
            response = self._client.post(
                self._url,
                content=req.dump(),
                headers={"Content-Type": "application/timestamp-query"},
            )
        check_status(response)
        if len(response.content) > _MAX_TSA_REPLY:
            raise MalformedServerData("timestamp", "body", "too large")
        try:
            reply = tsp.TimeStampResp.load(response.content)
            reply.native  # noqa: B018 - parse it all now, so damage shows up here
        except (ValueError, TypeError) as exc:
            raise MalformedServerData("timestamp", "body", "not a TimeStampResp") from exc
        return reply


def fetch_crl(client: httpx.Client, url: str) -> bytes:
    """The platform's current CRL (DER)."""
    with translate_errors():
        response = client.get(url)
    check_status(response)
    if len(response.content) > _MAX_CRL:
        raise MalformedServerData("CRL", "body", "too large")
    return bytes(response.content)


def add_timestamp_and_revocation(
    pdf: bytes,
    *,
    timestamper: TimeStamper,
    trust: Sequence[x509.Certificate],
    crls: Sequence[bytes],
) -> bytes:
    """Append validation data (chain and CRLs) and a document timestamp to a signed PDF.

    Two incremental updates written by pyHanko; the bytes of ``pdf`` are kept as they
    are at the start of the result, so the existing signature stays valid.
    """
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_regular_signatures
    if not signatures:
        raise NotSignedDocument()
    context = ValidationContext(
        trust_roots=[to_asn1(c) for c in trust],
        crls=list(crls),
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
    current = io.BytesIO(pdf)
    try:
        for index in range(len(signatures)):
            # Re-read after each update: the writer needs the newest revision.
            embedded = PdfFileReader(current, strict=False).embedded_regular_signatures[index]
            current = add_validation_info(embedded, context)
        stamper = signers.PdfTimeStamper(timestamper)
        out = stamper.timestamp_pdf(
            IncrementalPdfFileWriter(current, strict=False),
            MD_ALGORITHM,
            validation_context=context,
        )
    except RevokedError as exc:
        raise CertificateRevoked() from exc
    except ValidationError as exc:
        raise SignatureInvalid(
            "The signature's certificate could not be validated against the platform CA."
        ) from exc
    result = bytes(out.getvalue())
    if not result.startswith(pdf):
        # Cannot happen with incremental writers; checked because it is the whole point.
        raise SigningError("The signed document would have been rewritten; nothing was saved.")
    return result
