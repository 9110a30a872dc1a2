"""``dialer ... | head``: a reader that goes away early ends the command quietly, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "rc"),
    [
        (["config"], 141),  # 128 + SIGPIPE, what a shell reports for a writer cut off by `head`
        (["--help"], 0),  # argparse's help ignores a closed pipe and exits 0 on its own
    ],
)
def test_output_into_a_closed_pipe_exits_quietly(argv: list[str], rc: int) -> None:
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: the first write fails with EPIPE, as after `head` has quit
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dialer", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=REPO,
            timeout=60,
        )
    finally:
        os.close(write)
    assert proc.stderr.decode() == ""
    assert proc.returncode == rc
