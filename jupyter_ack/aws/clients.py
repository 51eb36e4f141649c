"""AWS access shared by the core: clients from the standard credential chain, and errors
turned into one line that says what is wrong and how to fix it (never a secret).

boto3 is imported here, on first use only.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from jupyter_ack.errors import AwsError, JupyterAckError

_CREDENTIALS_HINT = (
    "configure credentials: `aws configure` or `aws sso login --profile P` and "
    "AWS_PROFILE=P, or run `jupyter-ack sandbox up` and source its env file"
)


# AWS error codes (and botocore exception names) by what they mean to the user
NO_CREDENTIALS = {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
INVALID_KEYS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
}
DENIED = {"AccessDenied", "AccessDeniedException", "403"}
NO_ACCESS = NO_CREDENTIALS | EXPIRED | INVALID_KEYS | DENIED
THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}

_ENV_KEYS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
_clients: dict[tuple[str, ...], Any] = {}


def reset_clients() -> None:
    """Forget the cached clients (after changing credentials in-process)."""
    _clients.clear()


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client from the standard chain (env, profile, SSO, instance role).

    Clients are reused while the AWS settings in the environment stay the same: making one
    costs tens of milliseconds, more than the call it serves.
    """

    key = (service, region or "", *(os.environ.get(k, "") for k in _ENV_KEYS))
    found = _clients.get(key)
    if found is not None:
        return found
    try:
        made = _session(service).client(service, region_name=region)
    except Exception as e:  # a bad profile or region fails here, before any call
        raise describe(e, f"connecting to AWS {service}") from None
    _clients[key] = made
    return made


def _session(service: str) -> Any:
    """A boto3 session whose botocore reads our cut model of ``service`` when there is one
    (see :mod:`jupyter_ack.aws.models`): a session of its own, so the user's clients in the
    same process keep the full model."""
    import boto3
    import botocore.session

    from jupyter_ack.aws.models import search_path

    path = search_path(service)
    if path is None:
        return boto3.session.Session()
    core = botocore.session.Session()
    core.get_component("data_loader").search_paths.insert(0, str(path))
    return boto3.session.Session(botocore_session=core)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key."""
    if not uri.startswith("s3://"):
        raise JupyterAckError(f"{uri}: not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise JupyterAckError(f"{uri}: an S3 URI needs a bucket and a key (s3://bucket/key)")
    return bucket, key


# S3's answers to a GET of a version that is not there: NoSuchVersion for a well-formed id,
# InvalidArgument ("Invalid version id specified") for one S3 could never have issued
NO_SUCH_VERSION = {"NoSuchVersion", "InvalidArgument"}
# ListObjectVersions entries read when looking for an object's newest versions: a few spare
# for delete markers, never a paginated walk of a bucket's whole history
VERSIONS_PAGE = 10


def s3_get_text(uri: str, version_id: str | None = None) -> str:
    """Read an S3 object (that version of it, when ``version_id`` is given) as UTF-8 text."""
    bucket, key = parse_s3_uri(uri)
    params = {"Bucket": bucket, "Key": key}
    if version_id is not None:
        params["VersionId"] = version_id
    try:
        body = client("s3").get_object(**params)["Body"].read()
    except Exception as e:
        if version_id is not None and error_code(e) in NO_SUCH_VERSION:
            raise AwsError(
                f"no version {version_id} of {uri}",
                hint="list its versions with `aws s3api list-object-versions --bucket "
                f"{shlex.quote(bucket)} --prefix {shlex.quote(key)}`",
            ) from None
        raise describe(e, f"reading {uri}") from None
    try:
        text: str = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AwsError(f"{uri}: not UTF-8 text") from None
    return text


def s3_latest_versions(uri: str, count: int = 2) -> list[str]:
    """The version ids of an object's ``count`` newest versions, newest first (fewer when it
    has fewer; one, ``"null"``, when the bucket is not versioned).

    One ListObjectVersions call of at most :data:`VERSIONS_PAGE` entries: an object's
    versions are listed before those of any longer key it prefixes, newest first, so the
    first page holds what is wanted without walking the bucket's history.
    """
    bucket, key = parse_s3_uri(uri)
    try:
        page = client("s3").list_object_versions(
            Bucket=bucket, Prefix=key, MaxKeys=max(count, VERSIONS_PAGE)
        )
    except Exception as e:
        raise describe(e, f"listing the versions of {uri}") from None
    found = [
        str(v["VersionId"])
        for v in page.get("Versions") or []
        if v.get("Key") == key and v.get("VersionId")
    ]
    return found[:count]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (``NoSuchKey``, ``404``...), else ``""``."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def describe(exc: BaseException, action: str) -> JupyterAckError:
    """Turn a botocore exception into an :class:`AwsError` with a hint."""
    if isinstance(exc, JupyterAckError):
        return exc
    name = type(exc).__name__
    if name in NO_CREDENTIALS:
        return AwsError(f"{action}: no AWS credentials found", hint=_CREDENTIALS_HINT)
    if name == "ProfileNotFound":
        profile = getattr(exc, "kwargs", {}).get("profile", "")
        return AwsError(
            f"{action}: the AWS profile {profile!r} does not exist",
            hint="list profiles with `aws configure list-profiles`, or unset AWS_PROFILE",
        )
    if name == "NoRegionError":
        return AwsError(
            f"{action}: no AWS region set",
            hint="set AWS_DEFAULT_REGION or a region in your AWS profile",
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return AwsError(
            f"{action}: cannot reach AWS ({exc})",
            hint="check the network, AWS_ENDPOINT_URL and the region",
        )
    if name in ("SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError"):
        return AwsError(f"{action}: the SSO session has expired", hint="run `aws sso login`")
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        code = str(err.get("Code", "")) or str(
            response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        )
        message = str(err.get("Message", "")).strip()
        return AwsError(f"{action}: {code}{': ' + message if message else ''}", hint=_hint(code))
    return AwsError(f"{action}: {name}: {exc}")


def _hint(code: str) -> str | None:
    if code in EXPIRED:
        return "your AWS session has expired: log in again (`aws sso login`) or refresh the keys"
    if code in INVALID_KEYS:
        return "the AWS keys are not valid for this account: " + _CREDENTIALS_HINT
    if code in DENIED:
        return "your AWS identity lacks the permission; ask for it, or use another profile"
    if code in ("NoSuchBucket",):
        return "check the bucket name and region, or create the bucket"
    if code in ("NoSuchKey", "404"):
        return "check the key; `aws s3 ls` lists what is there"
    if code.startswith("KMS"):
        return "check the KMS key id and that your identity may use it"
    return None
