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
