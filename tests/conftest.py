"""Suite-wide settings: offscreen Qt by default, and the strict ini keys of pytest-qt.

The core tests run with pytest-qt disabled (``-p no:pytest-qt``, see ``run_suite.py``);
its ini keys are registered here then, so ``--strict-config`` still holds.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not (pluginmanager.has_plugin("pytest-qt") or pluginmanager.has_plugin("pytestqt")):
        parser.addini("qt_api", "pytest-qt is disabled in this run")
        parser.addini("qt_log_level_fail", "pytest-qt is disabled in this run")
        parser.addini("qt_log_ignore", "pytest-qt is disabled in this run", type="linelist")
