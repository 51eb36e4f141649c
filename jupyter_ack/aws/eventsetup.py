"""The events queue's setup: an SQS queue, an EventBridge rule on the default bus matching
SageMaker's pipeline events with the queue as its target, and a queue policy letting
EventBridge send from that rule only; the IAM policies a user needs, printed on request; and a
check that reads the queue as a follower would. Idempotent: a second setup changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_ack.aws.clients import client, describe, error_code
from jupyter_ack.aws.events import (
    DETAIL_TYPES,
    NO_QUEUE,
    SOURCE,
    WAIT_SECONDS,
    is_queue_url,
    queue_region,
    resolve,
)
from jupyter_ack.errors import AwsError

DEFAULT_QUEUE = "jupyter-ack-events"
RULE_NAME_MAX = 64
TARGET_ID = "jupyter-ack-events-queue"
POLICY_SID = "jupyter-ack-sagemaker-pipeline-events"
# An hour of events is kept: a run older than that is listed once when followed anyway, and a
# queue nobody read for a while does not make the next consumer drain a day of other runs.
RETENTION_SECONDS = 3600
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


# The rule, the queue policy, the IAM permissions -------------------------------------------------


def event_pattern() -> dict[str, Any]:
    """The rule's pattern: both pipeline detail-types from SageMaker, every pipeline."""
    return {"source": [SOURCE], "detail-type": list(DETAIL_TYPES)}


def queue_statement(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """The queue policy's statement: EventBridge may send, from that rule only."""
    return {
        "Sid": POLICY_SID,
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }


def queue_policy(queue_arn: str, rule_arn: str, existing: str | None = None) -> dict[str, Any]:
    """The queue's policy with our statement in it (replacing an older one of ours); the
    statements someone else put there are kept."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    if existing:
        try:
            found = json.loads(existing)
        except ValueError:
            found = None
        if isinstance(found, dict):
            doc = found
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        statements = []
    kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == POLICY_SID)]
    doc["Statement"] = [*kept, queue_statement(queue_arn, rule_arn)]
    doc.setdefault("Version", "2012-10-17")
    return doc


def consumer_policy(queue_arn: str) -> dict[str, Any]:
    """What a user following runs needs on the queue (IAM, identity-based)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "JupyterAckReadPipelineEvents",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                ],
                "Resource": queue_arn,
            }
        ],
    }


def setup_policy(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """What ``jupyter-ack events setup`` needs (IAM, identity-based)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "JupyterAckMakeEventsQueue",
                "Effect": "Allow",
                "Action": [
                    "sqs:CreateQueue",
                    "sqs:GetQueueUrl",
                    "sqs:GetQueueAttributes",
                    "sqs:SetQueueAttributes",
                ],
                "Resource": queue_arn,
            },
            {
                "Sid": "JupyterAckMakeEventsRule",
                "Effect": "Allow",
                "Action": [
                    "events:PutRule",
                    "events:PutTargets",
                    "events:DescribeRule",
                    "events:ListTargetsByRule",
                ],
                "Resource": rule_arn,
            },
        ],
    }


def rule_for(queue: str, rule: str | None = None) -> str:
    """The rule's name: as given, else the queue's (one rule per queue: each consumer gets
    every event)."""
    return rule or queue[:RULE_NAME_MAX]


def plan(
    queue: str = DEFAULT_QUEUE,
    rule: str | None = None,
    region: str | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    """What :func:`setup` would make, as JSON documents (no AWS call): the rule and its
    pattern, the queue policy, and the IAM policies of a user and of the one who sets up."""
    rule = rule_for(queue, rule)
    where = f"{region or 'REGION'}:{account or 'ACCOUNT_ID'}"
    queue_arn = f"arn:aws:sqs:{where}:{queue}"
    rule_arn = f"arn:aws:events:{where}:rule/{rule}"
    return {
        "rule": {
            "Name": rule,
            "EventBusName": "default",
            "State": "ENABLED",
            "EventPattern": event_pattern(),
            "Targets": [{"Id": TARGET_ID, "Arn": queue_arn}],
        },
        "queue": {
            "QueueName": queue,
            "Attributes": {
                "MessageRetentionPeriod": str(RETENTION_SECONDS),
                "ReceiveMessageWaitTimeSeconds": str(WAIT_SECONDS),
            },
        },
        "queue_policy": queue_policy(queue_arn, rule_arn),
        "iam_policy_user": consumer_policy(queue_arn),
        "iam_policy_setup": setup_policy(queue_arn, rule_arn),
    }


# Setup -------------------------------------------------------------------------------------------


@dataclass
class SetupResult:
    """What :func:`setup` found or made; ``changes`` says what it did, in order."""

    queue_url: str
    queue_arn: str
    rule_arn: str
    region: str | None
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "queue_url": self.queue_url,
            "queue_arn": self.queue_arn,
            "rule_arn": self.rule_arn,
            "region": self.region,
            "changes": list(self.changes),
        }


def check_queue_name(name: str) -> None:
    from jupyter_ack.errors import UsageError

    if not _QUEUE_NAME.match(name):
        raise UsageError(
            f"{name!r} is not a queue name",
            hint="1 to 80 letters, digits, '-' or '_' (a standard queue: no .fifo)",
        )


def setup(
    queue: str = DEFAULT_QUEUE, rule: str | None = None, region: str | None = None
) -> SetupResult:
    """Make (or find, and fix) the queue, the rule on the default bus (named after the queue
    unless ``rule`` is given), its target and the queue policy. Idempotent: a second call
    changes nothing and says so."""
    check_queue_name(queue)
    rule = rule_for(queue, rule)
    sqs = client("sqs", region)
    events = client("events", region)
    changes: list[str] = []
    try:
        url = str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    except Exception as e:
        if error_code(e) not in NO_QUEUE:
            raise describe(e, f"looking for the queue {queue}") from None
        try:
            url = str(sqs.create_queue(QueueName=queue)["QueueUrl"])
        except Exception as e2:
            raise describe(e2, f"creating the queue {queue}") from None
        changes.append(f"created the queue {queue}")
    try:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    except Exception as e:
        raise describe(e, f"reading the attributes of {url}") from None
    queue_arn = str(attrs["QueueArn"])
    rule_arn = _put_rule(events, rule, changes)
    try:
        targets = events.list_targets_by_rule(Rule=rule).get("Targets") or []
    except Exception as e:
        raise describe(e, f"listing the targets of the rule {rule}") from None
    if not any(t.get("Id") == TARGET_ID and t.get("Arn") == queue_arn for t in targets):
        try:
            answer = events.put_targets(Rule=rule, Targets=[{"Id": TARGET_ID, "Arn": queue_arn}])
        except Exception as e:
            raise describe(e, f"adding the queue as a target of the rule {rule}") from None
        if answer.get("FailedEntryCount"):
            entry = (answer.get("FailedEntries") or [{}])[0]
            raise AwsError(
                f"adding the queue as a target of the rule {rule}: "
                f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
            )
        changes.append(f"made the queue the target of the rule {rule}")
    wanted = {
        "Policy": json.dumps(queue_policy(queue_arn, rule_arn, attrs.get("Policy"))),
        "MessageRetentionPeriod": str(RETENTION_SECONDS),
        "ReceiveMessageWaitTimeSeconds": str(WAIT_SECONDS),
    }
    differs = {k: v for k, v in wanted.items() if not _same_attribute(k, attrs.get(k), v)}
    if differs:
        try:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=differs)
        except Exception as e:
            raise describe(e, f"setting the policy of the queue {queue}") from None
        changes.append(
            "set the queue policy (EventBridge may send from the rule only)"
            if "Policy" in differs
            else "set the queue's retention and long polling"
        )
    return SetupResult(url, queue_arn, rule_arn, region or queue_region(url), changes)


def _put_rule(events: Any, rule: str, changes: list[str]) -> str:
    """The rule's ARN, after making it (or putting our pattern back, enabled) when needed."""
    try:
        found = events.describe_rule(Name=rule)
    except Exception as e:
        if error_code(e) != "ResourceNotFoundException":
            raise describe(e, f"looking for the rule {rule}") from None
        found = None
    if found is not None:
        try:
            pattern = json.loads(found.get("EventPattern") or "{}")
        except ValueError:
            pattern = None
        if found.get("State") == "ENABLED" and pattern == event_pattern() and found.get("Arn"):
            return str(found["Arn"])
    try:
        made = events.put_rule(
            Name=rule,
            EventPattern=json.dumps(event_pattern()),
            State="ENABLED",
            Description="SageMaker pipeline step and execution status changes, for jupyter-ack",
        )
    except Exception as e:
        raise describe(e, f"putting the rule {rule} on the default event bus") from None
    changes.append(f"{'updated' if found is not None else 'created'} the rule {rule}")
    return str(made["RuleArn"])


def _same_attribute(key: str, have: Any, want: str) -> bool:
    if have is None:
        return False
    if key == "Policy":
        try:
            return bool(json.loads(str(have)) == json.loads(want))
        except ValueError:
            return False
    return str(have) == want


def check(queue: str, region: str | None = None) -> dict[str, Any]:
    """Read the queue's attributes as a follower would: its URL, ARN, waiting messages, and
    whether the policy lets a rule send to it. One line on failure (AwsError)."""
    sqs = client("sqs", region or (queue_region(queue) if is_queue_url(queue) else None))
    url = resolve(sqs, queue)
    try:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    except Exception as e:
        raise describe(e, f"reading the events queue {queue}") from None
    sources: list[str] = []
    try:
        for s in json.loads(attrs.get("Policy") or "{}").get("Statement") or []:
            arn = ((s.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn")
            if isinstance(arn, str):
                sources.append(arn)
    except (ValueError, AttributeError):
        pass
    return {
        "queue_url": url,
        "queue_arn": attrs.get("QueueArn"),
        "messages": int(attrs.get("ApproximateNumberOfMessages") or 0),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible") or 0),
        "rules": sources,
    }
