"""Backups of the hall database and their restore (``onevisit backup`` / ``onevisit restore``).

One backup is one file, ``onevisit-<engine>-<UTC time>-schema-<revision>.tar.gz``, holding
``manifest.json`` (engine, schema revision, time, SHA-256 and size of the database inside, counts)
and the database itself: on SQLite a copy taken with the sqlite3 online-backup API, on PostgreSQL a
``pg_dump -Fc`` archive. Beside it ``<file>.sha256`` (the ``sha256sum`` format) lets anyone check a
copy on another disk with ``sha256sum -c``; restore checks both when the side file is there and the
inner checksum always, plus gzip's own CRC — a truncated or altered file is refused before anything
is touched.

SQLite copy while kiosks issue and clerks call: ``Connection.backup`` copies every page in one step
inside one read transaction; in WAL mode that reader never blocks a writer, and the copy is the
database as of one commit (a step-wise copy would restart on every write and might never end).

Restore goes to a side file (SQLite) or a scratch database (PostgreSQL); only when the checksum,
``PRAGMA integrity_check`` / ``pg_restore`` and the forward migration have all passed does it take
the place of the live one, which is kept beside it (``…before-restore-<time>``). It refuses while a
server runs on the database: every server process holds a shared ``flock`` on ``<database>.serverlock``
(SQLite) or ``<instance>/server.lock`` (PostgreSQL) for its whole life — the kernel drops it when the
process dies, even by ``kill -9``, so no stale pid file can block a restore — and restore needs it
exclusively. On PostgreSQL it also refuses while any other session is connected to the database.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from hall_queue.infrastructure.migrate import known_revisions, schema_head  # noqa: F401 - schema_head re-exported

MANIFEST = "manifest.json"
FORMAT = 1
PREFIX = "onevisit-"
SUFFIX = ".tar.gz"
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why, for the hall's IT person."""


class NoDatabase(BackupError):
    """There is no database at the configured place (nothing to back up, nowhere to audit)."""


@dataclass
class Summary:
    """What a database holds: shown after a backup, a verify and a restore."""

    revision: str | None
    halls: int = 0
    tickets: int = 0
    cases: int | None = None  # None: this schema has no cases table
    first_ticket: str | None = None
    last_ticket: str | None = None

    def lines(self) -> list[str]:
        out = [f"schema revision: {self.revision}", f"halls: {self.halls}", f"tickets: {self.tickets}"]
        if self.cases is not None:
            out.append(f"cases: {self.cases}")
        if self.first_ticket:
            out.append(f"tickets issued from {self.first_ticket} to {self.last_ticket} (UTC)")
        return out


@dataclass
class BackupResult:
    path: Path
    sha256: str
    size: int
    summary: Summary
    pruned: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------- engines, names, schema


def engine_of(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(f"backups support SQLite and PostgreSQL, not {url.split(':', 1)[0]}")


def sqlite_path(url: str) -> Path:
    path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(path)


def _revision(conn) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def summarize(url: str) -> Summary:
    """Count halls, tickets and cases (when that table exists) and the tickets' date range."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            s = Summary(revision=_revision(conn))
            if "halls" in tables:
                s.halls = conn.execute(text("SELECT count(*) FROM halls")).scalar() or 0
            if "tickets" in tables:
                row = conn.execute(text("SELECT count(*), min(issued_at), max(issued_at) FROM tickets")).one()
                s.tickets = row[0] or 0
                s.first_ticket, s.last_ticket = (str(row[1])[:19] if row[1] else None), (str(row[2])[:19] if row[2] else None)
            if "cases" in tables:
                s.cases = conn.execute(text("SELECT count(*) FROM cases")).scalar() or 0
            return s
    finally:
        engine.dispose()


def backup_name(engine: str, now: datetime, revision: str | None) -> str:
    return f"{PREFIX}{engine}-{now:%Y%m%d-%H%M%S}Z-schema-{revision or 'none'}{SUFFIX}"


def list_backups(directory: Path) -> list[Path]:
    """This tool's backups in ``directory``, oldest first (the name sorts by time within one engine)."""
    if not directory.is_dir():
        return []
    files = [p for p in directory.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX) and p.is_file()]
    return sorted(files, key=lambda p: (p.name.split("-", 2)[2], p.name))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- the server lock


def lock_path(url: str, instance: Path) -> Path:
    if engine_of(url) == "sqlite":
        p = sqlite_path(url)
        return p.with_name(p.name + ".serverlock")
    return instance / "server.lock"


class ServerLock:
    """Held (shared) by every process serving the database; a restore needs it exclusively."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def hold_shared(self) -> ServerLock:
        """Take the lock for this process's life; waits while a restore is running."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        return self

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock alone for a restore, or raise ``BackupError`` when a server holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BackupError("a OneVisit server is running on this database (it holds "
                                  f"{self.path}); stop it first, e.g. `systemctl stop onevisit-server "
                                  "onevisit-duties`") from None
            yield
        finally:
            os.close(fd)


# ---------------------------------------------------------------- taking a backup


def take_backup(url: str, dest: Path, *, now: datetime, keep: int | None = None) -> BackupResult:
    """Write one backup of the database at ``url`` into ``dest``; keep the newest ``keep`` of them."""
    engine = engine_of(url)
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".onevisit-backup-", dir=dest))
    try:
        if engine == "sqlite":
            inner, inner_name = _copy_sqlite(url, work), "onevisit.db"
        else:
            inner, inner_name = _dump_postgres(url, work), "onevisit.pgdump"
        summary = summarize(f"sqlite:///{inner}") if engine == "sqlite" else summarize(url)
        manifest = {"format": FORMAT, "engine": engine, "created_at": now.isoformat(timespec="seconds") + "Z",
                    "revision": summary.revision, "file": inner_name, "size": inner.stat().st_size,
                    "sha256": _sha256_file(inner), "summary": asdict(summary)}
        target = dest / backup_name(engine, now, summary.revision)
        stamp = now
        while target.exists():  # two backups within one second: the later one is named a second on
            stamp += timedelta(seconds=1)
            target = dest / backup_name(engine, stamp, summary.revision)
        partial = work / target.name
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(inner, arcname=inner_name)
        digest = _sha256_file(partial)
        os.chmod(partial, 0o600)  # encrypted ID numbers and keyed hashes inside: for the service account only
        os.replace(partial, target)  # appears whole or not at all
        target.with_name(target.name + ".sha256").write_text(f"{digest}  {target.name}\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pruned = prune(dest, keep) if keep else []
    return BackupResult(target, digest, target.stat().st_size, summary, pruned)


def _copy_sqlite(url: str, work: Path) -> Path:
    source = sqlite_path(url)
    if not source.exists():
        raise NoDatabase(f"no database at {source} (check DATABASE_URL / ONEVISIT_INSTANCE)")
    copy = work / "onevisit.db"
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # all pages in one step: one consistent read transaction (see module docstring)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        _check_integrity(dst)
    finally:
        dst.close()
        src.close()
    return copy


def _check_integrity(conn: sqlite3.Connection) -> None:
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"the database inside is damaged: {e}") from None
    if rows != [("ok",)]:
        raise BackupError("the database inside is damaged: " + "; ".join(r[0] for r in rows[:5]))


def _pg_env(url: str) -> tuple[dict[str, str], str]:
    u = make_url(url)
    env = {**os.environ, "PGHOST": u.host or "localhost", "PGPORT": str(u.port or 5432), "PGDATABASE": u.database or ""}
    if u.username:
        env["PGUSER"] = u.username
    if u.password:
        env["PGPASSWORD"] = u.password  # never on the command line (ps would show it)
    return env, u.database or ""


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BackupError(f"{tool} is not on PATH: PostgreSQL backups need the PostgreSQL client tools of the "
                          "server's major version (Debian/Ubuntu: `apt-get install postgresql-client`)")
    return path


def _dump_postgres(url: str, work: Path) -> Path:
    out = work / "onevisit.pgdump"
    env, _ = _pg_env(url)
    run = subprocess.run([_need("pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(out)],
                         env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise BackupError(f"pg_dump failed: {run.stderr.strip()[-500:]}")
    return out


def prune(dest: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of this tool in ``dest``; return what was deleted."""
    files = list_backups(dest)
    gone = files[:-keep] if keep > 0 else []
    for p in gone:
        p.unlink(missing_ok=True)
        p.with_name(p.name + ".sha256").unlink(missing_ok=True)
    return gone


# ---------------------------------------------------------------- reading a backup


def _read_manifest(tar: tarfile.TarFile) -> dict:
    member = tar.next()
    if member is None or member.name != MANIFEST:
        raise BackupError("not a OneVisit backup (no manifest at its start)")
    manifest = json.loads(tar.extractfile(member).read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not known to this version")
    return manifest


def unpack(path: Path, work: Path) -> tuple[dict, Path]:
    """Check the side checksum, unpack the database into ``work`` and check it against the manifest."""
    if not path.is_file():
        raise BackupError(f"no such file: {path}")
    side = path.with_name(path.name + ".sha256")
    if side.exists():
        expected = side.read_text().split()[0] if side.read_text().strip() else ""
        if _sha256_file(path) != expected:
            raise BackupError(f"{path.name} does not match its checksum in {side.name}: the file is damaged or "
                              "incomplete; nothing was changed")
    try:
        with tarfile.open(path, "r:gz") as tar:
            manifest = _read_manifest(tar)
            member = tar.next()
            if member is None or member.name != manifest["file"]:
                raise BackupError("the backup holds no database: the file is incomplete; nothing was changed")
            out = work / manifest["file"]
            h = hashlib.sha256()
            with tar.extractfile(member) as src, open(out, "wb") as dst:
                while chunk := src.read(CHUNK):
                    h.update(chunk)
                    dst.write(chunk)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, OSError, ValueError, KeyError) as e:
        raise BackupError(f"{path.name} is damaged or truncated ({type(e).__name__}: {e}); nothing was changed") from None
    if h.hexdigest() != manifest["sha256"] or out.stat().st_size != manifest["size"]:
        raise BackupError(f"the database in {path.name} does not match its checksum: the file is damaged; "
                          "nothing was changed")
    return manifest, out


def _check_revision(manifest: dict) -> None:
    rev = manifest.get("revision")
    if rev is not None and rev not in known_revisions():
        raise BackupError(f"the backup's schema revision {rev} is newer than this OneVisit knows; "
                          "install the version that made it first")


def _prepare_sqlite(db_file: Path) -> Summary:
    """Check integrity, migrate forward to head, and summarise a SQLite file (not yet in place)."""
    from hall_queue.infrastructure.migrate import upgrade

    conn = sqlite3.connect(db_file)
    try:
        _check_integrity(conn)
    finally:
        conn.close()
    url = f"sqlite:///{db_file}"
    upgrade(url)
    return summarize(url)


def verify(path: Path, *, url: str) -> Summary:
    """Restore ``path`` into a temporary copy (a scratch database on PostgreSQL), check it, count it, drop it."""
    work = Path(tempfile.mkdtemp(prefix="onevisit-verify-"))
    try:
        manifest, inner = unpack(path, work)
        _check_revision(manifest)
        if manifest["engine"] == "sqlite":
            return _prepare_sqlite(inner)
        if engine_of(url) != "postgresql":
            raise BackupError("this is a PostgreSQL backup: verifying it needs DATABASE_URL of a PostgreSQL server "
                              "(a scratch database is created there and dropped)")
        scratch = _pg_scratch(url, inner)
        try:
            return _prepare_pg(scratch)
        finally:
            _pg_drop(url, make_url(scratch).database)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- restore


def restore(path: Path, *, url: str, instance: Path, now: datetime) -> Summary:
    """Replace the database at ``url`` with the backup ``path``; the old one is kept beside it."""
    engine = engine_of(url)
    with ServerLock(lock_path(url, instance)).exclusive():
        if engine == "sqlite":
            target = sqlite_path(url)
            work = Path(tempfile.mkdtemp(prefix=".onevisit-restore-", dir=target.parent))
        else:
            work = Path(tempfile.mkdtemp(prefix="onevisit-restore-"))
        try:
            manifest, inner = unpack(path, work)
            _check_revision(manifest)
            if manifest["engine"] != engine:
                raise BackupError(f"this is a {manifest['engine']} backup but the database is {engine}; "
                                  "nothing was changed")
            if engine == "sqlite":
                summary = _prepare_sqlite(inner)
                _swap_sqlite(inner, target, now)
                return summary
            _pg_refuse_if_connected(url)
            scratch = _pg_scratch(url, inner)
            try:
                summary = _prepare_pg(scratch)
                _pg_swap(url, make_url(scratch).database, now)
            except BaseException:
                _pg_drop(url, make_url(scratch).database)
                raise
            return summary
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _swap_sqlite(new: Path, target: Path, now: datetime) -> None:
    if target.exists():
        conn = sqlite3.connect(target)  # fold its WAL in, so the kept copy is whole
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        os.replace(target, target.with_name(f"{target.name}.before-restore-{now:%Y%m%d-%H%M%S}"))
    for extra in ("-wal", "-shm"):
        target.with_name(target.name + extra).unlink(missing_ok=True)
    os.replace(new, target)


def _pg_admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@contextmanager
def _pg_admin(url: str) -> Iterator[Connection]:
    """A connection to the server's ``postgres`` database, autocommit (CREATE/DROP/ALTER DATABASE need it)."""
    admin = create_engine(_pg_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


def _pg_refuse_if_connected(url: str) -> None:
    with _pg_admin(url) as conn:
        others = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :n "
                                   "AND pid <> pg_backend_pid()"), {"n": make_url(url).database}).scalar()
    if others:
        raise BackupError(f"{others} other session(s) are connected to the database: stop every OneVisit server, "
                          "duty and tool using it first; nothing was changed")


def _pg_scratch(url: str, dump: Path) -> str:
    """Create a scratch database beside the target and ``pg_restore`` the dump into it; return its URL."""
    import secrets

    name = f"{make_url(url).database}_restore_{secrets.token_hex(4)}"[:63]
    with _pg_admin(url) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
    env, _ = _pg_env(scratch)
    run = subprocess.run([_need("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "-d", name,
                          str(dump)], env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        _pg_drop(url, name)
        raise BackupError(f"pg_restore refused the dump ({run.stderr.strip()[-300:]}); nothing was changed")
    return scratch


def _prepare_pg(scratch: str) -> Summary:
    from hall_queue.infrastructure.migrate import upgrade

    upgrade(scratch)
    return summarize(scratch)


def _pg_drop(url: str, name: str) -> None:
    with _pg_admin(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _pg_swap(url: str, scratch_name: str, now: datetime) -> None:
    target = make_url(url).database
    kept = f"{target}_before_restore_{now:%Y%m%d%H%M%S}"[:63]
    with _pg_admin(url) as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}).scalar():
            conn.execute(text(f'ALTER DATABASE "{target}" RENAME TO "{kept}"'))
        conn.execute(text(f'ALTER DATABASE "{scratch_name}" RENAME TO "{target}"'))


# ---------------------------------------------------------------- the nightly schedule


def backup_time(path: Path) -> datetime | None:
    """The UTC time in a backup's name (naive), or None for a name this tool did not write."""
    try:
        stamp = path.name.split("-", 2)[2][:15]  # 20261206-023000(Z)
        return datetime.strptime(stamp, "%Y%m%d-%H%M%S")
    except (IndexError, ValueError):
        return None


def last_due(now_utc: datetime, at: str, tz: str) -> datetime:
    """The latest moment (naive UTC) at or before ``now_utc`` when the nightly backup was due."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    local = now_utc.replace(tzinfo=UTC).astimezone(zone)
    try:
        h, m = (int(x) for x in at.split(":"))
        local.replace(hour=h, minute=m)
    except ValueError:
        raise BackupError(f"ONEVISIT_BACKUP_AT must be HH:MM (24-hour) or off, not {at!r}") from None
    due = local.replace(hour=h, minute=m, second=0, microsecond=0)
    if due > local:
        due -= timedelta(days=1)
    return due.astimezone(UTC).replace(tzinfo=None)


def nightly_due(directory: Path, now_utc: datetime, at: str, tz: str) -> bool:
    """True when no backup in ``directory`` was taken since the last time one was due."""
    if at.strip().lower() in ("", "off"):
        return False
    newest = max((t for t in map(backup_time, list_backups(directory)) if t is not None), default=None)
    return newest is None or newest < last_due(now_utc, at, tz)


_held: list[ServerLock] = []


def hold_server_lock(url: str, instance: Path) -> ServerLock | None:
    """Mark this process as serving the database at ``url`` until it exits (restore refuses meanwhile)."""
    try:
        lock = ServerLock(lock_path(url, instance)).hold_shared()
    except BackupError:  # an in-memory database: nothing to restore over
        return None
    _held.append(lock)
    return lock
