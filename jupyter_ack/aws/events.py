"""SageMaker's pipeline events, pushed through EventBridge to an SQS queue, read by one
long-poll consumer per queue per process (the queue and its rule are made by
:mod:`jupyter_ack.aws.eventsetup`).

SageMaker sends "SageMaker Model Building Pipeline Execution Step Status Change" and
"SageMaker Model Building Pipeline Execution Status Change" events (source ``aws.sagemaker``)
to the default event bus of the account and region. :func:`subscribe` hands each event of one
execution to whoever follows it in this process (``jupyter_ack.status.events`` turns them into
step statuses).

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
from typing import Any

from jupyter_ack.aws.clients import NO_ACCESS, client, describe, error_code

log = logging.getLogger("jupyter_ack.aws.events")

SOURCE = "aws.sagemaker"
STEP_CHANGE = "SageMaker Model Building Pipeline Execution Step Status Change"
EXECUTION_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
DETAIL_TYPES = (STEP_CHANGE, EXECUTION_CHANGE)


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

_SQS_HOST = re.compile(r"^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")

EventListener = Callable[[dict[str, Any]], None]
ErrorListener = Callable[[str], None]


# Queues -----------------------------------------------------------------------------------------


def queue_region(url: str) -> str | None:
    """``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`` -> REGION (None for other hosts)."""
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    found = _SQS_HOST.match(host)
    return found.group(1) if found else None


def is_queue_url(text: str) -> bool:
    return text.startswith(("https://", "http://"))


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
