"""The handoff bundle's format: its files, and the commands DevOps run, stated once.

``HANDOFF.md``, the notebook's handoff card, ``jupyter-ack publish`` and the demo all print
the commands from :func:`devops_commands`. Every value in them is shell-quoted. The Pipeline
is applied server-side: client-side ``kubectl apply`` stores the whole object in an
annotation capped at 256 KiB, which a large definition exceeds.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

DEFINITION_FILE = "definition.json"
HANDOFF_FILE = "handoff.json"
PIPELINE_FILE = "pipeline.yaml"
EXECUTION_FILE = "pipeline-execution.yaml"
MARKDOWN_FILE = "HANDOFF.md"
BUNDLE_FILES = (PIPELINE_FILE, EXECUTION_FILE, MARKDOWN_FILE)
ALL_FILES = (DEFINITION_FILE, *BUNDLE_FILES, HANDOFF_FILE)
DEFAULT_PREFIX = "jupyter-ack"


def folder_of(uri: str) -> str:
    """The bundle's folder (``s3://b/prefix/name/sha``) from the URI of any file in it."""
    return uri.rsplit("/", 1)[0]


def devops_commands(
    folder: str | None, namespace: str, pipeline_object: str
) -> list[tuple[str, str]]:
    """(what, command) pairs for the DevOps side, in the order one would run them.

    ``folder`` is the published bundle (``s3://...``); without one, the commands apply local
    files named as the bundle names them.
    """
    q = shlex.quote
    ns = f"-n {q(namespace)}"
    wait = f"kubectl wait --for=condition=ACK.ResourceSynced {ns} pipeline/{q(pipeline_object)}"
    watch = ("watch the run", f"kubectl get pipelineexecutions {ns} -w")
    if folder is None:
        return [
            (
                "apply the objects below",
                f"kubectl apply --server-side {ns} -f {PIPELINE_FILE}\n{wait}\n"
                f"kubectl create {ns} -f {EXECUTION_FILE}   # each create is a new run",
            ),
            watch,
        ]
    where = q(folder + "/")
    pipeline_yaml, execution_yaml = q(f"{folder}/{PIPELINE_FILE}"), q(f"{folder}/{EXECUTION_FILE}")
    return [
        ("verify the bundle", f"jupyter-ack handoff {where}"),
        ("verify, apply and follow", f"jupyter-ack handoff {where} --apply --wait {ns}"),
        (
            "or with kubectl",
            f"aws s3 cp {pipeline_yaml} - | kubectl apply --server-side {ns} -f -\n"
            f"{wait}\n"
            f"aws s3 cp {execution_yaml} - | kubectl create {ns} -f -"
            "   # each create is a new run",
        ),
        watch,
    ]


def handoff_markdown(handoff: dict[str, Any], pipeline_object: str) -> str:
    """The page for a person: what it is, and the exact commands to verify and apply it."""
    folder = folder_of(handoff["definition"])
    ns = handoff["namespace"]
    params = (
        "\n".join(
            f"| `{p['name']}` | {p['type']} | `{json.dumps(p['default_value'])}` |"
            for p in handoff["parameters"]
        )
        or "| (none) | | |"
    )
    commands = devops_commands(folder, ns, pipeline_object)
    verify = commands[0][1]
    apply = "\n".join(f"# {what}\n{command}" for what, command in commands[1:])
    return f"""# Handoff: SageMaker pipeline `{handoff["pipeline_name"]}`

Published {handoff["published_at"]} by `{handoff["published_by"]}` with {handoff["tool"]}.

| | |
|---|---|
| definition | `{handoff["definition"]}` |
| version | `{handoff["definition_version_id"] or "unversioned bucket"}` |
| sha256 | `{handoff["sha256"]}` |
| steps | {handoff["steps"]} |
| role | `{handoff["role_arn"]}` |
| namespace | `{ns}` |

## Parameters

| name | type | default |
|---|---|---|
{params}

## Verify

```sh
{verify}
```

checks that the definition's sha256 matches this bundle and its manifests.

## Apply

```sh
{apply}
kubectl get pipelineexecutions -n {shlex.quote(ns)} -o wide
```
"""
