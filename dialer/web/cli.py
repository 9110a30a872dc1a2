"""Subcommands of the web feature (see dialer.cli.CLI_PLUGINS)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Nothing yet."""
