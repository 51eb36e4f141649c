"""Publish a definition to S3 as a versioned, encrypted, content-addressed artefact, with a
handoff bundle beside it that DevOps can verify and apply.

Layout under ``s3://BUCKET/PREFIX/NAME/SHA256/``: ``definition.json`` (the canonical JSON,
whose sha256 is the folder name), ``pipeline.yaml``, ``pipeline-execution.yaml``,
``HANDOFF.md``, with ``--sign`` ``handoff.json.sig``, and, written last, ``handoff.json``: a
bundle is complete or absent. handoff.json records the sha256 of every other file and the
settings the manifests were made from, so ``jupyter-ack handoff`` can tell any edit; the
signature (a KMS key's, over handoff.json's sha256) covers handoff.json itself.

Every publish costs one HEAD (of ``handoff.json``); an unchanged bundle writes nothing, a
new one writes the definition and the bundle once, and a bundle that changed (another role,
say) beside an existing definition rewrites the bundle only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jupyter_ack._version import __version__
from jupyter_ack.aws.clients import client, describe, error_code
from jupyter_ack.bundle.format import (
    BUNDLE_FILES,
    DEFAULT_PREFIX,
    DEFINITION_FILE,
    EXECUTION_FILE,
    HANDOFF_FILE,
    HANDOFF_KIND,
    HANDOFF_VERSION,
    MARKDOWN_FILE,
    PIPELINE_FILE,
    SIGNATURE_FILE,
    SIGNATURE_KIND,
    SIGNING_ALGORITHMS,
    bundle_folder_key,
    bundle_objects,
    check_location,
    devops_commands,
    digest_name,
    folder_of,
    handoff_markdown,
)
from jupyter_ack.errors import AwsError, JupyterAckError, ManifestError, PublishError
from jupyter_ack.pipeline.diagnostics import VALIDATE_HINT

if TYPE_CHECKING:
    from jupyter_ack.ack.manifests import Manifests
    from jupyter_ack.pipeline.definition import PipelineDefinition

MAX_PRESIGN = 7 * 24 * 3600
META_SHA256 = "sha256"
META_BUNDLE = "bundle-digest"
META_VERSION = "definition-version-id"
META_SIGNED_BY = "signed-by"
META_SIGNING_ALGORITHM = "signing-algorithm"


@dataclass(frozen=True)
class Published:
    """Where the artefact is and how to reach it."""

    s3_uri: str
    bucket: str
    key: str
    sha256: str
    version_id: str | None
    encryption: str
    kms_key_id: str | None
    https_url: str
    console_url: str
    presigned_url: str | None
    uploaded: bool
    handoff_uri: str
    bundle: dict[str, str] = field(default_factory=dict)
    namespace: str = "default"
    pipeline_object: str = ""
    signed_by: str | None = None
    signing_algorithm: str | None = None

    @property
    def folder(self) -> str:
        return folder_of(self.handoff_uri)

    def commands(self) -> list[tuple[str, str]]:
        """What DevOps run next: the same commands as the bundle's HANDOFF.md."""
        return devops_commands(self.folder, self.namespace, self.pipeline_object)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signer:
    """A KMS key that can sign, and the algorithm chosen for it."""

    key_arn: str
    algorithm: str
    kms: Any

    @property
    def hash_name(self) -> str:
        return digest_name(self.algorithm)

    def sign(self, body: bytes) -> dict[str, Any]:
        """The signature document for ``body`` (handoff.json): KMS signs its digest."""
        digest = hashlib.new(self.hash_name, body).digest()
        try:
            answer = self.kms.sign(
                KeyId=self.key_arn,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm=self.algorithm,
            )
        except Exception as e:
            raise _kms_error(e, self.key_arn, "signing handoff.json with") from None
        return {
            "kind": SIGNATURE_KIND,
            "file": HANDOFF_FILE,
            "key_id": answer.get("KeyId") or self.key_arn,
            "algorithm": self.algorithm,
            "message_type": "DIGEST",
            "digest": f"{self.hash_name}:{digest.hex()}",
            "signature": base64.b64encode(answer["Signature"]).decode(),
        }


def publish(
    definition: PipelineDefinition,
    *,
    bucket: str,
    prefix: str = DEFAULT_PREFIX,
    name: str | None = None,
    role_arn: str | None = None,
    namespace: str = "default",
    parameters: dict[str, str] | None = None,
    kms_key_id: str | None = None,
    sign_key_id: str | None = None,
    presign_seconds: int | None = None,
    source_notebook: str | None = None,
    s3: Any = None,
    kms: Any = None,
    built: Manifests | None = None,
) -> Published:
    """Upload ``definition`` and its handoff bundle; see the module docstring for the layout.

    ``built`` are the objects the caller will apply (``ops.submit`` builds them once); the
    bundle then hands off exactly those, its run named by ``generateName``. ``sign_key_id``
    (a KMS key with key usage SIGN_VERIFY) signs handoff.json. A bucket, prefix or name that
    cannot be used raises :class:`UsageError` before anything is read or written.
    """
    from jupyter_ack.ack.manifests import manifests

    pipeline_name = name or definition.name
    check_location(bucket, prefix, pipeline_name)
    problem = definition.problem("nothing was uploaded")
    if problem:
        raise PublishError(problem, hint=VALIDATE_HINT)
    if not pipeline_name:
        raise PublishError("the pipeline needs a name to publish it", hint="give --name NAME")
    if presign_seconds is not None and not 1 <= presign_seconds <= MAX_PRESIGN:
        raise PublishError(f"--presign takes 1 to {MAX_PRESIGN} seconds (7 days)")
    role = role_arn or infer_role_arn(definition)
    if not role:
        raise PublishError(
            "the handoff manifests need the role SageMaker assumes to run the pipeline",
            hint="give --role-arn arn:aws:iam::ACCOUNT:role/NAME",
        )
    if built is None or built.execution is None:
        try:
            built = manifests(
                definition,
                name=pipeline_name,
                role_arn=role,
                namespace=namespace,
                execute=True,
                parameters=parameters,
            )
        except ManifestError as e:
            raise PublishError(f"{e.message}; nothing was uploaded", hint=e.hint) from None
    sha = definition.sha256
    body = definition.canonical_bytes
    if sha is None or body is None:  # unreachable: a valid definition has both
        raise PublishError("the definition has no content to publish")
    folder = bundle_folder_key(prefix, pipeline_name, sha)
    key = f"{folder}/{DEFINITION_FILE}"
    s3 = s3 or client("s3")
    encryption = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
        if kms_key_id
        else {"ServerSideEncryption": "AES256"}
    )

    # The bundle as it would be written now, without time and identity: its digest tells
    # whether what is in S3 already is exactly this (the format and the signing key count:
    # an older or differently signed bundle is rewritten).
    docs = _bundle_documents(built, definition, pipeline_name, role, namespace, bucket, folder)
    digest = hashlib.sha256(
        json.dumps(
            {"bundle": docs, "version": HANDOFF_VERSION, "sign": sign_key_id}, sort_keys=True
        ).encode()
    ).hexdigest()

    # handoff.json is written last: where it exists, the definition beside it (the folder is
    # named after its sha256) is complete, and its metadata names the definition's version.
    existing = _head(s3, bucket, f"{folder}/{HANDOFF_FILE}")
    uploaded = False
    meta = (existing or {}).get("Metadata", {})
    signed_by: str | None = None
    algorithm: str | None = None
    if existing is not None and meta.get(META_BUNDLE) == digest:
        version_id = meta.get(META_VERSION) or None
        signed_by = meta.get(META_SIGNED_BY) or None
        algorithm = meta.get(META_SIGNING_ALGORITHM) or None
    else:
        # the signing key is checked before anything is written
        signer = signing_key(kms or client("kms"), sign_key_id) if sign_key_id else None
        if existing is not None and meta.get(META_SHA256) == sha:
            version_id = meta.get(META_VERSION) or None
        else:
            metadata = {
                META_SHA256: sha,
                "pipeline-name": pipeline_name,
                "tool": f"jupyter-ack {__version__}",
            }
            if source_notebook:
                metadata["source-notebook"] = os.path.basename(source_notebook)
            result = _put(
                s3,
                bucket,
                key,
                body,
                "application/json",
                metadata,
                encryption,
            )
            version_id = result.get("VersionId")
            uploaded = True
        _write_bundle(
            s3,
            bucket,
            folder,
            built,
            docs,
            definition,
            pipeline_name,
            version_id,
            digest,
            encryption,
            signer,
            was_signed=bool(meta.get(META_SIGNED_BY)),
        )
        if signer is not None:
            signed_by, algorithm = signer.key_arn, signer.algorithm

    s3_uri = f"s3://{bucket}/{key}"
    region = s3.meta.region_name or "us-east-1"
    presigned = None
    if presign_seconds is not None:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        presigned = s3.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=presign_seconds
        )
    files = (*BUNDLE_FILES, HANDOFF_FILE, *((SIGNATURE_FILE,) if signed_by else ()))
    return Published(
        s3_uri=s3_uri,
        bucket=bucket,
        key=key,
        sha256=sha,
        version_id=version_id,
        encryption=encryption["ServerSideEncryption"],
        kms_key_id=kms_key_id,
        https_url=_https_url(bucket, key, region),
        console_url=f"https://s3.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}",
        presigned_url=presigned,
        uploaded=uploaded,
        handoff_uri=f"s3://{bucket}/{folder}/{HANDOFF_FILE}",
        bundle={n: f"s3://{bucket}/{folder}/{n}" for n in files},
        namespace=namespace,
        pipeline_object=built.pipeline["metadata"]["name"],
        signed_by=signed_by,
        signing_algorithm=algorithm,
    )


def signing_key(kms: Any, key_id: str) -> Signer:
    """The KMS key ``key_id`` (id, ARN or alias) as a :class:`Signer`, or a PublishError
    saying why it cannot sign: asked once, before anything is written."""
    try:
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except Exception as e:
        raise _kms_error(e, key_id, "reading") from None
    arn = str(meta.get("Arn") or key_id)
    if meta.get("KeyUsage") != "SIGN_VERIFY":
        raise PublishError(
            f"KMS key {key_id} cannot sign (its key usage is {meta.get('KeyUsage')}); "
            "nothing was uploaded",
            hint="give an asymmetric key made with --key-usage SIGN_VERIFY "
            "--key-spec RSA_2048 (or ECC_NIST_P256)",
        )
    if meta.get("KeyState", "Enabled") != "Enabled":
        raise PublishError(
            f"KMS key {key_id} is {meta.get('KeyState')}, not Enabled; nothing was uploaded"
        )
    offered = meta.get("SigningAlgorithms") or []
    algorithm = next((a for a in SIGNING_ALGORITHMS if a in offered), None)
    if algorithm is None:
        raise PublishError(
            f"KMS key {key_id} offers no signing algorithm jupyter-ack uses "
            f"({', '.join(offered) or 'none'}); nothing was uploaded"
        )
    return Signer(arn, algorithm, kms)


def _kms_error(exc: BaseException, key_id: str, action: str) -> JupyterAckError:
    code = error_code(exc)
    if code == "NotFoundException":
        return PublishError(
            f"KMS key {key_id} does not exist (or is in another account or region); "
            "nothing was uploaded",
            hint="list keys with `aws kms list-keys` / `aws kms list-aliases`",
        )
    return describe(exc, f"{action} KMS key {key_id}")


def infer_role_arn(definition: PipelineDefinition) -> str | None:
    """The execution role, when every step that names one names the same."""
    roles: set[str] = set()
    stack: list[Any] = [definition.data]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in ("RoleArn", "ExecutionRoleArn") and isinstance(v, str):
                    roles.add(v)
                elif isinstance(v, dict | list):
                    stack.append(v)
        elif isinstance(obj, list):
            stack.extend(v for v in obj if isinstance(v, dict | list))
    return roles.pop() if len(roles) == 1 else None


def _bundle_documents(
    built: Manifests,
    definition: PipelineDefinition,
    name: str,
    role: str,
    namespace: str,
    bucket: str,
    folder: str,
) -> dict[str, Any]:
    """What handoff.json says, minus time, identity and the version only S3 knows."""
    definition_uri = f"s3://{bucket}/{folder}/{DEFINITION_FILE}"
    pipeline, execution = bundle_objects(built, definition_uri, None)
    return {
        "pipeline_name": name,
        "namespace": namespace,
        "role_arn": role,
        "sha256": definition.sha256,
        "definition": definition_uri,
        "parameters": [p.to_json() for p in definition.parameters],
        "parameter_values": built.parameters,
        "steps": len(definition.dag.nodes),
        "manifests": {PIPELINE_FILE: pipeline, EXECUTION_FILE: execution},
    }


def _write_bundle(
    s3: Any,
    bucket: str,
    folder: str,
    built: Manifests,
    docs: dict[str, Any],
    definition: PipelineDefinition,
    name: str,
    version_id: str | None,
    digest: str,
    encryption: dict[str, Any],
    signer: Signer | None,
    was_signed: bool,
) -> None:
    """Write the bundle's files, then (signed) handoff.json.sig, then handoff.json last."""
    from jupyter_ack.ack.manifests import to_yaml

    pipeline, execution = bundle_objects(built, docs["definition"], version_id)
    handoff: dict[str, Any] = {
        "kind": HANDOFF_KIND,
        "version": HANDOFF_VERSION,
        **{k: v for k, v in docs.items() if k != "manifests"},
        "definition_version_id": version_id,
        "files": {n: f"s3://{bucket}/{folder}/{n}" for n in BUNDLE_FILES},
        "published_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_by": _caller(),
        "tool": f"jupyter-ack {__version__}",
        "signing": (
            {"key_id": signer.key_arn, "algorithm": signer.algorithm, "file": SIGNATURE_FILE}
            if signer
            else None
        ),
    }
    meta = {META_SHA256: definition.sha256 or "", "pipeline-name": name}
    files = {
        PIPELINE_FILE: to_yaml([pipeline]).encode(),
        EXECUTION_FILE: to_yaml([execution]).encode(),
        MARKDOWN_FILE: handoff_markdown(handoff, pipeline["metadata"]["name"]).encode(),
    }
    handoff["file_sha256"] = {
        DEFINITION_FILE: definition.sha256,
        **{n: hashlib.sha256(b).hexdigest() for n, b in files.items()},
    }
    body = (json.dumps(handoff, indent=2, ensure_ascii=False) + "\n").encode()
    # sign before writing anything of the bundle: a refused signature leaves no new files
    signature = signer.sign(body) if signer else None
    for file_name, data in files.items():
        content_type = "text/markdown" if file_name.endswith(".md") else "application/yaml"
        _put(s3, bucket, f"{folder}/{file_name}", data, content_type, meta, encryption)
    if signature is not None:
        sig_body = (json.dumps(signature, indent=2) + "\n").encode()
        _put(
            s3, bucket, f"{folder}/{SIGNATURE_FILE}", sig_body, "application/json", meta, encryption
        )
    elif was_signed:  # a stale signature of the previous handoff.json would not verify
        _delete(s3, bucket, f"{folder}/{SIGNATURE_FILE}")
    last_meta = {**meta, META_BUNDLE: digest, META_VERSION: version_id or ""}
    if signer is not None:
        last_meta[META_SIGNED_BY] = signer.key_arn
        last_meta[META_SIGNING_ALGORITHM] = signer.algorithm
    _put(s3, bucket, f"{folder}/{HANDOFF_FILE}", body, "application/json", last_meta, encryption)


def _caller() -> str:
    try:
        arn: str = client("sts").get_caller_identity()["Arn"]
        return arn
    except Exception:  # identity is informative only; never block a publish on it
        return "unknown"


def _https_url(bucket: str, key: str, region: str) -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}/{key}"
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
        return result
    except Exception as e:
        code = error_code(e)
        if code in ("404", "NoSuchKey", "NotFound"):
            return None
        if code in ("403", "AccessDenied"):
            raise PublishError(
                f"access denied reading s3://{bucket}/{key}; nothing was uploaded",
                hint="your AWS identity needs s3:GetObject and s3:PutObject on the bucket",
            ) from None
        raise _publish_error(e, f"publishing to s3://{bucket}") from None


def _put(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes,
    content_type: str,
    metadata: dict[str, str],
    encryption: dict[str, Any],
) -> dict[str, Any]:
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
    try:
        result: dict[str, Any] = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ChecksumSHA256=checksum,
            Metadata=metadata,
            **encryption,
        )
        return result
    except Exception as e:
        raise _publish_error(e, f"uploading s3://{bucket}/{key}") from None


def _delete(s3: Any, bucket: str, key: str) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except Exception as e:
        raise _publish_error(e, f"deleting s3://{bucket}/{key}") from None


def _publish_error(exc: BaseException, action: str) -> JupyterAckError:
    error = describe(exc, action)
    if error_code(exc) == "NoSuchBucket":
        bucket = action.split("s3://", 1)[-1].split("/", 1)[0]
        return AwsError(
            f"bucket {bucket!r} does not exist", hint="create it (aws s3 mb) or check the name"
        )
    return error
