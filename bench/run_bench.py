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


def bench_one(n: int, out: Path, seed: int, reuse: bool = False) -> dict:
    work = out / f"n{n}"
    if reuse and (work / "incoming").is_dir() and (work / "truth").is_dir():
        gen, gen_wall = {"counts": {}, "reused": True}, float("nan")
    else:
        gen, gen_wall, _ = _child(
            "import json; from sources.generator import generate; "
            f"r = generate({n}, seed={seed}, out_dir={str(work)!r}, months=1); "
            "print(json.dumps({'counts': getattr(r, 'counts', {})}))"
        )
    import shutil

    shutil.rmtree(work / "store", ignore_errors=True)  # every run is a first, full load
    load, load_wall, load_rss = _child(
        "import json; from pathlib import Path; from pipelines.runner import run_load; "
        f"s = run_load(Path({str(work / 'incoming')!r}), Path({str(work / 'store')!r}), "
        "progress=lambda m: None); "
        "print(json.dumps({'stages': s.stages, 'seconds': s.seconds}, default=str))"
    )
    (out / f"n{n}_load.json").write_text(json.dumps(load, default=str))
    quality, _, _ = _child(
        "import json; from pathlib import Path; from pipelines.runner import evaluate_store; "
        f"r = evaluate_store(Path({str(work / 'store')!r}), Path({str(work / 'truth')!r})); "
        "print(json.dumps(r.metrics, default=float))"
    )
    plain, plain_wall, plain_rss = _child(
        "import json, time; from pathlib import Path; "
        "from pipelines.runner import plain_splink_on_store; "
        f"r = plain_splink_on_store(Path({str(work / 'store')!r}), Path({str(work / 'truth')!r})); "
        "print(json.dumps(r, default=float))"
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


STAGES = (
    "ingest",
    "standardise",
    "link: read+prepare",
    "link: train",
    "link: predict",
    "link: cluster",
    "link: ids+state",
    "golden",
    "publish",
)


def stage_seconds(result: dict) -> dict[str, float]:
    """Seconds per stage (months and sources summed), the link stage split into its steps."""
    total = dict.fromkeys(STAGES, 0.0)
    for name, meta in result["stages"].items():
        seconds = float(meta.get("seconds", 0.0))
        if name.startswith("raw/"):
            total["ingest"] += seconds
        elif name.startswith("standard/"):
            total["standardise"] += seconds
        elif name.startswith("linkage/linked_records"):
            steps = {
                k.removeprefix("seconds_"): float(v)
                for k, v in meta.items()
                if k.startswith("seconds_")
            }
            total["link: read+prepare"] += steps.get("read", 0.0) + steps.get("prepare", 0.0)
            total["link: train"] += steps.get("train", 0.0)
            total["link: predict"] += steps.get("predict", 0.0)
            total["link: cluster"] += steps.get("cluster", 0.0)
            after = sum(steps.get(k, 0.0) for k in ("registry", "ids", "state", "history"))
            total["link: ids+state"] += seconds - sum(steps.values()) + after
        elif name.startswith("linkage/golden_child"):
            total["golden"] += seconds
        elif name.startswith("store/"):
            total["publish"] += seconds
    return total


def link_seconds(result: dict) -> float:
    return sum(
        float(m.get("seconds", 0.0))
        for k, m in result["stages"].items()
        if k.startswith("linkage/linked_records")
    )


def write_outputs(results: list[dict], out: Path) -> None:
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str))
    lines = [
        "| N | records | generate s | load wall s | peak RSS GiB | "
        + " | ".join(STAGES)
        + " | link s | plain Splink s | link / plain | F1 | plain F1 | twins merged |",
        "|---" * (12 + len(STAGES)) + "|",
    ]
    for r in results:
        st = stage_seconds(r)
        plain = r["plain_splink"].get("link_seconds", float("nan"))
        records = r["quality"].get("records", 0)
        lines.append(
            f"| {r['children']:,} | {records:,} | {r['generate_s']} | {r['load_wall_s']} "
            f"| {r['load_peak_rss_gib']} | "
            + " | ".join(f"{st[k]:.1f}" for k in STAGES)
            + f" | {link_seconds(r):.1f} | {plain:.1f} | {link_seconds(r) / plain:.2f}"
            + f" | {r['quality'].get('f1', float('nan')):.4f}"
            + f" | {r['plain_splink'].get('f1', float('nan')):.4f}"
            + f" | {r['quality'].get('twins_merged')} of {r['quality'].get('twin_pairs')} |"
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        lines.append(
            f"\nload wall ratio {last['children']:,} / {first['children']:,} children: "
            f"{last['load_wall_s'] / first['load_wall_s']:.2f} "
            f"(size ratio {last['children'] / first['children']:.0f})"
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
    for stage in STAGES:
        ax.plot(sizes, [stage_seconds(r).get(stage, 0) for r in results], marker="o", label=stage)
    ax.plot(sizes, [r["load_wall_s"] for r in results], "k--", marker="s", label="whole load")
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
    p.add_argument("--reuse", action="store_true", help="reuse extracts generated by a past run")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        print(f"benchmarking {n:,} children ...", flush=True)
        results.append(bench_one(n, out, args.seed, args.reuse))
        write_outputs(results, out)
    print(f"results: {out / 'bench.json'}, {out / 'bench.md'}")


if __name__ == "__main__":
    main()
