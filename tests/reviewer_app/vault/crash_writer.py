"""Child process for the crash test: commits in a loop until it is killed.

``python -m tests.reviewer_app.vault.crash_writer PROFILE`` with the memory-mode key in
the REVIEWER_TEST_KEY environment variable (hex). Each iteration stores an object
(``ObjectStore.put``), sometimes starts a partial download or shreds an older object,
and commits an outbox row naming the object through ``Vault.write``. Only after the
commit has returned does it print the row's sequence number: every number printed is an
acknowledged commit that must survive SIGKILL.
"""

from __future__ import annotations

import os
import random
import sys

from reviewer_app.vault import Profile, open_profile
from reviewer_app.vault.database import Connection


def main() -> None:
    vault = open_profile(Profile(sys.argv[1]), key=bytes.fromhex(os.environ["REVIEWER_TEST_KEY"]))
    row = vault.read().execute("SELECT max(CAST(item_id AS INTEGER)) FROM outbox").fetchone()
    seq = int(row[0] or 0)
    rng = random.Random()
    while True:
        seq += 1
        ref = vault.objects.put(os.urandom(rng.randrange(0, 300_000)), kind="crash-test")
        if seq % 4 == 0:
            partial = vault.objects.begin_partial(None, kind="crash-test")
            partial.append(os.urandom(rng.randrange(0, 1_500_000)))
            partial.close()

        def commit(conn: Connection, seq: int = seq, object_id: str = ref.object_id) -> None:
            conn.execute(
                "INSERT INTO outbox (item_id, kind, object_id, state, attempts, created_at) "
                "VALUES (?, 'crash-test', ?, 'pending', 0, 'now')",
                (str(seq), object_id),
            )
            conn.execute(
                "INSERT INTO audit (at, action, detail) VALUES ('now', 'crash-test', ?)",
                (os.urandom(rng.randrange(10, 3000)).hex(),),
            )

        vault.write(commit).result()
        print(seq, flush=True)
        if seq % 7 == 0:
            # Shred an older object: outbox row marked first, then keys and files go.
            victim = (
                vault.read()
                .execute(
                    "SELECT item_id, object_id FROM outbox WHERE state = 'pending' "
                    "ORDER BY random() LIMIT 1"
                )
                .fetchone()
            )

            def mark(conn: Connection, item: str = victim[0]) -> None:
                conn.execute("UPDATE outbox SET state = 'shredded' WHERE item_id = ?", (item,))

            vault.write_sync(mark)
            vault.objects.shred([victim[1]])


if __name__ == "__main__":
    main()
