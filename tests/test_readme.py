"""The README's commands are the ones that work: its `pose2rot` lines run on the shipped examples,
its synopsis names only options the parser knows, the files it points to exist."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pose2rot_core.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    """Bodies of the README's fenced blocks opened with ```language ('' for plain fences)."""
    blocks: list[str] = []
    opened: str | None = None
    body: list[str] = []
    for line in README.splitlines():
        if not line.startswith("```"):
            body.append(line)
        elif opened is None:
            opened, body = line[3:].strip(), []
        else:
            if opened == language:
                blocks.append("\n".join(body))
            opened = None
    return blocks


def commands(prefix: str) -> list[str]:
    """Lines of the README's ```bash blocks that start with ``prefix`` (comments dropped)."""
    return [line.split("  #")[0].strip() for block in code_blocks("bash") for line in block.splitlines()
            if line.startswith(prefix)]


def test_the_two_commands_come_first():
    first = code_blocks("bash")[0].splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert (ROOT / "scripts" / "demo.sh").is_file() and (ROOT / "scripts" / "test.sh").is_file()
    assert README.index("bash scripts/demo.sh") < README.index("\n## ")


@pytest.mark.parametrize("command", commands("pose2rot "))
def test_readme_command_runs_on_the_shipped_examples(command, tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "out").mkdir()
    argv = shlex.split(command)[1:]
    proc = subprocess.run([sys.executable, "-m", "pose2rot_core.cli", *argv], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, proc.stderr
    if "--out" in argv:                                   # a file, or the folder of a batch with its files
        out = tmp_path / argv[argv.index("--out") + 1]
        assert out.is_file() or any(p.is_file() for p in out.glob("*")), proc.stderr
    if "--plot" in argv:
        assert (tmp_path / argv[argv.index("--plot") + 1]).is_file()


def test_readme_has_runnable_commands():
    assert len(commands("pose2rot ")) >= 4
    assert {c.split()[1] for c in commands("pose2rot ")} >= {"info", "solve", "eval"}


def test_synopsis_names_only_known_options():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    synopsis = [b for b in code_blocks("") if b.startswith("pose2rot ")]
    assert synopsis, "the README's plain block with the command synopsis"
    command = None
    for line in synopsis[0].splitlines():
        words = line.split()
        if words[0] == "pose2rot":
            command = words[1]
        known = {s for a in subparsers[command]._actions for s in a.option_strings}
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line):
            assert flag in known, (command, flag)


def test_files_the_readme_names_exist():
    named = set(re.findall(r"`((?:examples|docs|scripts|pose2rot_blender|core)/[\w./-]+)`", README))
    named |= set(re.findall(r"\]\(((?:docs|examples)/[\w./-]+)\)", README))
    assert named
    missing = sorted(p for p in named if not (ROOT / p).exists() and p != "docs/RETARGETING.md")
    assert not missing, missing


def test_readme_is_short_and_about_the_software():
    assert len(README.splitlines()) <= 200
    for word in ("session", "goal", "not met", "was lent", "earlier figure"):
        assert word not in README.lower(), word
