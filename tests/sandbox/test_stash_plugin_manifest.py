"""Manifests load with Stash's strict rules; stderr lines decode with Stash's log protocol."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stashplex.sandbox.plugin_runner import decode_plugin_output, go_json
from stashplex.sandbox.stash.plugin_log import LogLine, ParsedLine, parse_stderr_line
from stashplex.sandbox.stash.plugin_manifest import ManifestError, load_manifest

ECHO_MANIFEST = Path(__file__).resolve().parents[1] / "support" / "plugins" / "echo" / "echo.yml"


def write_manifest(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_plugin_id_is_the_file_name_and_values_are_read_as_strings():
    manifest = load_manifest(ECHO_MANIFEST)

    assert manifest.id == "echo"
    assert manifest.name == "Echo"
    assert manifest.version == "1.0"
    assert manifest.task("Count").default_args == {"mode": "count", "steps": "4", "verbose": "true"}
    assert [hook.name for hook in manifest.hooks_for("Scene.Update.Post")] == ["Echo scene events"]


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nexec: [python]\nunknown: 1\n",
        "name: x\nexec: [python]\ntasks:\n  - name: t\n    defaultargs: {a: b}\n",
        "name: x\nexec: [python]\nhooks:\n  - name: h\n    triggeredBy: [Scene.Update.Post]\n"
        "    trigger: x\n",
        "name: x\nsettings:\n  k:\n    displayName: K\n    default: 1\n",
        "name: x\nui:\n  csp:\n    img-src: [a]\n",
    ],
    ids=["top level", "task", "hook", "setting default", "ui csp"],
)
def test_an_unknown_key_anywhere_fails_the_whole_manifest(tmp_path, text):
    path = write_manifest(tmp_path, "strict.yml", text)

    with pytest.raises(ManifestError, match="not found in type"):
        load_manifest(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\ninterface: grpc\n", "interface"),
        ("name: x\nerrLog: loud\n", "errLog"),
        ("name: x\nexec: python\n", "expected a list"),
        ("name: x\ntasks:\n  - name: a\n  - name: a\n", "duplicate"),
        ("name: x\nsettings:\n  k:\n    type: DATE\n", "type"),
    ],
)
def test_invalid_values_are_rejected_with_a_clear_message(tmp_path, text, message):
    path = write_manifest(tmp_path, "bad.yml", text)

    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


def test_only_dot_yml_files_are_manifests(tmp_path):
    path = write_manifest(tmp_path, "plugin.yaml", "name: x\n")

    with pytest.raises(ManifestError, match=r"\.yml"):
        load_manifest(path)


def test_a_missing_name_falls_back_to_the_plugin_id(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, "NoName.yml", "exec: [python]\n"))

    assert manifest.name == "NoName"
    assert manifest.interface == "raw"
    assert manifest.err_log == "error"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("\x01i\x02  hello  ", ParsedLine(log=LogLine("info", "hello"))),
        ("\x01t\x02x", ParsedLine(log=LogLine("trace", "x"))),
        ("\x01d\x02x", ParsedLine(log=LogLine("debug", "x"))),
        ("\x01w\x02x", ParsedLine(log=LogLine("warning", "x"))),
        ("\x01e\x02x", ParsedLine(log=LogLine("error", "x"))),
        ("\x01p\x020.5", ParsedLine(progress=0.5)),
        (
            "Traceback (most recent call last):",
            ParsedLine(log=LogLine("error", "Traceback (most recent call last):")),
        ),
        ("\x01i\x02", ParsedLine(log=LogLine("error", "\x01i\x02"))),
        ("   ", ParsedLine()),
    ],
)
def test_stderr_lines_decode_with_the_level_protocol(line, expected):
    assert parse_stderr_line(line, "error") == expected


def test_an_unparsable_progress_value_is_logged_as_an_error():
    parsed = parse_stderr_line("\x01p\x02half", "error")

    assert parsed.progress is None
    assert parsed.log is not None and parsed.log.level == "error"


def test_err_log_none_drops_unprefixed_lines():
    assert parse_stderr_line("plain", "none") == ParsedLine()


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ('{"output": {"a": 1}, "error": null}', ({"a": 1}, None)),
        ('{"output": "x", "error": "bad", "extra": 1}', ("x", "bad")),
        ("not json", ("not json", None)),
        ("", ("", None)),
        ('["a"]', ('["a"]', None)),
        ('{"error": 5}', ('{"error": 5}', None)),
    ],
)
def test_stdout_decodes_as_output_and_error_or_else_the_raw_string(stdout, expected):
    assert decode_plugin_output(stdout) == expected


def test_stdin_json_is_encoded_like_go():
    assert go_json({"b": "<&> é"}) == '{"b":"\\u003c\\u0026\\u003e é"}'
