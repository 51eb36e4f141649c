"""Offline builders for real SageMaker Python SDK v3 pipelines, used as test fixtures.

Nothing here imports ``sagemaker`` at module import time: importing ``sagemaker.mlops``
already builds a default boto3 client (and fails without a region), so callers apply
:func:`sdk_offline_env` to ``os.environ`` first and only then call the builders.

Every builder uses :func:`offline_session`: its boto3 session answers the few S3 uploads the
SDK makes in process and refuses any other AWS call, so building a pipeline and compiling its
definition never leaves the process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
BUCKET = "jupyter-ack-test-bucket"
S3_PREFIX = f"s3://{BUCKET}/abalone"
SKLEARN_IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
PYTHON_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/jupyter-ack-python:3.11"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:jupyter-ack-notify"

_SDK_CONFIG_YAML = """\
SchemaVersion: "1.0"
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


def sdk_offline_env(tmp_dir: str) -> dict[str, str]:
    """Return the environment to set before importing ``sagemaker`` to build pipelines offline.

    Writes the SDK config file (telemetry opted out) into ``tmp_dir``. The AWS settings pin a
    region and dummy credentials, and cut every source of configuration or credentials that
    could trigger a lookup (shared config files, instance metadata). Also remove
    ``AWS_PROFILE`` and ``AWS_DEFAULT_PROFILE``: they would name a profile that the (absent)
    config file lacks, and boto3 fails on that.
    """
    config = Path(tmp_dir) / "sagemaker-config.yaml"
    config.write_text(_SDK_CONFIG_YAML)
    no_file = str(Path(tmp_dir) / "no-aws-config")
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": no_file,
        "AWS_SHARED_CREDENTIALS_FILE": no_file,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "SAGEMAKER_VALIDATE_ROLE": "false",
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config),
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
    }


class _EmptyBody:
    """Stand-in for a raw HTTP body: an empty stream."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


def _offline_aws_call(model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:
    """Answer a boto3 call in process instead of sending it (a ``before-call`` hook).

    S3 ``PutObject`` (the SDK uploading serialized ``@step`` functions and runtime scripts)
    succeeds without storing anything; every other call raises, so an unexpected AWS call
    fails the build at once instead of reaching for the network.
    """
    from botocore.awsrequest import AWSResponse

    service = model.service_model.service_name
    if (service, model.name) != ("s3", "PutObject"):
        raise RuntimeError(f"offline SDK build attempted AWS call {service}.{model.name}")
    http = AWSResponse(url="", status_code=200, headers={}, raw=_EmptyBody())
    return http, {"ETag": '"0"', "ResponseMetadata": {"HTTPStatusCode": 200}}


def offline_session() -> PipelineSession:
    """Return a ``PipelineSession`` that never contacts AWS."""
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(region_name=REGION)
    boto_session.events.register("before-call", _offline_aws_call)
    session = PipelineSession(boto_session=boto_session, default_bucket=BUCKET)
    # default_bucket() probes S3 for the bucket (ListBuckets, HeadBucket) even when the name
    # is given; a resolved name short-circuits it.
    session._default_bucket = BUCKET
    return session


def _s3_output(name: str, local_path: str) -> ProcessingOutput:
    """Return a processing output uploaded under this execution's own S3 prefix."""
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join

    uri = Join(on="/", values=[S3_PREFIX, ExecutionVariables.PIPELINE_EXECUTION_ID, name])
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(s3_uri=uri, local_path=local_path, s3_upload_mode="EndOfJob"),
    )


def _s3_input(name: str, uri: Any, local_path: str) -> ProcessingInput:
    """Return a processing input read from ``uri`` (a string or a pipeline variable)."""
    from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )


def build_realistic_pipeline() -> Pipeline:
    """Build the classic "abalone" pipeline with SDK v3 classes.

    preprocess -> train -> evaluate -> condition (mse <= threshold); the if-branch registers
    the model and then notifies a Lambda (an explicit ``depends_on``), the else-branch fails.
    """
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
    from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import (
        ParameterBoolean,
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train.model_trainer import ModelTrainer

    session = offline_session()

    processing_instance_type = ParameterString(
        name="ProcessingInstanceType", default_value="ml.m5.xlarge"
    )
    processing_instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    training_instance_type = ParameterString(
        name="TrainingInstanceType", default_value="ml.m5.xlarge"
    )
    training_instance_count = ParameterInteger(name="TrainingInstanceCount", default_value=1)
    approval_status = ParameterString(
        name="ModelApprovalStatus", default_value="PendingManualApproval"
    )
    input_data = ParameterString(
        name="InputData", default_value=f"{S3_PREFIX}/input/abalone-dataset.csv"
    )
    mse_threshold = ParameterFloat(name="MseThreshold", default_value=6.0)
    notify = ParameterBoolean(name="NotifyOnRegistration", default_value=True)
    cache = CacheConfig(enable_caching=True, expire_after="P30D")

    preprocessor = ScriptProcessor(
        role=ROLE_ARN,
        image_uri=SKLEARN_IMAGE,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=processing_instance_count,
        base_job_name="abalone-preprocess",
        sagemaker_session=session,
    )
    step_process = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=preprocessor.run(
            code=f"{S3_PREFIX}/code/preprocess.py",
            inputs=[_s3_input("input", input_data, "/opt/ml/processing/input")],
            outputs=[
                _s3_output("train", "/opt/ml/processing/train"),
                _s3_output("validation", "/opt/ml/processing/validation"),
                _s3_output("test", "/opt/ml/processing/test"),
            ],
            arguments=["--input-data", input_data],
        ),
        cache_config=cache,
    )
    process_outputs = step_process.properties.ProcessingOutputConfig.Outputs

    trainer = ModelTrainer(
        training_image=XGBOOST_IMAGE,
        role=ROLE_ARN,
        sagemaker_session=session,
        base_job_name="abalone-train",
        compute=Compute(
            instance_type=training_instance_type, instance_count=training_instance_count
        ),
        output_data_config=OutputDataConfig(s3_output_path=f"{S3_PREFIX}/models"),
        hyperparameters={
            "objective": "reg:linear",
            "num_round": 50,
            "max_depth": 5,
            "eta": 0.2,
            "gamma": 4,
            "min_child_weight": 6,
            "subsample": 0.7,
        },
    )
    step_train = TrainingStep(
        name="TrainAbaloneModel",
        step_args=trainer.train(
            input_data_config=[
                InputData(
                    channel_name=channel,
                    data_source=process_outputs[channel].S3Output.S3Uri,
                    content_type="text/csv",
                )
                for channel in ("train", "validation")
            ]
        ),
        cache_config=cache,
    )
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts

    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluator = ScriptProcessor(
        role=ROLE_ARN,
        image_uri=XGBOOST_IMAGE,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=1,
        base_job_name="abalone-eval",
        sagemaker_session=session,
    )
    step_eval = ProcessingStep(
        name="EvaluateAbaloneModel",
        step_args=evaluator.run(
            code=f"{S3_PREFIX}/code/evaluate.py",
            inputs=[
                _s3_input("model", model_data, "/opt/ml/processing/model"),
                _s3_input(
                    "test", process_outputs["test"].S3Output.S3Uri, "/opt/ml/processing/test"
                ),
            ],
            outputs=[_s3_output("evaluation", "/opt/ml/processing/evaluation")],
        ),
        property_files=[evaluation_report],
    )
    evaluation_s3_uri = step_eval.properties.ProcessingOutputConfig.Outputs[
        "evaluation"
    ].S3Output.S3Uri

    model_builder = ModelBuilder(
        image_uri=XGBOOST_IMAGE,
        s3_model_data_url=model_data,
        role_arn=ROLE_ARN,
        sagemaker_session=session,
        instance_type="ml.m5.large",
    )
    step_register = ModelStep(
        name="RegisterAbaloneModel",
        step_args=model_builder.register(
            model_package_group_name="AbaloneModelPackageGroup",
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.large"],
            transform_instances=["ml.m5.large"],
            approval_status=approval_status,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    s3_uri=Join(on="/", values=[evaluation_s3_uri, "evaluation.json"]),
                    content_type="application/json",
                )
            ),
        ),
    )
    step_notify = LambdaStep(
        name="NotifyModelRegistered",
        lambda_func=Lambda(function_arn=LAMBDA_ARN, session=session),
        inputs={
            "model_package_group": "AbaloneModelPackageGroup",
            "execution_id": ExecutionVariables.PIPELINE_EXECUTION_ID,
            "notify": notify,
        },
        outputs=[LambdaOutput(output_name="status")],
        depends_on=[step_register],
    )
    mse = JsonGet(
        step_name=step_eval.name,
        property_file=evaluation_report,
        json_path="regression_metrics.mse.value",
    )
    step_fail = FailStep(
        name="AbaloneMseTooHigh",
        error_message=Join(on=" ", values=["Execution failed: MSE above", mse_threshold]),
    )
    step_check = ConditionStep(
        name="CheckAbaloneMse",
        conditions=[ConditionLessThanOrEqualTo(left=mse, right=mse_threshold)],
        if_steps=[step_register, step_notify],
        else_steps=[step_fail],
    )
    return Pipeline(
        name="abalone-demo",
        parameters=[
            processing_instance_type,
            processing_instance_count,
            training_instance_type,
            training_instance_count,
            approval_status,
            input_data,
            mse_threshold,
            notify,
        ],
        steps=[step_process, step_train, step_eval, step_check],
        sagemaker_session=session,
    )


def build_step_decorator_pipeline() -> Pipeline:
    """Build a three-step pipeline with the v3 ``@step`` decorator.

    ``load`` (named "LoadAbaloneData") feeds ``fit`` and ``score``, and ``fit`` feeds ``score``.
    The SDK turns each function into a Training step, with ``DependsOn`` on the steps whose
    returns it takes and ``Get`` expressions inside its ``ContainerArguments``; the other two
    step names get a random suffix. Compiling uploads the pickled functions and runtime scripts;
    the offline session accepts those uploads without storing anything.
    """
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.mlops.workflow.function_step import step
    from sagemaker.mlops.workflow.pipeline import Pipeline

    session = offline_session()
    input_data = ParameterString(
        name="InputData", default_value=f"{S3_PREFIX}/input/abalone-dataset.csv"
    )
    learning_rate = ParameterFloat(name="LearningRate", default_value=0.2)
    job = {"role": ROLE_ARN, "image_uri": PYTHON_IMAGE, "instance_type": "ml.m5.large"}

    @step(name="LoadAbaloneData", display_name="Load abalone data", **job)
    def load(uri: str) -> dict[str, Any]:
        """Read the data set and split it."""
        return {"uri": uri, "train": [[1.0, 2.0]], "test": [[3.0, 4.0]]}

    @step(**job)
    def fit(train: list[list[float]], eta: float) -> dict[str, float]:
        """Fit a trivial model."""
        return {"weight": eta * sum(row[0] for row in train)}

    @step(**job)
    def score(model: dict[str, float], test: list[list[float]]) -> float:
        """Score the model on held-out rows."""
        return sum((model["weight"] - row[1]) ** 2 for row in test) / len(test)

    data = load(input_data)
    model = fit(data["train"], learning_rate)
    mse = score(model, data["test"])
    return Pipeline(
        name="abalone-step-decorator",
        parameters=[input_data, learning_rate],
        steps=[mse],
        sagemaker_session=session,
    )


def sdk_adjacency(pipeline: Pipeline) -> set[tuple[str, str]]:
    """Return the (upstream, downstream) step edges of the SDK's own ``PipelineGraph``."""
    from sagemaker.mlops.workflow.pipeline import PipelineGraph

    graph = PipelineGraph.from_pipeline(pipeline)
    return {(src, dst) for src, targets in graph.adjacency_list.items() for dst in targets}
