"""The app's QSettings: window layout, theme and other non-secret UI preferences.

Only layout and preferences live here, never patient data (QSettings is a plain file
or registry entry outside the vault). Settings that belong to the profile's security
(idle minutes, lock throttling) live in the vault instead.
Tests point QSettings at a temp folder (``QSettings.setPath``) before calling this.

Central configuration (docs/deployment.md): QSettings falls back to the system-wide
scope for any key the user has not set (``/etc/xdg/Reviewer/Reviewer.conf`` on Linux,
``HKLM\\Software\\Reviewer\\Reviewer`` on Windows, ``/Library/Preferences`` on macOS),
so IT can ship defaults there; and the environment variables in :data:`ENVIRONMENT`,
read at each start by :func:`apply_environment`, override the user's value.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ui.qt import QSettings

log = logging.getLogger(__name__)

ORGANIZATION = "Reviewer"
APPLICATION = "Reviewer"

#: Environment variable → QSettings key. Kept in step with ui/sync_controller.py
#: (platform/…) and ui/imaging/pane.py (imaging/cache_budget_mb).
ENVIRONMENT = {
    "REVIEWER_SERVER_URL": "platform/url",
    "REVIEWER_CA_BUNDLE": "platform/ca_bundle",
    "REVIEWER_IMAGE_CACHE_MB": "imaging/cache_budget_mb",
}


def app_settings() -> QSettings:
    """A QSettings for the app, in the default format at the configured path."""
    return QSettings(
        QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


def _check(variable: str, value: str) -> str | None:
    """Why ``value`` is not usable for ``variable`` (None: it is)."""
    if variable == "REVIEWER_SERVER_URL":
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            return "not an http(s) address"
    elif variable == "REVIEWER_CA_BUNDLE":
        if not Path(value).is_file():
            return "no such file"
    elif variable == "REVIEWER_IMAGE_CACHE_MB" and (not value.isdigit() or int(value) < 16):
        return "not a whole number of MiB (16 or more)"
    return None


def apply_environment(
    settings: QSettings, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Copy the deployment's environment variables into ``settings``; returns what was
    applied (variable → value). A malformed value is logged by name and ignored, so a
    wrong variable never replaces a working setting."""
    environ = os.environ if environ is None else environ
    applied = {}
    for variable, key in ENVIRONMENT.items():
        value = environ.get(variable, "").strip()
        if not value:
            continue
        problem = _check(variable, value)
        if problem is not None:
            log.warning("ignoring %s: %s", variable, problem)
            continue
        settings.setValue(key, value)
        applied[variable] = value
    if applied:
        settings.sync()
    return applied
