"""`coopride run`'s modes: SQLite in one process, or PostgreSQL with several API processes and one settlement worker."""

from __future__ import annotations

import pytest

from coopride.config import Settings
from coopride.runner import StackError, check_mode, describe_mode

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/coopride"


def test_workers_come_from_the_environment():
    assert Settings.from_env({}).api_workers == 1
    assert Settings.from_env({"COOPRIDE_API_WORKERS": "4"}).api_workers == 4
    assert Settings.from_env({"COOPRIDE_API_WORKERS": "4"}, api_workers=2).api_workers == 2  # the flag wins
    assert Settings(api_workers=3).to_env()["COOPRIDE_API_WORKERS"] == "3"  # handed to the API processes
    with pytest.raises(ValueError):
        Settings.from_env({"COOPRIDE_API_WORKERS": "0"})


def test_modes_are_named():
    assert describe_mode(Settings()) == "SQLite, single process (API + embedded settlement worker)"
    assert describe_mode(Settings(database_url=POSTGRES)) == (
        "PostgreSQL, single process (API + embedded settlement worker)"
    )
    assert describe_mode(Settings(database_url=POSTGRES, api_workers=2)) == (
        "PostgreSQL, 2 API processes + 1 settlement worker process"
    )


def test_several_processes_need_postgresql():
    check_mode(Settings(database_url=POSTGRES, api_workers=4))
    check_mode(Settings(api_workers=1))
    with pytest.raises(StackError, match="needs PostgreSQL"):
        check_mode(Settings(api_workers=2))
