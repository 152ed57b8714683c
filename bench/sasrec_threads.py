"""Does the SASRec behind E_s depend on the CPU thread count it was trained with?

    .venv/bin/python bench/sasrec_threads.py --seed 1 --threads 1 2

Trains the SASRec that nbs/train.ipynb uses as E_s (ml-100k with posters when present, n_max 10, SeqRecConfig(model='sasrec',
seed=seed)) once per thread count, from a process that itself has 2 threads (as the README's main command on a 2-core
machine), and prints each E_s fingerprint (`speeder.experiment.fingerprint`, as in a run's metrics.json), the epochs
early stopping ran, and valid / test HR@1 on the fixed candidates. Nothing is read from or written to the feature cache.
Writes bench/results/sasrec_threads.md (one row per thread count, with the command).
"""
import argparse, sys, time
from pathlib import Path

import torch

from speeder.data import find_posters, load_dataset
from speeder.experiment import fingerprint
from speeder.sequential import SeqRecConfig, evaluate_seqrec, fit_seqrec

ap = argparse.ArgumentParser()
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--threads', type=int, nargs='+', default=[1, 2])
ap.add_argument('--out', default='bench/results/sasrec_threads.md')
a = ap.parse_args()

ds = load_dataset(a.dataset, image_dir=find_posters() if a.dataset == 'ml-100k' else None, n_max=10, seed=a.seed, verbose=False)
torch.set_num_threads(2)
rows = []
for n in a.threads:
    t = time.time()
    m, hist = fit_seqrec(ds, SeqRecConfig(model='sasrec', seed=a.seed), progress=False, device='cpu', threads=n)
    rows.append((n, fingerprint(m.item_embeddings()), len(hist), evaluate_seqrec(m, ds.valid), evaluate_seqrec(m, ds.test), time.time() - t))
    print(*rows[-1], flush=True)
lines = [f'`python bench/{Path(__file__).name} {" ".join(sys.argv[1:])}` (dataset {a.dataset}, seed {a.seed}; the caller has 2 threads)', '',
         '| training threads | E_s fingerprint | epochs (early stopping) | valid HR@1 | test HR@1 | seconds (shared machine) |', '|---|---|---|---|---|---|']
lines += [f'| {n} | `{fp}` | {ep} | {v:.3f} | {te:.3f} | {s:.0f} |' for n, fp, ep, v, te, s in rows]
Path(a.out).write_text('\n'.join(lines) + '\n')
print('\n'.join(lines))
