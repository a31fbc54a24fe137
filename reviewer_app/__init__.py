"""Reviewer's core: domain, vault, exchange, sync, imaging, records, labs, opinion, audit.

This package never imports Qt or the ``ui`` package (an import-linter contract and a
Qt-less test run enforce it), so everything here runs headless: in the CLI, in
background workers, and in tests.
"""

__version__ = "0.1.0"
APP_NAME = "Reviewer"
