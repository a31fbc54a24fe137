"""``--demo``'s platform: the reference server, in this process, signed in without a browser.

Registered in :data:`ui.demo.POPULATE_HOOKS`: on a background thread it starts
``demo_server`` on a free loopback port with synthetic cases (its storage inside the
demo's temp folder, so quitting erases it too), and signs in with the demo account
through the real OAuth flow, with :func:`demo_browser` standing in for the system
browser. The tokens stay in memory. It then enrolls a signing certificate with the
server's CA (a key made here, a real CSR over EST), kept under the demo passphrase, so
signing an opinion works at once in the demo. The shell then points the regular sync controller
at it, so the worklist fills while images keep arriving, exactly as with a real platform.

DEMO ONLY: :func:`demo_browser` types the demo account's published password into the
reference server's login form. A real sign-in always goes through the specialist's
browser, and Reviewer never sees a password.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from reviewer_app.errors import SignInFailed
from reviewer_app.exchange import MemoryTokenStore, PlatformSession
from ui.demo import POPULATE_HOOKS, DemoSession

log = logging.getLogger(__name__)

DEMO_CASES = 12
DEMO_SEED = 1
#: Slices per CT series. The server renders each instance on first request (one at a
#: time), so the full 220 would keep the first sync busy for over a minute; with 60 the
#: whole demo (12 cases, ~640 instances, ~175 MB) is local in about 20 s, and the
#: worklist is filled after about one second of it (measured on a 2-core box).
DEMO_CT_SLICES = 60
DEMO_USER = "dr.demo"
DEMO_PASSWORD = "demo"  # the reference server's published demo account (docs/exchange.md)


@dataclass
class DemoPlatform:
    """The running reference server and the demo's tokens for it."""

    server: Any
    store: MemoryTokenStore

    @property
    def fhir_base(self) -> str:
        return str(self.server.fhir_base)

    def stop(self) -> None:
        """Stop the server (its storage goes with the demo folder)."""
        self.server.stop()


def demo_browser(authorize_url: str) -> None:
    """Stand-in for the system browser, for the demo only: loads the reference server's
    login form, submits the demo account, and follows the redirect to Reviewer's
    loopback listener (which is already waiting, so this can run synchronously)."""
    split = urlsplit(authorize_url)
    params = dict(parse_qsl(split.query, keep_blank_values=True))
    form_url = f"{split.scheme}://{split.netloc}{split.path}"
    with httpx.Client(timeout=30) as browser:
        page = browser.get(authorize_url)
        if page.status_code != 200:
            raise SignInFailed("The demo platform's sign-in page did not load.")
        answer = browser.post(
            form_url, data={**params, "username": DEMO_USER, "password": DEMO_PASSWORD}
        )
        if answer.status_code != 302 or "location" not in answer.headers:
            raise SignInFailed("The demo platform did not accept the demo account.")
        browser.get(answer.headers["location"])


def enroll_signer(platform: PlatformSession, vault: Any, passphrase: str) -> None:
    """Get the demo specialist's signing certificate from the demo platform and keep its
    key under ``passphrase``. A failure leaves the demo usable (without a certificate:
    signing then offers the set-up)."""
    from reviewer_app.errors import ReviewerError
    from reviewer_app.opinion.enrollment import enroll
    from reviewer_app.opinion.keys import SigningKeyStore, new_private_key

    key = new_private_key()
    try:
        result = enroll(platform, key, common_name=DEMO_USER)
        SigningKeyStore(vault).store(
            key, list(result.chain), passphrase, platform_ca=list(result.platform_ca)
        )
    except ReviewerError as error:
        log.warning("demo signing certificate not enrolled: %s", type(error).__name__)


def start_platform(session: DemoSession, vault: Any) -> None:
    """POPULATE hook: start the reference server and sign in (background thread)."""
    from demo_server.server import start

    server = start(
        port=0,
        cases=DEMO_CASES,
        seed=DEMO_SEED,
        storage=session.folder / "platform",
        ct_slices=DEMO_CT_SLICES,
    )
    try:
        store = MemoryTokenStore()
        with PlatformSession(server.fhir_base, store) as platform:
            platform.sign_in(open_browser=demo_browser, timeout=30)
            enroll_signer(platform, vault, session.passphrase)
    except BaseException:
        server.stop()
        raise
    session.platform = DemoPlatform(server, store)
    log.info("demo platform running on a loopback port")


def register() -> None:
    """Add :func:`start_platform` to the demo's fill-in steps (once)."""
    if start_platform not in POPULATE_HOOKS:
        POPULATE_HOOKS.append(start_platform)
