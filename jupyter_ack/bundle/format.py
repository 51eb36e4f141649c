"""The handoff bundle's format: its files, the names it may hold, the objects it hands off,
and the commands DevOps run, stated once.

``HANDOFF.md``, the notebook's handoff card, ``jupyter-ack publish`` and the demo all print
the commands from :func:`devops_commands` (or :func:`shell_command`). Every value in them is
shell-quoted, and the bucket, prefix and pipeline name are checked before anything is written
(:func:`check_location`), so a name can neither break out of a command nor out of its S3
folder. The Pipeline is applied server-side: client-side ``kubectl apply`` stores the whole
object in an annotation capped at 256 KiB, which a large definition exceeds.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import shlex
from typing import TYPE_CHECKING, Any

from jupyter_ack.errors import UsageError
from jupyter_ack.pipeline.rules import PIPELINE_NAME_RULE, is_pipeline_name

if TYPE_CHECKING:
    from jupyter_ack.ack.manifests import Manifests

DEFINITION_FILE = "definition.json"
HANDOFF_FILE = "handoff.json"
SIGNATURE_FILE = "handoff.json.sig"
PIPELINE_FILE = "pipeline.yaml"
EXECUTION_FILE = "pipeline-execution.yaml"
MARKDOWN_FILE = "HANDOFF.md"
BUNDLE_FILES = (PIPELINE_FILE, EXECUTION_FILE, MARKDOWN_FILE)
# the files whose sha256 handoff.json records (it cannot record its own: the signature does)
HASHED_FILES = (DEFINITION_FILE, *BUNDLE_FILES)
ALL_FILES = (DEFINITION_FILE, *BUNDLE_FILES, HANDOFF_FILE, SIGNATURE_FILE)
DEFAULT_PREFIX = "jupyter-ack"

# handoff.json's "version": 2 records file_sha256 and signing; 1 (legacy) records neither
HANDOFF_VERSION = 2
HANDOFF_KIND = "jupyter-ack/handoff"
SIGNATURE_KIND = "jupyter-ack/handoff-signature"
# KMS signing algorithms in the order one is picked from those a key offers: PSS before
# PKCS#1 v1.5 on RSA keys; on ECC keys the hash the curve was made for.
SIGNING_ALGORITHMS = (
    "RSASSA_PSS_SHA_256",
    "ECDSA_SHA_256",
    "RSASSA_PSS_SHA_384",
    "ECDSA_SHA_384",
    "RSASSA_PSS_SHA_512",
    "ECDSA_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
)

# S3's rules for general purpose bucket names (the S3 user guide, "Bucket naming rules")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
BUCKET_RULE = (
    "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or "
    "digit, no '..', not an IP address"
)
# Prefixes: the characters S3 calls safe for keys, and '/' between folders. Anything else
# (spaces, '$', '`', quotes other than "'", control characters) is refused rather than
# quoted: the prefix ends up in shell commands, URLs and the console.
PREFIX_CHARS = re.compile(r"^[A-Za-z0-9!\-_.*'()/]*\Z")
PREFIX_RULE = "letters, digits, '/' and ! - _ . * ' ( )"
MAX_PREFIX_BYTES = 900
MAX_KEY_BYTES = 1024  # S3's limit on a whole key: prefix/name/sha256/file
_LONGEST_FILE = max(len(n) for n in ALL_FILES)


def folder_of(uri: str) -> str:
    """The bundle's folder (``s3://b/prefix/name/sha``) from the URI of any file in it."""
    return uri.rsplit("/", 1)[0]


def digest_name(algorithm: str) -> str:
    """The hash a KMS signing algorithm signs (``RSASSA_PSS_SHA_256`` -> ``sha256``): KMS is
    given handoff.json's digest (MessageType DIGEST), so the file's size never matters."""
    return "sha" + algorithm.rsplit("_", 1)[-1]


def bucket_problem(bucket: str) -> str | None:
    """Why S3 would refuse ``bucket`` as a name, or None."""
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        return f"bucket name {bucket!r} is not valid for S3 ({BUCKET_RULE})"
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        pass
    else:
        return f"bucket name {bucket!r} is an IP address; S3 bucket names cannot be"
    reserved = [p for p in BUCKET_RESERVED_PREFIXES if bucket.startswith(p)] + [
        s for s in BUCKET_RESERVED_SUFFIXES if bucket.endswith(s)
    ]
    if reserved:
        return f"bucket name {bucket!r} uses {reserved[0]!r}, which S3 reserves"
    return None


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot hold bundles, or None. A trailing '/' is allowed (and dropped)."""
    bad = sorted({ch for ch in prefix if not PREFIX_CHARS.match(ch)})
    if bad:
        shown = " ".join(repr(ch) for ch in bad)
        return (
            f"prefix {prefix!r} has characters S3 keys should not hold ({shown}); use {PREFIX_RULE}"
        )
    if prefix.startswith("/"):
        return f"prefix {prefix!r} starts with '/'; S3 keys do not (write {prefix.lstrip('/')!r})"
    if ".." in prefix:
        return f"prefix {prefix!r} holds '..'; give the folder itself"
    if "//" in prefix.rstrip("/"):
        return f"prefix {prefix!r} has an empty folder ('//')"
    if len(prefix.encode()) > MAX_PREFIX_BYTES:
        return f"prefix is {len(prefix.encode())} bytes; at most {MAX_PREFIX_BYTES}"
    return None


def check_location(bucket: str, prefix: str, name: str | None) -> None:
    """Raise :class:`UsageError` (one line, exit 2) unless the bundle's S3 location is sound.

    Called before anything is read or written: a name that fails here would otherwise reach
    S3, a shell command or a URL.
    """
    problem = bucket_problem(bucket) or prefix_problem(prefix)
    if problem is None and name is not None and not is_pipeline_name(name):
        problem = f"pipeline name {name!r} is not valid for SageMaker ({PIPELINE_NAME_RULE})"
    if problem is None and name is not None:
        key = len(bundle_folder_key(prefix, name, "0" * 64).encode()) + 1 + _LONGEST_FILE
        if key > MAX_KEY_BYTES:
            problem = f"the bundle's keys would be {key} bytes; S3 takes at most {MAX_KEY_BYTES}"
    if problem:
        raise UsageError(problem)


def bundle_folder_key(prefix: str, name: str, sha256: str) -> str:
    """The bundle's folder inside its bucket: ``PREFIX/NAME/SHA256`` (no empty parts)."""
    return "/".join(p for p in (prefix.strip("/"), name, sha256) if p)


def shell_command(*argv: str) -> str:
    """One command line with every argument shell-quoted, for a person to copy."""
    return shlex.join(argv)


def bundle_objects(
    built: Manifests, definition_uri: str, version_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bundle's Pipeline and PipelineExecution, made from ``built``.

    Publishing writes these, and verifying re-derives them from the definition and the
    settings handoff.json records: both go through here, so they can be compared field by
    field. The objects are annotated with the definition's URI (and version), and the run is
    named by ``generateName``: each ``kubectl create`` is a new run (so it has no display name
    of its own; ``jupyter-ack handoff --apply`` names the run and sets one).
    """
    from jupyter_ack.ack.manifests import annotate

    annotated = annotate(built, definition_uri, version_id)
    pipeline = copy.deepcopy(annotated.pipeline)
    execution = copy.deepcopy(annotated.execution or {})
    metadata = execution.setdefault("metadata", {})
    run = metadata.pop("name", None)
    spec = execution.setdefault("spec", {})
    if run is not None and spec.get("pipelineExecutionDisplayName") == run:
        del spec["pipelineExecutionDisplayName"]
    metadata["generateName"] = f"{pipeline['metadata']['name']}-"
    return pipeline, execution


def devops_commands(
    folder: str | None, namespace: str, pipeline_object: str
) -> list[tuple[str, str]]:
    """(what, command) pairs for the DevOps side, in the order one would run them.

    ``folder`` is the published bundle (``s3://...``); without one, the commands apply local
    files named as the bundle names them.
    """
    q = shlex.quote
    ns = f"-n {q(namespace)}"
    wait = f"kubectl wait --for=condition=ACK.ResourceSynced {ns} pipeline/{q(pipeline_object)}"
    watch = ("watch the run", f"kubectl get pipelineexecutions {ns} -w")
    if folder is None:
        return [
            (
                "apply the objects below",
                f"kubectl apply --server-side {ns} -f {PIPELINE_FILE}\n{wait}\n"
                f"kubectl create {ns} -f {EXECUTION_FILE}   # each create is a new run",
            ),
            watch,
        ]
    where = q(folder + "/")
    pipeline_yaml, execution_yaml = q(f"{folder}/{PIPELINE_FILE}"), q(f"{folder}/{EXECUTION_FILE}")
    return [
        ("verify the bundle", f"jupyter-ack handoff {where}"),
        ("verify, apply and follow", f"jupyter-ack handoff {where} --apply --wait {ns}"),
        (
            "or with kubectl (unverified)",
            f"aws s3 cp {pipeline_yaml} - | kubectl apply --server-side {ns} -f -\n"
            f"{wait}\n"
            f"aws s3 cp {execution_yaml} - | kubectl create {ns} -f -"
            "   # each create is a new run",
        ),
        watch,
    ]


def _md_code(value: object) -> str:
    """A table cell as inline code: backticks and pipes cannot end the cell or the code."""
    text = str(value).replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def handoff_markdown(handoff: dict[str, Any], pipeline_object: str) -> str:
    """The page for a person: what it is, and the exact commands to verify and apply it."""
    folder = folder_of(handoff["definition"])
    ns = handoff["namespace"]
    params = (
        "\n".join(
            f"| {_md_code(p['name'])} | {p['type']} | {_md_code(json.dumps(p['default_value']))} |"
            for p in handoff["parameters"]
        )
        or "| (none) | | |"
    )
    commands = devops_commands(folder, ns, pipeline_object)
    verify = commands[0][1]
    apply = "\n".join(f"# {what}\n{command}" for what, command in commands[1:])
    signing = handoff.get("signing") or {}
    signed = (
        f"| signed by | `{signing['key_id']}` ({signing['algorithm']}) |\n"
        if signing.get("key_id")
        else ""
    )
    return f"""# Handoff: SageMaker pipeline `{handoff["pipeline_name"]}`

Published {handoff["published_at"]} by {_md_code(handoff["published_by"])} with {handoff["tool"]}.

| | |
|---|---|
| definition | `{handoff["definition"]}` |
| version | {_md_code(handoff["definition_version_id"] or "unversioned bucket")} |
| sha256 | `{handoff["sha256"]}` |
| steps | {handoff["steps"]} |
| role | `{handoff["role_arn"]}` |
| namespace | `{ns}` |
{signed}
## Parameters

| name | type | default |
|---|---|---|
{params}

## Verify

```sh
{verify}
```

checks each file against the sha256 `{HANDOFF_FILE}` records, re-derives the manifests from
the definition and the settings `{HANDOFF_FILE}` records and compares them field by field,
and checks the KMS signature (`{SIGNATURE_FILE}`) when the bundle has one.

## Apply

```sh
{apply}
kubectl get pipelineexecutions -n {shlex.quote(ns)} -o wide
```
"""
