"""Benchmark a full load at several sizes: time per stage, peak memory, quality, plain Splink.

    .venv/bin/python bench/run_bench.py --sizes 100000 300000 1000000 --out bench/results

For each N: generate N children (timed), run `teumtem run` in a child process (peak RSS from the
kernel's accounting of that child), read the stage timings the load reports, evaluate against the
truth, and time plain Splink (generic comparisons, connected components) on the same standardised
records. Writes `<out>/bench.json`, `<out>/bench.md` and `<out>/stages.png`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def _child(code: str) -> tuple[dict, float, float]:
    """Run python code in a fresh process; return its JSON stdout, wall seconds and peak RSS GiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"benchmark step failed (rc={proc.returncode})")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    last = [line for line in proc.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last), wall, max(peak, before) / 1024 / 1024


def bench_one(n: int, out: Path, seed: int) -> dict:
    work = out / f"n{n}"
    gen, gen_wall, _ = _child(
        "import json; from sources.generator import generate; "
        f"r = generate({n}, seed={seed}, out_dir={str(work)!r}, months=1); "
        "print(json.dumps({'counts': getattr(r, 'counts', {})}))"
    )
    load, load_wall, load_rss = _child(
        "import json; from pathlib import Path; from pipelines.runner import run_load; "
        f"s = run_load(Path({str(work / 'incoming')!r}), Path({str(work / 'store')!r}), progress=lambda m: None); "
        "print(json.dumps({'stages': s.stages, 'seconds': s.seconds}, default=str))"
    )
    quality, _, _ = _child(
        "import json; from pathlib import Path; from pipelines.runner import evaluate_store; "
        f"r = evaluate_store(Path({str(work / 'store')!r}), Path({str(work / 'truth')!r})); "
        "print(json.dumps(r.metrics, default=float))"
    )
    plain, plain_wall, plain_rss = _child(
        "import json, time; from pathlib import Path; from pipelines.runner import plain_splink_on_store; "
        f"print(json.dumps(plain_splink_on_store(Path({str(work / 'store')!r}), Path({str(work / 'truth')!r})), default=float))"
    )
    return {
        "children": n,
        "source_rows": gen.get("counts", {}),
        "generate_s": round(gen_wall, 1),
        "load_wall_s": round(load_wall, 1),
        "load_peak_rss_gib": round(load_rss, 2),
        "stages": load["stages"],
        "quality": quality,
        "plain_splink": plain,
        "plain_splink_wall_s": round(plain_wall, 1),
    }


def stage_seconds(result: dict) -> dict[str, float]:
    """Seconds per stage, months and sources summed (ingest, standardise, link, golden, publish)."""
    total: dict[str, float] = {}
    for name, meta in result["stages"].items():
        stage = name.split("/")[0] if not name.startswith("linkage") else name.split(" ")[0]
        total[stage] = total.get(stage, 0.0) + float(meta.get("seconds", 0.0))
    return total


def write_outputs(results: list[dict], out: Path) -> None:
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str))
    lines = [
        "| N | generate s | load wall s | peak RSS GiB | "
        + " | ".join(sorted(stage_seconds(results[0])))
        + " | plain Splink s | F1 | plain F1 | twins merged |",
        "|---" * (9 + len(stage_seconds(results[0]))) + "|",
    ]
    for r in results:
        st = stage_seconds(r)
        lines.append(
            f"| {r['children']:,} | {r['generate_s']} | {r['load_wall_s']} | {r['load_peak_rss_gib']} | "
            + " | ".join(f"{st[k]:.1f}" for k in sorted(st))
            + f" | {r['plain_splink'].get('link_seconds', float('nan')):.1f}"
            + f" | {r['quality'].get('f1', float('nan')):.4f} | {r['plain_splink'].get('f1', float('nan')):.4f}"
            + f" | {r['quality'].get('twins_merged')} |"
        )
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot (pip install matplotlib)")
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    sizes = [r["children"] for r in results]
    for stage in sorted(stage_seconds(results[0])):
        ax.plot(sizes, [stage_seconds(r).get(stage, 0) for r in results], marker="o", label=stage)
    ax.set_xlabel("children")
    ax.set_ylabel("seconds")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title("teumtem: time per stage vs N")
    fig.tight_layout()
    fig.savefig(out / "stages.png", dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        print(f"benchmarking {n:,} children ...", flush=True)
        results.append(bench_one(n, out, args.seed))
        write_outputs(results, out)
    print(f"results: {out / 'bench.json'}, {out / 'bench.md'}")


if __name__ == "__main__":
    main()
