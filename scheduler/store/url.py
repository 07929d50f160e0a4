"""Store URLs: ``sqlite:///ABS/PATH`` (a directory, or a file ending in .sqlite3, .sqlite or
.db) and ``postgresql://user@host:port/db`` (or ``postgres://``, any libpq URL). No URL: the
SQLite file in the data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scheduler.store.base import PlanStore, StoreError
from scheduler.store.sqlite import SqliteStore

_SQLITE_FILES = (".sqlite3", ".sqlite", ".db")


@dataclass(frozen=True)
class StoreUrl:
    """Where the store is: a SQLite ``path`` (file or directory) or a PostgreSQL ``url``."""

    shown: str
    """For logs and errors: the URL without its password."""
    path: Path | None = None
    url: str | None = None

    def open(self) -> PlanStore:
        """Open (or create) and check the store; StoreError naming ``shown`` and why."""
        if self.url is not None:
            try:
                from scheduler.store.postgres import PostgresStore  # noqa: PLC0415 - SQLite users need no libpq
            except ImportError as error:
                raise StoreError(
                    f"{self.shown}: the PostgreSQL driver cannot load ({error}); "
                    "install libpq (apt-get install libpq5) or pip install 'psycopg[binary]'"
                ) from None
            return PostgresStore(self.url, self.shown)
        assert self.path is not None
        if self.path.suffix in _SQLITE_FILES:
            return SqliteStore(self.path.parent, self.path.name)
        return SqliteStore(self.path)


def parse_store_url(url: str | None, data_dir: Path) -> StoreUrl:
    """The store a URL names (None: the SQLite file in ``data_dir``); StoreError, naming the
    value (without its password), for anything else."""
    if url is None:
        return StoreUrl(shown=str(data_dir / SqliteStore.FILE), path=data_dir)
    try:
        parts = urlsplit(url)
        shown = _without_password(url)
    except ValueError:  # an unbalanced [ in the host
        raise StoreError(f"{url.split('@')[-1]!r} is not a valid URL") from None
    if parts.scheme in ("postgresql", "postgres"):
        return StoreUrl(shown=shown, url=url)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
            raise StoreError(f"{shown!r} is not sqlite:///ABSOLUTE/PATH (a directory, or a .sqlite3 file)")
        return StoreUrl(shown=shown, path=Path(parts.path))
    raise StoreError(f"{shown!r} is not a store URL: use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE")


def _without_password(url: str) -> str:
    """The URL with its password (in the authority or as a parameter) replaced by ***."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if parts.password is None and all(k != "password" for k, _ in query):
        return url  # as given: rebuilding would drop an empty authority (sqlite:///)
    if parts.password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1))
    hidden = [(k, "***" if k == "password" else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(hidden, safe="*")))
