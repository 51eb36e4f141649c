"""Fetch a published handoff bundle and check that it is what it says it is.

Three layers of checks, each catching what the one before cannot:

- consistency: the definition's sha256 must match the folder it sits in, handoff.json, the
  objects' annotations, and the definition embedded in ``pipeline.yaml``;
- integrity: every file must have the sha256 handoff.json records (``file_sha256``), and the
  manifests are re-derived from the definition and the settings handoff.json records (name,
  role, namespace, parameter values, S3 URI and version) with the same builder publishing
  used, then compared field by field: a changed role, name, annotation or value is named;
- authenticity: handoff.json itself is covered by a KMS signature (``handoff.json.sig``)
  when the bundle was published with ``--sign``; ``signed_by`` pins the key.

A bundle edited by hand, or pointing at another version, is refused before anyone applies
it. Bundles from before file hashes ("legacy") are still checked for consistency and
re-derived, and said to be legacy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from jupyter_ack.ack.resources import ANNOTATION_SHA256
from jupyter_ack.aws.clients import client, describe, error_code, parse_s3_uri
from jupyter_ack.bundle.format import (
    ALL_FILES,
    DEFINITION_FILE,
    EXECUTION_FILE,
    HANDOFF_FILE,
    HANDOFF_KIND,
    HASHED_FILES,
    MARKDOWN_FILE,
    PIPELINE_FILE,
    SIGNATURE_FILE,
    SIGNING_ALGORITHMS,
    bundle_objects,
    digest_name,
)
from jupyter_ack.errors import HandoffError, JupyterAckError
from jupyter_ack.pipeline.definition import sha256_of
from jupyter_ack.pipeline.diff import MISSING, compare

# S3's answers for an object (or version) that is not there
MISSING_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
# at most this many field differences are listed per file; the rest are counted
MAX_FIELD_PROBLEMS = 10
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SignatureCheck:
    """What was found about handoff.json's signature.

    ``status``: ``valid``; ``unsigned`` (no signature, none declared); ``missing`` (declared
    or required, not there); ``invalid`` (KMS says it does not match); ``unchecked`` (KMS
    could not be asked).
    """

    status: str = "unsigned"
    key_id: str | None = None
    algorithm: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "key_id": self.key_id, "algorithm": self.algorithm}


@dataclass
class Bundle:
    """A fetched bundle: its handoff.json, the definition text and the manifests.

    ``raw`` holds each file's bytes as fetched (None: the file is not there); the checks
    that need bytes (file sha256) run on what is in it.
    """

    folder: str
    handoff: dict[str, Any]
    definition_text: str
    pipeline: dict[str, Any]
    execution: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    raw: dict[str, bytes | None] = field(default_factory=dict)
    signature: SignatureCheck = field(default_factory=SignatureCheck)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def hashed(self) -> bool:
        """Whether handoff.json records its files' sha256 (False: a legacy bundle)."""
        return isinstance(self.handoff.get("file_sha256"), dict)

    def summary(self) -> dict[str, Any]:
        h = self.handoff
        return {
            "ok": self.ok,
            "problems": self.problems,
            "pipeline_name": h.get("pipeline_name"),
            "namespace": h.get("namespace"),
            "sha256": h.get("sha256"),
            "definition": h.get("definition"),
            "definition_version_id": h.get("definition_version_id"),
            "published_at": h.get("published_at"),
            "published_by": h.get("published_by"),
            "parameters": h.get("parameters"),
            "steps": h.get("steps"),
            "integrity": {
                "files": "sha256" if self.hashed else "legacy",
                "manifests": self.notes.get("manifests_status", "not re-derived"),
                "signature": self.signature.to_json(),
            },
            "notes": {k: v for k, v in self.notes.items() if not k.endswith("_status")},
        }


def bundle_folder(uri: str) -> str:
    """``s3://b/p/`` or ``s3://b/p/handoff.json`` (or any file of the bundle) -> ``s3://b/p``."""
    bucket, key = parse_s3_uri(uri if uri.count("/") > 2 else uri + "/x")
    key = key.rstrip("/")
    last = key.rsplit("/", 1)[-1]
    if last in ALL_FILES:
        key = key.rsplit("/", 1)[0] if "/" in key else ""
    return f"s3://{bucket}/{key}".rstrip("/")


def fetch(uri: str, s3: Any = None, *, kms: Any = None, signed_by: str | None = None) -> Bundle:
    """Download the bundle at ``uri`` and verify it (problems are listed, not raised).

    Raises :class:`HandoffError` only when there is no bundle to speak of (no handoff.json,
    or not one of ours). ``signed_by`` (a KMS key id, ARN or alias) requires a valid
    signature by that key.
    """
    import yaml

    folder = bundle_folder(uri)
    s3 = s3 or client("s3")
    handoff_body = _get(s3, f"{folder}/{HANDOFF_FILE}")
    if handoff_body is None:
        raise HandoffError(
            f"{folder}/{HANDOFF_FILE} does not exist: the bundle is incomplete or the URI is wrong",
            hint="give the bundle's folder (s3://bucket/prefix/name/sha256/) or its handoff.json",
        )
    try:
        handoff = json.loads(handoff_body.decode("utf-8"))
    except ValueError:
        raise HandoffError(
            f"{folder}/{HANDOFF_FILE} is not JSON: not a jupyter-ack bundle"
        ) from None
    if not isinstance(handoff, dict) or handoff.get("kind") != HANDOFF_KIND:
        raise HandoffError(f"{folder}/{HANDOFF_FILE} is not a jupyter-ack handoff")

    raw: dict[str, bytes | None] = {
        DEFINITION_FILE: _get(
            s3, f"{folder}/{DEFINITION_FILE}", _str_or_none(handoff.get("definition_version_id"))
        ),
        PIPELINE_FILE: _get(s3, f"{folder}/{PIPELINE_FILE}"),
        EXECUTION_FILE: _get(s3, f"{folder}/{EXECUTION_FILE}"),
    }
    if isinstance(handoff.get("file_sha256"), dict):  # legacy bundles never checked it
        raw[MARKDOWN_FILE] = _get(s3, f"{folder}/{MARKDOWN_FILE}")
    problems: list[str] = []
    unreadable: set[str] = set()  # files a problem below already names
    texts: dict[str, str] = {}
    for name, body in raw.items():
        if body is None:
            continue
        try:
            texts[name] = body.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{name} is not UTF-8 text")
            unreadable.add(name)
    docs: dict[str, dict[str, Any]] = {}
    for name in (PIPELINE_FILE, EXECUTION_FILE):
        if name not in texts:
            continue
        try:
            doc = yaml.safe_load(texts[name])
        except yaml.YAMLError as e:
            problems.append(f"{name} is not YAML ({_yaml_problem(e)})")
            unreadable.add(name)
            continue
        if doc is not None and not isinstance(doc, dict):
            problems.append(f"{name} does not hold one object")
            unreadable.add(name)
            continue
        docs[name] = doc or {}

    bundle = Bundle(
        folder,
        handoff,
        texts.get(DEFINITION_FILE, ""),
        docs.get(PIPELINE_FILE, {}),
        docs.get(EXECUTION_FILE, {}),
        raw=raw,
    )
    checked, bundle.notes = _check(bundle, unreadable)
    signature, signature_problems = check_signature(
        handoff_body,
        handoff,
        _get(s3, f"{folder}/{SIGNATURE_FILE}", quiet_denied=not handoff.get("signing")),
        kms=kms,
        signed_by=signed_by,
    )
    bundle.signature = signature
    bundle.problems = problems + checked + signature_problems
    return bundle


def verify(bundle: Bundle) -> list[str]:
    """Every problem with ``bundle`` that can be found without KMS (see the module doc)."""
    return _check(bundle)[0]


def _check(bundle: Bundle, unreadable: Collection[str] = ()) -> tuple[list[str], dict[str, str]]:
    """(problems, notes): the consistency and integrity checks of the module docstring.

    Each changed file is reported once, by what changed in it when that can be told (a
    field, the embedded definition), else by its sha256.
    """
    problems: list[str] = []
    flagged: set[str] = set(unreadable)  # files a problem already names
    reported: set[tuple[str, str]] = set()  # (file, field) a consistency check named
    notes: dict[str, str] = {}

    def problem(text: str, file: str | None = None, path: str | None = None) -> None:
        problems.append(text)
        if file:
            flagged.add(file)
            if path:
                reported.add((file, path))

    for name, body in bundle.raw.items():
        if body is None:
            problem(f"{name} is missing from the bundle", name)

    # consistency: one definition, named the same everywhere --------------------------------
    data: Any = MISSING
    actual: str | None = None
    if DEFINITION_FILE not in flagged:
        recorded = bundle.handoff.get("sha256")
        try:
            data = json.loads(bundle.definition_text)
        except ValueError:
            problem("definition.json is not valid JSON", DEFINITION_FILE)
        else:
            actual = sha256_of(data)
            if actual != recorded:
                problem(
                    f"definition.json has sha256 {actual[:12]}, handoff.json says "
                    f"{str(recorded)[:12]}",
                    DEFINITION_FILE,
                )
            if not bundle.folder.endswith("/" + actual):
                problem("the bundle's folder is not named after the definition's sha256")
    manifests_present = {n: n not in flagged for n in (PIPELINE_FILE, EXECUTION_FILE)}
    docs = {PIPELINE_FILE: bundle.pipeline, EXECUTION_FILE: bundle.execution}
    sha_path = _join(_join("metadata", "annotations"), ANNOTATION_SHA256)
    if actual is not None:
        for name, doc in docs.items():
            if not manifests_present[name]:
                continue
            annotations = (doc.get("metadata") or {}).get("annotations") or {}
            if annotations.get(ANNOTATION_SHA256) != actual:
                problem(f"{name} is annotated with another definition", name, sha_path)
    if manifests_present[PIPELINE_FILE]:
        if bundle.pipeline.get("kind") != "Pipeline":
            problem("pipeline.yaml does not hold a Pipeline", PIPELINE_FILE, "kind")
        elif actual is not None:
            spec = bundle.pipeline.get("spec") or {}
            try:
                embedded = sha256_of(json.loads(spec.get("pipelineDefinition") or "null"))
            except (TypeError, ValueError):
                embedded = "not JSON"
            if embedded != actual:
                problem(
                    "the definition inside pipeline.yaml differs from definition.json",
                    PIPELINE_FILE,
                    "spec.pipelineDefinition",
                )
        if manifests_present[EXECUTION_FILE] and bundle.pipeline.get("kind") == "Pipeline":
            runs = (bundle.execution.get("spec") or {}).get("pipelineName")
            if runs != (bundle.pipeline.get("spec") or {}).get("pipelineName"):
                problem(
                    "pipeline-execution.yaml runs another pipeline than pipeline.yaml",
                    EXECUTION_FILE,
                    "spec.pipelineName",
                )
    if manifests_present[EXECUTION_FILE] and bundle.execution.get("kind") != "PipelineExecution":
        problem("pipeline-execution.yaml does not hold a PipelineExecution", EXECUTION_FILE, "kind")

    # integrity: the manifests are what handoff.json's settings make ---------------------------
    expected, why_not = (None, "definition.json could not be read")
    if data is not MISSING and actual is not None:
        expected, why_not = _rederive(bundle)
    if expected is None:
        notes["manifests"] = f"not re-derived: {why_not}"
        notes["manifests_status"] = "not re-derived"
        if why_not and data is not MISSING and actual is not None:
            problem(f"the manifests cannot be re-derived: {why_not}")
    else:
        differing = False
        for name, want in zip((PIPELINE_FILE, EXECUTION_FILE), expected, strict=True):
            if not manifests_present[name] or (name, "kind") in reported:
                continue
            found = [
                d
                for d in _differences(docs[name], want)
                if (name, d[0]) not in reported and d[0] != "spec.pipelineDefinition"
            ]
            for path, have, says in found[:MAX_FIELD_PROBLEMS]:
                problem(_field_problem(name, path, have, says), name, path)
            if len(found) > MAX_FIELD_PROBLEMS:
                problem(f"{name}: {len(found) - MAX_FIELD_PROBLEMS} more fields differ", name)
            differing = differing or bool(found)
        notes["manifests_status"] = "differ" if differing else "match"
        notes["manifests"] = (
            "differ from the objects re-derived from definition.json and handoff.json's settings"
            if differing
            else "match the objects re-derived from definition.json and handoff.json's settings"
        )

    # integrity: every file has the sha256 handoff.json records ------------------------------
    recorded_files = bundle.handoff.get("file_sha256")
    if not isinstance(recorded_files, dict):
        notes["files"] = (
            "unsigned/legacy bundle: handoff.json records no file sha256 "
            f"(made by {bundle.handoff.get('tool') or 'an older jupyter-ack'}); "
            "republish it to add them"
        )
    else:
        changed = 0
        for name in HASHED_FILES:
            body = bundle.raw.get(name)
            if body is None:
                continue
            want_sha = recorded_files.get(name)
            have_sha = hashlib.sha256(body).hexdigest()
            if not isinstance(want_sha, str):
                problem(f"handoff.json records no sha256 for {name}", name)
                changed += 1
            elif have_sha != want_sha:
                changed += 1
                if name not in flagged:
                    problem(
                        f"{name} was changed after it was published: its sha256 is "
                        f"{have_sha[:12]}, handoff.json records {want_sha[:12]}",
                        name,
                    )
        checked = [n for n in HASHED_FILES if bundle.raw.get(n) is not None]
        notes["files"] = (
            f"{', '.join(checked)} match the sha256 handoff.json records"
            if not changed
            else "do not all match the sha256 handoff.json records"
        )
    return problems, notes


def _rederive(bundle: Bundle) -> tuple[tuple[dict[str, Any], dict[str, Any]] | None, str]:
    """The bundle's objects as publishing made them from the definition and handoff.json's
    settings, or (None, why not)."""
    from jupyter_ack.ack.manifests import manifests
    from jupyter_ack.pipeline.sources import from_text

    h = bundle.handoff
    lacking = [
        k for k in ("pipeline_name", "role_arn", "namespace", "definition") if not _is_str(h, k)
    ]
    if lacking:
        return None, f"handoff.json does not record {', '.join(lacking)}"
    values = h.get("parameter_values") or {}
    if not isinstance(values, dict):
        return None, "handoff.json's parameter_values is not a mapping"
    version = h.get("definition_version_id")
    if version is not None and not isinstance(version, str):
        return None, "handoff.json's definition_version_id is not text"
    definition = from_text(
        bundle.definition_text, source=DEFINITION_FILE, name=str(h["pipeline_name"])
    )
    try:
        built = manifests(
            definition,
            name=str(h["pipeline_name"]),
            role_arn=str(h["role_arn"]),
            namespace=str(h["namespace"]),
            execute=True,
            parameters={str(k): str(v) for k, v in values.items()},
        )
    except JupyterAckError as e:
        return None, e.message
    return bundle_objects(built, str(h["definition"]), version), ""


def check_signature(
    handoff_body: bytes,
    handoff: dict[str, Any],
    signature_body: bytes | None,
    *,
    kms: Any = None,
    signed_by: str | None = None,
) -> tuple[SignatureCheck, list[str]]:
    """Check handoff.json's KMS signature (``handoff.json.sig``), when there is one or one is
    declared (handoff.json's ``signing``) or required (``signed_by``).

    KMS verifies with ``signed_by`` when given, else with the key the signature names: a
    signature by someone else's key is only refused when the key is pinned, so the key that
    signed is always shown.
    """
    declared = handoff.get("signing") if isinstance(handoff.get("signing"), dict) else None
    if signature_body is None:
        if declared:
            return SignatureCheck("missing", _str_or_none(declared.get("key_id"))), [
                f"handoff.json says it is signed by {declared.get('key_id')}, "
                f"but {SIGNATURE_FILE} is missing"
            ]
        if signed_by:
            return SignatureCheck("missing", signed_by), [
                f"the bundle is not signed; --signed-by {signed_by} requires a signature "
                "by that key"
            ]
        return SignatureCheck("unsigned"), []
    try:
        doc = json.loads(signature_body.decode("utf-8"))
        algorithm = str(doc["algorithm"])
        recorded_key = str(doc["key_id"])
        signature = base64.b64decode(str(doc["signature"]), validate=True)
    except (ValueError, KeyError, TypeError):
        return SignatureCheck("invalid"), [f"{SIGNATURE_FILE} is not a jupyter-ack signature"]
    if algorithm not in SIGNING_ALGORITHMS:
        return SignatureCheck("invalid", recorded_key, algorithm), [
            f"{SIGNATURE_FILE} uses {algorithm!r}, not a signing algorithm jupyter-ack uses"
        ]
    key = signed_by or recorded_key
    found = SignatureCheck("unchecked", key, algorithm)
    problems: list[str] = []
    if declared and declared.get("key_id") != recorded_key:
        problems.append(
            f"{SIGNATURE_FILE} names key {recorded_key}, handoff.json says {declared.get('key_id')}"
        )
    digest = hashlib.new(digest_name(algorithm), handoff_body).digest()
    try:
        answer = (kms or client("kms")).verify(
            KeyId=key,
            Message=digest,
            MessageType="DIGEST",
            Signature=signature,
            SigningAlgorithm=algorithm,
        )
    except Exception as e:
        if error_code(e) in ("KMSInvalidSignatureException", "InvalidSignatureException"):
            found.status = "invalid"
            return found, [*problems, _bad_signature(key, signed_by)]
        return found, [*problems, f"the signature cannot be checked: {describe(e, 'KMS').message}"]
    if not answer.get("SignatureValid"):
        found.status = "invalid"
        return found, [*problems, _bad_signature(key, signed_by)]
    found.status = "valid"
    found.key_id = str(answer.get("KeyId") or key)
    return found, problems


def _bad_signature(key: str, signed_by: str | None) -> str:
    if signed_by:
        return (
            f"the signature in {SIGNATURE_FILE} is not a signature of handoff.json by {key}: "
            "handoff.json was changed after it was signed, or another key signed it"
        )
    return (
        f"the signature in {SIGNATURE_FILE} does not match handoff.json (key {key}): "
        "handoff.json was changed after it was signed"
    )


# field-by-field comparison -------------------------------------------------------------------


def _differences(have: Any, want: Any) -> Iterator[tuple[str, Any, Any]]:
    """(field path, found, expected) for every leaf where ``have`` (the file) and ``want``
    (re-derived) differ, found by the definitions' own comparison; a field one side lacks is
    ``MISSING`` on that side."""
    for change in compare(want, have):
        yield _field_path(change.pointer, want, have), change.new, change.old


def _field_path(pointer: str, *docs: Any) -> str:
    """A JSON pointer as a person reads a manifest field: ``spec.roleARN``,
    ``spec.pipelineParameters[0].value``, ``metadata.annotations["jupyter-ack.io/x"]``."""
    path = ""
    nodes = list(docs)
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if any(isinstance(n, list) for n in nodes) and token.isdigit():
            path += f"[{token}]"
            nodes = [
                n[int(token)] if isinstance(n, list) and int(token) < len(n) else None
                for n in nodes
            ]
        else:
            path = _join(path, token)
            nodes = [n.get(token) if isinstance(n, dict) else None for n in nodes]
    return path


def _join(path: str, key: object) -> str:
    """``spec.roleARN``; keys that are not identifiers in brackets:
    ``metadata.annotations["jupyter-ack.io/definition-sha256"]``."""
    text = str(key)
    if _IDENTIFIER.match(text):
        return f"{path}.{text}" if path else text
    return f"{path}[{json.dumps(text, ensure_ascii=False)}]"


def _field_problem(file: str, path: str, have: Any, want: Any) -> str:
    if have is MISSING:
        return f"{file}: {path} is missing, the bundle says {_show(want)}"
    if want is MISSING:
        return f"{file}: {path} is {_show(have)}, the bundle has no such field"
    return f"{file}: {path} is {_show(have)}, the bundle says {_show(want)}"


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# S3 ------------------------------------------------------------------------------------------


def _get(
    s3: Any, uri: str, version_id: str | None = None, quiet_denied: bool = False
) -> bytes | None:
    """The object's bytes, or None when it is not there (with ``quiet_denied``, also when S3
    refuses: without s3:ListBucket a missing key answers 403, not 404)."""
    bucket, key = parse_s3_uri(uri)
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        body: bytes = s3.get_object(**kwargs)["Body"].read()
        return body
    except Exception as e:
        code = error_code(e)
        if code in MISSING_CODES or (quiet_denied and code in ("AccessDenied", "403")):
            return None
        raise describe(e, f"reading {uri}") from None


def _yaml_problem(e: Exception) -> str:
    mark = getattr(e, "problem_mark", None)
    what = getattr(e, "problem", None) or type(e).__name__
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{what}{where}"


def _is_str(doc: dict[str, Any], key: str) -> bool:
    return isinstance(doc.get(key), str) and bool(doc.get(key))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
