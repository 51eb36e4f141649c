"""SageMaker's rules for names, sizes and counts, and its default quotas: the one place that
states them. ``validate`` (definitions) and ``manifests`` (the objects and their parameters)
both check against these; botocore's SageMaker service model and the service quotas page are
the sources.
"""

from __future__ import annotations

import re

SUPPORTED_VERSION = "2020-12-01"

# names (anchored with \Z, not $: "$" also matches before a final newline, and "name\n"
# must not pass for a name)
PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}\Z")
EXECUTION_DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}\Z")
STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]*\Z")
PARAMETER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,256}\Z")
ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+\Z")
PIPELINE_NAME_RULE = "1-256 letters, digits and single hyphens, starting with a letter or digit"

# API limits
MAX_DEFINITION_CHARS = 1_048_576
MAX_PARAMETERS = 200
MAX_PARAMETER_VALUE = 1024
MAX_DESCRIPTION = 3072
MAX_SELECTED_STEPS = 50

# default service quotas (adjustable: warnings, not errors)
MAX_STEPS = 50
MAX_BRANCH_STEPS = 20
MAX_STEP_NAME = 64
MAX_PROPERTY_FILES = 10

PARAMETER_TYPES = ("String", "Integer", "Float", "Boolean")
STEP_TYPES = (
    "Training",
    "Processing",
    "Transform",
    "Tuning",
    "Condition",
    "Model",
    "CreateModel",
    "RegisterModel",
    "Callback",
    "Lambda",
    "QualityCheck",
    "ClarifyCheck",
    "EMR",
    "EMRServerless",
    "Fail",
    "AutoML",
    "EndpointConfig",
    "Endpoint",
    "InferenceComponent",
    "Lineage",
    "Job",
    "Cleanup",
    "ForEach",
)
EXECUTION_VARIABLES = (
    "StartDateTime",
    "CurrentDateTime",
    "PipelineName",
    "PipelineArn",
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "TrainingJobName",
    "ProcessingJobName",
)
EXPERIMENT_VARIABLES = ("ExperimentName", "TrialName")


def is_pipeline_name(name: str | None) -> bool:
    return bool(name) and PIPELINE_NAME.match(name or "") is not None


# Create-time rules the SDK does not check for a hand-written (or edited) definition. Each
# names where the fact comes from; ``validate`` reports them with codes of their own.

# A step that depends on a Fail step: SageMaker refuses CreatePipeline with "<step> can not
# depends on <fail step>" (sagemaker-python-sdk, tests/integ/sagemaker/workflow/
# test_fail_steps.py::test_invalid_pipeline_depended_on_fail_step). A Fail step has no
# properties to read either (the SDK's FailStep.properties: "FailStep is a terminal step and
# the Properties object is not available for it").
FAIL_STEP_TYPE = "Fail"

# Condition types: the SDK's ConditionTypeEnum (Equals ... Or, Not) and the published
# pipeline definition JSON schema (aws-sagemaker-mlops/sagemaker-model-building-pipeline-
# definition-JSON-schema: BinaryCondition, InCondition, OrCondition; it adds NotEquals and
# NotIn). A ConditionStep's Arguments require "Conditions" (that schema, ConditionStep).
CONDITION_COMPARISONS = (
    "Equals",
    "NotEquals",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "LessThan",
    "LessThanOrEqualTo",
)
CONDITION_MEMBERSHIP = ("In", "NotIn")
CONDITION_TYPES = (*CONDITION_COMPARISONS, *CONDITION_MEMBERSHIP, "Or", "Not")

# Retry policies: SageMaker Developer Guide, "Retry Policy for Pipeline Steps" (JSON schema
# section): ExceptionType is required, one of these (the definition JSON schema adds
# Emr.RESOURCE_LIMIT); IntervalSeconds at most 43,200; MaxAttempts 0-20; ExpireAfterMin
# 0-14,400; MaxAttempts and ExpireAfterMin together "generates a validation error". The SDK's
# retry.py agrees (MAX_ATTEMPTS_CAP = 20, MAX_EXPIRE_AFTER_MIN = 14400, "Only one of
# [max_attempts] and [expire_after_mins] can be given", backoff_rate non-negative).
RETRY_EXCEPTION_TYPES = (
    "Step.SERVICE_FAULT",
    "Step.THROTTLING",
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
    "Emr.RESOURCE_LIMIT",
)
RETRY_MAX_ATTEMPTS = 20
RETRY_MAX_EXPIRE_AFTER_MIN = 14_400
RETRY_MAX_INTERVAL_SECONDS = 43_200
# Step types without retry policies: neither the SDK (no ConfigurableRetryStep) nor the
# definition JSON schema gives these RetryPolicies; the guide lists the steps that have them.
NO_RETRY_STEP_TYPES = ("Condition", "Fail", "Lambda", "Callback")

# CacheConfig: SageMaker Developer Guide, "Caching Pipeline Steps": {"Enabled": bool,
# "ExpireAfter": ISO 8601 duration of years, months, weeks, days, hours or minutes} and "when
# you turn on step caching, you must also define a timeout". The guide's and the SDK's own
# examples ("30d", "T16m", "30dT5h", "p30d", "P4DT12H", "T12H") drop the leading P and mix
# case, so both are accepted.
CACHE_EXPIRE_AFTER = re.compile(
    r"^P?(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?\Z", re.IGNORECASE
)

# Property files: the SDK refuses a JsonGet on a property file of a step that is not a
# Processing step ("JsonGet function (with property_file) can only be evaluated on processing
# step outputs") and one whose OutputName is not an output of that step ("Processing output
# name ... not found in processing step ..."): sagemaker-mlops workflow/steps.py,
# Step._validate_json_get_property_file_reference.
PROPERTY_FILE_STEP_TYPES = ("Processing",)


def _members(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What ``{"Get": "Steps.<step>.<Property>..."}`` may read, by step type: the top-level members
# of the Describe* response the SDK builds each step's ``properties`` from (shape names in
# sagemaker-mlops workflow/steps.py, model_step.py, automl_step.py; members from botocore's
# SageMaker service model, 1.44), or the names the SDK gives itself (condition_step.py:
# Outcome; lambda_step.py and callback_step.py: OutputParameters; quality_check_step.py and
# clarify_check_step.py: the baselines). tests/test_validate.py checks these still cover
# botocore's shapes. A type missing here (EMR, EMRServerless, newer ones) is not checked.
STEP_PROPERTIES: dict[str, frozenset[str]] = {
    "Processing": _members(
        "AppSpecification AutoMLJobArn CreationTime Environment ExitMessage ExperimentConfig "
        "FailureReason LastModifiedTime MonitoringScheduleArn NetworkConfig ProcessingEndTime "
        "ProcessingInputs ProcessingJobArn ProcessingJobName ProcessingJobStatus "
        "ProcessingOutputConfig ProcessingResources ProcessingStartTime RoleArn "
        "StoppingCondition TrainingJobArn PropertyFiles"
    ),
    "Training": _members(
        "AlgorithmSpecification AutoMLJobArn BillableTimeInSeconds BillableTokenCount "
        "CheckpointConfig CreationTime DebugHookConfig DebugRuleConfigurations "
        "DebugRuleEvaluationStatuses EnableInterContainerTrafficEncryption "
        "EnableManagedSpotTraining EnableNetworkIsolation Environment ExperimentConfig "
        "FailureReason FinalMetricDataList HyperParameters InfraCheckConfig InputDataConfig "
        "LabelingJobArn LastModifiedTime MlflowConfig MlflowDetails ModelArtifacts "
        "ModelPackageConfig OutputDataConfig OutputModelPackageArn ProfilerConfig "
        "ProfilerRuleConfigurations ProfilerRuleEvaluationStatuses ProfilingStatus ProgressInfo "
        "RemoteDebugConfig ResourceConfig RetryStrategy RoleArn SecondaryStatus "
        "SecondaryStatusTransitions ServerlessJobConfig StoppingCondition "
        "TensorBoardOutputConfig TrainingEndTime TrainingJobArn TrainingJobName "
        "TrainingJobStatus TrainingStartTime TrainingTimeInSeconds TuningJobArn VpcConfig "
        "WarmPoolStatus"
    ),
    "Transform": _members(
        "AutoMLJobArn BatchStrategy CreationTime DataCaptureConfig DataProcessing Environment "
        "ExperimentConfig FailureReason LabelingJobArn MaxConcurrentTransforms MaxPayloadInMB "
        "ModelClientConfig ModelName TransformEndTime TransformInput TransformJobArn "
        "TransformJobName TransformJobStatus TransformOutput TransformResources "
        "TransformStartTime"
    ),
    "Tuning": _members(
        "Autotune BestTrainingJob ConsumedResources CreationTime FailureReason "
        "HyperParameterTuningEndTime HyperParameterTuningJobArn HyperParameterTuningJobConfig "
        "HyperParameterTuningJobName HyperParameterTuningJobStatus LastModifiedTime "
        "ObjectiveStatusCounters OverallBestTrainingJob TrainingJobDefinition "
        "TrainingJobDefinitions TrainingJobStatusCounters TuningJobCompletionDetails "
        "WarmStartConfig NextToken TrainingJobSummaries"
    ),
    "Model": _members(
        "Containers CreationTime DeploymentRecommendation EnableNetworkIsolation "
        "ExecutionRoleArn InferenceExecutionConfig ModelArn ModelName PrimaryContainer VpcConfig"
    ),
    "RegisterModel": _members(
        "AdditionalInferenceSpecifications ApprovalDescription CertifyForMarketplace CreatedBy "
        "CreationTime CustomerMetadataProperties Domain DriftCheckBaselines "
        "InferenceSpecification LastModifiedBy LastModifiedTime ManagedStorageType "
        "MetadataProperties ModelApprovalStatus ModelCard ModelLifeCycle ModelMetrics "
        "ModelPackageArn ModelPackageDescription ModelPackageGroupName ModelPackageName "
        "ModelPackageRegistrationType ModelPackageStatus ModelPackageStatusDetails "
        "ModelPackageVersion SamplePayloadUrl SecurityConfig SkipModelValidation "
        "SourceAlgorithmSpecification SourceUri Task ValidationSpecification"
    ),
    "AutoML": _members(
        "AutoMLJobArn AutoMLJobArtifacts AutoMLJobConfig AutoMLJobName AutoMLJobObjective "
        "AutoMLJobSecondaryStatus AutoMLJobStatus BestCandidate CreationTime EndTime "
        "FailureReason GenerateCandidateDefinitionsOnly InputDataConfig LastModifiedTime "
        "ModelDeployConfig ModelDeployResult OutputDataConfig PartialFailureReasons ProblemType "
        "ResolvedAttributes RoleArn BestCandidateProperties"
    ),
    "Condition": _members("Outcome"),
    "Lambda": _members("OutputParameters"),
    "Callback": _members("OutputParameters"),
    "QualityCheck": _members(
        "CalculatedBaselineConstraints CalculatedBaselineStatistics "
        "BaselineUsedForDriftCheckStatistics BaselineUsedForDriftCheckConstraints"
    ),
    "ClarifyCheck": _members("CalculatedBaselineConstraints BaselineUsedForDriftCheckConstraints"),
}
# Where each type's members come from (botocore shape names), for the test that keeps
# STEP_PROPERTIES in step with botocore.
STEP_PROPERTY_SHAPES: dict[str, tuple[str, ...]] = {
    "Processing": ("DescribeProcessingJobResponse",),
    "Training": ("DescribeTrainingJobResponse",),
    "Transform": ("DescribeTransformJobResponse",),
    "Tuning": (
        "DescribeHyperParameterTuningJobResponse",
        "ListTrainingJobsForHyperParameterTuningJobResponse",
    ),
    "Model": ("DescribeModelOutput",),
    "RegisterModel": ("DescribeModelPackageOutput",),
    "AutoML": ("DescribeAutoMLJobResponse",),
}

# Lists in a step's Arguments that botocore's SageMaker model bounds. SageMaker checks the
# processing inputs when the pipeline is created, not when the job starts
# (aws/sagemaker-python-sdk#2554, "Validation of max numbers of ProcessInput should be done
# at design time": fixed in the service). (step type, path in Arguments, at most, shape).
ARGUMENT_LIMITS: tuple[tuple[str, tuple[str, ...], int, str], ...] = (
    ("Processing", ("ProcessingInputs",), 10, "ProcessingInputs"),
    ("Processing", ("ProcessingOutputConfig", "Outputs"), 10, "ProcessingOutputs"),
    ("Training", ("InputDataConfig",), 20, "InputDataConfig"),
    ("Training", ("HyperParameters",), 100, "HyperParameters"),
    ("Processing", ("Environment",), 100, "ProcessingEnvironmentMap"),
    ("Training", ("Environment",), 100, "TrainingEnvironmentMap"),
)
