"""Suite-wide settings and fixtures.

Hypothesis runs derandomised (the same examples every run, so CI is
reproducible) and without per-example deadlines (timing belongs to the
benchmarks, and the 2-core machine may be busy).

``postgres_url`` (session) is a SQLAlchemy URL of a live PostgreSQL database:
``VOLRESEARCH_TEST_POSTGRES_URL`` when set, otherwise a throwaway server the
fixture starts itself from the PostgreSQL server binaries (``initdb``,
``pg_ctl``; on ``PATH`` or in Debian's ``/usr/lib/postgresql/*/bin``), in a
temporary folder, on a free loopback port, stopped and deleted at the end of
the session.  Tests using it skip only when no server binary can be found.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("volresearch", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("volresearch")

POSTGRES_ENV = "VOLRESEARCH_TEST_POSTGRES_URL"
POSTGRES_DATABASE = "volresearch_test"
POSTGRES_ROLE = "volresearch"


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path))


def find_postgres_bin() -> Path | None:
    """Folder holding ``initdb`` and ``pg_ctl``: ``PATH`` first, then the newest Debian cluster version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        folder = Path(os.path.realpath(on_path)).parent
        if (folder / "pg_ctl").exists():
            return folder
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key, reverse=True):
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """Unprivileged account to run the server as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL")


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--", *argv]
    return ["su", user, "-s", "/bin/sh", "-c", subprocess.list2cmdline(argv)]


def _run(argv: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        raise RuntimeError(f"PostgreSQL {what} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary folder, listening on 127.0.0.1:``port``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix="volresearch-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def start(self) -> str:
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", POSTGRES_ROLE, "--auth=trust"]
        _run(_as_user(self.user, [*initdb, "-E", "UTF8", "--locale=C", "--no-sync"]), "initdb")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options]
        _run(_as_user(self.user, [*pg_ctl, "-w", "-t", "60", "start"]), "start", self.log)
        self._create_database()
        return f"postgresql+psycopg://{POSTGRES_ROLE}@127.0.0.1:{self.port}/{POSTGRES_DATABASE}"

    def _create_database(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(
            f"postgresql+psycopg://{POSTGRES_ROLE}@127.0.0.1:{self.port}/postgres", isolation_level="AUTOCOMMIT"
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with engine.connect() as conn:
                        conn.execute(text(f"CREATE DATABASE {POSTGRES_DATABASE}"))
                    return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            engine.dispose()

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
                subprocess.run(_as_user(self.user, pg_ctl), capture_output=True, timeout=60, check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a live, empty-at-start PostgreSQL database for this test session."""
    external = os.environ.get(POSTGRES_ENV)
    if external:
        yield external
        return
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binary (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: "
            f"install Debian's postgresql package or set {POSTGRES_ENV}"
        )
    server = ThrowawayPostgres(bindir)
    try:
        url = server.start()
    except BaseException:
        server.stop()
        raise
    try:
        yield url
    finally:
        server.stop()
