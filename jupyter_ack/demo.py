"""``jupyter-ack demo``: the whole flow on the bundled example, offline, on the sandbox.

Validate and draw the definition; start the sandbox (Kubernetes API + ACK controller +
SageMaker/S3 emulators); publish the definition and its handoff bundle to S3; submit the ACK
Pipeline and a PipelineExecution; follow the run step by step to its end.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
BUCKET = "jupyter-ack-demo"
PIPELINE = "abalone-demo"


def run_demo(out_dir: str, offline: bool = False, out: IO[str] = sys.stdout) -> int:
    from .definition import load
    from .examples import example_path
    from .terminal import CHECK, Colours, RunView, write_diagnostics

    c = Colours(out)
    path = example_path()
    defn = load(path, name=PIPELINE)
    out.write(c.bold(f"1. validate and draw the bundled example ({path.name})") + "\n")
    write_diagnostics(out, defn, defn.validate())
    files = write_drawings(defn, Path(out_dir))
    out.write(f"   wrote {', '.join(files)} to {out_dir}/\n")
    if offline:
        return 0 if defn.ok else 1
    try:
        from .sandbox import Sandbox
    except ImportError:
        out.write("the sandbox needs: pip install 'jupyter-ack[sandbox]'\n")
        return 1

    out.write(
        "\n"
        + c.bold("2. start the sandbox (Kubernetes API, ACK controller, S3 and SageMaker)")
        + "\n"
    )
    with Sandbox(ack_period=2.0, step_seconds=1.0) as sb:
        os.environ.update(sb.env)  # boto3 and the kubernetes client find it as a real setup
        out.write(
            f"   up in {sb.started_in:.1f} s: kube API {sb.kube_url}, AWS {sb.aws_endpoint}\n"
        )
        s3 = sb.aws_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})

        from .cluster import connect
        from .publish import publish
        from .submit import submit

        out.write("\n" + c.bold("3. publish the definition and the handoff bundle to S3") + "\n")
        published = publish(defn, bucket=BUCKET, role_arn=ROLE)
        out.write(f"   {c.green(CHECK)} {published.s3_uri}\n")
        out.write(
            f"     version {published.version_id}, {published.encryption}, "
            f"sha256 {published.sha256[:12]}\n"
        )
        out.write(f"     handoff for DevOps: jupyter-ack handoff {published.handoff_uri}\n")

        out.write("\n" + c.bold("4. submit to the cluster and follow the run") + "\n")
        cluster = connect(kubeconfig=str(sb.kubeconfig))
        view = RunView(out)
        result = submit(
            defn,
            role_arn=ROLE,
            execute=True,
            wait=True,
            cluster=cluster,
            parameters={"MseThreshold": "7.0"},
            wait_timeout=120,
            progress=lambda m: print(f"   {m}", file=out),
            on_status=view.update,
        )
        run = result.run
        if run is not None:
            view.finish(run)
            (Path(out_dir) / "run.json").write_text(json.dumps(run.to_json(), indent=2) + "\n")
        out.write(
            "\nthe same from a shell: `jupyter-ack sandbox up`, then `source` its env file and\n"
            f"  jupyter-ack submit {path} --name {PIPELINE} --role-arn {ROLE} --execute --wait\n"
            "  kubectl get pipelines,pipelineexecutions -o wide\n"
        )
        return 0 if run is not None and run.succeeded else 1


def write_drawings(defn: Any, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "pipeline.svg": defn.to_svg() + "\n",
        "pipeline.mmd": defn.to_mermaid(),
        "pipeline.dot": defn.to_dot(),
        "graph.json": json.dumps(defn.graph_json(), indent=2) + "\n",
        "layout.json": json.dumps(defn.layout.to_json(), indent=2) + "\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return list(files)
