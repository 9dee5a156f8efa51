"""Help that helps: examples on every command, correct option texts, 'did you mean', shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from datacraft.cli import COMMANDS, main


def _help(*args: str) -> str:
    r = CliRunner().invoke(main, [*args, "--help"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_examples_and_logging_options(command: str) -> None:
    text = _help(command)
    assert "Example" in text, f"datacraft {command} --help shows no example"
    assert f"datacraft {command}" in text.split("Example", 1)[1]
    if command != "completion":
        assert "--log-format" in text and "-q, --quiet" in text


def test_wrong_help_texts_are_fixed() -> None:
    for cmd in ("train", "ablate"):
        set_help = _help(cmd).split("--set", 1)[1].split("\n  -", 1)[0]
        assert "length.min_words" not in set_help and "epochs" in set_help
    for cmd in ("apply", "mix", "dedup"):
        assert "the pipeline's setting" not in _help(cmd)
    apply_help = _help("apply")
    assert "``" not in apply_help
    assert "Field of the input that holds the text" in apply_help and "holds the id" in apply_help
    assert "Seed of the sampling hash" in _help("mix")


def test_did_you_mean_for_commands() -> None:
    r = CliRunner().invoke(main, ["stat", "out"])
    assert r.exit_code == 2 and "no such command 'stat' (did you mean stats" in r.output
    r = CliRunner().invoke(main, ["stages", "gopher_qualty"])
    assert r.exit_code == 2 and "did you mean gopher_quality" in r.output


def test_did_you_mean_for_yaml_keys(tmp_path: Path) -> None:
    pipe = tmp_path / "p.yaml"
    pipe.write_text(
        f"input: {{paths: [{tmp_path}], text_feild: body}}\noutput: {{path: {tmp_path / 'o'}}}\nworker: 2\n"
    )
    r = CliRunner().invoke(main, ["run", str(pipe)])
    assert r.exit_code == 2
    assert "worker: unknown key (did you mean workers?)" in r.output
    assert "input.text_feild: unknown key (did you mean text_field?)" in r.output
    r = CliRunner().invoke(main, ["run", str(pipe), "--set", "worker=3"])
    assert r.exit_code == 2


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_is_generated(shell: str) -> None:
    r = CliRunner().invoke(main, ["completion", shell])
    assert r.exit_code == 0 and "_DATACRAFT_COMPLETE" in r.output


def _complete(words: str) -> list[str]:
    env = {
        **os.environ,
        "_DATACRAFT_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    r = subprocess.run([sys.executable, "-m", "datacraft"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [line.split(",", 1)[1] for line in r.stdout.splitlines() if "," in line]


def test_completion_of_commands_and_stage_names() -> None:
    assert "stages" in _complete("datacraft sta")
    assert {"gopher_quality", "gopher_repetition"} <= set(_complete("datacraft stages gopher"))
    assert "clean,pii" in _complete("datacraft apply clean,pi")
