"""`patent-ledger --help` and every subcommand's `--help` describe the commands as they are."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from api.cli import build_parser

COMMANDS = ("serve", "project", "rebuild", "demo", "migrate", "verify", "checkpoint",
            "public-key", "export", "import")


def _help(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "api.cli", *args, "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_top_help_lists_every_command_and_no_promise() -> None:
    text = _help()
    for command in COMMANDS:
        assert f"    {command}" in text, f"{command} missing from --help:\n{text}"
    assert "later issue" not in text


def test_every_command_is_in_the_list_the_test_checks() -> None:
    """A new subcommand must join COMMANDS, and so the help checks."""
    parser = build_parser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    assert set(commands.choices) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_runs_and_promises_nothing_later(command: str) -> None:
    text = _help(command)
    assert f"patent-ledger {command}" in text
    assert "later issue" not in text
