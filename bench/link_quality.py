"""Linkage quality and speed on simulated children: Thai-aware model vs two baselines.

    .venv/bin/python bench/link_quality.py --children 100000 --seed 0

Simulates standardised PERSON records (tests/linkage_fixtures.py), then times train / predict /
cluster of the model, scores the clusters against the truth (pairwise and B-cubed P/R/F1, twins
merged), does the same for the exact-PID and plain-Splink baselines, and finally times the
clustering loop alone on 1M edges with no threshold (every scored candidate pair, padded with
random record pairs to 1M), the worst case for conflict checks. Prints one JSON document and
writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkage.baselines import exact_pid_baseline, plain_splink_baseline  # noqa: E402
from linkage.cluster import cluster_records  # noqa: E402
from linkage.evaluate import evaluate  # noqa: E402
from linkage.model import train  # noqa: E402
from linkage.predict import predict  # noqa: E402
from tests.linkage_fixtures import simulate_people  # noqa: E402

KEEP = (
    "precision",
    "recall",
    "f1",
    "bcubed_precision",
    "bcubed_recall",
    "bcubed_f1",
    "twins_merged",
    "twin_pairs",
    "clusters",
    "cluster_size_max",
)


def _timed(label: str, timings: dict, func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    timings[label] = round(time.perf_counter() - start, 2)
    print(f"  {label}: {timings[label]} s", file=sys.stderr, flush=True)
    return result


def _scores(clusters, truth) -> dict:
    full = evaluate(clusters, truth)
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in full.items() if k in KEEP}


def _million_edges(persons, scored, seed: int) -> pd.DataFrame:
    """Every scored candidate pair, padded to 1,000,000 with random pairs at probability 0."""
    edges = scored.nlargest(1_000_000, "match_probability")
    missing = 1_000_000 - len(edges)
    if missing > 0:
        ids = (persons["source"] + "|" + persons["record_key"]).to_numpy()
        rng = np.random.default_rng(seed)
        a, b = rng.integers(0, len(ids), (2, missing))
        a, b = np.minimum(a, b), np.maximum(a, b)
        keep = a != b
        pad = pd.DataFrame(
            {"unique_id_l": ids[a[keep]], "unique_id_r": ids[b[keep]], "match_probability": 0.0}
        )
        edges = pd.concat([edges[pad.columns], pad], ignore_index=True)
    return edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-pairs", type=float, default=5e6, help="u-sampling pairs")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "link_quality.json"))
    args = parser.parse_args()
    timings: dict[str, float] = {}
    print(f"simulating {args.children:,} children ...", file=sys.stderr)
    persons, truth = _timed("simulate", timings, simulate_people, args.children, args.seed)
    artefact = _timed(
        "model_train", timings, train, persons, seed=args.seed, max_pairs=args.max_pairs
    )
    pairs = _timed("model_predict", timings, predict, persons, artefact, threshold=0.2)
    result = _timed("model_cluster", timings, cluster_records, persons, pairs, 0.5)
    report = {
        "children": args.children,
        "records": len(persons),
        "seed": args.seed,
        "cpu_count": os.cpu_count(),
        "model_version": artefact.model_version,
        "pairs_scored_ge_0.2": len(pairs),
        "conflicts": result.conflicts["reason"].value_counts().to_dict(),
        "review_candidates": len(result.review_candidates),
        "model": _scores(result.clusters, truth),
    }
    timings["model_total"] = round(sum(timings[k] for k in timings if k.startswith("model_")), 2)
    report["exact_pid"] = _scores(_timed("exact_pid", timings, exact_pid_baseline, persons), truth)
    plain = _timed(
        "plain_splink_total",
        timings,
        plain_splink_baseline,
        persons,
        args.seed,
        max_pairs=args.max_pairs,
    )
    report["plain_splink"] = _scores(plain, truth)
    edges = _million_edges(persons, predict(persons, artefact, threshold=0.0), args.seed)
    stress = _timed("cluster_1m_edges_no_threshold", timings, cluster_records, persons, edges, 0)
    report["stress_edges"] = len(edges)
    report["stress_edges_scored"] = int((edges["match_probability"] > 0).sum())
    report["stress_conflicts"] = len(stress.conflicts)
    report["timings_s"] = timings
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
