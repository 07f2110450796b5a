import pytest

from pipeline.config import (
    ConfigError,
    parse_sources,
    parse_storage_url,
    parse_warehouse_url,
    redact_url,
    storage_location,
    warehouse_url,
)


def test_sources_are_region_uri_pairs_with_a_database():
    assert parse_sources("us=mongodb://127.0.0.1:27017/ada,eu=mongodb://127.0.0.1:27018/ada") == {
        "us": "mongodb://127.0.0.1:27017/ada", "eu": "mongodb://127.0.0.1:27018/ada"}


@pytest.mark.parametrize("text, problem", [
    ("", "no MongoDB source"),
    ("us=http://x/ada", "malformed pair"),
    ("us=mongodb://h:1", "no database name"),
    ("us=mongodb://h/a,us=mongodb://h/b", "given twice"),
])
def test_bad_sources_name_the_variable_and_the_form(text, problem):
    with pytest.raises(ConfigError, match=problem) as error:
        parse_sources(text)
    assert str(error.value).startswith("PIPELINE_SOURCES:")
    assert "region=mongodb://host:port/database" in str(error.value)


def test_secrets_in_bad_sources_are_not_echoed():
    with pytest.raises(ConfigError) as error:
        parse_sources("us=mongodb://admin:s3cret@h:1")
    assert "s3cret" not in str(error.value)


def test_storage_is_s3_or_a_local_directory(tmp_path):
    s3 = parse_storage_url("s3://bucket/some/prefix/")
    assert (s3.scheme, s3.bucket, s3.prefix) == ("s3", "bucket", "some/prefix")
    assert s3.url("raw/x.gz") == "s3://bucket/some/prefix/raw/x.gz"
    local = parse_storage_url(str(tmp_path))
    assert local.url("raw/x.gz") == str(tmp_path / "raw/x.gz")
    with pytest.raises(ConfigError, match="PIPELINE_STORAGE_URL: unsupported scheme 'gs'"):
        parse_storage_url("gs://bucket")


def test_warehouse_url_kinds_and_bad_scheme():
    from pipeline.warehouse import kind_of

    assert kind_of(parse_warehouse_url("postgresql:///analytics?host=/tmp/pg")) == "postgresql"
    assert kind_of(parse_warehouse_url("postgres://db/dw")) == "postgresql"
    assert kind_of(parse_warehouse_url("redshift://loader:pw@cluster.example:5439/dw")) == "redshift"
    with pytest.raises(ConfigError, match=r"^PIPELINE_WAREHOUSE_URL: unsupported warehouse, got scheme 'mysql' "
                                          r"\(expected .*: postgresql://.*; redshift://user@host:5439/db\)$"):
        kind_of(parse_warehouse_url("mysql://x"))
    with pytest.raises(ConfigError, match=r"PIPELINE_WAREHOUSE_URL: unsupported warehouse, got no URL scheme"):
        parse_warehouse_url("/tmp/pg")


def test_password_is_redacted_when_shown():
    url = parse_warehouse_url("postgresql://loader:hunter2@db:5432/dw")
    assert "hunter2" not in str(url) and "***" in str(url)
    assert redact_url("postgresql://db/dw") == "postgresql://db/dw"


def test_environment_overrides_luigi_cfg(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_STORAGE_URL", str(tmp_path))
    monkeypatch.setenv("PIPELINE_WAREHOUSE_URL", "mysql://x")
    assert storage_location().prefix == str(tmp_path)
    assert warehouse_url().url == "mysql://x"
    from pipeline.warehouse import kind_of

    with pytest.raises(ConfigError, match="^PIPELINE_WAREHOUSE_URL: unsupported warehouse"):
        kind_of(warehouse_url())


def test_replica_set_uris_keep_their_commas():
    assert parse_sources("us=mongodb://u:p@h1:27017,h2:27017/ada?replicaSet=rs0,eu=mongodb://h3/ada") == {
        "us": "mongodb://u:p@h1:27017,h2:27017/ada?replicaSet=rs0", "eu": "mongodb://h3/ada"}


def test_a_pair_without_region_does_not_echo_its_password():
    with pytest.raises(ConfigError, match="malformed pair") as error:
        parse_sources("mongodb://reader:S3cret@h1/ada")
    assert "S3cret" not in str(error.value)


def test_a_badly_encoded_warehouse_password_is_not_echoed():
    from pipeline.warehouse import WarehouseError, connect

    with pytest.raises(WarehouseError, match="malformed URL") as error:
        connect(parse_warehouse_url("postgresql://loader:p%zzword@127.0.0.1:1/dw"))
    assert "zz" not in str(error.value)


def test_alerts_scrub_passwords_of_the_url_settings(monkeypatch):
    from pipeline.secrets import redact

    monkeypatch.setenv("PIPELINE_WAREHOUSE_URL", "postgresql://loader:hunter2%21@db/dw")
    monkeypatch.setenv("PIPELINE_SOURCES", "us=mongodb://reader:m0ngopass@h/ada")
    text = redact('FATAL: password "hunter2!" rejected; tried mongodb://reader:m0ngopass@h/ada and m0ngopass')
    assert "hunter2" not in text and "m0ngopass" not in text and "***" in text


def test_the_console_database_is_sqlite_or_postgresql_never_redshift(monkeypatch):
    from pipeline.config import console_db_url

    monkeypatch.setenv("PIPELINE_CONSOLE_DB_URL", "postgresql://console:s3cret@db.example/console")
    assert console_db_url().startswith("postgresql://")
    monkeypatch.setenv("PIPELINE_CONSOLE_DB_URL", "redshift://loader:s3cret@cluster.example:5439/dw")
    with pytest.raises(ConfigError) as error:
        console_db_url()
    assert "PIPELINE_CONSOLE_DB_URL" in str(error.value) and "'redshift'" in str(error.value)
    assert "s3cret" not in str(error.value)
