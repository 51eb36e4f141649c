"""Publish, manifests and the handoff bundle, against moto's S3 over HTTP."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

import jupyter_ack
from jupyter_ack.ack.manifests import kube_name, manifests, run_name
from jupyter_ack.bundle.publish import infer_role_arn, publish
from jupyter_ack.bundle.verify import bundle_folder, fetch
from jupyter_ack.errors import JupyterAckError, ManifestError, PublishError
from jupyter_ack.examples import example_path
from tests.conftest import run, s3_calls

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
JUPYTER_ACK = str(Path(sys.executable).with_name("jupyter-ack"))
EXAMPLE = str(example_path())


@pytest.fixture
def defn() -> Any:
    return jupyter_ack.load(example_path(), name="abalone-demo")


@pytest.fixture
def bucket(aws_env: dict[str, str], request: pytest.FixtureRequest) -> str:
    name = "b-" + request.node.name.lower().replace("_", "-")[:50].strip("-")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def requests_log(aws_env: dict[str, str]) -> Iterator[list[str]]:
    """Every S3 call boto3 makes in this test, as 'OperationName'."""
    import boto3

    boto3.DEFAULT_SESSION = None
    with s3_calls() as calls:
        yield calls


# manifests -----------------------------------------------------------------------------------


def test_manifests_shape(defn: Any) -> None:
    m = manifests(
        defn,
        role_arn=ROLE,
        execute=True,
        parameters={"MseThreshold": "7.5", "ProcessingInstanceCount": "2"},
    )
    p, e = m.pipeline, m.execution
    assert e is not None
    assert (p["apiVersion"], p["kind"]) == ("sagemaker.services.k8s.aws/v1alpha1", "Pipeline")
    assert p["metadata"]["name"] == "abalone-demo"
    assert p["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "jupyter-ack"
    assert p["metadata"]["annotations"]["jupyter-ack.io/definition-sha256"] == defn.sha256
    assert set(p["spec"]) == {"pipelineName", "roleARN", "pipelineDefinition"}
    assert json.loads(p["spec"]["pipelineDefinition"]) == defn.data  # a string of JSON
    assert e["spec"] == {
        "pipelineName": "abalone-demo",
        "pipelineExecutionDisplayName": e["metadata"]["name"],  # how history finds it later
        "pipelineParameters": [
            {"name": "MseThreshold", "value": "7.5"},
            {"name": "ProcessingInstanceCount", "value": "2"},
        ],
    }
    text = m.to_yaml()
    assert "pipelineDefinition: |\n" in text  # a readable block
    docs = list(yaml.safe_load_all(text))
    assert docs == [p, e]
    assert json.loads(m.to_json())["kind"] == "List"


def test_manifests_options(defn: Any) -> None:
    m = manifests(
        defn,
        role_arn=ROLE,
        execute=True,
        display_name="Abalone",
        description="d",
        execution_name="r1",
        execution_display_name="nightly-1",
        execution_description="why",
        max_parallel_steps=3,
        selected_steps=["TrainAbaloneModel"],
        source_execution_arn="arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone-demo/execution/x",
        tags={"team": "ml"},
        namespace="ml-prod",
    )
    assert m.pipeline["spec"]["parallelismConfiguration"] == {"maxParallelExecutionSteps": 3}
    assert m.pipeline["spec"]["tags"] == [{"key": "team", "value": "ml"}]
    assert m.execution is not None
    assert m.execution["metadata"] == {
        **m.execution["metadata"],
        "name": "r1",
        "namespace": "ml-prod",
    }
    assert m.execution["spec"]["selectiveExecutionConfig"]["selectedSteps"] == [
        {"stepName": "TrainAbaloneModel"}
    ]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"parameters": {"Nope": "1"}}, "unknown parameter 'Nope'"),
        ({"parameters": {"ProcessingInstanceCount": "two"}}, "is not a whole number"),
        ({"parameters": {"MseThreshold": "high"}}, "is not a number"),
        ({"parameters": {"InputDataUrl": "x" * 1025}}, "at most 1024"),
        ({"role_arn": "SageMakerRole"}, "not an IAM role ARN"),
        ({"name": "bad_name"}, "not valid for SageMaker"),
        ({"selected_steps": ["Nope"]}, "selected steps not in the pipeline"),
        ({"execution_display_name": "has space"}, "execution display name"),
        ({"namespace": "Bad_NS"}, "namespace"),
    ],
)
def test_manifests_reject_bad_input(defn: Any, kwargs: dict[str, Any], words: str) -> None:
    args = {"role_arn": ROLE, "execute": True, **kwargs}
    with pytest.raises(ManifestError, match=words):
        manifests(defn, **args)


def test_manifests_refuse_invalid_definition() -> None:
    bad = jupyter_ack.load(
        {
            "Version": "2020-12-01",
            "Steps": [{"Name": "A", "Type": "Processing", "DependsOn": ["Z"], "Arguments": {}}],
        },
        name="x",
    )
    with pytest.raises(ManifestError, match="DEPENDS_ON_UNKNOWN"):
        manifests(bad, role_arn=ROLE)


def test_names() -> None:
    assert kube_name("My_Pipeline--Name") == "my-pipeline-name"
    assert kube_name("___") == "pipeline"
    assert len(kube_name("a" * 300)) == 63
    first, second = run_name("abalone"), run_name("abalone")
    assert first != second
    assert first.startswith("abalone-2")
    assert len(run_name("x" * 80)) <= 63


def test_manifests_cli(cli: Any) -> None:
    r = cli(
        "manifests",
        EXAMPLE,
        "--name",
        "abalone-demo",
        "--role-arn",
        ROLE,
        "--execute",
        "-p",
        "MseThreshold=7",
    )
    assert r.code == 0, r.err
    kinds = [d["kind"] for d in yaml.safe_load_all(r.out)]
    assert kinds == ["Pipeline", "PipelineExecution"]
    r = cli(
        "manifests",
        EXAMPLE,
        "--name",
        "abalone-demo",
        "--role-arn",
        ROLE,
        "--execute",
        "-p",
        "Bogus=7",
    )
    assert r.code == 1
    assert "unknown parameter 'Bogus'" in r.err
    assert "Traceback" not in r.err
    r = cli("manifests", EXAMPLE, "--role-arn", ROLE, "-o", "json")
    assert json.loads(r.out)["metadata"]["name"] == "abalone"  # named after the file


# publish -------------------------------------------------------------------------------------


def test_publish_new_then_unchanged(defn: Any, bucket: str, requests_log: list[str]) -> None:
    first = publish(defn, bucket=bucket, prefix="team/ml")
    assert first.uploaded
    assert requests_log == ["HeadObject", *["PutObject"] * 5]  # one HEAD; each file once
    assert first.s3_uri == f"s3://{bucket}/team/ml/abalone-demo/{defn.sha256}/definition.json"
    assert first.version_id
    assert first.encryption == "AES256"
    s3 = boto3.client("s3")
    obj = s3.get_object(Bucket=bucket, Key=first.key)
    assert obj["Body"].read() == defn.canonical_bytes
    assert obj["ContentType"] == "application/json"
    assert obj["ServerSideEncryption"] == "AES256"
    assert obj["Metadata"]["sha256"] == defn.sha256
    assert "pipeline-name" in obj["Metadata"]
    requests_log.clear()
    second = publish(defn, bucket=bucket, prefix="team/ml")
    assert not second.uploaded
    assert second.version_id == first.version_id
    assert requests_log == ["HeadObject"]  # one HEAD, no PUT


def test_publish_changed_definition_is_a_new_artefact(defn: Any, bucket: str) -> None:
    first = publish(defn, bucket=bucket)
    data = json.loads(json.dumps(defn.data))
    data["Parameters"][0]["DefaultValue"] = 3
    second = publish(jupyter_ack.load(data, name="abalone-demo"), bucket=bucket)
    assert second.uploaded
    assert second.key != first.key


def test_publish_with_kms_and_presigned_url(defn: Any, bucket: str) -> None:
    result = publish(defn, bucket=bucket, kms_key_id="alias/ml-artefacts", presign_seconds=120)
    head = boto3.client("s3").head_object(Bucket=bucket, Key=result.key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/ml-artefacts")
    assert result.presigned_url is not None
    with urllib.request.urlopen(result.presigned_url, timeout=10) as response:
        assert response.read() == defn.canonical_bytes


def test_bundle_is_complete_and_verifies(
    defn: Any, bucket: str, cli: Any, aws_env: dict[str, str]
) -> None:
    result = publish(defn, bucket=bucket, parameters={"MseThreshold": "7"})
    s3 = boto3.client("s3")
    folder = result.handoff_uri.rsplit("/", 1)[0].split(f"s3://{bucket}/", 1)[1]
    keys = {
        o["Key"].rsplit("/", 1)[1]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]
    }
    assert keys == {
        "definition.json",
        "pipeline.yaml",
        "pipeline-execution.yaml",
        "HANDOFF.md",
        "handoff.json",
    }
    handoff = json.loads(s3.get_object(Bucket=bucket, Key=f"{folder}/handoff.json")["Body"].read())
    assert handoff["sha256"] == defn.sha256
    assert handoff["definition_version_id"] == result.version_id
    assert handoff["published_by"].startswith("arn:aws:")
    assert handoff["parameter_values"] == {"MseThreshold": "7"}
    text = (
        json.dumps(handoff)
        + s3.get_object(Bucket=bucket, Key=f"{folder}/HANDOFF.md")["Body"].read().decode()
    )
    assert aws_env["AWS_SECRET_ACCESS_KEY"] not in text
    assert "AWS_SECRET" not in text
    execution = yaml.safe_load(
        s3.get_object(Bucket=bucket, Key=f"{folder}/pipeline-execution.yaml")["Body"].read()
    )
    assert execution["metadata"]["generateName"] == "abalone-demo-"
    assert execution["spec"]["pipelineParameters"] == [{"name": "MseThreshold", "value": "7"}]

    bundle = fetch(result.handoff_uri)
    assert bundle.ok, bundle.problems
    r = cli("handoff", f"s3://{bucket}/{folder}/", env=aws_env)
    assert r.code == 0, r.err
    assert r.out.startswith("\u2713 verified")

    # tamper with the manifest: verification fails, exit 1
    pipeline = yaml.safe_load(
        s3.get_object(Bucket=bucket, Key=f"{folder}/pipeline.yaml")["Body"].read()
    )
    pipeline["spec"]["pipelineDefinition"] = pipeline["spec"]["pipelineDefinition"].replace(
        "ml.m5.xlarge", "ml.p4d.24xlarge"
    )
    s3.put_object(
        Bucket=bucket, Key=f"{folder}/pipeline.yaml", Body=yaml.safe_dump(pipeline).encode()
    )
    assert fetch(result.handoff_uri).problems == [
        "the definition inside pipeline.yaml differs from definition.json"
    ]
    r = cli("handoff", result.handoff_uri, "--format", "json", env=aws_env)
    assert r.code == 1
    assert r.json()["ok"] is False


def test_bundle_folder_forms() -> None:
    assert bundle_folder("s3://b/p/n/abc/") == "s3://b/p/n/abc"
    assert bundle_folder("s3://b/p/n/abc/handoff.json") == "s3://b/p/n/abc"
    assert bundle_folder("s3://b/p/n/abc") == "s3://b/p/n/abc"


def test_handoff_of_missing_bundle(aws_env: dict[str, str], bucket: str, cli: Any) -> None:
    r = cli("handoff", f"s3://{bucket}/nothing/here/", env=aws_env)
    assert r.code == 1
    assert "does not exist" in r.err
    assert "Traceback" not in r.err


def test_publish_cli_json_and_text(cli: Any, aws_env: dict[str, str], bucket: str) -> None:
    r = cli(
        "publish",
        EXAMPLE,
        "--bucket",
        bucket,
        "--name",
        "abalone-demo",
        "--format",
        "json",
        env=aws_env,
    )
    assert r.code == 0, r.err
    doc = r.json()
    assert {
        "s3_uri",
        "version_id",
        "sha256",
        "https_url",
        "console_url",
        "presigned_url",
        "uploaded",
    } <= set(doc)
    assert doc["uploaded"] is True
    assert doc["presigned_url"] is None
    r = cli(
        "publish", EXAMPLE, "--bucket", bucket, "--name", "abalone-demo", "--presign", env=aws_env
    )
    assert r.code == 0
    assert "unchanged, already at" in r.out
    assert "presigned" in r.out


# bad input -----------------------------------------------------------------------------------


def test_invalid_definition_uploads_nothing(
    cli: Any, aws_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    bad = json.loads(example_path().read_text())
    bad["Steps"][0]["Arguments"]["RoleArn"] = "<<ROLE_ARN>>"
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    r = cli("publish", str(f), "--bucket", bucket, "--name", "x", "--role-arn", ROLE, env=aws_env)
    assert r.code == 1
    assert "PLACEHOLDER" in r.err
    assert "nothing was uploaded" in r.err
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket)


def test_oversize_definition_is_refused(defn: Any, bucket: str) -> None:
    data = json.loads(json.dumps(defn.data))
    data["Metadata"] = {"blob": "x" * 1_100_000}
    with pytest.raises(PublishError, match="SIZE_LIMIT"):
        publish(jupyter_ack.load(data, name="big"), bucket=bucket)
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket)


def test_missing_bucket(cli: Any, aws_env: dict[str, str]) -> None:
    r = cli("publish", EXAMPLE, "--bucket", "no-such-bucket-xyz", "--name", "a", env=aws_env)
    assert r.code == 1
    assert r.err.startswith("error: bucket 'no-such-bucket-xyz' does not exist")
    assert "Traceback" not in r.err


def no_aws(tmp_path: Path) -> dict[str, str]:
    return {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "NO_COLOR": "1",
    }


def test_no_credentials(tmp_path: Path) -> None:
    drop = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    r = run(
        [JUPYTER_ACK, "publish", EXAMPLE, "--bucket", "bkt", "--name", "a"],
        env=no_aws(tmp_path),
        drop=drop,
    )
    assert r.code == 1
    assert "no AWS credentials" in r.err
    assert "aws configure" in r.err
    assert "Traceback" not in r.err


def test_missing_profile(tmp_path: Path) -> None:
    env = {**no_aws(tmp_path), "AWS_PROFILE": "ml-prod"}
    r = run([JUPYTER_ACK, "publish", EXAMPLE, "--bucket", "bkt", "--name", "a"], env=env)
    assert r.code == 1
    assert "the AWS profile 'ml-prod' does not exist" in r.err
    assert "Traceback" not in r.err


def test_role_is_inferred_or_required(defn: Any, bucket: str) -> None:
    assert infer_role_arn(defn) == ROLE
    data = json.loads(json.dumps(defn.data))
    data["Steps"][0]["Arguments"]["RoleArn"] = "arn:aws:iam::123456789012:role/Other"
    with pytest.raises(PublishError, match="need the role"):
        publish(jupyter_ack.load(data, name="two-roles"), bucket=bucket)


def test_presign_limits(defn: Any, bucket: str) -> None:
    with pytest.raises(JupyterAckError, match="7 days"):
        publish(defn, bucket=bucket, presign_seconds=8 * 24 * 3600)


@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        ("ExpiredToken", "The provided token has expired.", "expired"),
        ("AccessDenied", "Access Denied", "lacks the permission"),
        ("KMS.NotFoundException", "Invalid keyId", "KMS key"),
        ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist", "not valid"),
    ],
)
def test_aws_errors_are_one_line_with_a_hint(defn: Any, code: str, message: str, hint: str) -> None:
    """S3 answers moto cannot produce, at the botocore seam: the message a user sees."""
    from botocore.exceptions import ClientError

    class Refusing:
        meta = type("Meta", (), {"region_name": "us-east-1"})()

        def head_object(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

        def put_object(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": code, "Message": message}}, "PutObject")

    with pytest.raises(JupyterAckError) as info:
        publish(defn, bucket="bkt", s3=Refusing())
    assert code in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.hint
    assert hint in info.value.hint
