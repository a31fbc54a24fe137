"""Reviewer's Qt layer: windows, Qt models and views, background operations.

Everything here imports Qt through :mod:`ui.qt`. Data comes from the Qt-free core
(``reviewer_app``); background work runs through :mod:`ui.operations`; views learn
about changes from :mod:`ui.notifier`. :mod:`ui.app` starts it all (``main.py``).
"""
