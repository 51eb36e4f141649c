"""The SageMaker calls behind a run's status."""

from __future__ import annotations

from typing import Any


def list_steps(client: Any, arn: str) -> list[dict[str, Any]]:
    """Every page of ListPipelineExecutionSteps."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "PipelineExecutionArn": arn,
        "MaxResults": 100,
        "SortOrder": "Ascending",
    }
    while True:
        page = client.list_pipeline_execution_steps(**kwargs)
        items.extend(page.get("PipelineExecutionSteps", []))
        token = page.get("NextToken")
        if not token:
            return items
        kwargs["NextToken"] = token


def list_executions(client: Any, pipeline: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` executions SageMaker knows for ``pipeline`` (stopped ones and those
    whose ACK object is gone included), newest first; at most ``ceil(limit / 100)`` calls."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "PipelineName": pipeline,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": min(max(limit, 1), 100),
    }
    while len(items) < limit:
        page = client.list_pipeline_executions(**kwargs)
        items.extend(page.get("PipelineExecutionSummaries", []))
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return items[:limit]


def execution_parameters(client: Any, arn: str) -> dict[str, str]:
    """The parameter values an execution was started with (every page)."""
    values: dict[str, str] = {}
    kwargs: dict[str, Any] = {"PipelineExecutionArn": arn, "MaxResults": 100}
    while True:
        page = client.list_pipeline_parameters_for_execution(**kwargs)
        for p in page.get("PipelineParameters", []):
            values[str(p.get("Name"))] = str(p.get("Value"))
        token = page.get("NextToken")
        if not token:
            return values
        kwargs["NextToken"] = token


def execution_definition(client: Any, arn: str) -> str:
    """The definition JSON an execution ran with (SageMaker keeps it per execution)."""
    answer = client.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)
    return str(answer.get("PipelineDefinition") or "")


def region_of(arn: str | None) -> str | None:
    """``arn:aws:sagemaker:REGION:ACCOUNT:...`` -> REGION."""
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 and parts[3] else None
