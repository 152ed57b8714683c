"""Paired comparison of two methods on the same test samples (the same seed: the same test set), from runs' test_predictions.json.

    .venv/bin/python bench/paired.py paper-seqres-long paper-accum1-w05-s3x8 [--seeds 0 1 2] [--key answer]
    .venv/bin/python bench/paired.py paper-seqres-long popularity
    .venv/bin/python bench/paired.py best-long sasrec

A and B are train_runs tags (runs/<dataset>/<tag>-seed<k>/, or its committed copy in
bench/results/train_runs_records/<dataset>/), or `popularity` (the baseline's pick on the same candidates, the
dataset loaded as the other side's run loaded it: the candidate most frequent in the training sequences; a tie is a
miss, as in its HR@1), or `sasrec` (the frozen SASRec whose item embeddings are the run's E_s, from this machine's
feature cache, read only: its E_s must have the run's fingerprint, and its hits must give the run's sasrec_test_hr1;
another machine's cache is refused rather than compared). Each side's hits must reproduce its run's metrics.json number, or nothing is compared. --key is the decoder compared:
`answer` (default: the paper's free generation; an invalid answer is a miss), `guided_answer`, `pointer_pick`,
`letter_pick`. Per seed: both hit rates, their difference, how many samples only A / only B got right, and the exact
two-sided sign test on those (McNemar). Over the seeds: the mean difference with a paired bootstrap 95 % interval
(samples resampled within each seed, the seeds' differences averaged): the test samples' noise for these trained
runs, not training's seed-to-seed spread, which the per-seed differences show. Rows go to bench/results/paired.md, one per
(dataset, A, B, key, seeds), replaced when rerun.
"""
import argparse, json, math
from pathlib import Path

import numpy as np

from records import finished

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('a'); ap.add_argument('b')
ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--key', default='answer', choices=['answer', 'guided_answer', 'pointer_pick', 'letter_pick'])
ap.add_argument('--boot', type=int, default=10000, help='bootstrap resamples')
ap.add_argument('--out', default='bench/results/paired.md')
a = ap.parse_args()


METRIC = dict(answer='vhr1', guided_answer='guided_vhr1', pointer_pick='pointer_hr1', letter_pick='letter_hr1')   # the metrics.json number each key's hits must give


def run_json(tag, seed, f):
    d = finished(a.dataset, f'{tag}-seed{seed}')
    if d is None or not (d / f).exists():
        raise SystemExit(f'No {f} for {tag}-seed{seed} (runs/{a.dataset}/ or its record): finish the run'
                         + (', or make the file with bench/test_predictions.py <its run folder>.' if f == 'test_predictions.json' else '.'))
    return json.loads((d / f).read_text())


def popularity(ds, seed, m):
    from speeder.sequential import popularity_scores
    return popularity_scores(ds, ds.test)


def sasrec(ds, seed, m):
    "The frozen SASRec behind the run's E_s (this machine's cache, read only, with its weights; its E_s must be the run's), reading each test history's last max_len items."
    import torch
    from speeder.encoders import sequential_features
    from speeder.experiment import ExperimentConfig, fingerprint
    from speeder.sequential import SASRec, SeqRecConfig, eval_histories
    try: f = sequential_features(ds, SeqRecConfig(model='sasrec', seed=seed, epochs=m.get('config', {}).get('seqrec_epochs', ExperimentConfig.seqrec_epochs)), weights=True, progress=False, train=False)   # the run's SASRec settings
    except FileNotFoundError as e: raise SystemExit(f'sasrec, seed {seed}: {e}')
    run_fp = m.get('features', {}).get('sequential')
    if run_fp != fingerprint(f.x): raise SystemExit(f'sasrec, seed {seed}: this machine\'s cached E_s (fingerprint {fingerprint(f.x)}) is not the run\'s ({run_fp}): its SASRec is another model.')
    model = SASRec(ds.n_items, SeqRecConfig(**f.info['cfg'])); model.load_state_dict(f.weights); model.eval()
    with torch.no_grad(): return model.score(eval_histories(ds.test, model.cfg.max_len), ds.test.candidates).float().numpy()


ID_SIDES = dict(popularity=popularity, sasrec=sasrec)   # no-LLM sides, scored here on the other side's test set


def hits(tag, seed, other):
    """Per test sample: 1 if the method's pick is the target; and the targets. The hits must give the run's own
    metrics.json number (popularity / sasrec: the other side's run's popularity_test_hr1 / sasrec_test_hr1), so the file is that run's test set."""
    if tag in ID_SIDES:   # on the dataset as the other side's run loaded it (whether it had images decides the catalogue)
        from speeder.data import find_posters, load_dataset
        if other in ID_SIDES: raise SystemExit(f'{tag} against {other}: give a train_runs tag on one side.')
        cfg, m = run_json(other, seed, 'experiment.json'), run_json(other, seed, 'metrics.json')
        images = cfg['image_dir'] if cfg['image_dir'] in (None, '') or Path(cfg['image_dir']).exists() else find_posters()   # the run's folder, or this checkout's posters
        if cfg['image_dir'] and images is None: raise SystemExit(f'{other}-seed{seed} used images ({cfg["image_dir"]}), which this machine lacks: its catalogue cannot be rebuilt here.')
        ds = load_dataset(cfg['dataset'], image_dir=images, n_max=cfg['model']['n_max'], seed=seed, verbose=False, **cfg['options'])
        s, want = ID_SIDES[tag](ds, seed, m), m[f'{tag}_test_hr1']
        if want is None: raise SystemExit(f'{other}-seed{seed} has no {tag}_test_hr1 (a run without E_s): compare {tag} against a run that has it.')
        pick = np.where((s == s.max(1, keepdims=True)).sum(1) == 1, s.argmax(1), -1)   # a tie is a miss, as in hr_at_1
        h, t = (pick == ds.test.labels).astype(int), np.asarray(ds.test.labels)
    else:
        p, m = run_json(tag, seed, 'test_predictions.json'), run_json(tag, seed, 'metrics.json')
        if a.key not in p: raise SystemExit(f'{tag}-seed{seed}: test_predictions.json has no {a.key!r} (it has {[k for k in p if k != "target"]}).')
        h, t, want = (np.asarray(p[a.key]) == np.asarray(p['target'])).astype(int), np.asarray(p['target']), m['test'][METRIC[a.key]]
    if not math.isclose(h.mean(), want, abs_tol=1e-6): raise SystemExit(f'{tag} seed {seed}: these hits give {h.mean():.4f}, its metrics.json {want:.4f}: not the same test set.')
    return h, t


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
row = (f"| {a.dataset} | {a.a} | {a.b} | {a.key} | {','.join(map(str, a.seeds))} | {sum(r['n'] for r in rows)} | {np.mean([r['a'] for r in rows]):.3f} | {np.mean([r['b'] for r in rows]):.3f} | "
       f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}] | {per_seed} |")
print(row)
out = Path(a.out); head = ['Paired comparisons on the same test samples (bench/paired.py; the command per row: `.venv/bin/python bench/paired.py A B --key KEY --seeds SEEDS --dataset DATASET`). '
                           f'Difference = A − B in hit rate, mean over seeds, with a paired bootstrap 95 % interval ({a.boot:,} resamples within each seed); p: exact sign test on the samples only one of them got right (per seed). '
                           'Interval and p cover the test samples\' noise for these trained runs, not the spread between training seeds (the per-seed differences show that).', '',
                           '| dataset | A | B | key | seeds | samples | A | B | A − B [95 % CI] | per seed |', '|---|---|---|---|---|---|---|---|---|---|']
old = [l for l in out.read_text().splitlines()[len(head):] if l.startswith('| ')] if out.exists() else []   # the rows below the header
keep = [l for l in old if l.split(' | ')[:5] != row.split(' | ')[:5]]   # one row per dataset, A, B, key and seeds
out.write_text('\n'.join(head + sorted(keep + [row])) + '\n')
