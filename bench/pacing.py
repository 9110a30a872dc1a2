"""Pacing benchmark: every policy on the same simulated days, stationary grid plus drift scenarios.

Usage (``python -m bench.pacing --help``)::

    python -m bench.pacing                     # full grid, 30 days per cell, table + JSON + PNG
    python -m bench.pacing --quick             # small grid, 10 days per cell
    python -m bench.pacing --agents 10 --answer-rate 0.3 --days 30 --json
    python -m bench.pacing --engine --agents 10 --answer-rate 0.3 --days 2 --policy predictive --json
    python -m bench.pacing --engine --scenario amd --agents 10 --answer-rate 0.3 --days 2

``--engine`` also runs the production engine (placing, call book, FastAGI routes, pacer, hopper and store
on SQLite) against a simulated Asterisk in virtual time (:mod:`dialer.simulator.asterisk`) and reports it
beside the pacer-only simulator, with the same keys, on the same customers and agents.

Each policy gets a fresh pacer and meets the same customers (common random numbers), so
differences between rows are the policies' doing.  Relative figures (predictive / progressive
occupancy, predictive - oracle occupancy) are computed from policies measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dialer.pacing import Pacer, PredictivePacer, ProgressivePacer, RatioPacer
from dialer.simulator.baselines import (
    DropRateController,
    ErlangOpenLoop,
    VicidialAdaptive,
    best_fixed_ratio,
    erlang_b_figure,
)
from dialer.simulator.metrics import ABANDON_CAP
from dialer.simulator.run import run_policy
from dialer.simulator.scenario import DRIFT_SCENARIOS, Scenario, stationary

POLICIES = (
    "predictive",
    "progressive",
    "ratio",
    "vicidial_average",
    "vicidial_tapered",
    "drop_controller",
    "erlang_b",
    "oracle_ratio",
)
GRID_AGENTS = (5, 10, 25, 50, 100)
GRID_RATES = (0.05, 0.1, 0.2, 0.3)
QUICK_AGENTS = (10, 50)
QUICK_RATES = (0.1, 0.3)
MAX_SHARE_OVER = 0.05
ENGINE_POLICIES = ("predictive", "progressive", "ratio")  # the campaign modes the engine runs
ENGINE_KEYS = (
    "occupancy",
    "talk_share",
    "abandon_rate",
    "abandon_rate_p95_day",
    "share_days_over_cap",
    "contacts_per_agent_hour",
)
SCENARIO_KINDS = (
    "stationary",
    "p_drift",
    "talk_drift",
    "lunch",
    # off the predictive pacer's priors (120 s talk, 15 s wrap-up, 8 s ring, no machines, everyone all day)
    "talk45",
    "talk300",
    "wrap5",
    "wrap60",
    "ring30",
    "amd",
    "shifts",
)


def off_prior(kind: str, agents: int, answer_rate: float) -> Scenario:
    """A scenario whose centre differs from what the pacer assumes before it has measured anything."""
    base = stationary(agents, answer_rate)
    changes: dict[str, dict[str, object]] = {
        "talk45": {"talk_mean": 45.0},
        "talk300": {"talk_mean": 300.0},
        "wrap5": {"wrapup_mean": 5.0},
        "wrap60": {"wrapup_mean": 60.0},
        "ring30": {"ring_timeout": 30.0, "ring_mean": 12.0},
        # 20% answering machines, AMD on, and AMD taking 5% of people for machines (hidden abandons)
        "amd": {"machine_share": 0.2, "amd": True, "amd_false_machine": 0.05},
        # agents log in and out over the first and last 15 minutes, a 15-minute break each, half at lunch
        "shifts": {"breaks": True, "lunch": True},
    }
    return base.with_(name=f"{kind}_N{agents}_p{answer_rate:g}", **changes[kind])


def fixed_ratio(scenario: Scenario) -> float:
    """The ``ratio`` baseline: one expected live answer per ready agent (1/p), clipped to [1, 10]."""
    return min(10.0, max(1.0, 1.0 / scenario.mean_answer_rate()))


def policy_factory(name: str, scenario: Scenario, ratio: float | None = None) -> Callable[[], Pacer]:
    """A constructor of a fresh pacer for ``name`` (not for ``oracle_ratio``, which is a search)."""
    handle = scenario.mean_talk() + scenario.wrapup_mean
    factories: dict[str, Callable[[], Pacer]] = {
        "predictive": PredictivePacer,
        "progressive": ProgressivePacer,
        "ratio": lambda: RatioPacer(ratio if ratio is not None else fixed_ratio(scenario)),
        "vicidial_average": lambda: VicidialAdaptive("average"),
        "vicidial_tapered": lambda: VicidialAdaptive("tapered"),
        "drop_controller": DropRateController,
        "erlang_b": lambda: ErlangOpenLoop(answer_rate=scenario.mean_answer_rate(), handle_seconds=handle),
    }
    try:
        return factories[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; expected one of {', '.join(POLICIES)}") from None


Task = tuple[Scenario, str, int, int, float | None, bool]


def run_task(task: Task) -> tuple[str, str, dict[str, Any]]:
    """Run one policy on one scenario (through the engine when the task says so); returns (scenario name,
    policy, metrics dict); an engine run's policy is named ``engine:<policy>``."""
    scenario, policy, days, seed, ratio, engine = task
    started = time.perf_counter()
    if engine:
        from dialer.simulator.asterisk import run_engine  # imports the service's stack: only when asked

        run = run_engine(scenario, policy, days=days, seed=seed, ratio=ratio)
        result: dict[str, Any] = run.as_dict()
        if policy == "ratio":
            result["ratio"] = ratio if ratio is not None else fixed_ratio(scenario)
        result["compliant"] = compliant_dict(result)
        result["seconds"] = round(time.perf_counter() - started, 2)
        return scenario.name, "engine:" + policy, result
    if policy == "oracle_ratio":
        found = best_fixed_ratio(
            scenario, days=days, seed=seed, cap=ABANDON_CAP, max_share_over=MAX_SHARE_OVER
        )
        result = found.metrics.as_dict()
        result["ratio"] = found.ratio
        result["probes"] = [
            [r, n, m.occupancy, m.abandon_rate, m.share_days_over_cap] for r, n, m in found.probes
        ]
    else:
        result = run_policy(scenario, policy_factory(policy, scenario, ratio), days=days, seed=seed).as_dict()
        if policy == "ratio":
            result["ratio"] = ratio if ratio is not None else fixed_ratio(scenario)
    result["compliant"] = compliant_dict(result)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return scenario.name, policy, result


def compliant_dict(metrics: dict[str, Any]) -> bool:
    """Compliance target on a metrics dict: pooled rate under the cap, <= 5% of days over it."""
    return bool(metrics["abandon_rate"] <= ABANDON_CAP and metrics["share_days_over_cap"] <= MAX_SHARE_OVER)


def _cost(task: Task) -> float:
    scenario, policy, days, _, _, engine = task
    weight = 4.0 if policy == "oracle_ratio" else 2.5 if policy == "predictive" else 1.0
    if engine:
        weight *= 200.0
    return weight * days * scenario.agents * (1.0 + 0.3 / scenario.mean_answer_rate())


def run_all(tasks: list[Task], workers: int, progress: bool) -> dict[str, dict[str, dict[str, Any]]]:
    """Run tasks (largest first) on a process pool; results[scenario][policy] = metrics."""
    results: dict[str, dict[str, dict[str, Any]]] = {}
    ordered = sorted(tasks, key=_cost, reverse=True)
    done = 0
    if workers <= 1:
        outputs: Any = map(run_task, ordered)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(workers)
        outputs = pool.imap_unordered(run_task, ordered)
    try:
        for name, policy, metrics in outputs:
            results.setdefault(name, {})[policy] = metrics
            done += 1
            if progress:
                print(f"[{done}/{len(tasks)}] {name} {policy}: {metrics['seconds']} s", file=sys.stderr)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return results


def relative(policies: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Predictive against baselines measured in the same run."""
    out: dict[str, float] = {}
    pred = policies.get("predictive")
    if pred is None:
        return out
    prog = policies.get("progressive")
    if prog and prog["occupancy"] > 0:
        out["occupancy_vs_progressive"] = pred["occupancy"] / prog["occupancy"]
    oracle = policies.get("oracle_ratio")
    if oracle:
        out["occupancy_minus_oracle_points"] = 100.0 * (pred["occupancy"] - oracle["occupancy"])
    others = [
        m["occupancy"]
        for name, m in policies.items()
        if name not in ("predictive", "oracle_ratio") and m["compliant"]
    ]
    if others:
        out["occupancy_minus_best_compliant_baseline_points"] = 100.0 * (pred["occupancy"] - max(others))
    return out


def targets(scenario: Scenario, policies: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """The brief's targets for the predictive pacer in one scenario."""
    pred = policies.get("predictive")
    if pred is None:
        return {}
    out = {
        "compliance": bool(
            pred["share_days_over_cap"] <= MAX_SHARE_OVER and pred["abandon_rate"] < ABANDON_CAP
        )
    }
    drifting = scenario.name.startswith(("p_drift", "talk_drift", "lunch"))
    if not drifting and "oracle_ratio" in policies:
        out["within_1pt_of_oracle"] = bool(pred["occupancy"] >= policies["oracle_ratio"]["occupancy"] - 0.01)
    if drifting:
        rivals = [
            m for n, m in policies.items() if n not in ("predictive", "oracle_ratio") and m["compliant"]
        ]
        out["beats_compliant_baselines"] = all(pred["occupancy"] > m["occupancy"] for m in rivals)
    return out


def grid(quick: bool) -> list[Scenario]:
    """Stationary grid plus the drift scenarios."""
    agents, rates = (QUICK_AGENTS, QUICK_RATES) if quick else (GRID_AGENTS, GRID_RATES)
    scenarios = [stationary(n, p) for n in agents for p in rates]
    scenarios += [make(25 if quick else 50) for make in DRIFT_SCENARIOS]
    return scenarios


def format_table(report: dict[str, Any]) -> str:
    """Fixed-width table, one row per (scenario, policy)."""
    header = (
        f"{'scenario':<16} {'policy':<17} {'occ%':>6} {'talk%':>6} {'aband%':>7} {'p95day%':>8} "
        f"{'days>3%':>8} {'cont/ah':>8} {'dial/ah':>8} {'wait s':>7} {'ok':>3}"
    )
    lines = [header, "-" * len(header)]
    for name, entry in report["scenarios"].items():
        for policy in POLICIES:
            m = entry["policies"].get(policy)
            if m is None:
                continue
            shown = "best_fixed(hs)" if policy == "oracle_ratio" else policy
            label = shown + (f" {m['ratio']:.2f}" if "ratio" in m else "")
            lines.append(
                f"{name:<16} {label:<17} {100 * m['occupancy']:6.1f} {100 * m['talk_share']:6.1f} "
                f"{100 * m['abandon_rate']:7.2f} {100 * m['abandon_rate_p95_day']:8.2f} "
                f"{100 * m['share_days_over_cap']:7.0f}% {m['contacts_per_agent_hour']:8.1f} "
                f"{m['dials_per_agent_hour']:8.1f} {m['mean_wait_seconds']:7.1f} "
                f"{'y' if m['compliant'] else 'n':>3}"
            )
        rel = entry["relative"]
        if rel:
            parts = [f"{k}={v:.3f}" for k, v in rel.items()]
            tg = [f"{k}={'MET' if v else 'NOT MET'}" for k, v in entry["targets"].items()]
            lines.append(f"{'':<16} -> {' '.join(parts)}  {' '.join(tg)}")
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    """Occupancy vs abandon rate, one point per policy, one panel per scenario (matplotlib, lazily)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["scenarios"])
    cols = min(5, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    palette = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7")
    colors = dict(zip(POLICIES, palette, strict=True))
    ticks = [0.0, 1.0, 3.0, 10.0, 30.0]
    for ax, name in zip(axes.flat, names, strict=False):
        worst = 0.0
        for policy, m in report["scenarios"][name]["policies"].items():
            rate = 100 * m["abandon_rate"]
            worst = max(worst, rate)
            ax.scatter(rate, 100 * m["occupancy"], color=colors.get(policy), label=policy, s=24)
        ax.axvline(100 * ABANDON_CAP, color="red", lw=0.8, ls="--")
        ax.set_title(name, fontsize=9)
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
        ax.set_xlim(-0.2, max(5.0, 1.3 * worst))
        ax.set_xticks([t for t in ticks if t <= max(5.0, 1.3 * worst)])
        ax.set_xticklabels([f"{t:g}" for t in ticks if t <= max(5.0, 1.3 * worst)])
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, 0.0))
    fig.supxlabel("abandon rate over live answers (%), red line = 3% cap", y=0.03, fontsize=9)
    fig.supylabel("occupancy (%)", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dialer bench pacing", description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, help="single scenario: number of agents")
    parser.add_argument("--answer-rate", type=float, help="single scenario: live-answer probability p")
    parser.add_argument("--talk-mean", type=float, help="single scenario: mean talk time (s), default 120")
    parser.add_argument("--wrapup-mean", type=float, help="single scenario: mean wrap-up (s), default 15")
    parser.add_argument("--ring-timeout", type=float, help="single scenario: ring timeout (s), default 20")
    parser.add_argument(
        "--scenario",
        choices=SCENARIO_KINDS,
        help="single scenario kind (drift kinds use --agents, default 50; off-prior kinds --agents and "
        "--answer-rate, default 10 and 0.3)",
    )
    parser.add_argument(
        "--days", type=int, help="simulated days per run (default 30, --quick 10, --engine 2)"
    )
    parser.add_argument(
        "--day-hours", type=float, help="length of a simulated calling day in hours (default 10)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--policy", default="all", help="comma-separated policies or 'all': " + ",".join(POLICIES)
    )
    parser.add_argument(
        "--ratio", type=float, help="ratio for the 'ratio' policy (default 1/p clipped to [1, 10])"
    )
    parser.add_argument(
        "--engine",
        action="store_true",
        help="also run the production engine against a simulated Asterisk in virtual time "
        "(policies: " + ", ".join(ENGINE_POLICIES) + "; 'all' means predictive,progressive)",
    )
    parser.add_argument("--json", action="store_true", help="print metrics per policy as JSON on stdout")
    parser.add_argument("--quick", action="store_true", help="small grid (N 10/50, p 0.1/0.3, drift at N=25)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="directory for JSON and PNG")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument("--check", action="store_true", help="exit 1 if a predictive target is not met")
    parser.add_argument(
        "--from-json", type=Path, help="re-print the table and re-draw the plot of an earlier run's JSON"
    )
    return parser.parse_args(argv)


def _single_scenario(args: argparse.Namespace) -> Scenario:
    kind = args.scenario or "stationary"
    if kind in ("p_drift", "talk_drift", "lunch"):
        maker = {"p_drift": DRIFT_SCENARIOS[0], "talk_drift": DRIFT_SCENARIOS[1], "lunch": DRIFT_SCENARIOS[2]}
        sc = maker[kind](args.agents or 50)
    elif kind == "stationary":
        sc = stationary(args.agents or 10, args.answer_rate or 0.3, args.talk_mean or 120.0)
    else:
        sc = off_prior(kind, args.agents or 10, args.answer_rate or 0.3)
    changes: dict[str, object] = {}
    if args.talk_mean is not None and kind != "stationary":
        changes["talk_mean"] = args.talk_mean
    if args.wrapup_mean is not None:
        changes["wrapup_mean"] = args.wrapup_mean
    if args.ring_timeout is not None:
        changes["ring_timeout"] = args.ring_timeout
    if changes:
        suffix = "".join(f"_{k.split('_')[0]}{v:g}" for k, v in changes.items() if isinstance(v, float))
        sc = sc.with_(name=sc.name + suffix, **changes)
    return sc


def _check_args(args: argparse.Namespace) -> str | None:
    """A one-line complaint about impossible arguments, or None."""
    if args.agents is not None and not 1 <= args.agents <= 1000:
        return "--agents must be between 1 and 1000"
    if args.answer_rate is not None and not 0.0 < args.answer_rate <= 0.85:
        return "--answer-rate must be in (0, 0.85]"
    for name in ("talk_mean", "wrapup_mean"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            return f"--{name.replace('_', '-')} must be positive"
    if args.ring_timeout is not None and not 15 <= args.ring_timeout <= 120:
        return "--ring-timeout must be between 15 and 120 seconds"
    if args.days is not None and args.days < 1:
        return "--days must be at least 1"
    if args.day_hours is not None and not 0.25 <= args.day_hours <= 15:
        return "--day-hours must be between 0.25 and 15"
    return None


def _with_day_length(scenarios: list[Scenario], hours: float | None) -> list[Scenario]:
    if hours is None:
        return scenarios
    return [sc.with_(day_seconds=hours * 3600.0, name=f"{sc.name}_{hours:g}h") for sc in scenarios]


def engine_grid(agents: int = 10, answer_rate: float = 0.3) -> list[Scenario]:
    """The scenarios the engine-in-the-loop report runs by default: on and off the pacer's priors."""
    return [stationary(agents, answer_rate)] + [off_prior(k, agents, answer_rate) for k in SCENARIO_KINDS[4:]]


def format_engine_table(report: dict[str, Any]) -> str:
    """Pacer-only and engine-in-the-loop side by side, one row per (scenario, policy)."""
    header = (
        f"{'scenario':<20} {'policy':<12} {'world':<8} {'occ%':>6} {'talk%':>6} {'aband%':>7} "
        f"{'p95day%':>8} {'days>3%':>8} {'cont/ah':>8} {'ok':>3} {'s/day':>7}"
    )
    lines = [header, "-" * len(header)]
    for name, entry in report["scenarios"].items():
        for policy, eng in entry["engine"].items():
            for world, m in (("pacer", entry["policies"].get(policy)), ("engine", eng)):
                if m is None:
                    continue
                per_day = m.get("wall_seconds_per_day", m["seconds"] / max(1, report["days"]))
                lines.append(
                    f"{name:<20} {policy:<12} {world:<8} {100 * m['occupancy']:6.1f} "
                    f"{100 * m['talk_share']:6.1f} {100 * m['abandon_rate']:7.2f} "
                    f"{100 * m['abandon_rate_p95_day']:8.2f} {100 * m['share_days_over_cap']:7.0f}% "
                    f"{m['contacts_per_agent_hour']:8.1f} {'y' if m['compliant'] else 'n':>3} {per_day:7.1f}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``dialer bench pacing`` and ``python -m bench.pacing``."""
    args = parse_args(argv)
    if args.from_json is not None:
        return _replay(args.from_json, plot_it=not args.no_plot)
    problem = _check_args(args)
    if problem:
        print(f"dialer bench pacing: {problem}", file=sys.stderr)
        return 2
    if args.engine:
        return _main_engine(args)
    policies = (
        POLICIES if args.policy == "all" else tuple(p.strip() for p in args.policy.split(",") if p.strip())
    )
    for name in policies:
        if name not in POLICIES:
            print(f"unknown policy {name!r}; expected: {', '.join(POLICIES)}", file=sys.stderr)
            return 2
    single = _is_single(args)
    scenarios = _with_day_length([_single_scenario(args)] if single else grid(args.quick), args.day_hours)
    days = args.days or (10 if args.quick else 30)
    tasks: list[Task] = [
        (sc, pol, days, args.seed, args.ratio, False) for sc in scenarios for pol in policies
    ]
    started = time.perf_counter()
    results = run_all(tasks, args.workers, progress=not args.json)
    report: dict[str, Any] = {"days": days, "seed": args.seed, "cap": ABANDON_CAP, "scenarios": {}}
    for sc in scenarios:
        per_policy = {p: results[sc.name][p] for p in policies if p in results.get(sc.name, {})}
        report["scenarios"][sc.name] = {
            "scenario": asdict(sc),
            "erlang_b_figure": erlang_b_figure(
                sc.agents, sc.mean_answer_rate(), sc.mean_talk() + sc.wrapup_mean
            ),
            "policies": per_policy,
            "relative": relative(per_policy),
            "targets": targets(sc, per_policy),
        }
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    all_met = all(all(e["targets"].values()) for e in report["scenarios"].values())
    if single and args.json:
        entry = report["scenarios"][scenarios[0].name]
        out = {p: dict(m) for p, m in entry["policies"].items()}
        if "predictive" in out:
            out["predictive"].update(entry["relative"])
        json.dump(out, sys.stdout, indent=2, sort_keys=True)
        print()
        return 1 if args.check and not all_met else 0
    print(format_table(report))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "pacing_" + (scenarios[0].name if single else "quick" if args.quick else "grid")
    json_path = args.out / f"{stem}.json"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True))
    print(f"\nwrote {json_path} ({report['wall_seconds']} s, {days} days per run)")
    if not args.no_plot:
        png_path = args.out / f"{stem}.png"
        plot(report, png_path)
        print(f"wrote {png_path}")
    if args.json:
        json.dump(report, sys.stdout, indent=2, sort_keys=True)
        print()
    return 1 if args.check and not all_met else 0


def _is_single(args: argparse.Namespace) -> bool:
    given = (
        args.agents,
        args.answer_rate,
        args.talk_mean,
        args.wrapup_mean,
        args.ring_timeout,
        args.scenario,
    )
    return any(x is not None for x in given)


def _main_engine(args: argparse.Namespace) -> int:
    """``--engine``: each policy through the pacer-only simulator and through the production engine."""
    wanted = ("predictive", "progressive") if args.policy == "all" else args.policy.split(",")
    policies = tuple(p.strip() for p in wanted if p.strip())
    for name in policies:
        if name not in ENGINE_POLICIES:
            print(
                f"the engine runs the campaign modes {', '.join(ENGINE_POLICIES)}; not {name!r}",
                file=sys.stderr,
            )
            return 2
    single = _is_single(args)
    scenarios = _with_day_length([_single_scenario(args)] if single else engine_grid(), args.day_hours)
    days = args.days or 2
    tasks: list[Task] = [
        (sc, pol, days, args.seed, args.ratio, engine)
        for sc in scenarios
        for pol in policies
        for engine in (False, True)
    ]
    started = time.perf_counter()
    results = run_all(tasks, args.workers, progress=not args.json)
    report: dict[str, Any] = {"days": days, "seed": args.seed, "cap": ABANDON_CAP, "scenarios": {}}
    for sc in scenarios:
        got = results.get(sc.name, {})
        report["scenarios"][sc.name] = {
            "scenario": asdict(sc),
            "policies": {p: got[p] for p in policies if p in got},
            "engine": {p: got["engine:" + p] for p in policies if "engine:" + p in got},
        }
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    if single and args.json:
        entry = report["scenarios"][scenarios[0].name]
        out = {
            p: {**entry["engine"][p], "pacer_only": {k: entry["policies"][p][k] for k in ENGINE_KEYS}}
            for p in policies
        }
        json.dump(out, sys.stdout, indent=2, sort_keys=True)
        print()
        return 0
    print(format_engine_table(report))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "pacing_engine_" + (scenarios[0].name if single else "grid")
    json_path = args.out / f"{stem}.json"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True))
    print(f"\nwrote {json_path} ({report['wall_seconds']} s, {days} days per run)")
    if args.json:
        json.dump(report, sys.stdout, indent=2, sort_keys=True)
        print()
    return 0


def _replay(path: Path, *, plot_it: bool) -> int:
    report = json.loads(path.read_text())
    if any("engine" in e for e in report["scenarios"].values()):
        print(format_engine_table(report))
        return 0
    print(format_table(report))
    if plot_it:
        plot(report, path.with_suffix(".png"))
        print(f"wrote {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
