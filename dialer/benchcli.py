"""``dialer bench NAME [ARGS...]``: the benchmarks in bench/ (run from the repository's folder)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

BENCHES = {
    "pacing": "bench.pacing",  # simulator: our pacer against the field; --engine: the production engine too
    "engine": "bench.engine",  # concurrent calls, event lag, CPU per call, answer-to-agent (sandbox)
    "agi": "bench.agi_latency",  # FastAGI look-ups vs classic AGI (sandbox)
    "import": "bench.import_memory",  # 1,000,000-row import memory
    "hardening": "bench.hardening",  # logins, idle FastAGI peers, 200 dashboards on a large database
    "soak": "bench.soak",  # random faults on the sandbox, judged by dialer audit
}


def cmd_bench(args: argparse.Namespace) -> int:
    repo = Path(__file__).resolve().parents[1]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    try:
        mod = importlib.import_module(BENCHES[args.name])
    except ModuleNotFoundError as e:
        print(f"dialer: benchmark {args.name!r} is not available: {e}", file=sys.stderr)
        return 1
    rc: int = mod.main(args.args)
    return rc


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "bench",
        help="run a benchmark (pacing, engine, agi, import, hardening, soak); arguments after the name go to it",
        description="Benchmarks print figures as ratios against a baseline measured in the same run.",
    )
    s.add_argument("name", choices=sorted(BENCHES))
    s.add_argument(
        "args", nargs=argparse.REMAINDER, help="passed to the benchmark (try: dialer bench pacing --help)"
    )
    s.set_defaults(func=cmd_bench)
