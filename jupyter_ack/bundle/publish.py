"""Publish a definition to S3 as a versioned, encrypted, content-addressed artefact, with a
handoff bundle beside it that DevOps can verify and apply.

Layout under ``s3://BUCKET/PREFIX/NAME/SHA256/``: ``definition.json`` (the canonical JSON,
whose sha256 is the folder name), ``pipeline.yaml``, ``pipeline-execution.yaml``,
``HANDOFF.md`` and, written last, ``handoff.json``: a bundle is complete or absent.
Every publish costs one HEAD (of ``handoff.json``); an unchanged bundle writes nothing, a
new one writes the definition and the bundle once, and a bundle that changed (another role,
say) beside an existing definition rewrites the bundle only.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jupyter_ack._version import __version__
from jupyter_ack.ack.resources import ANNOTATION_S3_URI, ANNOTATION_VERSION
from jupyter_ack.aws.clients import client, describe, error_code
from jupyter_ack.bundle.format import (
    BUNDLE_FILES,
    DEFAULT_PREFIX,
    DEFINITION_FILE,
    EXECUTION_FILE,
    HANDOFF_FILE,
    MARKDOWN_FILE,
    PIPELINE_FILE,
    devops_commands,
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

    @property
    def folder(self) -> str:
        return folder_of(self.handoff_uri)

    def commands(self) -> list[tuple[str, str]]:
        """What DevOps run next: the same commands as the bundle's HANDOFF.md."""
        return devops_commands(self.folder, self.namespace, self.pipeline_object)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
    presign_seconds: int | None = None,
    source_notebook: str | None = None,
    s3: Any = None,
    built: Manifests | None = None,
) -> Published:
    """Upload ``definition`` and its handoff bundle; see the module docstring for the layout.

    ``built`` are the objects the caller will apply (``ops.submit`` builds them once); the
    bundle then hands off exactly those, its run named by ``generateName``.
    """
    from jupyter_ack.ack.manifests import manifests

    problem = definition.problem("nothing was uploaded")
    if problem:
        raise PublishError(problem, hint=VALIDATE_HINT)
    pipeline_name = name or definition.name
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
    folder = "/".join(p for p in (prefix.strip("/"), pipeline_name, sha) if p)
    key = f"{folder}/{DEFINITION_FILE}"
    s3 = s3 or client("s3")
    encryption = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
        if kms_key_id
        else {"ServerSideEncryption": "AES256"}
    )

    # The bundle as it would be written now, without time and identity: its digest tells
    # whether what is in S3 already is exactly this.
    docs = _bundle_documents(built, definition, pipeline_name, role, namespace, bucket, folder)
    digest = hashlib.sha256(json.dumps(docs, sort_keys=True).encode()).hexdigest()

    # handoff.json is written last: where it exists, the definition beside it (the folder is
    # named after its sha256) is complete, and its metadata names the definition's version.
    existing = _head(s3, bucket, f"{folder}/{HANDOFF_FILE}")
    uploaded = False
    meta = (existing or {}).get("Metadata", {})
    if existing is not None and meta.get(META_BUNDLE) == digest:
        version_id = meta.get(META_VERSION) or None
    else:
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
        )

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
        bundle={n: f"s3://{bucket}/{folder}/{n}" for n in (*BUNDLE_FILES, HANDOFF_FILE)},
        namespace=namespace,
        pipeline_object=built.pipeline["metadata"]["name"],
    )


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
    pipeline = copy.deepcopy(built.pipeline)
    execution = copy.deepcopy(built.execution or {})
    annotations = {ANNOTATION_S3_URI: f"s3://{bucket}/{folder}/{DEFINITION_FILE}"}
    for doc in (pipeline, execution):
        doc["metadata"]["annotations"].update(annotations)
    # A new run per `kubectl create`: the bundle's execution has a generated name (and so no
    # display name of its own; `jupyter-ack handoff --apply` names the run and sets one).
    run = execution["metadata"].pop("name")
    if execution["spec"].get("pipelineExecutionDisplayName") == run:
        del execution["spec"]["pipelineExecutionDisplayName"]
    execution["metadata"]["generateName"] = f"{pipeline['metadata']['name']}-"
    return {
        "pipeline_name": name,
        "namespace": namespace,
        "role_arn": role,
        "sha256": definition.sha256,
        "definition": f"s3://{bucket}/{folder}/{DEFINITION_FILE}",
        "parameters": [p.to_json() for p in definition.parameters],
        "parameter_values": built.parameters,
        "steps": len(definition.dag.nodes),
        "manifests": {"pipeline.yaml": pipeline, "pipeline-execution.yaml": execution},
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
) -> None:
    from jupyter_ack.ack.manifests import to_yaml

    pipeline = docs["manifests"]["pipeline.yaml"]
    execution = docs["manifests"]["pipeline-execution.yaml"]
    if version_id:
        for doc in (pipeline, execution):
            doc["metadata"]["annotations"][ANNOTATION_VERSION] = version_id
    handoff = {
        "kind": "jupyter-ack/handoff",
        "version": 1,
        **{k: v for k, v in docs.items() if k != "manifests"},
        "definition_version_id": version_id,
        "files": {n: f"s3://{bucket}/{folder}/{n}" for n in BUNDLE_FILES},
        "published_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_by": _caller(),
        "tool": f"jupyter-ack {__version__}",
    }
    meta = {META_SHA256: definition.sha256 or "", "pipeline-name": name}
    files = {
        PIPELINE_FILE: to_yaml([pipeline]),
        EXECUTION_FILE: to_yaml([execution]),
        MARKDOWN_FILE: handoff_markdown(handoff, pipeline["metadata"]["name"]),
    }
    for file_name, text in files.items():
        content_type = "text/markdown" if file_name.endswith(".md") else "application/yaml"
        _put(s3, bucket, f"{folder}/{file_name}", text.encode(), content_type, meta, encryption)
    body = (json.dumps(handoff, indent=2, ensure_ascii=False) + "\n").encode()
    last_meta = {**meta, META_BUNDLE: digest, META_VERSION: version_id or ""}
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


def _publish_error(exc: BaseException, action: str) -> JupyterAckError:
    error = describe(exc, action)
    if error_code(exc) == "NoSuchBucket":
        bucket = action.split("s3://", 1)[-1].split("/", 1)[0]
        return AwsError(
            f"bucket {bucket!r} does not exist", hint="create it (aws s3 mb) or check the name"
        )
    return error
