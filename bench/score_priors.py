"""The score priors alone (no LLM): what the best configuration's extras give before Speeder adds anything.

    .venv/bin/python bench/score_priors.py --seeds 0 1 2

Per seed, on the very data of nbs/train.ipynb (ml-100k with posters when present, n_max 10, the same SASRec as
E_s): HR@1 on valid and test of popularity (log training count), of SASRec reading only the prompt's history
(the last n_max items, as the 'sequential' prior does) and of their sum with weight 1 each (the priors'
starting point in the pointer head). And what the frozen features give by similarity alone, with no training at all:
the candidate whose feature vector (centred over the catalogue) has the highest cosine with the mean of the history's
(E_s, the MiniLM text features, the EfficientNet poster features): what an LLM could read off item tokens that keep
those features' geometry. Writes bench/results/score_priors.{json,md}.
"""
import argparse, json
from pathlib import Path

import numpy as np
import torch

from item_geometry import nearest_mean
from speeder.data import find_posters, load_dataset
from speeder.encoders import sequential_features, text_features, vision_features
from speeder.model import ScorePriors
from speeder.sequential import SeqRecConfig, hr_at_1, pad_left, train_counts

ap = argparse.ArgumentParser()
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
ap.add_argument('--n-max', type=int, default=10)
ap.add_argument('--out', default='bench/results/score_priors')
a = ap.parse_args()

rows = []
for seed in a.seeds:
    ds = load_dataset(a.dataset, image_dir=find_posters() if a.dataset == 'ml-100k' else None, n_max=a.n_max, seed=seed, verbose=False)
    seq = sequential_features(ds, SeqRecConfig(model='sasrec', seed=seed), weights=True)   # the E_s of nbs/train.ipynb (cached)
    pri = ScorePriors(('popularity', 'sequential'), ds.n_items, seq.info['cfg'])
    pri.set_sequential(seq.weights).set_popularity(train_counts(ds)).eval()
    near = {'E_s': seq.x, 'text features': text_features(ds).x}
    if any(ds.images): near['poster features'] = vision_features(ds).x   # (items without a poster have zero features)
    for name, split in [('valid', ds.valid), ('test', ds.test)]:
        hist = pad_left([split.history(i) for i in range(len(split))], a.n_max) - 1   # the last n_max items, -1 = padding
        cand = torch.as_tensor(np.asarray(split.candidates))
        parts = {}
        with torch.no_grad():
            for k in range(2):
                pri.w.data[:] = torch.eye(2)[k]; parts[pri.kinds[k]] = pri(hist, cand)
        parts['popularity + sequential'] = parts['popularity'] + parts['sequential']
        for prior, s in parts.items():
            rows.append(dict(dataset=a.dataset, seed=seed, split=name, prior=prior, hr1=hr_at_1(s, split.labels), n=len(split)))
        for k, X in near.items():
            rows.append(dict(dataset=a.dataset, seed=seed, split=name, prior=f'{k}: the candidate nearest the history\'s mean (cosine)', hr1=nearest_mean(X, split), n=len(split)))
    rows.append(dict(dataset=a.dataset, seed=seed, split='test', prior='SASRec, 50 items of history (E_s as reported)', hr1=seq.info['test_hr1'], n=len(ds.test)))
Path(a.out + '.json').parent.mkdir(parents=True, exist_ok=True)
Path(a.out + '.json').write_text(json.dumps(rows, indent=1))
md = ['| score (no LLM) | valid HR@1 | test HR@1 | seeds |', '|---|---|---|---|']
for p in dict.fromkeys(r['prior'] for r in rows):
    f = lambda sp: (lambda v: f'{np.mean(v):.3f} ± {np.std(v):.3f}' if v else '—')([r['hr1'] for r in rows if r['prior'] == p and r['split'] == sp])
    md.append(f"| {p} | {f('valid')} | {f('test')} | {len({r['seed'] for r in rows if r['prior'] == p})} |")
Path(a.out + '.md').write_text(f'The score priors alone on {a.dataset} (no LLM; history = the last {a.n_max} items, as in the prompt). '
                               f'Reproduce: `.venv/bin/python bench/score_priors.py --seeds {" ".join(map(str, a.seeds))}`\n\n' + '\n'.join(md) + '\n')
print('\n'.join(md))
