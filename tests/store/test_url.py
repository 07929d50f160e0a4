"""Store URLs: which store each names, refusals naming the value, never its password."""

from __future__ import annotations

import pytest

from scheduler.store import SqliteStore, StoreError, parse_store_url
from tests.postgres import free_port


def test_no_url_is_the_sqlite_file_in_the_data_directory(tmp_path):
    where = parse_store_url(None, tmp_path)
    assert (where.path, where.url, where.shown) == (tmp_path, None, str(tmp_path / SqliteStore.FILE))
    where.open().close()
    assert (tmp_path / SqliteStore.FILE).exists()


def test_a_sqlite_url_names_a_directory_or_a_file(tmp_path):
    in_dir = parse_store_url(f"sqlite://{tmp_path}/state", tmp_path / "unused")
    in_dir.open().close()
    assert (tmp_path / "state" / SqliteStore.FILE).exists()
    as_file = parse_store_url(f"sqlite://{tmp_path}/plans.db", tmp_path / "unused")
    as_file.open().close()
    assert (tmp_path / "plans.db").exists() and not (tmp_path / "unused").exists()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_is_kept_whole_and_shown_without_its_password(tmp_path, scheme):
    url = f"{scheme}://planner:s3cret@db.example:5433/lean?sslmode=require&password=other"
    where = parse_store_url(url, tmp_path)
    assert where.url == url and where.path is None
    assert where.shown == f"{scheme}://planner:***@db.example:5433/lean?sslmode=require&password=***"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://root:hunter2@localhost/db", "'mysql://root:***@localhost/db' is not a store URL"),
        ("/var/lib/lean", "'/var/lib/lean' is not a store URL"),
        ("sqlite://relative/path", "'sqlite://relative/path' is not sqlite:///ABSOLUTE/PATH"),
        ("sqlite:///tmp/x?mode=ro", "'sqlite:///tmp/x?mode=ro' is not sqlite:///ABSOLUTE/PATH"),
    ],
)
def test_anything_else_is_refused_naming_the_value(tmp_path, url, shown):
    with pytest.raises(StoreError) as refused:
        parse_store_url(url, tmp_path)
    assert str(refused.value).startswith(shown)
    assert "hunter2" not in str(refused.value)


def test_an_unreachable_server_is_refused_naming_the_url_without_its_password(tmp_path):
    port = free_port()
    with pytest.raises(StoreError) as refused:
        parse_store_url(f"postgresql://planner:s3cret@127.0.0.1:{port}/lean", tmp_path).open()
    message = str(refused.value)
    assert message.startswith(f"cannot connect to postgresql://planner:***@127.0.0.1:{port}/lean: ")
    assert "s3cret" not in message and "\n" not in message
