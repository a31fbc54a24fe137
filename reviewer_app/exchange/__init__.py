"""The client side of the platform contract (docs/exchange.md): sign-in, FHIR, DICOMweb.

Qt-free and synchronous: the sync engine runs it off the UI thread. Modules:
``http`` (TLS, timeouts, error mapping, retry), ``tokens`` (keyring / memory token
stores), ``oauth`` (discovery, PKCE, loopback redirect, token endpoint), ``session``
(bearer tokens with silent refresh, one object per platform), ``fhir`` (FhirClient),
``dicomweb`` (DicomWebClient), ``multipart`` (streaming parser), ``resources``
(untrusted FHIR JSON → domain dataclasses).
"""

from reviewer_app.exchange.dicomweb import DicomWebClient, RetrievedInstance
from reviewer_app.exchange.fhir import CaseSync, FhirClient, ReadResult, SearchPage
from reviewer_app.exchange.http import HttpSettings, RetryPolicy, make_client
from reviewer_app.exchange.session import PlatformSession, TokenAuth
from reviewer_app.exchange.tokens import KeyringTokenStore, MemoryTokenStore, Tokens, TokenStore

__all__ = [
    "CaseSync",
    "DicomWebClient",
    "FhirClient",
    "HttpSettings",
    "KeyringTokenStore",
    "MemoryTokenStore",
    "PlatformSession",
    "ReadResult",
    "RetrievedInstance",
    "RetryPolicy",
    "SearchPage",
    "TokenAuth",
    "TokenStore",
    "Tokens",
    "make_client",
]
