"""SQLite under contention: transactions that read and then write, from many threads at once, all succeed
(each waits its turn for the write lock instead of failing "database is locked", issue 12)."""

from __future__ import annotations

import threading

from sqlalchemy import text

from coopride.db import make_engine, read_only_transactions

WRITERS = 16
ROUNDS = 10


def test_concurrent_read_then_write_transactions_all_commit(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'contention.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def increment() -> None:
        start.wait()
        for _ in range(ROUNDS):
            try:
                with engine.begin() as connection:
                    value = connection.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
                    connection.execute(text("UPDATE counter SET value = :value WHERE id = 1"), {"value": value + 1})
            except Exception as error:
                failures.append(error)

    threads = [threading.Thread(target=increment) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as connection:
        # Read-modify-write under the write lock: no increment is lost either.
        assert connection.execute(text("SELECT value FROM counter")).scalar_one() == WRITERS * ROUNDS
    engine.dispose()


def test_a_read_only_transaction_does_not_wait_for_a_writer(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'readers.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.begin() as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock until the block ends
        with read_only_transactions(), engine.begin() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0  # its snapshot, at once
    engine.dispose()
