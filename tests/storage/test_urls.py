"""Naming a recording: paths, file:// and s3:// URLs, and the AWS settings an s3 URL uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from khronoscope.storage import StoreError, open_store
from khronoscope.storage.local import LocalStore
from khronoscope.storage.s3 import S3Store, parse_s3_url, resolve_settings
from khronoscope.storage.url import parse_store_url


def test_a_path_and_a_file_url_open_a_directory(tmp_path):
    for text in (
        str(tmp_path / "rec"),
        f"file://{tmp_path}/rec",
        f"file://localhost{tmp_path}/rec",
    ):
        store = open_store(text)
        assert isinstance(store, LocalStore)
        assert store.root == tmp_path / "rec"
    assert parse_store_url("file:///tmp/a%20b").path == Path("/tmp/a b")
    assert parse_store_url("~/rec").path == Path.home() / "rec"
    assert parse_store_url("weird:name").kind == "local"  # no '://': a file name


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("gs://bucket/x", "AWS_ENDPOINT_URL=https://storage.googleapis.com"),
        ("s3a://bucket/x", "use s3://"),
        ("ftp://host/x", "not a supported storage URL"),
        ("https://minio:9000/b", "AWS_ENDPOINT_URL"),
        ("file://host/x", "three slashes"),
        ("file://", "absolute path"),
        ("s3://", "no bucket"),
        ("s3://Bad_Bucket/x", "not a valid bucket name"),
        ("s3://bkt/x/../y", "'..'"),
        ("s3://key:secret@bucket/x", "credentials and ports do not go in the URL"),
        ("s3://bucket/x?versionId=1", "no '?'"),
        ("", "no recording location"),
    ],
)
def test_bad_locations_are_one_clear_line(text, needle):
    with pytest.raises(StoreError) as err:
        parse_store_url(text)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)
    assert "secret" not in str(err.value).replace("credentials", "")


def test_s3_urls_normalise_the_prefix():
    assert parse_s3_url("s3://bucket/clusters//prod/").prefix == "clusters/prod"
    assert parse_s3_url("s3://bucket").url == "s3://bucket"
    assert parse_store_url("s3://bucket/a/").url == "s3://bucket/a"


def _env(tmp_path, **kw) -> dict[str, str]:
    return {"HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true", **kw}


def test_environment_keys_and_a_custom_endpoint_use_path_style(tmp_path):
    s = resolve_settings(
        _env(
            tmp_path,
            AWS_ACCESS_KEY_ID="AK",
            AWS_SECRET_ACCESS_KEY="SK",
            AWS_ENDPOINT_URL="http://127.0.0.1:7480",
            AWS_DEFAULT_REGION="eu-west-3",
        )
    )
    assert s.endpoint == "http://127.0.0.1:7480"
    assert s.allow_http and not s.virtual_hosted
    assert s.region == "eu-west-3"
    assert s.config["access_key_id"] == "AK" and s.source == "environment"
    assert "SK" not in repr(s)


def test_aws_itself_is_addressed_virtual_hosted_over_https(tmp_path):
    s = resolve_settings(_env(tmp_path, AWS_ACCESS_KEY_ID="AK", AWS_SECRET_ACCESS_KEY="SK"))
    assert s.endpoint is None and s.virtual_hosted and not s.allow_http
    assert s.region == "us-east-1"


def test_a_profile_from_the_shared_files(tmp_path):
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text(
        "[profile rgw]\nregion = default\nendpoint_url = https://rgw.example:8443\n"
        "s3 =\n  addressing_style = path\n"
    )
    (aws / "credentials").write_text("[rgw]\naws_access_key_id = PK\naws_secret_access_key = PS\n")
    s = resolve_settings(_env(tmp_path, AWS_PROFILE="rgw"))
    assert (s.endpoint, s.region, s.virtual_hosted) == (
        "https://rgw.example:8443",
        "default",
        False,
    )
    assert s.config["access_key_id"] == "PK" and s.source == "profile rgw"
    assert not s.allow_http
    # the environment's keys win over the profile's, as in the AWS CLI
    s = resolve_settings(
        _env(tmp_path, AWS_PROFILE="rgw", AWS_ACCESS_KEY_ID="EK", AWS_SECRET_ACCESS_KEY="ES")
    )
    assert s.config["access_key_id"] == "EK"


def test_a_named_profile_that_does_not_exist_is_one_line(tmp_path):
    with pytest.raises(StoreError, match="AWS profile 'nope' not found"):
        resolve_settings(_env(tmp_path, AWS_PROFILE="nope"))


def test_no_credentials_anywhere_is_one_line(tmp_path):
    with pytest.raises(StoreError, match="no AWS credentials"):
        resolve_settings(_env(tmp_path))


def test_web_identity_is_left_to_the_client(tmp_path):
    s = resolve_settings(
        _env(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE="/var/run/token", AWS_ROLE_ARN="arn:x")
    )
    assert s.source == "web identity" and "access_key_id" not in s.config


def test_conditional_create_is_declared_only_where_it_holds(tmp_path, monkeypatch):
    keys = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"}
    for k in list(__import__("os").environ):
        if k.startswith("AWS_") or k == "KHRONOSCOPE_S3_CONDITIONAL_CREATE":
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path))
    for k, v in keys.items():
        monkeypatch.setenv(k, v)
    from khronoscope.storage import Capability

    assert Capability.CONDITIONAL_CREATE in S3Store("s3://bkt/p").capabilities  # AWS
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://storage.googleapis.com")
    assert Capability.CONDITIONAL_CREATE not in S3Store("s3://bkt/p").capabilities  # GCS ignores it
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio.local:9000")
    assert Capability.CONDITIONAL_CREATE in S3Store("s3://bkt/p").capabilities
    monkeypatch.setenv("KHRONOSCOPE_S3_CONDITIONAL_CREATE", "0")  # an old server: say so
    assert Capability.CONDITIONAL_CREATE not in S3Store("s3://bkt/p").capabilities


def test_a_bad_endpoint_variable_is_one_line(tmp_path):
    with pytest.raises(StoreError, match="is not an http"):
        resolve_settings(_env(tmp_path, AWS_ENDPOINT_URL="minio:9000", AWS_ACCESS_KEY_ID="a"))
