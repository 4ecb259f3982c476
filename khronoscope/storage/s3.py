"""A BlobStore on S3-compatible object storage (AWS S3, GCS's S3 interoperability, MinIO, Ceph
RGW), through obstore (the Rust `object_store` crate).

obstore was chosen by measurement (bench/s3clients.py against RGW): it imports in ~5 ms and
adds ~5 MiB of RSS where boto3, aiobotocore and s3fs take 200-350 ms and 24-36 MiB, its ranged
GETs and small PUTs are 2-3x faster, its LIST 6-10x, and it is one wheel with no dependencies.

Credentials and endpoint follow the AWS conventions: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
(/`AWS_SESSION_TOKEN`), `AWS_ENDPOINT_URL(_S3)`, `AWS_REGION`/`AWS_DEFAULT_REGION`, a profile of
the shared files (`AWS_PROFILE`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`), then web
identity (EKS IRSA), ECS container credentials and the EC2 instance metadata, which obstore
resolves itself. A custom endpoint is addressed path-style (RGW and MinIO need it); AWS itself
virtual-hosted style.
"""

from __future__ import annotations

import configparser
import datetime
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from obstore.store import S3Store as _ObStore

from khronoscope.storage import (
    BadLocation,
    BlobInfo,
    BlobNotFound,
    Capability,
    StoreError,
    check_name,
)

# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens (GCS allows underscores)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
# endpoints known to ignore `If-None-Match: *` on PUT (GCS honours only its generation numbers)
_NO_CONDITIONAL_PUT_HOSTS = ("storage.googleapis.com",)
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class S3Location:
    """`s3://BUCKET/PREFIX`, split; the prefix has no leading or trailing '/'."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        """The URL back, normalised."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_s3_url(url: str) -> S3Location:
    """Split `s3://BUCKET[/PREFIX]`; a one-line StoreError for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise BadLocation(f"{url}: not an s3:// URL")
    if parts.query or parts.fragment:
        raise BadLocation(f"{url}: an s3:// URL has no '?' or '#' part")
    bucket = parts.netloc
    if not bucket:
        raise BadLocation(f"{url}: no bucket (expected s3://BUCKET/PREFIX)")
    if "@" in bucket or ":" in bucket:
        raise BadLocation(
            f"s3://{bucket.rsplit('@', 1)[-1]}/...: credentials and ports do not go in the URL "
            "(set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL)"
        )
    if not _BUCKET.match(bucket):
        raise BadLocation(f"{url}: '{bucket}' is not a valid bucket name")
    segments = [s for s in parts.path.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise BadLocation(f"{url}: '.' and '..' are not allowed in the prefix")
    return S3Location(bucket, "/".join(segments))


@dataclass
class S3Settings:
    """What the AWS conventions resolve to for one store (never printed: it holds keys)."""

    region: str = "us-east-1"
    endpoint: str | None = None
    virtual_hosted: bool = False
    allow_http: bool = False
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    credential_provider: Any = field(default=None, repr=False)
    conditional_create: bool = True
    source: str = "environment"  # where the credentials come from, for messages


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _read_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as err:
        raise StoreError(f"cannot read {path}: {' '.join(str(err).split())[:200]}") from err
    return parser


def _nested(value: str) -> dict[str, str]:
    """The `s3 =` sub-section of an AWS config profile (indented `key = value` lines)."""
    out = {}
    for line in value.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def resolve_settings(env: Mapping[str, str] | None = None) -> S3Settings:
    """Resolve endpoint, region, addressing and credentials as the AWS SDKs do."""
    env = os.environ if env is None else env
    s = S3Settings()
    home = Path(env.get("HOME") or Path.home())
    profile_name = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
    explicit_profile = profile_name is not None
    profile_name = profile_name or "default"
    cfg_path = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config").expanduser()
    cred_path = Path(
        env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"
    ).expanduser()
    cfg = _read_ini(cfg_path) if cfg_path.is_file() else configparser.ConfigParser()
    creds = _read_ini(cred_path) if cred_path.is_file() else configparser.ConfigParser()
    section = "default" if profile_name == "default" else f"profile {profile_name}"
    prof: dict[str, str] = dict(cfg[section]) if cfg.has_section(section) else {}
    if profile_name == "default" and not prof and cfg.has_section("profile default"):
        prof = dict(cfg["profile default"])
    prof_creds: dict[str, str] = (
        dict(creds[profile_name]) if creds.has_section(profile_name) else {}
    )
    if explicit_profile and not prof and not prof_creds:
        raise StoreError(
            f"AWS profile '{profile_name}' not found in {cfg_path} or {cred_path} "
            "(check AWS_PROFILE)"
        )
    s3_sub = _nested(prof.get("s3", ""))

    s.region = (
        env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or prof.get("region") or "us-east-1"
    )
    s.endpoint = (
        env.get("AWS_ENDPOINT_URL_S3")
        or env.get("AWS_ENDPOINT_URL")
        or s3_sub.get("endpoint_url")
        or prof.get("endpoint_url")
        or None
    )
    style = (env.get("AWS_S3_ADDRESSING_STYLE") or s3_sub.get("addressing_style") or "").lower()
    if style in ("path", "virtual"):
        s.virtual_hosted = style == "virtual"
    else:
        # a custom endpoint (RGW, MinIO, GCS) needs path-style; AWS itself prefers virtual-hosted
        s.virtual_hosted = s.endpoint is None
    if s.endpoint is not None:
        ep = urlsplit(s.endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname:
            raise StoreError(
                f"AWS_ENDPOINT_URL '{ep.scheme}://{ep.hostname or ''}' is not an http(s) URL"
            )
        # the user chose a plain-http endpoint (a MinIO or RGW on the LAN): allow it
        s.allow_http = ep.scheme == "http" or _truthy(env.get("AWS_ALLOW_HTTP"))
        host = ep.hostname.lower()
        if any(host == h or host.endswith("." + h) for h in _NO_CONDITIONAL_PUT_HOSTS):
            s.conditional_create = False
    flag = env.get("KHRONOSCOPE_S3_CONDITIONAL_CREATE")
    if flag is not None:
        s.conditional_create = _truthy(flag)

    s.config = {"region": s.region, "virtual_hosted_style_request": s.virtual_hosted}
    if s.endpoint is not None:
        s.config["endpoint"] = s.endpoint
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        s.config["access_key_id"] = env["AWS_ACCESS_KEY_ID"]
        s.config["secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
        if env.get("AWS_SESSION_TOKEN"):
            s.config["token"] = env["AWS_SESSION_TOKEN"]
        s.source = "environment"
        return s
    merged = {**prof, **prof_creds}
    if merged.get("aws_access_key_id") and merged.get("aws_secret_access_key"):
        s.config["access_key_id"] = merged["aws_access_key_id"]
        s.config["secret_access_key"] = merged["aws_secret_access_key"]
        if merged.get("aws_session_token"):
            s.config["token"] = merged["aws_session_token"]
        s.source = f"profile {profile_name}"
        return s
    if any(k in merged for k in ("role_arn", "sso_session", "sso_start_url", "credential_process")):
        s.credential_provider = _boto3_provider(profile_name)
        s.source = f"profile {profile_name}"
        return s
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"):
        s.source = "web identity"
        return s
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ):
        s.source = "container credentials"
        return s
    if _truthy(env.get("AWS_EC2_METADATA_DISABLED")):
        raise StoreError(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        )
    s.source = "instance metadata"
    return s


def _boto3_provider(profile: str) -> Any:
    """SSO, assume-role and credential_process profiles: boto3 resolves them, when installed."""
    try:
        import boto3
        from obstore.auth.boto3 import Boto3CredentialProvider
    except ImportError as err:
        raise StoreError(
            f"AWS profile '{profile}' uses SSO, a role or credential_process: install boto3 "
            "(pip install boto3), or export static keys (aws configure export-credentials)"
        ) from err
    try:
        return Boto3CredentialProvider(boto3.Session(profile_name=profile))
    except Exception as err:
        raise StoreError(f"AWS profile '{profile}': {type(err).__name__}") from err


_S3_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>")
_STATUS = re.compile(r"status code: (\d{3})")


def _reason(err: BaseException, secrets: tuple[str, ...]) -> str:
    """One line about what went wrong: HTTP status and S3 error code, or the transport error.

    obstore's messages span many lines (a debug dump with the request); keep the first, without
    the XML body, and blank out anything that looks like a key.
    """
    text = str(err)
    code = _S3_CODE.search(text)
    status = _STATUS.search(text)
    if code or status:
        parts = [p for p in (status and status.group(1), code and code.group(1)) if p]
        line = " ".join(parts)
    else:
        first = text.splitlines()[0] if text else type(err).__name__
        # "Generic S3 error: Error performing GET http://h/b/k in 1ms, after 3 retries ... - X"
        line = first.rsplit(" - ", 1)[-1].strip() or first
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return " ".join(line.split())[:300]


class S3Store:
    """Objects under `s3://BUCKET/PREFIX`; see the module docstring for settings."""

    def __init__(
        self,
        url: str,
        env: Mapping[str, str] | None = None,
        *,
        max_retries: int = 3,
        retry_timeout: float = 15.0,
        connect_timeout: float = 5.0,
        request_timeout: float = 120.0,
    ) -> None:
        self.location = parse_s3_url(url)
        self.url = self.location.url
        self.settings = resolve_settings(env)
        self.capabilities = (
            Capability.CONDITIONAL_CREATE if self.settings.conditional_create else Capability.NONE
        )
        self._secrets = tuple(
            str(self.settings.config.get(k, ""))
            for k in ("access_key_id", "secret_access_key", "token")
        )
        try:
            self._store = _ObStore(
                self.location.bucket,
                prefix=self.location.prefix or None,
                config=self.settings.config,
                credential_provider=self.settings.credential_provider,
                client_options={
                    "allow_http": self.settings.allow_http,
                    "connect_timeout": datetime.timedelta(seconds=connect_timeout),
                    "timeout": datetime.timedelta(seconds=request_timeout),
                },
                # few, quick retries: a reader shows an error rather than hang; the uploader
                # has its own backoff for long outages
                retry_config={
                    "max_retries": max_retries,
                    "retry_timeout": datetime.timedelta(seconds=retry_timeout),
                    "backoff": {
                        "init_backoff": datetime.timedelta(milliseconds=100),
                        "max_backoff": datetime.timedelta(seconds=2),
                        "base": 2.0,
                    },
                },
            )
        except (BaseError, ValueError) as err:
            raise StoreError(f"{self.url}: {_reason(err, self._secrets)}") from err

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    @property
    def identity(self) -> str:
        """Endpoint and location: two servers may both have a bucket of the same name."""
        return f"{self.settings.endpoint or 'aws:' + self.settings.region} {self.url}"

    # --- errors --------------------------------------------------------------------------------

    def _fail(self, op: str, name: str, err: BaseException) -> StoreError:
        reason = _reason(err, self._secrets)
        where = f"{self.url}/{name}" if name else self.url
        hint = ""
        if "NoSuchBucket" in reason:
            hint = f": bucket '{self.location.bucket}' does not exist"
        elif isinstance(err, (PermissionDeniedError, UnauthenticatedError)) or reason.startswith(
            ("401", "403")
        ):
            hint = f" (access denied with credentials from {self.settings.source})"
        endpoint = self.settings.endpoint or "AWS S3"
        if not hint and not (_S3_CODE.search(str(err)) or _STATUS.search(str(err))):
            hint = f" (endpoint {endpoint})"
        return StoreError(f"cannot {op} {where}: {reason}{hint}")

    def _missing(self, err: BaseException) -> bool:
        """A missing object, as opposed to a missing bucket (also a 404)."""
        return isinstance(err, (NotFoundError, FileNotFoundError)) and "NoSuchBucket" not in str(
            err
        )

    # --- BlobStore -----------------------------------------------------------------------------

    def put(self, name: str, data: bytes) -> None:
        """One PUT (never multipart: readers must see the whole object or none)."""
        check_name(name)
        try:
            obstore.put(self._store, name, data, use_multipart=False)
        except (BaseError, OSError) as err:
            raise self._fail("write", name, err) from err

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """PUT with `If-None-Match: *` where the server honours it; else HEAD then PUT (racy,
        which is why CONDITIONAL_CREATE is then not declared)."""
        check_name(name)
        if Capability.CONDITIONAL_CREATE not in self.capabilities:
            if self.stat(name) is not None:
                return False
            self.put(name, data)
            return True
        try:
            obstore.put(self._store, name, data, mode="create", use_multipart=False)
        except AlreadyExistsError:
            return False
        except (BaseError, OSError) as err:
            raise self._fail("create", name, err) from err
        return True

    def get(self, name: str) -> bytes:
        """One GET of the whole object."""
        check_name(name)
        try:
            return bytes(obstore.get(self._store, name).bytes())
        except (BaseError, OSError) as err:
            if self._missing(err):
                raise BlobNotFound(name) from err
            raise self._fail("read", name, err) from err

    def get_range(self, name: str, start: int, length: int) -> bytes:
        """One ranged GET; past the end gives fewer bytes (none at or after the end)."""
        check_name(name)
        if length <= 0:
            if self.stat(name) is None:
                raise BlobNotFound(name)
            return b""
        try:
            return bytes(obstore.get_range(self._store, name, start=start, length=length))
        except (BaseError, OSError) as err:
            if self._missing(err):
                raise BlobNotFound(name) from err
            if "416" in str(err) or "InvalidRange" in str(err):
                return b""  # start at or past the end of an existing object
            raise self._fail("read", name, err) from err

    def stat(self, name: str) -> BlobInfo | None:
        """One HEAD."""
        check_name(name)
        try:
            meta = obstore.head(self._store, name)
        except (BaseError, OSError) as err:
            if self._missing(err):
                return None
            raise self._fail("stat", name, err) from err
        return _info(meta)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """ListObjectsV2 pages (in name order, as S3 returns them), streamed.

        object_store lists whole path segments, so a partial last segment (`lease/0000`) is
        listed from its directory and filtered here.
        """
        directory = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        try:
            for batch in obstore.list(self._store, prefix=directory or None, chunk_size=1000):
                for meta in batch:
                    if meta["path"].startswith(prefix):
                        yield _info(meta)
        except (BaseError, OSError) as err:
            raise self._fail("list", prefix, err) from err

    def delete(self, name: str) -> None:
        """One DELETE (S3 answers 204 for a missing key too)."""
        check_name(name)
        try:
            obstore.delete(self._store, name)
        except (BaseError, OSError) as err:
            if self._missing(err):
                return
            raise self._fail("delete", name, err) from err


def _info(meta: Any) -> BlobInfo:
    modified: datetime.datetime = meta["last_modified"]
    ns = int(modified.timestamp()) * 1_000_000_000 + modified.microsecond * 1000
    return BlobInfo(str(meta["path"]), int(meta["size"]), ns)
