"""The offline sync engine: brings each Case the specialist owns into the vault.

Qt-free; the UI runs :class:`reviewer_app.sync.engine.SyncEngine` on a worker thread and
forwards its events (:mod:`reviewer_app.sync.events`) as signals. Kept import-free here
because the vault's migrations import :mod:`reviewer_app.sync.schema`.
"""
