""" "Ready for travel": is each case complete offline, and how much disk does it take?"""

from __future__ import annotations

from dataclasses import dataclass

from reviewer_app.vault import Vault


@dataclass(frozen=True)
class ItemError:
    """One item that could not be synced, as shown on its case."""

    kind: str
    ref: str
    message: str
    error_kind: str


@dataclass(frozen=True)
class Readiness:
    """A case's offline state.

    ``complete``: its metadata and every record and image are local and verified.
    ``missing``: items not yet local (pending or failed). ``bytes_on_disk``: plaintext
    size of its stored payloads (the encrypted files are a few bytes per MiB larger).
    """

    case_id: str
    case_key: str | None
    complete: bool
    missing: int
    items: int
    bytes_on_disk: int
    pinned: bool
    errors: tuple[ItemError, ...]


def readiness(vault: Vault) -> dict[str, Readiness]:
    """Every synced case's readiness, by case id."""
    conn = vault.read()
    conn.execute("BEGIN")
    try:
        cases = conn.execute(
            "SELECT s.case_id, s.case_key, s.metadata_state, coalesce(c.pinned, 0) "
            "FROM case_sync s LEFT JOIN cases c ON c.case_id = s.case_id"
        ).fetchall()
        counts = {
            row[0]: (int(row[1]), int(row[2]))
            for row in conn.execute(
                "SELECT case_id, count(*), sum(state != 'done') FROM sync_items "
                "WHERE kind != 'metadata' GROUP BY case_id"
            )
        }
        sizes = {
            row[0]: int(row[1] or 0)
            for row in conn.execute(
                "SELECT i.case_id, sum(o.size) FROM sync_items i JOIN objects o "
                "ON o.object_id = i.object_id WHERE i.state = 'done' GROUP BY i.case_id"
            )
        }
        errors: dict[str, list[ItemError]] = {}
        for case_id, kind, ref, message, error_kind in conn.execute(
            "SELECT case_id, kind, ref, error, error_kind FROM sync_items "
            "WHERE state = 'failed' ORDER BY case_id, phase, seq, ref"
        ):
            errors.setdefault(case_id, []).append(
                ItemError(kind, ref, message or "", error_kind or "")
            )
    finally:
        conn.execute("COMMIT")
    result = {}
    for case_id, case_key, metadata_state, pinned in cases:
        items, missing = counts.get(case_id, (0, 0))
        case_errors = tuple(errors.get(case_id, ()))
        result[case_id] = Readiness(
            case_id=case_id,
            case_key=case_key,
            complete=metadata_state == "done" and missing == 0 and not case_errors,
            missing=missing,
            items=items,
            bytes_on_disk=sizes.get(case_id, 0),
            pinned=bool(pinned),
            errors=case_errors,
        )
    return result
