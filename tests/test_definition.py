"""Loading definitions from every kind of source, and their identity (canonical JSON, sha256)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import jupyter_ack
from jupyter_ack import PipelineDefinition, SourceError, load


class FakePipeline:
    """Stands in for an SDK Pipeline: anything with .definition() and .name."""

    def __init__(self, data: dict[str, Any], name: str = "abalone") -> None:
        self.data = data
        self.name = name

    def definition(self) -> str:
        return json.dumps(self.data, indent=1)


def test_dict_and_text_give_same_identity(example: dict[str, Any], example_text: str) -> None:
    from_dict = load(example)
    from_text = load(example_text)
    reformatted = load(json.dumps(example, indent=7, sort_keys=False))
    assert from_dict.sha256 == from_text.sha256 == reformatted.sha256
    canonical = from_dict.canonical_json
    assert canonical is not None
    assert canonical == json.dumps(
        example, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert from_dict.sha256 == hashlib.sha256(canonical.encode()).hexdigest()


def test_identity_changes_with_content(example: dict[str, Any]) -> None:
    before = load(example).sha256
    example["Parameters"][0]["DefaultValue"] = 2
    assert load(example).sha256 != before


def test_canonical_keeps_non_ascii_as_utf8() -> None:
    defn = load({"Version": "2020-12-01", "Steps": [], "Metadata": {"owner": "Zoë"}})
    assert defn.canonical_bytes is not None
    assert "Zoë".encode() in defn.canonical_bytes


def test_sdk_like_object(example: dict[str, Any]) -> None:
    defn = load(FakePipeline(example, name="abalone-demo"))
    assert defn.name == "abalone-demo"
    assert defn.sha256 == load(example).sha256
    assert defn.text is not None  # line numbers refer to the SDK's text


def test_definition_method_that_raises_is_a_source_error() -> None:
    class Broken:
        name = "x"

        def definition(self) -> str:
            raise RuntimeError("no region")

    with pytest.raises(SourceError, match="definition\\(\\) raised RuntimeError: no region"):
        load(Broken())


def test_path_str_and_pathlib(tmp_path: Path, example_text: str) -> None:
    f = tmp_path / "p.json"
    f.write_text(example_text, encoding="utf-8")
    assert load(str(f)).sha256 == load(f).sha256 == load(example_text).sha256
    assert load(f).source == str(f)


def test_utf8_bom_is_accepted(tmp_path: Path, example_text: str) -> None:
    f = tmp_path / "bom.json"
    f.write_bytes(b"\xef\xbb\xbf" + example_text.encode())
    assert load(f).ok


def test_not_utf8_is_a_source_error(tmp_path: Path) -> None:
    f = tmp_path / "latin1.json"
    f.write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(SourceError, match="not UTF-8"):
        load(f)


def test_stdin(monkeypatch: pytest.MonkeyPatch, example_text: str) -> None:
    fake = io.TextIOWrapper(io.BytesIO(example_text.encode()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake)
    defn = load("-")
    assert defn.source == "<stdin>"
    assert defn.sha256 == load(example_text).sha256


def test_bytes(example_text: str) -> None:
    assert load(example_text.encode()).sha256 == load(example_text).sha256


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("does/not/exist.json", "no such file"),
        ("nothing-here", "no such file"),
        ("pipeline.py", "name the pipeline object"),
    ],
)
def test_missing_sources(
    source: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if source.endswith(".py"):
        (tmp_path / source).write_text("x = 1\n")
    with pytest.raises(SourceError, match=message) as info:
        load(source)
    assert "\n" not in str(info.value)


def test_directory_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="directory"):
        load(str(tmp_path))


def test_python_file_reference(tmp_path: Path, example_text: str) -> None:
    script = tmp_path / "build.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json
            DEF = json.loads({example_text!r})

            class P:
                name = "from-file"
                def definition(self):
                    return json.dumps(DEF)

            pipeline = P()

            def make():
                return DEF

            TEXT = json.dumps(DEF)
            """
        )
    )
    expected = load(example_text).sha256
    for attr in ("pipeline", "make", "DEF", "TEXT"):
        defn = load(f"{script}:{attr}")
        assert defn.sha256 == expected, attr
    assert load(f"{script}:pipeline").name == "from-file"
    with pytest.raises(SourceError, match="no name 'missing'"):
        load(f"{script}:missing")


def test_python_file_that_raises(tmp_path: Path) -> None:
    script = tmp_path / "bad.py"
    script.write_text("raise ValueError('boom')\n")
    with pytest.raises(SourceError, match="raised ValueError: boom"):
        load(f"{script}:pipeline")


def test_module_reference(
    tmp_path: Path, example_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "mypipes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "abalone.py").write_text(
        f"import json\ndef get():\n    return json.loads({example_text!r})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load("mypipes.abalone:get").sha256 == load(example_text).sha256
    with pytest.raises(SourceError, match="no module named 'nosuchpkg'"):
        load("nosuchpkg.mod:thing")


def test_object_that_is_not_a_pipeline(tmp_path: Path) -> None:
    script = tmp_path / "n.py"
    script.write_text("VALUE = 42\n")
    with pytest.raises(SourceError, match="int is not a pipeline definition"):
        load(f"{script}:VALUE")
    with pytest.raises(SourceError):
        load(3.5)


def test_invalid_json_loads_with_a_diagnostic() -> None:
    defn = load('{"Version": "2020-12-01", "Steps": [')
    assert defn.data is None
    assert defn.sha256 is None
    (d,) = defn.validate()
    assert d.code == "JSON_SYNTAX"
    assert (d.line, d.column) == (1, 37)
    assert not defn.ok


def test_json_encoded_string_is_unwrapped(example: dict[str, Any]) -> None:
    encoded = json.dumps(json.dumps(example))  # what `jq -r tojson` pasted with quotes gives
    defn = load(encoded)
    assert defn.sha256 == load(example).sha256
    codes = [d.code for d in defn.validate()]
    assert codes == ["ENCODED_STRING"]
    assert defn.ok


def test_parameters(example: dict[str, Any]) -> None:
    params = {p.name: p for p in load(example).parameters}
    assert params["ProcessingInstanceCount"].type == "Integer"
    assert params["ProcessingInstanceCount"].default_value == 1
    assert params["MseThreshold"].default_value == 6.0


def test_load_passes_definitions_through(example: dict[str, Any]) -> None:
    defn = load(example)
    assert load(defn) is defn


def test_repr_and_mimebundle(example: dict[str, Any]) -> None:
    defn = load(FakePipeline(example, name="abalone-demo"))
    assert "8 steps" in repr(defn)
    bundle = defn._repr_mimebundle_()
    assert bundle["text/html"].count("<svg") == 1
    assert "no problems found" in bundle["text/html"]
    assert "application/json" not in bundle  # JupyterLab would show it instead of the drawing
    assert defn._repr_mimebundle_(include=["application/json"])["application/json"] == example
    data, metadata = defn.json._repr_mimebundle_()
    assert data["application/json"] == example
    assert metadata["application/json"]["root"] == "abalone-demo"


def test_top_level_names_are_lazy() -> None:
    assert jupyter_ack.load is load
    assert jupyter_ack.PipelineDefinition is PipelineDefinition
    with pytest.raises(AttributeError):
        _ = jupyter_ack.no_such_name  # type: ignore[attr-defined]


def test_s3_source_over_http(aws_env: dict[str, str], example_text: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="defs")
    s3.put_object(Bucket="defs", Key="team/abalone.json", Body=example_text.encode())
    defn = load("s3://defs/team/abalone.json")
    assert defn.source == "s3://defs/team/abalone.json"
    assert defn.sha256 == load(example_text).sha256


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://no-such-bucket-here/x.json", "NoSuchBucket"),
        ("s3://defs/missing.json", "NoSuchKey"),
        ("s3://defs", "needs a bucket and a key"),
    ],
)
def test_s3_errors_are_one_line(aws_env: dict[str, str], uri: str, message: str) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket="defs")
    with pytest.raises(jupyter_ack.JupyterAckError, match=message) as info:
        load(uri)
    assert "\n" not in str(info.value)
    assert "testing" not in str(info.value)  # no secret in the message


def test_s3_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(jupyter_ack.JupyterAckError, match="no AWS credentials") as info:
        load("s3://defs/x.json")
    assert info.value.hint
    assert "aws configure" in info.value.hint
