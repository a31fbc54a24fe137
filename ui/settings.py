"""The app's QSettings: window layout, theme and other non-secret UI preferences.

Only layout and preferences live here, never patient data (QSettings is a plain file
or registry entry outside the vault). Settings that belong to the profile's security
(idle minutes, lock throttling) live in the vault instead.
Tests point QSettings at a temp folder (``QSettings.setPath``) before calling this.
"""

from __future__ import annotations

from ui.qt import QSettings

ORGANIZATION = "Reviewer"
APPLICATION = "Reviewer"


def app_settings() -> QSettings:
    """A QSettings for the app, in the default format at the configured path."""
    return QSettings(
        QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )
