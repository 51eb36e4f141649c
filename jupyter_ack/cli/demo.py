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
    from jupyter_ack.bundle.format import shell_command
    from jupyter_ack.examples import example_path
    from jupyter_ack.pipeline.sources import load
    from jupyter_ack.render.text import CHECK, Colours, RunView, one_line, write_diagnostics

    output_folder(out_dir)  # before anything is shown or written: a file there is exit 2
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
        from jupyter_ack.sandbox import Sandbox
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

        from jupyter_ack.ack.cluster import connect
        from jupyter_ack.ops.submit import SubmitEvent, submit

        out.write(
            "\n" + c.bold("3. publish to S3 with a handoff bundle, submit, follow the run") + "\n"
        )
        view = RunView(out)

        def show(event: SubmitEvent) -> None:
            if event.stage in ("validated", "finished"):
                return
            out.write(f"   {one_line(event.message)}\n")
            published = event.result.published
            if event.stage == "published" and published is not None:
                out.write(
                    f"     {c.green(CHECK)} version {published.version_id}, "
                    f"{published.encryption}, sha256 {published.sha256[:12]}\n"
                    f"     handoff for DevOps: {published.commands()[0][1]}\n"
                )

        result = submit(
            defn,
            role_arn=ROLE,
            bucket=BUCKET,
            execute=True,
            wait=True,
            cluster=connect(kubeconfig=str(sb.kubeconfig)),
            parameters={"MseThreshold": "7.0"},
            wait_timeout=120,
            on_event=show,
            on_status=view.update,
        )
        run = result.run
        if run is not None:
            view.finish(run)
            (Path(out_dir) / "run.json").write_text(json.dumps(run.to_json(), indent=2) + "\n")
        submit_command = shell_command(
            "jupyter-ack",
            "submit",
            str(path),
            "--name",
            PIPELINE,
            "--role-arn",
            ROLE,
            "--execute",
            "--wait",
        )
        out.write(
            "\nthe same from a shell: `jupyter-ack sandbox up`, then `source` its env file and\n"
            f"  {submit_command}\n"
            "  kubectl get pipelines,pipelineexecutions -o wide\n"
        )
        return 0 if run is not None and run.succeeded else 1


def output_folder(out_dir: str) -> Path:
    """``--output-dir``, made when missing; a UsageError (exit 2, one line) when it cannot be
    a folder (a file of that name, or a file in its path)."""
    from jupyter_ack.errors import UsageError

    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output-dir {out_dir} is a file; give a folder for the drawings")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--output-dir {out_dir}: cannot make it ({e.strerror or e})") from None
    return folder


def write_drawings(defn: Any, folder: Path) -> list[str]:
    folder = output_folder(str(folder))
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
