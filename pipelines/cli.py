"""The `teumtem` command: generate extracts, run a load, evaluate, review, audit."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sources.base import ExtractError


def _say(msg: str) -> None:
    print(msg, flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from sources.generator import generate

    start = time.perf_counter()
    result = generate(
        args.children, seed=args.seed, out_dir=args.out, months=args.months, progress=_say
    )
    _say(
        f"generated {args.children:,} children over {args.months} month(s) in "
        f"{time.perf_counter() - start:.1f} s"
    )
    _say(f"  extracts: {Path(args.out) / 'incoming'}")
    _say(f"  truth:    {Path(args.out) / 'truth'}")
    for source, n in getattr(result, "counts", {}).items():
        _say(f"  {source:<16} {n:>10,} rows")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runner import run_load

    summary = run_load(
        Path(args.incoming),
        Path(args.store),
        progress=_say,
        retrain=args.retrain,
        full_relink=getattr(args, "full_relink", False),
    )
    _say(summary.text())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.dir)
    if not (out / "incoming").exists() or args.regenerate:
        cmd_generate(
            argparse.Namespace(
                children=args.children, seed=args.seed, out=str(out), months=args.months
            )
        )
    rc = cmd_run(
        argparse.Namespace(incoming=str(out / "incoming"), store=str(out / "store"), retrain=False)
    )
    if rc == 0 and (out / "truth").exists():
        cmd_evaluate(argparse.Namespace(store=str(out / "store"), truth=str(out / "truth")))
    return rc


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.runner import evaluate_store

    _say(evaluate_store(Path(args.store), Path(args.truth)).text())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from pipelines.runner import store_status

    _say(store_status(Path(args.store)))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from pipelines.runner import review_command

    _say(review_command(Path(args.store), args))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from pipelines.runner import audit_command

    _say(audit_command(Path(args.store), args))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="teumtem", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write synthetic extracts of all five agencies + truth")
    g.add_argument("--children", type=int, default=30_000)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--out", required=True)
    g.add_argument("--months", type=int, default=1)
    g.set_defaults(fn=cmd_generate)

    r = sub.add_parser("run", help="load every extract in --incoming and publish to --store")
    r.add_argument("--incoming", required=True)
    r.add_argument("--store", required=True)
    r.add_argument("--retrain", action="store_true", help="retrain the linkage model deliberately")
    r.add_argument(
        "--full-relink",
        action="store_true",
        help="score and cluster every record again (default: only new or changed records)",
    )
    r.set_defaults(fn=cmd_run)

    d = sub.add_parser("demo", help="generate a Lat Krabang-sized sample and run a full load")
    d.add_argument("--dir", default="demo_data")
    d.add_argument("--children", type=int, default=30_000)
    d.add_argument("--months", type=int, default=1)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--regenerate", action="store_true")
    d.set_defaults(fn=cmd_demo)

    e = sub.add_parser("evaluate", help="linkage quality of a store against a generator's truth")
    e.add_argument("--store", required=True)
    e.add_argument("--truth", required=True, help="the generator's truth folder")
    e.set_defaults(fn=cmd_evaluate)

    s = sub.add_parser("status", help="last runs and the published version")
    s.add_argument("--store", required=True)
    s.set_defaults(fn=cmd_status)

    rv = sub.add_parser("review", help="clerical review of uncertain pairs")
    rv.add_argument("--store", required=True)
    rv.add_argument("action", choices=["list", "show", "decide"])
    rv.add_argument("--pair", nargs=2, metavar=("UID_L", "UID_R"))
    rv.add_argument("--decision", choices=["same", "different"])
    rv.add_argument("--reviewer")
    rv.add_argument("--reason", default="")
    rv.add_argument("--limit", type=int, default=20)
    rv.set_defaults(fn=cmd_review)

    a = sub.add_parser("audit", help="answer an auditor's questions about the store")
    a.add_argument("--store", required=True)
    a.add_argument("question", choices=["child", "run", "columns", "runs"])
    a.add_argument("subject", nargs="?", help="child id, run id or source agency")
    a.set_defaults(fn=cmd_audit)
    return p


def main(argv: list[str] | None = None) -> int:
    import logging

    # Splink logs EM training notes at WARNING (levels unseen in a sample); the load's own
    # summary reports what an operator needs, so keep the terminal readable.
    logging.getLogger("splink").setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except ExtractError as err:
        # An expected failure: say what, where and what to do, without a traceback.
        print(f"load failed: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the published store is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
