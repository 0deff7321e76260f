"""The Alembic migrations build exactly the schema the models describe, and downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import coopride.models as models
from coopride.db import alembic_config, init_db, make_engine

API_TABLES = {"signinnonce", "membersession", "tripoffer", "riderequest", "trip", "relayedtransaction", "proposal",
              "application", "idempotencyrecord"}
WORKER_TABLES = {"settlementbatch", "settlementretry"}
DATABASES = ("sqlite", "postgresql")


def test_the_models_package_declares_every_table():
    declared = {m.__tablename__ for m in vars(models).values()
                if isinstance(m, type) and issubclass(m, SQLModel) and getattr(m, "__table__", None) is not None}
    assert declared == API_TABLES | WORKER_TABLES


def test_upgrade_head_matches_the_models(empty_database_url):
    engine = make_engine(empty_database_url)
    init_db(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    ours = [d for d in differences if _table_of(d) in API_TABLES | WORKER_TABLES]
    assert ours == []


def test_downgrade_to_base_and_back(empty_database_url):
    engine = make_engine(empty_database_url)
    init_db(engine)
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    init_db(engine)
    assert set(inspect(engine).get_table_names()) >= API_TABLES | WORKER_TABLES


def test_trip_ids_are_dense_and_never_reused(empty_database_url):
    from sqlmodel import Session

    engine = make_engine(empty_database_url)
    init_db(engine)

    def add() -> int:
        with Session(engine) as session:
            trip = models.Trip(driver="0x" + "1" * 40, region_id=1, distance_metres=1, start_time=1, end_time=2,
                               trace_hash="0x" + "0" * 64)
            session.add(trip)
            session.commit()
            return trip.id

    first, second = add(), add()
    with Session(engine) as session:
        session.delete(session.get(models.Trip, second))
        session.commit()
    assert (first, second, add()) == (1, 2, 3)


def test_a_stored_time_reads_back_as_the_same_instant(database_url, database_kind):
    from sqlmodel import Session

    engine = make_engine(database_url)
    if database_kind == "postgresql":  # a server whose time zone is not UTC
        with engine.connect() as connection:
            connection.exec_driver_sql(f"ALTER DATABASE {engine.url.database} SET TimeZone TO 'Pacific/Auckland'")
            connection.commit()
        engine.dispose()
    with Session(engine) as session:
        trip = models.Trip(driver="0x" + "1" * 40, region_id=1, distance_metres=1, start_time=1, end_time=2,
                           trace_hash="0x" + "0" * 64)
        written = trip.created_at
        session.add(trip)
        session.commit()
        trip_id = trip.id
    with Session(engine) as session:
        assert models.as_utc(session.get(models.Trip, trip_id).created_at) == written
    engine.dispose()


def _table_of(difference) -> str | None:
    item = difference[0] if isinstance(difference, list) else difference
    for part in item:
        name = getattr(part, "name", None) if hasattr(part, "columns") else None
        if name:
            return name
        if isinstance(part, str) and part in API_TABLES | WORKER_TABLES:
            return part
    return None
