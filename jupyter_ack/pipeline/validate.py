"""Find what is wrong with a pipeline definition before SageMaker (or the ACK controller, much
later, in a status condition) does.

The ACK CRDs carry no patterns or limits: the API server accepts anything and the error only
shows up after a reconcile. Every rule here is one SageMaker enforces, or a service quota
(a warning: quotas can be raised). Codes are stable; tests and scripts rely on them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jupyter_ack.pipeline._jsonpos import escape_token, locate
from jupyter_ack.pipeline.dag import NESTED_STEP_KEYS, Dag
from jupyter_ack.pipeline.diagnostics import Diagnostic, Severity, sort_key
from jupyter_ack.pipeline.rules import (
    ARGUMENT_LIMITS,
    CACHE_EXPIRE_AFTER,
    CONDITION_COMPARISONS,
    CONDITION_MEMBERSHIP,
    CONDITION_TYPES,
    EXECUTION_VARIABLES,
    EXPERIMENT_VARIABLES,
    FAIL_STEP_TYPE,
    MAX_BRANCH_STEPS,
    MAX_DEFINITION_CHARS,
    MAX_PARAMETERS,
    MAX_PROPERTY_FILES,
    MAX_STEP_NAME,
    MAX_STEPS,
    NO_RETRY_STEP_TYPES,
    PARAMETER_NAME,
    PARAMETER_TYPES,
    PIPELINE_NAME,
    PROPERTY_FILE_STEP_TYPES,
    RETRY_EXCEPTION_TYPES,
    RETRY_MAX_ATTEMPTS,
    RETRY_MAX_EXPIRE_AFTER_MIN,
    RETRY_MAX_INTERVAL_SECONDS,
    STEP_NAME,
    STEP_PROPERTIES,
    STEP_TYPES,
    SUPPORTED_VERSION,
)

if TYPE_CHECKING:
    from jupyter_ack.pipeline.definition import PipelineDefinition

PLACEHOLDER = re.compile(
    r"<<[^<>\n]{1,80}>>|\{\{[^{}\n]{1,80}\}\}|<(?:YOUR|your)[_-][^<>\s]{1,60}>"
)

CLIENT_APPLY_LIMIT = 262_144

# "Steps.<step>" and, when there is one, the first property after it ("ModelArtifacts").
_STEP_PROPERTY = re.compile(r"^Steps\.([^.\[\]]+)(?:\.([^.\[\]]+))?")


def validate(defn: PipelineDefinition) -> list[Diagnostic]:
    """Every diagnostic for ``defn``, with line and column when it came from text."""
    found = list(defn.load_diagnostics)
    if defn.data is not None:
        found.extend(_Checker(defn).run())
    if defn.text is not None:
        wanted = {d.path for d in found if d.path is not None and d.line is None}
        if wanted:
            where = locate(defn.text, wanted)
            found = [
                d.at(*where[d.path]) if d.path in where and d.line is None else d for d in found
            ]
    found.sort(key=sort_key)
    return found


class _Checker:
    def __init__(self, defn: PipelineDefinition) -> None:
        self.defn = defn
        self.data = defn.data
        self.out: list[Diagnostic] = []

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        path: str | None = None,
        step: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.out.append(Diagnostic(severity, code, message, path, step, hint=hint))

    def run(self) -> list[Diagnostic]:
        if not isinstance(self.data, dict):
            self.add(
                "error",
                "SCHEMA",
                f"a pipeline definition is a JSON object, not {_kind(self.data)}",
                "",
                hint='it starts like {"Version": "2020-12-01", "Steps": [...]}',
            )
            return self.out
        self.check_name()
        self.check_version()
        self.check_parameters()
        dag: Dag = self.defn.dag
        self.check_steps(dag)
        self.check_references(dag)
        self.check_fail_downstream(dag)
        self.check_properties(dag)
        self.check_cycles(dag)
        self.check_strings()
        self.check_size()
        return self.out

    # top level ----------------------------------------------------------------------------

    def check_name(self) -> None:
        name = self.defn.name
        if name is not None and not PIPELINE_NAME.match(name):
            self.add(
                "error",
                "NAME_INVALID",
                f"pipeline name {name!r} is not valid for SageMaker",
                hint="1-256 letters, digits and single hyphens, starting with a letter or digit",
            )

    def check_version(self) -> None:
        version = self.data.get("Version")
        if "Version" not in self.data:
            self.add(
                "error",
                "SCHEMA",
                "Version is missing",
                "",
                hint=f'add "Version": "{SUPPORTED_VERSION}"',
            )
        elif not isinstance(version, str):
            self.add(
                "error",
                "SCHEMA",
                f"Version must be a string, not {_kind(version)}",
                "/Version",
                hint=f'use "{SUPPORTED_VERSION}"',
            )
        elif version != SUPPORTED_VERSION:
            self.add(
                "error",
                "UNSUPPORTED_VERSION",
                f"Version {version!r} is not supported",
                "/Version",
                hint=f'SageMaker pipelines use "{SUPPORTED_VERSION}"',
            )

    def check_parameters(self) -> None:
        params = self.data.get("Parameters")
        if params is None:
            return
        if not isinstance(params, list):
            self.add(
                "error", "SCHEMA", f"Parameters must be a list, not {_kind(params)}", "/Parameters"
            )
            return
        if len(params) > MAX_PARAMETERS:
            self.add(
                "error",
                "PARAMETER_INVALID",
                f"{len(params)} parameters: SageMaker allows at most {MAX_PARAMETERS}",
                "/Parameters",
            )
        seen: set[str] = set()
        for i, p in enumerate(params):
            path = f"/Parameters/{i}"
            if not isinstance(p, dict):
                self.add("error", "SCHEMA", f"a parameter must be an object, not {_kind(p)}", path)
                continue
            name, typ = p.get("Name"), p.get("Type")
            if not isinstance(name, str):
                why = "is missing" if name is None else f"must be a string, not {_kind(name)}"
                self.add("error", "SCHEMA", f"parameter Name {why}", path)
                continue
            if not PARAMETER_NAME.match(name):
                self.add(
                    "error",
                    "PARAMETER_INVALID",
                    f"parameter name {name!r} is not valid",
                    f"{path}/Name",
                    hint="1-256 letters, digits, '-' or '_'",
                )
            if name in seen:
                self.add(
                    "error", "PARAMETER_INVALID", f"parameter {name!r} is declared twice", path
                )
            seen.add(name)
            if not isinstance(typ, str):
                why = "is missing" if typ is None else f"must be a string, not {_kind(typ)}"
                self.add("error", "SCHEMA", f"parameter {name!r}: Type {why}", path)
                continue
            if typ not in PARAMETER_TYPES:
                self.add(
                    "error",
                    "PARAMETER_INVALID",
                    f"parameter {name!r} has unknown type {typ!r}",
                    f"{path}/Type",
                    hint=_choices(typ, PARAMETER_TYPES),
                )
                continue
            if "DefaultValue" in p and not _fits(typ, p["DefaultValue"]):
                self.add(
                    "error",
                    "PARAMETER_INVALID",
                    f"parameter {name!r} is {typ} but its default is {_kind(p['DefaultValue'])}",
                    f"{path}/DefaultValue",
                )
            enum = p.get("EnumValues")
            if enum is not None:
                if not isinstance(enum, list):
                    self.add(
                        "error",
                        "SCHEMA",
                        f"parameter {name!r}: EnumValues must be a list",
                        f"{path}/EnumValues",
                    )
                elif "DefaultValue" in p and p["DefaultValue"] not in enum:
                    self.add(
                        "error",
                        "PARAMETER_INVALID",
                        f"parameter {name!r}: default {p['DefaultValue']!r} is not one of "
                        "its EnumValues",
                        f"{path}/DefaultValue",
                    )

    # steps --------------------------------------------------------------------------------

    def check_steps(self, dag: Dag) -> None:
        steps = self.data.get("Steps")
        if "Steps" not in self.data:
            self.add("error", "SCHEMA", "Steps is missing", "", hint='add "Steps": [...]')
            return
        if not isinstance(steps, list):
            self.add("error", "SCHEMA", f"Steps must be a list, not {_kind(steps)}", "/Steps")
            return
        if not steps:
            self.add("error", "SCHEMA", "the pipeline has no steps", "/Steps")
        self.walk_steps(steps, "/Steps", None)
        total = len(dag.nodes) + len(dag.duplicates)
        if total > MAX_STEPS:
            self.add(
                "warning",
                "QUOTA",
                f"{total} steps: the default SageMaker quota is {MAX_STEPS} per pipeline",
                "/Steps",
                hint="ask for a quota increase (Service Quotas) or split the pipeline",
            )
        for dup in dag.duplicates:
            first = dag.nodes[dup.name]
            self.add(
                "error",
                "DUPLICATE_STEP",
                f"step name {dup.name!r} is used twice (first at {first.path})",
                dup.path,
                dup.name,
                hint="step names must be unique in the whole pipeline, branches included",
            )

    def walk_steps(self, steps: list[Any], base: str, branch_of: str | None) -> None:
        for i, step in enumerate(steps):
            path = f"{base}/{i}"
            if not isinstance(step, dict):
                self.add("error", "SCHEMA", f"a step must be an object, not {_kind(step)}", path)
                continue
            name = step.get("Name")
            if not isinstance(name, str):
                why = "is missing" if name is None else f"must be a string, not {_kind(name)}"
                self.add(
                    "error", "SCHEMA", f"step Name {why}", path if name is None else f"{path}/Name"
                )
                label = None
            else:
                label = name
                self.check_step_name(name, f"{path}/Name")
            typ = step.get("Type")
            if not isinstance(typ, str):
                why = "is missing" if typ is None else f"must be a string, not {_kind(typ)}"
                self.add(
                    "error",
                    "SCHEMA",
                    f"step Type {why}",
                    path if typ is None else f"{path}/Type",
                    label,
                )
            elif typ not in STEP_TYPES:
                self.add(
                    "warning",
                    "UNKNOWN_STEP_TYPE",
                    f"step type {typ!r} is not one SageMaker is known to accept",
                    f"{path}/Type",
                    label,
                    hint=_choices(typ, STEP_TYPES),
                )
            args = step.get("Arguments")
            if "Arguments" not in step:
                self.add("error", "SCHEMA", "step Arguments is missing", path, label)
            elif not isinstance(args, dict):
                self.add(
                    "error",
                    "SCHEMA",
                    f"step Arguments must be an object, not {_kind(args)}",
                    f"{path}/Arguments",
                    label,
                )
            self.check_depends_on(step, path, label)
            self.check_property_files(step, path, label)
            self.check_step_options(step, path, label)
            if isinstance(typ, str) and isinstance(args, dict):
                for key, _branch in NESTED_STEP_KEYS.get(typ, ()):
                    nested = args.get(key)
                    nested_path = f"{path}/Arguments/{key}"
                    if nested is None:
                        continue
                    if not isinstance(nested, list):
                        self.add(
                            "error", "SCHEMA", f"{key} must be a list of steps", nested_path, label
                        )
                        continue
                    if len(nested) > MAX_BRANCH_STEPS:
                        self.add(
                            "warning",
                            "QUOTA",
                            f"{len(nested)} steps in {key}: "
                            f"the default quota is {MAX_BRANCH_STEPS}",
                            nested_path,
                            label,
                        )
                    self.walk_steps(nested, nested_path, label)

    def check_step_name(self, name: str, path: str) -> None:
        if not name or not STEP_NAME.match(name):
            bad = sorted({c for c in name if not re.match(r"[A-Za-z0-9\-_]", c)})
            what = "is empty" if not name else f"has characters SageMaker rejects: {''.join(bad)!r}"
            self.add(
                "error",
                "NAME_INVALID",
                f"step name {name!r} {what}",
                path,
                name or None,
                hint="use letters, digits, '-' and '_' only",
            )
        if len(name) > MAX_STEP_NAME:
            self.add(
                "warning",
                "QUOTA",
                f"step name is {len(name)} characters: the quota is {MAX_STEP_NAME}",
                path,
                name,
            )

    def check_depends_on(self, step: dict[str, Any], path: str, label: str | None) -> None:
        deps = step.get("DependsOn")
        if deps is None:
            return
        if not isinstance(deps, list):
            self.add(
                "error",
                "SCHEMA",
                "DependsOn must be a list of step names",
                f"{path}/DependsOn",
                label,
            )
            return
        names = self.defn.dag.nodes
        for i, dep in enumerate(deps):
            target = dep.get("Step") if isinstance(dep, dict) else dep
            dpath = f"{path}/DependsOn/{i}"
            if not isinstance(target, str):
                self.add(
                    "error",
                    "SCHEMA",
                    'a DependsOn entry must be a step name or {"Step": name}',
                    dpath,
                    label,
                )
            elif target not in names:
                self.add(
                    "error",
                    "DEPENDS_ON_UNKNOWN",
                    f"depends on {target!r}, which is not a step of this pipeline",
                    dpath,
                    label,
                    hint=_choices(target, names),
                )

    def check_property_files(self, step: dict[str, Any], path: str, label: str | None) -> None:
        files = step.get("PropertyFiles")
        if files is None:
            return
        if not isinstance(files, list):
            self.add(
                "error", "SCHEMA", "PropertyFiles must be a list", f"{path}/PropertyFiles", label
            )
            return
        if len(files) > MAX_PROPERTY_FILES:
            self.add(
                "warning",
                "QUOTA",
                f"{len(files)} property files: the quota is {MAX_PROPERTY_FILES} per step",
                f"{path}/PropertyFiles",
                label,
            )
        for i, f in enumerate(files):
            if not isinstance(f, dict) or not isinstance(f.get("PropertyFileName"), str):
                self.add(
                    "error",
                    "SCHEMA",
                    "a property file needs PropertyFileName, OutputName and FilePath",
                    f"{path}/PropertyFiles/{i}",
                    label,
                )

    # references ---------------------------------------------------------------------------

    def check_references(self, dag: Dag) -> None:
        params = {p.name for p in self.defn.parameters}
        files = self.property_files()
        for step, where in dag.bad_gets:
            self.add("error", "SCHEMA", "a Get expression must be a string", f"{where}/Get", step)
        for ref in dag.references:
            root, _, rest = ref.expr.partition(".")
            head = re.split(r"[.\[]", rest, maxsplit=1)[0]
            path = f"{ref.path}/Get"
            problem: str | None = None
            hint: str | None = None
            if root == "Steps":
                if head not in dag.nodes:
                    problem, hint = f"step {head!r}", _choices(head, dag.nodes)
                elif ref.property_file:
                    m = re.match(r"^Steps\.[^.]+\.PropertyFiles\.([^.\[]+)$", ref.expr)
                    if not m or m.group(1) not in files.get(head, ()):
                        pf = m.group(1) if m else ref.expr
                        problem = f"property file {pf!r} of step {head!r}"
                        hint = (
                            _choices(pf, files.get(head, ()))
                            or f"declare it in the PropertyFiles of {head!r}"
                        )
            elif root == "Parameters":
                if head not in params:
                    problem, hint = (
                        f"parameter {head!r}",
                        _choices(head, params) or "declare it in Parameters",
                    )
            elif root == "Execution":
                if head not in EXECUTION_VARIABLES:
                    problem, hint = (
                        f"execution variable {head!r}",
                        _choices(head, EXECUTION_VARIABLES),
                    )
            elif root == "PipelineExperimentConfig":
                if head not in EXPERIMENT_VARIABLES:
                    problem, hint = (
                        f"experiment variable {head!r}",
                        _choices(head, EXPERIMENT_VARIABLES),
                    )
            else:
                problem = f"{ref.expr!r}"
                hint = (
                    "a Get reads Steps.<step>..., Parameters.<name>, Execution.<var> "
                    "or PipelineExperimentConfig.<var>"
                )
            if problem:
                self.add(
                    "error",
                    "DANGLING_REFERENCE",
                    f"refers to {problem}, which does not exist",
                    path,
                    ref.step,
                    hint,
                )

    def property_files(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for steps in self.all_steps():
            files = steps.get("PropertyFiles")
            if isinstance(files, list):
                out[str(steps.get("Name"))] = {
                    f["PropertyFileName"]
                    for f in files
                    if isinstance(f, dict) and isinstance(f.get("PropertyFileName"), str)
                }
        return out

    def all_steps(self) -> Iterator[dict[str, Any]]:
        stack = (
            list(reversed(self.data.get("Steps") or []))
            if isinstance(self.data.get("Steps"), list)
            else []
        )
        while stack:
            step = stack.pop()
            if not isinstance(step, dict):
                continue
            yield step
            args = step.get("Arguments")
            typ = step.get("Type")
            if isinstance(args, dict) and isinstance(typ, str):
                for key, _ in NESTED_STEP_KEYS.get(typ, ()):
                    nested = args.get(key)
                    if isinstance(nested, list):
                        stack.extend(reversed(nested))

    # create-time rules the SDK leaves to SageMaker ------------------------------------------
    # Each rule names its source (an SDK integration test or source file, the developer guide,
    # an issue, botocore's service model); the facts themselves live in ``rules.py``.

    def check_step_options(self, step: dict[str, Any], path: str, label: str | None) -> None:
        """The step-level settings SageMaker parses when the pipeline is created: retry
        policies, cache configuration, property files, a Condition's conditions, and lists
        botocore bounds."""
        typ = step.get("Type")
        typ = typ if isinstance(typ, str) else None
        args = step.get("Arguments")
        args = args if isinstance(args, dict) else None
        self.check_retry_policies(step, path, label, typ)
        self.check_cache_config(step, path, label)
        self.check_property_file_outputs(step, path, label, typ, args)
        if typ == "Condition" and args is not None:
            self.check_conditions(args, path, label)
        if typ is not None and args is not None:
            self.check_argument_limits(typ, args, path, label)

    def check_retry_policies(
        self, step: dict[str, Any], path: str, label: str | None, typ: str | None
    ) -> None:
        """RetryPolicies as the developer guide's "Retry Policy for Pipeline Steps" defines
        them (the SDK's retry.py checks the same when it builds a policy, a hand-written
        definition skips it): SageMaker refuses the pipeline otherwise."""
        if "RetryPolicies" not in step:
            return
        policies = step["RetryPolicies"]
        base = f"{path}/RetryPolicies"
        code = "RETRY_POLICY_INVALID"
        if typ in NO_RETRY_STEP_TYPES:
            self.add(
                "warning",
                code,
                f"a {typ} step takes no RetryPolicies: SageMaker does not retry it",
                base,
                label,
                hint="retry policies apply to job steps (Processing, Training, Tuning, ...); "
                "remove them here",
            )
        if not isinstance(policies, list):
            self.add(
                "error",
                code,
                f"RetryPolicies must be a list of retry policies, not {_kind(policies)}",
                base,
                label,
                hint='e.g. [{"ExceptionType": ["Step.SERVICE_FAULT"], "MaxAttempts": 3}]',
            )
            return
        for i, policy in enumerate(policies):
            where = f"{base}/{i}"
            if not isinstance(policy, dict):
                self.add(
                    "error",
                    code,
                    f"a retry policy must be an object, not {_kind(policy)}",
                    where,
                    label,
                )
                continue
            self.check_exception_types(policy, where, label)
            if "MaxAttempts" in policy and "ExpireAfterMin" in policy:
                self.add(
                    "error",
                    code,
                    "a retry policy with both MaxAttempts and ExpireAfterMin: SageMaker "
                    "refuses it with a validation error",
                    where,
                    label,
                    hint="keep one of them: MaxAttempts (a count) or ExpireAfterMin (minutes)",
                )
            for key, most, unit in (
                ("MaxAttempts", RETRY_MAX_ATTEMPTS, "attempts"),
                ("ExpireAfterMin", RETRY_MAX_EXPIRE_AFTER_MIN, "minutes (10 days)"),
                ("IntervalSeconds", RETRY_MAX_INTERVAL_SECONDS, "seconds (12 hours)"),
            ):
                if key not in policy:
                    continue
                value = policy[key]
                if not _is_int(value):
                    self.add(
                        "error",
                        code,
                        f"{key} must be a whole number, not {_kind(value)}",
                        f"{where}/{key}",
                        label,
                    )
                elif not 0 <= value <= most:
                    self.add(
                        "error",
                        code,
                        f"{key} is {value}: SageMaker accepts 0 to {most:,}",
                        f"{where}/{key}",
                        label,
                        hint=f"at most {most:,} {unit}",
                    )
            rate = policy.get("BackoffRate")
            if "BackoffRate" in policy and (
                not isinstance(rate, int | float) or isinstance(rate, bool) or rate < 0
            ):
                self.add(
                    "error",
                    code,
                    f"BackoffRate must be a number of 0 or more, not {rate!r}",
                    f"{where}/BackoffRate",
                    label,
                    hint="the multiplier of the interval between attempts; 2.0 by default",
                )

    def check_exception_types(self, policy: dict[str, Any], where: str, label: str | None) -> None:
        """``ExceptionType`` is required and names exceptions SageMaker knows."""
        code = "RETRY_POLICY_INVALID"
        if "ExceptionType" not in policy:
            self.add(
                "error",
                code,
                "a retry policy needs ExceptionType: SageMaker refuses it without",
                where,
                label,
                hint='e.g. "ExceptionType": ["Step.SERVICE_FAULT", "Step.THROTTLING"]',
            )
            return
        given = policy["ExceptionType"]
        entries = (
            [(f"{where}/ExceptionType/{j}", v) for j, v in enumerate(given)]
            if isinstance(given, list)
            else [(f"{where}/ExceptionType", given)]
        )
        if isinstance(given, list) and not given:
            self.add(
                "error",
                code,
                "ExceptionType is empty",
                f"{where}/ExceptionType",
                label,
                hint="name the exceptions to retry: " + ", ".join(RETRY_EXCEPTION_TYPES),
            )
        for vpath, value in entries:
            if not isinstance(value, str) or value not in RETRY_EXCEPTION_TYPES:
                what = (
                    f"exception type {value!r} is not one SageMaker retries on"
                    if isinstance(value, str)
                    else f"an exception type is a string, not {_kind(value)}"
                )
                self.add(
                    "error",
                    code,
                    what,
                    vpath,
                    label,
                    hint=(
                        _choices(value, RETRY_EXCEPTION_TYPES) if isinstance(value, str) else None
                    )
                    or "one of " + ", ".join(RETRY_EXCEPTION_TYPES),
                )

    def check_cache_config(self, step: dict[str, Any], path: str, label: str | None) -> None:
        """CacheConfig as the developer guide's "Caching Pipeline Steps" defines it: Enabled a
        boolean, ExpireAfter an ISO 8601 duration, required when caching is on."""
        if "CacheConfig" not in step:
            return
        config = step["CacheConfig"]
        base = f"{path}/CacheConfig"
        code = "CACHE_CONFIG_INVALID"
        example = '{"Enabled": true, "ExpireAfter": "P30D"}'
        if not isinstance(config, dict):
            self.add(
                "error",
                code,
                f"CacheConfig must be an object, not {_kind(config)}",
                base,
                label,
                hint=f"e.g. {example}",
            )
            return
        enabled = config.get("Enabled")
        if "Enabled" in config and not isinstance(enabled, bool):
            self.add(
                "error",
                code,
                f"CacheConfig.Enabled must be true or false, not {_kind(enabled)}",
                f"{base}/Enabled",
                label,
                hint="write true or false without quotes",
            )
        if "ExpireAfter" in config:
            expire = config["ExpireAfter"]
            if not isinstance(expire, str) or not CACHE_EXPIRE_AFTER.match(expire):
                shown = repr(expire) if isinstance(expire, str) else _kind(expire)
                self.add(
                    "error",
                    code,
                    f"CacheConfig.ExpireAfter {shown} is not an ISO 8601 duration",
                    f"{base}/ExpireAfter",
                    label,
                    hint='e.g. "P30D" (30 days), "PT12H" (12 hours), "P1DT6H" (1 day 6 hours)',
                )
        elif enabled is True:
            self.add(
                "warning",
                code,
                "caching is on without ExpireAfter: SageMaker needs a timeout for it",
                base,
                label,
                hint=f"add how old a cached run may be, e.g. {example}",
            )

    def check_property_file_outputs(
        self,
        step: dict[str, Any],
        path: str,
        label: str | None,
        typ: str | None,
        args: dict[str, Any] | None,
    ) -> None:
        """Property files belong to Processing steps and read one of the step's outputs (the
        SDK refuses anything else when it builds the pipeline; a hand-written one fails)."""
        files = step.get("PropertyFiles")
        if not isinstance(files, list) or not files:
            return
        base = f"{path}/PropertyFiles"
        code = "PROPERTY_FILE_INVALID"
        if typ is not None and typ not in PROPERTY_FILE_STEP_TYPES:
            self.add(
                "error",
                code,
                f"a {typ} step cannot have PropertyFiles: SageMaker reads property files "
                "from the outputs of Processing steps only",
                base,
                label,
                hint="write the JSON from a Processing step, or read this step's properties "
                'with {"Get": "Steps.<step>...."}',
            )
            return
        outputs = _output_names(args)
        for i, entry in enumerate(files):
            if not isinstance(entry, dict) or not isinstance(entry.get("PropertyFileName"), str):
                continue  # SCHEMA says so
            name = entry["PropertyFileName"]
            where = f"{base}/{i}"
            for key in ("OutputName", "FilePath"):
                if not isinstance(entry.get(key), str):
                    self.add(
                        "error",
                        code,
                        f"property file {name!r} needs {key} (a string)",
                        where,
                        label,
                        hint="a property file is PropertyFileName, OutputName (an output of "
                        "this step) and FilePath (inside that output)",
                    )
            output = entry.get("OutputName")
            if outputs is not None and isinstance(output, str) and output not in outputs:
                self.add(
                    "error",
                    code,
                    f"property file {name!r} reads output {output!r}, which step {label!r} "
                    "does not have",
                    f"{where}/OutputName",
                    label,
                    hint=_choices(output, outputs)
                    or "the step's outputs: " + (", ".join(sorted(outputs)) or "none"),
                )

    def check_conditions(self, args: dict[str, Any], path: str, label: str | None) -> None:
        """A Condition step's Conditions: required (the pipeline definition JSON schema), each
        of a type SageMaker knows, with the operands that type needs (the SDK's
        conditions.py writes them; SageMaker cannot parse a condition without)."""
        code = "CONDITION_INVALID"
        if "Conditions" not in args:
            self.add(
                "error",
                code,
                "a Condition step without Conditions: SageMaker cannot parse it",
                f"{path}/Arguments",
                label,
                hint='add "Conditions": [{"Type": "LessThanOrEqualTo", "LeftValue": ..., '
                '"RightValue": ...}]',
            )
            return
        conditions = args["Conditions"]
        if not isinstance(conditions, list):
            self.add(
                "error",
                code,
                f"Conditions must be a list of conditions, not {_kind(conditions)}",
                f"{path}/Arguments/Conditions",
                label,
            )
            return
        stack = [(c, f"{path}/Arguments/Conditions/{i}") for i, c in enumerate(conditions)]
        stack.reverse()
        while stack:
            cond, where = stack.pop()
            if not isinstance(cond, dict):
                self.add(
                    "error", code, f"a condition must be an object, not {_kind(cond)}", where, label
                )
                continue
            typ = cond.get("Type")
            if not isinstance(typ, str):
                why = "is missing" if typ is None else f"must be a string, not {_kind(typ)}"
                self.add("error", code, f"condition Type {why}", where, label)
                continue
            if typ not in CONDITION_TYPES:
                self.add(
                    "warning",
                    code,
                    f"condition type {typ!r} is not one SageMaker is known to accept",
                    f"{where}/Type",
                    label,
                    hint=_choices(typ, CONDITION_TYPES),
                )
                continue
            needs: tuple[str, ...] = ()
            if typ in CONDITION_COMPARISONS:
                needs = tuple(k for k in ("LeftValue", "RightValue") if k not in cond)
            elif typ in CONDITION_MEMBERSHIP:
                if not ({"QueryValue", "Values"} <= cond.keys() or {"Value", "In"} <= cond.keys()):
                    needs = ("QueryValue", "Values")
            elif typ == "Or":
                nested = cond.get("Conditions")
                if isinstance(nested, list):
                    stack.extend(
                        (c, f"{where}/Conditions/{i}") for i, c in reversed(list(enumerate(nested)))
                    )
                else:
                    needs = ("Conditions (a list)",)
            else:  # Not
                inner = cond.get("Condition")
                if isinstance(inner, dict):
                    stack.append((inner, f"{where}/Condition"))
                else:
                    needs = ("Condition (an object)",)
            if needs:
                self.add(
                    "error",
                    code,
                    f"a {typ} condition needs {' and '.join(needs)}: SageMaker cannot parse it",
                    where,
                    label,
                )

    def check_argument_limits(
        self, typ: str, args: dict[str, Any], path: str, label: str | None
    ) -> None:
        """Lists botocore bounds, which SageMaker checks when the pipeline is created."""
        for step_type, keys, most, shape in ARGUMENT_LIMITS:
            if step_type != typ:
                continue
            value: Any = args
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, list | dict) and len(value) > most:
                where = "/".join(escape_token(k) for k in keys)
                self.add(
                    "error",
                    "ARGUMENT_LIMIT",
                    f"{len(value)} entries in {'.'.join(keys)}: SageMaker accepts at most "
                    f"{most} ({shape}) and refuses the pipeline",
                    f"{path}/Arguments/{where}",
                    label,
                    hint="split the work over more steps, or combine entries (one S3 prefix "
                    "for several files)",
                )

    def check_fail_downstream(self, dag: Dag) -> None:
        """Nothing can follow a Fail step: SageMaker refuses a DependsOn on one ("X can not
        depends on F", the SDK's integration test test_fail_steps.py), and a Fail step has no
        properties to read (the SDK's FailStep.properties)."""
        fails = {n.name for n in dag.nodes.values() if n.type == FAIL_STEP_TYPE}
        if not fails:
            return
        hint = (
            "a Fail step ends the run; depend on the step before it, or put this step in "
            "the other branch of the Condition"
        )
        for dep in dag.depends_on:
            if dep.target in fails:
                self.add(
                    "error",
                    "FAIL_STEP_DOWNSTREAM",
                    f"depends on Fail step {dep.target!r}: SageMaker refuses the pipeline "
                    f"({dep.step} can not depends on {dep.target})",
                    dep.path,
                    dep.step,
                    hint,
                )
        for ref in dag.references:
            m = _STEP_PROPERTY.match(ref.expr)
            if m and m.group(1) in fails:
                self.add(
                    "error",
                    "FAIL_STEP_DOWNSTREAM",
                    f"reads {ref.expr!r}: Fail step {m.group(1)!r} has no properties, "
                    "SageMaker cannot resolve it",
                    f"{ref.path}/Get",
                    ref.step,
                    hint,
                )

    def check_properties(self, dag: Dag) -> None:
        """A ``Get`` of a step's property reads what that step type has: its Describe*
        response (the SDK builds ``properties`` from botocore's shape) or the names the SDK
        gives a Condition (Outcome), Lambda and Callback (OutputParameters) or check step."""
        for ref in dag.references:
            if ref.property_file:
                continue
            m = _STEP_PROPERTY.match(ref.expr)
            if not m or not m.group(2):
                continue
            head, prop = m.group(1), m.group(2)
            node = dag.nodes.get(head)
            if node is None:
                continue  # DANGLING_REFERENCE says so
            allowed = STEP_PROPERTIES.get(node.type)
            if allowed is None or prop in allowed:
                continue
            self.add(
                "error",
                "UNKNOWN_PROPERTY",
                f"refers to {prop!r} of {node.type} step {head!r}, which a {node.type} step "
                "does not have: SageMaker cannot resolve it",
                f"{ref.path}/Get",
                ref.step,
                hint=_choices(prop, allowed)
                or f"a {node.type} step has: {', '.join(sorted(allowed)[:12])}"
                + (", ..." if len(allowed) > 12 else ""),
            )

    # graph --------------------------------------------------------------------------------

    def check_cycles(self, dag: Dag) -> None:
        succ = dag.successors()
        for component in _strongly_connected(succ):
            cycle = _cycle_in(component, succ)
            first = cycle[0]
            text = " -> ".join([*cycle, first])
            self.add(
                "error",
                "CYCLE",
                f"steps form a cycle: {text}",
                dag.nodes[first].path,
                first,
                hint="a step cannot depend, directly or through others, on itself",
            )

    # whole document -----------------------------------------------------------------------

    def check_strings(self) -> None:
        """Unfilled template markers and text that is not valid Unicode."""
        canonical = self.defn.canonical_json or ""
        if not PLACEHOLDER.search(canonical) and not _has_lone_surrogate(canonical):
            return  # the usual case: no need to walk every string
        for path, text in _strings(self.data):
            m = PLACEHOLDER.search(text)
            if m:
                self.add(
                    "error",
                    "PLACEHOLDER",
                    f"unfilled placeholder {m.group(0)!r}",
                    path,
                    self.step_at(path),
                    hint="replace it with the real value, or make it a pipeline parameter",
                )
            if _has_lone_surrogate(text):
                self.add(
                    "error",
                    "SCHEMA",
                    "a string holds an unpaired UTF-16 surrogate, which is not valid Unicode",
                    path,
                    self.step_at(path),
                )

    def step_at(self, path: str) -> str | None:
        """The innermost step whose JSON pointer is a prefix of ``path``."""
        best: str | None = None
        best_len = -1
        for node in self.defn.dag.nodes.values():
            if (path == node.path or path.startswith(node.path + "/")) and len(
                node.path
            ) > best_len:
                best, best_len = node.name, len(node.path)
        return best

    def check_size(self) -> None:
        text = self.defn.canonical_json or ""
        if len(text) > MAX_DEFINITION_CHARS:
            self.add(
                "error",
                "SIZE_LIMIT",
                f"the definition is {len(text):,} characters: "
                f"SageMaker accepts at most {MAX_DEFINITION_CHARS:,}",
                "",
                hint="move large inline content (scripts, JSON) to S3 and pass it as an S3 URI",
            )
        elif len(text.encode("utf-8", "surrogatepass")) > CLIENT_APPLY_LIMIT:
            self.add(
                "info",
                "SIZE_LIMIT",
                "the definition is over 256 KiB: client-side `kubectl apply` cannot store it",
                "",
                hint="use `kubectl apply --server-side` (jupyter-ack always does)",
            )


def _strings(data: Any) -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        obj, path = stack.pop()
        if isinstance(obj, str):
            yield path, obj
        elif isinstance(obj, dict):
            for k, v in obj.items():
                stack.append((v, f"{path}/{escape_token(k)}"))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                stack.append((v, f"{path}/{i}"))


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _strongly_connected(succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components that hold a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in succ:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                if len(component) > 1 or node in succ[node]:
                    out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _cycle_in(component: list[str], succ: dict[str, list[str]]) -> list[str]:
    """One actual cycle through the component's first node, as a list of step names."""
    members = set(component)
    rank = {name: i for i, name in enumerate(succ)}
    order = sorted(component, key=rank.__getitem__)
    start = order[0]
    parents: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for child in succ[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return list(reversed(path))
            if child in members and child not in parents:
                parents[child] = node
                queue.append(child)
    return order


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _output_names(args: dict[str, Any] | None) -> set[str] | None:
    """The OutputNames of a Processing step's outputs; None when they cannot be known (no
    literal list, or a name that is an expression)."""
    config = args.get("ProcessingOutputConfig") if args is not None else None
    outputs = config.get("Outputs") if isinstance(config, dict) else None
    if not isinstance(outputs, list):
        return None
    names = set()
    for output in outputs:
        name = output.get("OutputName") if isinstance(output, dict) else None
        if not isinstance(name, str):
            return None
        names.add(name)
    return names


def _fits(typ: str, value: Any) -> bool:
    if typ == "String":
        return isinstance(value, str)
    if typ == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, bool)


def _choices(word: str, options: Any) -> str | None:
    candidates = list(options)
    if len(candidates) > 2000:  # keep validation linear on huge pasted definitions
        return None
    close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return None
