"""SageMaker's pipeline events, pushed through EventBridge to an SQS queue: the setup of the
rule, the queue and its policy, and one long-poll consumer per queue per process.

SageMaker sends "SageMaker Model Building Pipeline Execution Step Status Change" and
"SageMaker Model Building Pipeline Execution Status Change" events (source ``aws.sagemaker``)
to the default event bus of the account and region. :func:`setup` makes a rule matching both
on that bus, with an SQS queue as its target and a queue policy letting EventBridge send from
that rule only. :func:`subscribe` then hands each event of one execution to whoever follows
it in this process (``jupyter_ack.status.events`` turns them into step statuses).

One consumer reads a queue per process, whatever the number of followers: started by the
first subscriber, stopped :data:`IDLE_RELEASE` seconds after the last one left (as the shared
informers of ``ack/watch.py``). It long-polls (``WaitTimeSeconds`` 20, up to 10 messages),
hands each event to the subscribers of its execution, and deletes what it received. Events of
executions nobody here follows yet are kept in memory for :data:`BUFFER_SECONDS` (a run that
has just been submitted is subscribed to a moment after it started) and then dropped: a queue
read by several processes splits its events between them, so use one queue per process that
follows runs (docs/events.md).

boto3 is imported on first use only, through :mod:`jupyter_ack.aws.clients`.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_ack.aws.clients import NO_ACCESS, client, describe, error_code
from jupyter_ack.errors import AwsError

log = logging.getLogger("jupyter_ack.aws.events")

SOURCE = "aws.sagemaker"
STEP_CHANGE = "SageMaker Model Building Pipeline Execution Step Status Change"
EXECUTION_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
DETAIL_TYPES = (STEP_CHANGE, EXECUTION_CHANGE)

DEFAULT_QUEUE = "jupyter-ack-events"
RULE_NAME_MAX = 64
TARGET_ID = "jupyter-ack-events-queue"
POLICY_SID = "jupyter-ack-sagemaker-pipeline-events"
# An hour of events is kept: a run older than that is listed once when followed anyway, and a
# queue nobody read for a while does not make the next consumer drain a day of other runs.
RETENTION_SECONDS = 3600

WAIT_SECONDS = 20  # ReceiveMessage long poll (the API's maximum)
BATCH = 10  # MaxNumberOfMessages (the API's maximum)
IDLE_RELEASE = 10.0  # seconds a consumer with no subscriber goes on reading
BUFFER_SECONDS = 300.0  # how long events of executions nobody follows here are kept
BUFFER_MAX = 2000  # and how many at most
BACKOFF_START, BACKOFF_MAX = 0.5, 20.0

# What makes a queue unusable rather than briefly unreachable: fall back to polling.
NO_QUEUE = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NonExistentQueue",
    "InvalidAddress",
    "InvalidParameterValue",
    "InvalidSecurity",
}
UNUSABLE_NAMES = {"NoRegionError", "ProfileNotFound", "ParamValidationError", "InvalidRegionError"}

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_SQS_HOST = re.compile(r"^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")

EventListener = Callable[[dict[str, Any]], None]
ErrorListener = Callable[[str], None]


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


def queue_region(url: str) -> str | None:
    """``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`` -> REGION (None for other hosts)."""
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    found = _SQS_HOST.match(host)
    return found.group(1) if found else None


def is_queue_url(text: str) -> bool:
    return text.startswith(("https://", "http://"))


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


def resolve(sqs: Any, queue: str) -> str:
    """A queue URL from a URL (as is) or a name (GetQueueUrl)."""
    if is_queue_url(queue):
        return queue
    try:
        return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    except Exception as e:
        raise describe(e, f"finding the events queue {queue}") from None


# Parsing ---------------------------------------------------------------------------------------


def parse(body: str) -> dict[str, Any] | None:
    """The EventBridge event in an SQS message body, when it is one of SageMaker's pipeline
    events with an execution ARN; None for anything else (it is deleted, and logged)."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("detail-type") not in DETAIL_TYPES:
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("pipelineExecutionArn"), str):
        return None
    return event


def unusable(exc: BaseException) -> bool:
    """Whether this error means the queue cannot be read by us at all (missing, denied, no
    credentials, a malformed URL) rather than a passing fault."""
    name = type(exc).__name__
    code = error_code(exc)
    return code in NO_QUEUE or code in NO_ACCESS or name in NO_ACCESS or name in UNUSABLE_NAMES


# The consumer ------------------------------------------------------------------------------------


class Subscription:
    """One follower's interest in one execution's events; ``close`` to leave."""

    def __init__(self, consumer: Consumer, arn: str, on_event: EventListener, on_error: Any):
        self.consumer = consumer
        self.arn = arn
        self.on_event = on_event
        self.on_error: ErrorListener = on_error
        self.replayed: list[dict[str, Any]] = []  # events received before it subscribed
        self.gap = False  # some of this execution's events were dropped before it subscribed
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _release(self)


class Consumer:
    """The long-poll reader of one queue in this process; use :func:`subscribe`."""

    def __init__(self, queue: str, region: str | None = None, buffer: _Buffer | None = None):
        self.queue = queue
        self.region = region or (queue_region(queue) if is_queue_url(queue) else None)
        self.url: str | None = queue if is_queue_url(queue) else None
        self._subs: dict[str, list[Subscription]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.ready = threading.Event()  # the queue answered once
        self.failed: str | None = None  # why the queue cannot be read (then it is stopped)
        self._thread = threading.Thread(target=self._run, name="jupyter-ack-events", daemon=True)
        self._buffer = buffer or _Buffer()  # shared by the queue's successive consumers
        self.receives = 0
        self.received = 0
        self.deleted = 0

    @property
    def subscribers(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._subs.values())

    def start(self) -> Consumer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _add(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.setdefault(sub.arn, []).append(sub)
            sub.replayed, sub.gap = self._buffer.take(sub.arn)

    def _remove(self, sub: Subscription) -> int:
        with self._lock:
            found = self._subs.get(sub.arn, [])
            if sub in found:
                found.remove(sub)
            if not found:
                self._subs.pop(sub.arn, None)
            return sum(len(v) for v in self._subs.values())

    def _run(self) -> None:
        backoff = BACKOFF_START
        sqs: Any = None
        while not self._stop.is_set():
            try:
                if sqs is None:
                    sqs = client("sqs", self.region)
                if not self.ready.is_set():
                    self.url = resolve(sqs, self.queue)
                    sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
                    self.ready.set()
                answer = sqs.receive_message(
                    QueueUrl=self.url,
                    WaitTimeSeconds=WAIT_SECONDS,
                    MaxNumberOfMessages=BATCH,
                )
                self.receives += 1
            except Exception as e:
                problem = describe(e, f"reading the events queue {self.queue}")
                # before the queue has answered once, any failure means polling instead;
                # after, only one that will not pass (the queue deleted, access revoked)
                if not self.ready.is_set() or unusable(e):
                    self._fail(problem.message)
                    return
                log.debug("events queue: %s (retrying in %.1f s)", problem.message, backoff)
                self._stop.wait(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff = BACKOFF_START
            messages = answer.get("Messages") or []
            if messages:
                self._handle(sqs, messages)

    def _handle(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        self.received += len(messages)
        for message in messages:
            body = str(message.get("Body") or "")
            event = parse(body)
            if event is None:
                log.debug("events queue: not a pipeline event, deleted: %.200s", body)
                continue
            arn = str(event["detail"]["pipelineExecutionArn"])
            # a consumer stopped during its last long poll hands what it got to its successor
            owner = (consumer(self.queue) or self) if self.stopped else self
            with owner._lock:
                subs = list(owner._subs.get(arn, ()))
                if not subs:
                    owner._buffer.put(arn, event)
            for sub in subs:
                try:
                    sub.on_event(event)
                except Exception:  # one follower's bug must not stop the others' events
                    log.exception("events: a subscriber of %s failed", arn)
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m.get("ReceiptHandle")
        ]
        try:
            if entries:
                sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
                self.deleted += len(entries)
        except Exception as e:  # they come back after the visibility timeout: handled twice
            log.debug("events queue: delete failed: %s", e)

    def _fail(self, why: str) -> None:
        self.failed = why
        self._stop.set()
        with _registry_lock:
            if _consumers.get(self.queue) is self:
                del _consumers[self.queue]
        with self._lock:
            subs = [s for group in self._subs.values() for s in group]
        for sub in subs:
            try:
                sub.on_error(why)
            except Exception:
                log.exception("events: a subscriber's error handler failed")


class _Buffer:
    """Events of executions nobody here follows yet, by execution, for a while."""

    def __init__(self) -> None:
        self._events: OrderedDict[str, list[tuple[float, dict[str, Any]]]] = OrderedDict()
        self._count = 0
        self._dropped: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, arn: str, event: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            self._events.setdefault(arn, []).append((now, event))
            self._count += 1
            self._prune(now)

    def take(self, arn: str) -> tuple[list[dict[str, Any]], bool]:
        with self._lock:
            self._prune(time.monotonic())
            found = self._events.pop(arn, [])
            self._count -= len(found)
            return [e for _, e in found], arn in self._dropped

    def _prune(self, now: float) -> None:
        while self._events:
            arn, items = next(iter(self._events.items()))
            old = [i for i in items if now - i[0] > BUFFER_SECONDS]
            if not old and self._count <= BUFFER_MAX:
                break
            drop = old or items[:1]
            del items[: len(drop)]
            self._count -= len(drop)
            self._dropped[arn] = None
            self._dropped.move_to_end(arn)
            while len(self._dropped) > BUFFER_MAX:
                self._dropped.popitem(last=False)
            if items:
                self._events.move_to_end(arn)  # look at the next execution's oldest next
            else:
                del self._events[arn]
            if not old and self._count <= BUFFER_MAX:
                break


_consumers: dict[str, Consumer] = {}
_buffers: dict[str, _Buffer] = {}
_idle: dict[str, threading.Timer] = {}
_registry_lock = threading.Lock()


def subscribe(
    queue: str,
    arn: str,
    on_event: EventListener,
    on_error: ErrorListener,
    region: str | None = None,
) -> Subscription:
    """Receive the events of execution ``arn`` from ``queue`` (a URL or a queue name).

    ``on_event`` gets each event (the EventBridge envelope) on the consumer's thread;
    ``on_error`` gets one line, once, when the queue cannot be read (missing, denied, no
    credentials), after which nothing more comes: fall back to polling. Events of ``arn``
    received before the call are in ``Subscription.replayed``, apply them first.
    """
    with _registry_lock:
        found = _consumers.get(queue)
        fresh = found is None or found.stopped
        if found is None or found.stopped:
            found = Consumer(queue, region, _buffers.setdefault(queue, _Buffer()))
            _consumers[queue] = found
        timer = _idle.pop(queue, None)
        if timer is not None:  # wanted again before its idle time ran out
            timer.cancel()
    sub = Subscription(found, arn, on_event, on_error)
    found._add(sub)
    if fresh:
        found.start()
    return sub


def _release(sub: Subscription) -> None:
    consumer = sub.consumer
    if consumer._remove(sub):
        return
    with _registry_lock:
        if _consumers.get(consumer.queue) is not consumer or consumer.subscribers:
            return
        if IDLE_RELEASE <= 0:
            del _consumers[consumer.queue]
            consumer.stop()
            return
        timer = threading.Timer(IDLE_RELEASE, _release_idle, args=(consumer,))
        timer.daemon = True
        _idle[consumer.queue] = timer
        timer.start()


def _release_idle(consumer: Consumer) -> None:
    with _registry_lock:
        if _consumers.get(consumer.queue) is not consumer or consumer.subscribers:
            return
        del _consumers[consumer.queue]
        _idle.pop(consumer.queue, None)
    consumer.stop()


def active() -> int:
    """How many queue consumers run in this process (for tests and benchmarks)."""
    with _registry_lock:
        return len(_consumers)


def consumer(queue: str) -> Consumer | None:
    """This process's consumer of ``queue``, if one runs."""
    with _registry_lock:
        return _consumers.get(queue)


def stop_all() -> None:
    """Stop every consumer (the threads end after their current long poll)."""
    with _registry_lock:
        for timer in _idle.values():
            timer.cancel()
        _idle.clear()
        for found in _consumers.values():
            found.stop()
        _consumers.clear()
        _buffers.clear()
