"""Kubernetes access for the ACK objects: connect the way kubectl does, check before writing,
apply safely, and turn every API failure into one line that says what to do.

The ``kubernetes`` client is imported on first use. Reads and writes go to the ACK SageMaker
group only; nothing here needs more than the verbs FACTS lists (create, get, list, watch,
patch, delete on pipelines and pipelineexecutions).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_ack.ack.resources import FIELD_MANAGER, GROUP, PIPELINES, PLURALS, VERSION
from jupyter_ack.errors import ClusterError

APPLY_PATCH = "application/apply-patch+yaml"
CONTROLLER_HINT = (
    "install the ACK SageMaker controller: helm install -n ack-system ack-sagemaker-controller "
    "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart (or try `jupyter-ack sandbox up`)"
)


@dataclass
class Cluster:
    """A connection to one cluster and namespace, as a kubeconfig context names them."""

    api_client: Any
    namespace: str
    context: str | None
    server: str

    @property
    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api_client)

    @property
    def where(self) -> str:
        ctx = f" (context {self.context})" if self.context else ""
        return f"{self.server}{ctx}"

    # checks -------------------------------------------------------------------------------

    def check(self) -> None:
        """The cluster answers and has the ACK SageMaker CRDs, or a ClusterError says why."""
        from kubernetes import client

        try:
            client.VersionApi(self.api_client).get_code()
        except Exception as e:
            raise self.error(e, "reaching the cluster") from None
        try:
            listing = client.CustomObjectsApi(self.api_client).get_api_resources(GROUP, VERSION)
        except Exception as e:
            if getattr(e, "status", None) == 404:
                raise ClusterError(
                    f"the cluster at {self.where} has no ACK SageMaker CRDs ({GROUP}/{VERSION})",
                    hint=CONTROLLER_HINT,
                ) from None
            raise self.error(e, "reading the API groups") from None
        names = {r.name for r in listing.resources or []}
        missing = [p for p in PLURALS.values() if p not in names]
        if missing:
            raise ClusterError(
                f"the cluster at {self.where} lacks the CRDs for {', '.join(missing)}",
                hint=CONTROLLER_HINT,
            )

    # reads --------------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """The cluster's namespaces, or just this one when listing them is denied (a user may
        work in one namespace without the right to see the others)."""
        from kubernetes import client

        try:
            found = client.CoreV1Api(self.api_client).list_namespace()
        except Exception as e:
            if getattr(e, "status", None) == 403:
                return [self.namespace]
            raise self.error(e, "listing namespaces", verb="list", plural="namespaces") from None
        names = sorted(str(ns.metadata.name) for ns in found.items)
        return names if self.namespace in names else [self.namespace, *names]

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
            return obj
        except Exception as e:
            if getattr(e, "status", None) == 404:
                return None
            raise self.error(e, f"reading {plural}/{name}", verb="get", plural=plural) from None

    def list(self, plural: str, label_selector: str | None = None) -> dict[str, Any]:
        kwargs = {"label_selector": label_selector} if label_selector else {}
        try:
            result: dict[str, Any] = self.custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, **kwargs
            )
            return result
        except Exception as e:
            raise self.error(e, f"listing {plural}", verb="list", plural=plural) from None

    def probe(self, plural: str) -> None:
        """One cheap list (a single item) that fails as :meth:`list` would: denied, no CRDs,
        unreachable. Run before watching, so a watch never retries what will never work."""
        try:
            self.custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, limit=1
            )
        except Exception as e:
            raise self.error(e, f"listing {plural}", verb="list", plural=plural) from None

    # writes -------------------------------------------------------------------------------

    def apply(self, obj: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as field manager ``jupyter-ack``; returns the object as stored.

        Server-side apply has no annotation size cap (client-side apply stores the whole
        object in one, capped at 256 KiB) and re-applying an unchanged object changes nothing.
        """
        plural = PLURALS[obj["kind"]]
        name = obj["metadata"]["name"]
        kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "_content_type": APPLY_PATCH}
        if dry_run:
            kwargs["dry_run"] = "All"
        try:
            result = retrying(
                lambda: self.custom.patch_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, plural, name, obj, **kwargs
                )
            )
        except Exception as e:
            raise self.error(e, f"applying {plural}/{name}", verb="patch", plural=plural) from None
        if not isinstance(result, dict):  # the client drops the body of a 201: read it back
            return self.get(plural, name) or obj
        return result

    def create(self, obj: dict[str, Any], dry_run: bool = False) -> tuple[dict[str, Any], bool]:
        """Create unless an object of that name exists; returns (object, created)."""
        plural = PLURALS[obj["kind"]]
        name = obj["metadata"].get("name") or obj["metadata"].get("generateName", "")
        kwargs = {"dry_run": "All"} if dry_run else {}
        try:
            created: dict[str, Any] = retrying(
                lambda: self.custom.create_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    self.namespace,
                    plural,
                    obj,
                    field_manager=FIELD_MANAGER,
                    **kwargs,
                )
            )
            return created, True
        except Exception as e:
            if getattr(e, "status", None) == 409 and obj["metadata"].get("name"):
                existing = self.get(plural, obj["metadata"]["name"])
                if existing is not None:
                    return existing, False
            raise self.error(e, f"creating {plural}/{name}", verb="create", plural=plural) from None

    def delete(self, plural: str, name: str) -> bool:
        """Delete; False when it was already gone."""
        try:
            self.custom.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
            return True
        except Exception as e:
            if getattr(e, "status", None) == 404:
                return False
            raise self.error(e, f"deleting {plural}/{name}", verb="delete", plural=plural) from None

    # errors -------------------------------------------------------------------------------

    def error(
        self, exc: BaseException, action: str, verb: str | None = None, plural: str | None = None
    ) -> ClusterError:
        return describe_error(exc, action, self, verb, plural)


TRANSIENT = (429, 500, 502, 503, 504)


def retrying(call: Callable[[], Any], attempts: int = 4, delay: float = 0.2) -> Any:
    """Retry a write on transient failures (overload, 5xx, dropped connection). Safe for
    server-side apply (idempotent) and for create under a fixed name (a repeat is a 409)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as e:
            status = getattr(e, "status", None)
            transient = status in TRANSIENT or (status is None and _is_connection_error(e))
            if not transient or attempt == attempts - 1:
                raise
            time.sleep(delay * 2**attempt)  # back off before sending the same request again
    raise AssertionError("unreachable")


def _is_connection_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("urllib3") or isinstance(exc, ConnectionError)


def describe_error(
    exc: BaseException,
    action: str,
    cluster: Cluster | None = None,
    verb: str | None = None,
    plural: str | None = None,
) -> ClusterError:
    """One line for a failed Kubernetes call, with a hint that fixes it."""
    where = cluster.where if cluster else "the cluster"
    ns = cluster.namespace if cluster else "default"
    status = getattr(exc, "status", None)
    if status is None or status == 0:
        reason = _root_cause(exc)
        return ClusterError(
            f"{action}: cannot reach {where}: {reason}",
            hint="check the cluster is up and your network/VPN; `kubectl cluster-info` tells more",
        )
    message = _status_message(exc)
    if status == 401:
        return ClusterError(
            f"{action}: {where} rejected your credentials (expired or invalid token)",
            hint="refresh them, e.g. `aws eks update-kubeconfig --name CLUSTER`, then retry",
        )
    if status == 403:
        return ClusterError(
            f"{action}: {message}", hint=_rbac_hint(message, verb, plural, ns), http_status=403
        )
    if status == 404 and "the server could not find the requested resource" in message:
        return ClusterError(f"{action}: {where} has no ACK SageMaker CRDs", hint=CONTROLLER_HINT)
    if status == 404:
        return ClusterError(
            f"{action}: {message}",
            hint=f"check the namespace ({ns}) and the name",
            http_status=404,
        )
    if status == 409:
        return ClusterError(
            f"{action}: {message}",
            hint="another field manager changed this object; re-read it or apply with care",
            http_status=409,
        )
    if status == 422:
        return ClusterError(
            f"{action}: the API server refused the object: {message}", http_status=422
        )
    if status == 429 or (isinstance(status, int) and status >= 500):
        return ClusterError(
            f"{action}: {where} is overloaded or failing ({status}: {message})",
            hint="retry in a moment",
        )
    return ClusterError(f"{action}: {status}: {message}")


_FORBIDDEN = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\w+) resource "(?P<resource>[^"]+)" in API group '
    r'"(?P<group>[^"]*)"(?: in the namespace "(?P<ns>[^"]+)")?'
)


def _rbac_hint(message: str, verb: str | None, plural: str | None, namespace: str) -> str:
    m = _FORBIDDEN.search(message)
    if m:
        verb, plural, namespace = m["verb"], m["resource"], m["ns"] or namespace
        user = m["user"]
    else:
        user = "you"
    rule = (
        f'apiGroups: ["{GROUP}"], resources: ["{plural or PIPELINES}"], verbs: ["{verb or "get"}"]'
    )
    return (
        f"{user} needs a Role in namespace {namespace} with the rule {{{rule}}} "
        "bound to them (ask your cluster admin)"
    )


def _status_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            doc = json.loads(body)
            if isinstance(doc, dict) and doc.get("message"):
                return str(doc["message"])
        except (TypeError, ValueError):
            pass
    return str(getattr(exc, "reason", None) or exc)


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while True:
        inner = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(seen)
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if "timed out" in text.lower():
        return "timed out"
    if text in ("", "b''", "None") or "Connection broken" in text:
        return "the connection was cut"
    return text.split(": ", 1)[-1][:200]


def connect(
    context: str | None = None, namespace: str | None = None, kubeconfig: str | None = None
) -> Cluster:
    """Connect as kubectl would: KUBECONFIG / ~/.kube/config and its current (or given)
    context, or the in-cluster service account; the namespace from the context by default."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise ClusterError(
            "the kubernetes client is not installed", hint="pip install kubernetes"
        ) from None
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    ctx_namespace: str | None = None
    try:
        contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
        names = [c["name"] for c in contexts]
        if context is not None and context not in names:
            raise ClusterError(
                f"no context {context!r} in your kubeconfig",
                hint=f"contexts there: {', '.join(names) or 'none'} "
                "(`kubectl config get-contexts`)",
            )
        chosen = next((c for c in contexts if c["name"] == context), current)
        ctx_namespace = (chosen or {}).get("context", {}).get("namespace")
        config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
        context = (chosen or {}).get("name")
    except ClusterError:
        raise
    except (ConfigException, FileNotFoundError, OSError) as kube_error:
        broken_file = _unreadable_kubeconfig(kubeconfig)
        if broken_file:
            raise ClusterError(broken_file) from None
        try:
            config.load_incluster_config(client_configuration=configuration)
            context = None
            try:
                with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as fh:
                    ctx_namespace = fh.read().strip()
            except OSError:
                ctx_namespace = None
        except ConfigException:
            files = _kubeconfig_files(kubeconfig)
            reason = (
                f"{', '.join(files)} does not exist"
                if not any(os.path.exists(f) for f in files)
                else _one_line(kube_error)
            )
            raise ClusterError(
                f"no Kubernetes configuration found ({reason})",
                hint="set KUBECONFIG or run `aws eks update-kubeconfig --name CLUSTER` "
                "(or `jupyter-ack sandbox up` and source its env file)",
            ) from None
    except Exception as broken:
        # not a missing kubeconfig but a broken one (binary, bad YAML, not a kubeconfig): the
        # client's own words span lines and name no file; say which file, in one line
        raise ClusterError(_kubeconfig_problem(kubeconfig, broken)) from None
    api_client = client.ApiClient(configuration)
    return Cluster(api_client, namespace or ctx_namespace or "default", context, configuration.host)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _kubeconfig_files(kubeconfig: str | None) -> list[str]:
    """The files kubectl would read: ``kubeconfig``, else each of $KUBECONFIG, else
    ~/.kube/config."""
    raw = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    return [os.path.expanduser(p) for p in raw.split(os.pathsep) if p]


def _unreadable_kubeconfig(kubeconfig: str | None) -> str | None:
    """One line naming the first kubeconfig file that exists but cannot be a kubeconfig
    (not text, not YAML, not a mapping), or None when each is absent or parses."""
    import yaml

    for path in _kubeconfig_files(kubeconfig):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            continue
        except OSError as e:
            return f"kubeconfig {path} cannot be read: {e.strerror or e}"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return f"kubeconfig {path} is not a kubeconfig: it is not UTF-8 text (a binary file?)"
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            what = " ".join(str(getattr(e, "problem", None) or type(e).__name__).split())
            return f"kubeconfig {path} is not valid YAML: {what}{where}"
        if doc is None:
            continue  # empty: kubectl treats it as no configuration
        if not isinstance(doc, dict):
            return (
                f"kubeconfig {path} is not a kubeconfig: it holds a {type(doc).__name__}, "
                "not clusters, contexts and users"
            )
        for key in ("clusters", "contexts", "users"):
            if doc.get(key) is not None and not isinstance(doc.get(key), list):
                return f"kubeconfig {path} is not a kubeconfig: its {key} is not a list"
    return None


def _kubeconfig_problem(kubeconfig: str | None, exc: BaseException) -> str:
    """One line for a kubeconfig the client could not use, naming the file when it can."""
    found = _unreadable_kubeconfig(kubeconfig)
    if found:
        return found
    files = ", ".join(_kubeconfig_files(kubeconfig))
    return f"the kubeconfig ({files}) cannot be used: {type(exc).__name__}: {_one_line(exc)}"


def contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """The kubeconfig's context names and its current one, as ``kubectl config
    get-contexts`` shows them; ``([], None)`` when there is no kubeconfig (in a pod)."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        found, current = config.list_kube_config_contexts(config_file=kubeconfig)
    except (ConfigException, OSError):
        broken_file = _unreadable_kubeconfig(kubeconfig)
        if broken_file:
            raise ClusterError(broken_file) from None
        return [], None
    except Exception as broken:
        raise ClusterError(_kubeconfig_problem(kubeconfig, broken)) from None
    return [str(c["name"]) for c in found], (str(current["name"]) if current else None)
