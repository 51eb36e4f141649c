"""SageMaker's rules for names, sizes and counts, and its default quotas: the one place that
states them. ``validate`` (definitions) and ``manifests`` (the objects and their parameters)
both check against these; botocore's SageMaker service model and the service quotas page are
the sources.
"""

from __future__ import annotations

import re

SUPPORTED_VERSION = "2020-12-01"

# names
PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
EXECUTION_DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")
STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]*$")
PARAMETER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,256}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
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
