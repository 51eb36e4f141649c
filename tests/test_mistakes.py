"""Ordinary mistakes get one clear line and exit 2 (usage, input) or 1, never a traceback or
the "this is a bug" handler, and nothing is written; names cannot break out of a shell
command, an S3 folder, a terminal line or a drawing.

Everything runs through the installed ``jupyter-ack`` console script, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import boto3
import pytest

import jupyter_ack
from jupyter_ack.bundle.format import bucket_problem, check_location, prefix_problem
from jupyter_ack.bundle.publish import publish
from jupyter_ack.errors import EXIT_USAGE, UsageError
from jupyter_ack.examples import example_path
from jupyter_ack.render.svg import esc
from jupyter_ack.render.text import ENCODE_ERRORS, one_line
from tests.conftest import ROOT, Result

EXAMPLE = str(example_path())
JUPYTER_ACK = str(Path(sys.executable).with_name("jupyter-ack"))
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "evil\u202etxt.sh" reads as "evilhs.txt"


def one_line_error(r: Result, code: int, starts: str = "error: ") -> str:
    """The single stderr line of a refused command, after the checks every mistake shares."""
    assert r.code == code, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    assert "this is a bug" not in r.err
    assert r.err.startswith(starts), r.err
    assert r.err.endswith("\n")
    assert r.err.count("\n") == 1, r.err  # one line, no hint line
    return r.err.rstrip("\n")


@pytest.fixture
def bucket(aws_env: dict[str, str]) -> str:
    name = "mistakes-" + os.urandom(4).hex()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def empty(bucket: str) -> bool:
    return "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket)


# 2. names before anything is written ---------------------------------------------------------


def test_a_prefix_with_a_command_substitution_is_refused(
    cli: Any, aws_env: dict[str, str], bucket: str
) -> None:
    r = cli("publish", EXAMPLE, "--bucket", bucket, "--prefix", "x$(touch PWNED)", env=aws_env)
    line = one_line_error(r, EXIT_USAGE, "error: prefix 'x$(touch PWNED)' has characters")
    assert "'$'" in line
    assert "' '" in line
    assert r.out == ""
    assert empty(bucket)
    assert not (ROOT / "PWNED").exists()


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--prefix", "/abs/path", "starts with '/'"),
        ("--prefix", "team/../other", "holds '..'"),
        ("--prefix", "x" * 901, "901 bytes; at most 900"),
        ("--prefix", "evil\x1b[31m", "'\\x1b'"),
        ("--prefix", f"bidi{RLO}", "'\\u202e'"),
        ("--prefix", "semi;colon", "';'"),
        ("--bucket", "ab", "not valid for S3"),
        ("--bucket", "Team_Bucket", "not valid for S3"),
        ("--bucket", "192.168.10.1", "is an IP address"),
        ("--bucket", "a..b", "not valid for S3"),
        ("--name", "a;b", "pipeline name 'a;b' is not valid for SageMaker"),
        ("--name", "abalone\n", "pipeline name 'abalone\\n' is not valid for SageMaker"),
    ],
)
def test_bad_locations_are_refused_before_anything(
    cli: Any, aws_env: dict[str, str], bucket: str, flag: str, value: str, words: str
) -> None:
    args = {"--bucket": bucket, "--prefix": "team", "--name": "abalone-demo", flag: value}
    r = cli("publish", EXAMPLE, *(x for kv in args.items() for x in kv), env=aws_env)
    assert words in one_line_error(r, EXIT_USAGE)
    assert empty(bucket)


@pytest.mark.parametrize(
    "name",
    ["abc", "my.bucket-1", "a" * 63, "1-2-3"],
)
def test_good_bucket_names(name: str) -> None:
    assert bucket_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "ab",
        "a" * 64,
        "-lead",
        "trail-",
        ".dot",
        "Upper",
        "under_score",
        "a..b",
        "10.0.0.1",
        "xn--punycode",
        "sthree-x",
        "name-s3alias",
        "name--ol-s3",
        "sp ace",
    ],
)
def test_bad_bucket_names(name: str) -> None:
    assert bucket_problem(name)


@pytest.mark.parametrize("prefix", ["", "jupyter-ack", "team/ml/", "a!b-c_d.e*f'g(h)/i"])
def test_good_prefixes(prefix: str) -> None:
    assert prefix_problem(prefix) is None


@pytest.mark.parametrize(
    "prefix",
    ["/x", "a/../b", "..", "a//b", "x" * 901, "tab\there", "new\nline", 'q"uote', "b`q", "é"],
)
def test_bad_prefixes(prefix: str) -> None:
    assert prefix_problem(prefix)


def test_a_long_name_cannot_push_keys_past_s3s_limit() -> None:
    with pytest.raises(UsageError, match="S3 takes at most 1024"):
        check_location("bkt", "p" * 800, "n" * 200)


def test_publish_refuses_before_any_aws_call() -> None:
    """The library call too (notebook, submit): not one S3 request for a bad location."""

    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"S3 was called: {name}")

    defn = jupyter_ack.load(example_path(), name="abalone-demo")
    for kwargs in (
        {"bucket": "bkt", "prefix": "x$(id)"},
        {"bucket": "Bad_Bucket"},
        {"bucket": "bkt", "name": "bad name"},
    ):
        with pytest.raises(UsageError):
            publish(defn, s3=NoCalls(), **kwargs)  # type: ignore[arg-type]


def test_every_printed_command_is_quoted(bucket: str, aws_env: dict[str, str], cli: Any) -> None:
    """publish's "next (DevOps):" line, HANDOFF.md and the card come from one quoted source:
    a prefix with a quote (allowed by S3's safe set) stays one shell word."""
    import shlex

    r = cli(
        "publish",
        EXAMPLE,
        "--bucket",
        bucket,
        "--prefix",
        "it's(team)",
        "--name",
        "abalone-demo",
        env=aws_env,
    )
    assert r.code == 0, r.err
    (line,) = [x for x in r.out.splitlines() if x.startswith("next (DevOps): ")]
    argv = shlex.split(line.removeprefix("next (DevOps): "))
    assert argv[:2] == ["jupyter-ack", "handoff"]
    assert argv[2].startswith(f"s3://{bucket}/it's(team)/abalone-demo/")
    assert len(argv) == 3
    s3 = boto3.client("s3")
    (key,) = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket)["Contents"]
        if o["Key"].endswith("HANDOFF.md")
    ]
    page = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert f"jupyter-ack handoff 's3://{bucket}/it'\"'\"'s(team)/abalone-demo/" in page


# 3. ordinary mistakes --------------------------------------------------------------------------


def test_graph_into_a_missing_folder(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dag.svg"
    r = cli("graph", EXAMPLE, "--format", "svg", "-o", str(target))
    assert "does not exist" in one_line_error(r, EXIT_USAGE)
    assert r.out == ""
    assert not (tmp_path / "no").exists()


def test_graph_onto_a_folder(cli: Any, tmp_path: Path) -> None:
    r = cli("graph", EXAMPLE, "-o", str(tmp_path))
    assert "is a folder" in one_line_error(r, EXIT_USAGE)
    assert list(tmp_path.iterdir()) == []


def test_demo_output_dir_naming_a_file(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    r = cli("demo", "--offline", "--output-dir", str(target))
    assert "is a file" in one_line_error(r, EXIT_USAGE)
    assert r.out == ""
    assert target.read_text() == "mine\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def kube(cli: Any, config: Path) -> Result:
    env = {"KUBECONFIG": str(config), "JUPYTER_ACK_KUBECONFIG": ""}
    result: Result = cli("list", env=env)
    assert "\\n" not in result.err  # the YAML parser's lines, once shown as a literal \n
    return result


def test_a_binary_kubeconfig(cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_bytes(bytes(range(256)) * 4)
    line = one_line_error(kube(cli, config), 1)
    assert (
        line
        == f"error: kubeconfig {config} is not a kubeconfig: it is not UTF-8 text (a binary file?)"
    )


def test_a_broken_yaml_kubeconfig(cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nclusters: [\n  - a: b\n  c")
    line = one_line_error(kube(cli, config), 1)
    assert line.startswith(f"error: kubeconfig {config} is not valid YAML: ")
    assert line.endswith("at line 3, column 3")


def test_a_kubeconfig_that_is_yaml_but_not_a_kubeconfig(cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("- just\n- a list\n")
    assert "it holds a list" in one_line_error(kube(cli, config), 1)


def run_encoded(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """The console script with ``env``; its output decoded as the terminal would (Latin-1
    decodes any byte: what is not ASCII shows up as such)."""
    full = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "LC_ALL", "LANG")}
    full.update({"NO_COLOR": "1", **env})
    proc = subprocess.run(
        [JUPYTER_ACK, *args], capture_output=True, env=full, cwd=ROOT, timeout=120, check=False
    )
    return proc.returncode, proc.stdout.decode("latin-1"), proc.stderr.decode("latin-1")


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
        {"PYTHONIOENCODING": "latin-1"},
    ],
    ids=["PYTHONIOENCODING=ascii", "C-locale", "latin-1"],
)
def test_a_terminal_that_cannot_print_the_symbols(tmp_path: Path, env: dict[str, str]) -> None:
    code, out, err = run_encoded(["validate", EXAMPLE], env)
    assert (code, err) == (0, "")
    assert out.startswith(f"ok {EXAMPLE}: no problems ")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Version": "2020-12-01", "Steps": [{"Name": "caf\u00e9 \u2713"}]}))
    code, out, err = run_encoded(["validate", str(bad)], env)
    assert (code, err) == (1, "")
    assert out.splitlines()[-1].startswith("x ")
    assert "ok" in out  # the \u2713 in the step's name, as the terminal can show it
    assert "\u2713".encode() not in out.encode("latin-1")
    code, out, err = run_encoded(["graph", EXAMPLE, "--format", "svg"], env)
    assert (code, err) == (0, "")
    ET.fromstring(out.encode("latin-1"))  # a document: UTF-8 whatever the terminal


def test_the_ascii_stand_ins() -> None:
    text = "\u2713 ok \u2717 \u00b7 \u25b6 \u25a0 \u2192 caf\u00e9 \U0001f600"
    assert text.encode("ascii", ENCODE_ERRORS) == (b"ok ok x * > # -> caf\\u00e9 \\ud83d\\ude00")


@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize("form", ["svg", "json", "mermaid"])
def test_graph_into_a_closed_pipe(form: str, unbuffered: str) -> None:
    """`jupyter-ack graph X --format svg | head -c1`: the reader leaves; a quiet exit 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first byte
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    try:
        proc = subprocess.run(
            [JUPYTER_ACK, "graph", EXAMPLE, "--format", form],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert proc.stderr == b""


# 4. bidirectional controls -------------------------------------------------------------------


def bidi_definition(tmp_path: Path) -> Path:
    f = tmp_path / "bidi.json"
    steps = [
        {"Name": f"Approve{RLO}evorppA", "Type": "Processing", "Arguments": {}},
        {"Name": "Isolate\u2066x\u2069", "Type": "Processing", "Arguments": {}},
    ]
    f.write_text(json.dumps({"Version": "2020-12-01", "Steps": steps}))
    return f


def test_bidi_controls_are_escaped_in_the_terminal(cli: Any, tmp_path: Path) -> None:
    r = cli("validate", str(bidi_definition(tmp_path)))
    assert RLO not in r.out
    assert "\u2066" not in r.out
    assert "Approve\\u202eevorppA" in r.out
    assert "Isolate\\u2066x\\u2069" in r.out


def test_bidi_controls_are_neutralised_in_the_svg(cli: Any, tmp_path: Path) -> None:
    r = cli("graph", str(bidi_definition(tmp_path)), "--format", "svg")
    assert RLO not in r.out
    assert "\u2066" not in r.out
    root = ET.fromstring(r.out)
    steps = {g.get("data-step") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert "Approve\\u202eevorppA" in steps


@pytest.mark.parametrize(
    "ch", ["\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]
)
def test_every_bidi_control_is_shown(ch: str) -> None:
    escaped = f"\\u{ord(ch):04x}"
    assert one_line(f"a{ch}b") == f"a{escaped}b"
    assert esc(f"a{ch}b") == f"a{escaped}b"
