"""A private PostgreSQL server for one test run: its own data folder, a free port on 127.0.0.1, no fsync.

Tests get databases cloned from one migrated template (`CREATE DATABASE ... TEMPLATE`), which is far
quicker than migrating each. The server binaries come from the machine (Debian's `postgresql` package,
which `scripts/setup.sh` installs where it is missing); as root, the server runs as the `postgres` user,
since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from coopride.runner import free_port

SUPERUSER = "postgres"


def server_bindir() -> Path:
    """The folder holding `initdb` and `pg_ctl`: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise RuntimeError("no PostgreSQL server found (initdb, pg_ctl): `make setup` installs Debian's postgresql, "
                       "or install it yourself; the PostgreSQL variants of the backend tests need it")


class PostgresCluster:
    def __init__(self) -> None:
        self.bindir = server_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="coopride-pg-"))
        self.data_dir = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        self._names = itertools.count()

    def _run(self, *command: str) -> None:
        argv = [str(self.bindir / command[0]), *command[1:]]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr or result.stdout}")

    def start(self) -> PostgresCluster:
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new, empty database (or a copy of `template`); returns its SQLAlchemy URL."""
        name = f"coopride_{next(self._names)}"
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                clause = f" TEMPLATE {template}" if template else ""
                connection.execute(text(f"CREATE DATABASE {name}{clause}"))
        finally:
            admin.dispose()
        return self.url(name)
