"""ID-based baselines (GRU4Rec, SASRec, BERT4Rec) + popularity / random on the fixed test candidates.

Reproduce (ml-100k with posters, 3 seeds, trained to convergence with patience 60):
    .venv/bin/python bench/id_baselines.py --image-dir ../shared/data/ml-100k-posters/images --seeds 0 1 2
Each (model, seed) result is appended to bench/results/id_baselines.jsonl as it finishes (a rerun skips
finished ones); bench/results/id_baselines.md is the summary table (mean ± std over seeds).
"""
import argparse, json, platform, time
from pathlib import Path

import numpy as np

from speeder.data import load_dataset
from speeder.sequential import SeqRecConfig, evaluate_seqrec, fit_seqrec, hr_at_1, popularity_scores

ap = argparse.ArgumentParser()
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--image-dir', default=None)
ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
ap.add_argument('--models', nargs='+', default=['gru4rec', 'sasrec', 'bert4rec'])
ap.add_argument('--epochs', type=int, default=400)
ap.add_argument('--patience', type=int, default=60)
ap.add_argument('--threads', type=int, default=1, help='CPU threads each model trains on (fit_seqrec; 1: the same models whatever the core count)')
ap.add_argument('--out', default='bench/results/id_baselines')
a = ap.parse_args()
out = Path(a.out + '.jsonl'); out.parent.mkdir(parents=True, exist_ok=True)
done = {(r['model'], r['seed']) for r in map(json.loads, out.read_text().splitlines())} if out.exists() else set()

def record(**r):
    r.update(dataset=a.dataset, images=a.image_dir is not None, host=platform.node(), threads=a.threads)
    with out.open('a') as f: f.write(json.dumps(r) + '\n')
    print(json.dumps(r), flush=True)

for seed in a.seeds:
    ds = load_dataset(a.dataset, image_dir=a.image_dir, seed=seed, verbose=False)
    if ('popularity', seed) not in done:
        record(model='popularity', seed=seed, test_hr1=hr_at_1(popularity_scores(ds, ds.test), ds.test.labels),
               valid_hr1=hr_at_1(popularity_scores(ds, ds.valid), ds.valid.labels), n_test=len(ds.test))
    for m in a.models:
        if (m, seed) in done: continue
        t = time.time()
        model, hist = fit_seqrec(ds, SeqRecConfig(model=m, epochs=a.epochs, patience=a.patience, seed=seed), progress=False, threads=a.threads)
        best = max(hist, key=lambda h: h['valid_hr1'])
        record(model=m, seed=seed, test_hr1=evaluate_seqrec(model, ds.test), valid_hr1=best['valid_hr1'], best_epoch=best['epoch'],
               epochs_run=len(hist), train_s=round(time.time() - t, 1), n_test=len(ds.test))

rows = [json.loads(l) for l in out.read_text().splitlines()]
lines = ['| model | test HR@1 (mean ± std) | valid HR@1 | seeds | epochs run (best) |', '|---|---|---|---|---|',
         f'| random | 0.200 (expected) | | | |']
for m in ['popularity'] + a.models:
    rs = [r for r in rows if r['model'] == m]
    if not rs: continue
    t = np.array([r['test_hr1'] for r in rs]); v = np.array([r['valid_hr1'] for r in rs])
    ep = ', '.join(f"{r.get('epochs_run', '-')} ({r.get('best_epoch', '-')})" for r in rs)
    lines.append(f'| {m} | {t.mean():.3f} ± {t.std():.3f} | {v.mean():.3f} | {len(rs)} | {ep} |')
Path(a.out + '.md').write_text(f'ID-based baselines on {a.dataset} (images: {a.image_dir is not None}), fixed test candidates '
                               f'(1 target + 4 random non-interacted items).\n\nReproduce: see the docstring of bench/id_baselines.py\n\n' + '\n'.join(lines) + '\n')
print('\n'.join(lines))
