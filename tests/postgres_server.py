"""A real, throwaway PostgreSQL server from Debian's packages: initdb and pg_ctl on loopback, in a temp folder.

As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root), in a folder it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app_fixtures import free_port

POSTGRES_BINARIES = "/usr/lib/postgresql/*/bin"
SERVICE_USER = "postgres"
START_SECONDS = 60


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob(POSTGRES_BINARIES), key=lambda path: int(Path(path).parent.name))
    found = [path for path in found if (Path(path) / "initdb").is_file()]
    return Path(found[-1]) if found else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server on 127.0.0.1 and a free port; yields its SQLAlchemy URL without a database name."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: scripts/setup installs Debian's postgresql")
    root = Path(tempfile.mkdtemp(prefix="mnist-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, SERVICE_USER, SERVICE_USER)
        as_user = ["runuser", "-u", SERVICE_USER, "--"]
    data, port = root / "data", free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True)
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
                    "-t", str(START_SECONDS), "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
