"""Paired comparison of two methods on the same test samples (the same seed: the same test set), from runs' test_predictions.json.

    .venv/bin/python bench/paired.py paper-seqres-long paper-accum1-w05-s3x8 [--seeds 0 1 2] [--key answer]
    .venv/bin/python bench/paired.py paper-seqres-long popularity

A and B are train_runs tags (runs/<dataset>/<tag>-seed<k>/, or its committed copy in
bench/results/train_runs_records/<dataset>/), or `popularity` (the baseline's pick on the same candidates, the dataset loaded as the other side's run loaded it: the
candidate most frequent in the training sequences; a tie is a miss, as in its HR@1). --key is the decoder compared:
`answer` (default: the paper's free generation; an invalid answer is a miss), `guided_answer`, `pointer_pick`,
`letter_pick`. Per seed: both hit rates, their difference, how many samples only A / only B got right, and the exact
two-sided sign test on those (McNemar). Over the seeds: the mean difference with a paired bootstrap 95 % interval
(samples resampled within each seed, the seeds' differences averaged): the test samples' noise for these trained
runs, not training's seed-to-seed spread, which the per-seed differences show. Rows go to bench/results/paired.md, one per
(A, B, key), replaced when rerun.
"""
import argparse, json, math
from pathlib import Path

import numpy as np

RECORDS = Path('bench/results/train_runs_records')
ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('a'); ap.add_argument('b')
ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--key', default='answer', choices=['answer', 'guided_answer', 'pointer_pick', 'letter_pick'])
ap.add_argument('--boot', type=int, default=10000)
ap.add_argument('--out', default='bench/results/paired.md')
a = ap.parse_args()


def run_file(tag, seed, f):
    name, ds = f'{tag}-seed{seed}', a.dataset.replace(':', '_')
    return next((d / ds / name / f for d in (Path('runs'), RECORDS) if (d / ds / name / f).exists()), None)


def hits(tag, seed, other):
    "Per test sample: 1 if the method's pick is the target; and the targets (to check that both sides read one test set)."
    if tag == 'popularity':   # on the dataset exactly as the other side's run loaded it (its image folder and options decide the catalogue)
        from speeder.data import load_dataset
        from speeder.sequential import popularity_scores
        cfg = json.loads(run_file(other, seed, 'experiment.json').read_text())
        ds = load_dataset(cfg['dataset'], image_dir=cfg['image_dir'], n_max=cfg['model']['n_max'], seed=seed, verbose=False, **cfg['options'])
        s = popularity_scores(ds, ds.test); top = s.max(1, keepdims=True)
        pick = np.where((s == top[:, 0:1]).sum(1) == 1, s.argmax(1), -1)
        return (pick == ds.test.labels).astype(int), np.asarray(ds.test.labels)
    f = run_file(tag, seed, 'test_predictions.json')
    if f is None: raise SystemExit(f'No test_predictions.json for {tag}-seed{seed} in runs/ or {RECORDS}/: finish the run, or make the file with bench/test_predictions.py <its run folder>.')
    p = json.loads(f.read_text())
    if a.key not in p: raise SystemExit(f'{f} has no {a.key!r} (it has {[k for k in p if k != "target"]}).')
    return (np.asarray(p[a.key]) == np.asarray(p['target'])).astype(int), np.asarray(p['target'])


def sign_test(k, n):
    "Exact two-sided binomial test of k successes in n at p = 1/2 (McNemar on the discordant pairs)."
    if n == 0: return 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


rng = np.random.default_rng(0); rows, boots = [], []
for seed in a.seeds:
    (ha, ta), (hb, tb) = hits(a.a, seed, a.b), hits(a.b, seed, a.a)
    if len(ta) != len(tb) or (ta != tb).any(): raise SystemExit(f'seed {seed}: {a.a} and {a.b} were tested on different test sets (targets differ); compare runs of the same protocol.')
    only_a, only_b = int(((ha == 1) & (hb == 0)).sum()), int(((ha == 0) & (hb == 1)).sum())
    rows.append(dict(seed=seed, n=len(ha), a=ha.mean(), b=hb.mean(), d=ha.mean() - hb.mean(), only_a=only_a, only_b=only_b, p=sign_test(only_a, only_a + only_b)))
    idx = rng.integers(0, len(ha), (a.boot, len(ha))); boots.append(ha[idx].mean(1) - hb[idx].mean(1))
boot = np.mean(boots, 0); lo, hi = np.quantile(boot, [0.025, 0.975])
d = np.mean([r['d'] for r in rows])
per_seed = '; '.join(f"seed {r['seed']}: {r['a']:.3f} vs {r['b']:.3f} ({r['d']:+.3f}; only A {r['only_a']}, only B {r['only_b']}, p = {r['p']:.3g})" for r in rows)
row = (f"| {a.a} | {a.b} | {a.key} | {','.join(map(str, a.seeds))} | {sum(r['n'] for r in rows)} | {np.mean([r['a'] for r in rows]):.3f} | {np.mean([r['b'] for r in rows]):.3f} | "
       f"**{d:+.3f}** [{lo:+.3f}, {hi:+.3f}] | {per_seed} |")
print(row)
out = Path(a.out); head = ['Paired comparisons on the same test samples (bench/paired.py; the command per row: `.venv/bin/python bench/paired.py A B --key KEY --seeds SEEDS`). '
                           'Difference = A − B in hit rate, mean over seeds, with a paired bootstrap 95 % interval (10,000 resamples within each seed); p: exact sign test on the samples only one of them got right (per seed). '
                           'Interval and p cover the test samples\' noise for these trained runs, not the spread between training seeds (the per-seed differences show that).', '',
                           '| A | B | key | seeds | samples | A | B | A − B [95 % CI] | per seed |', '|---|---|---|---|---|---|---|---|---|']
old = [l for l in out.read_text().splitlines()[len(head):] if l.startswith('|')] if out.exists() else []
keep = [l for l in old if l.split(' | ')[:3] != row.split(' | ')[:3]]
out.write_text('\n'.join(head + sorted(keep + [row])) + '\n')
