"""Choose the pointer-guided generation weight on valid: the best checkpoint of finished runs, re-decoded with each weight.

    .venv/bin/python bench/guide_sweep.py --tag priors --seeds 0 --guides 0.5 1 2 4 8

For each runs/<dataset>/<tag>-seed<k>/ (a finished nbs/train.ipynb run with readout 'candidate'), loads
checkpoints/best and measures on VALID only the guided ValidRatio / HR@1 / VHR@1 for each weight (the plain
LM head's generation and the pointer's pick beside them). Writes bench/results/guide_sweep.{json,md}.
"""
import argparse, json
from pathlib import Path

import numpy as np

from speeder.data import load_dataset
from speeder.eval import evaluate
from speeder.model import SpeederModel

ap = argparse.ArgumentParser()
ap.add_argument('--tag', required=True)
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--seeds', type=int, nargs='+', default=[0])
ap.add_argument('--guides', type=float, nargs='+', default=[0.5, 1, 2, 4, 8])
ap.add_argument('--out', default='bench/results/guide_sweep')
a = ap.parse_args()

rows = []
for seed in a.seeds:
    run = Path('runs', a.dataset.replace(':', '_'), f'{a.tag}-seed{seed}')
    m = json.loads((run / 'metrics.json').read_text()); c = m['config']
    ds = load_dataset(a.dataset, image_dir=None if c['image_dir'] == 'None' else c['image_dir'], n_max=c['model']['n_max'], seed=seed, verbose=False, **c['options'])
    model = SpeederModel.load(run / 'checkpoints' / 'best')
    for g in a.guides:
        model.cfg.guide = g
        r = evaluate(model, ds.valid, ppt=False, progress=True)
        rows.append(dict(tag=a.tag, seed=seed, guide=g, **r)); print(json.dumps(rows[-1]), flush=True)
Path(a.out + '.json').parent.mkdir(parents=True, exist_ok=True)
Path(a.out + '.json').write_text(json.dumps(rows, indent=1))
md = ['| guide | seeds | valid guided ValidRatio | valid guided VHR@1 | valid pointer HR@1 | valid VHR@1, plain LM head |', '|---|---|---|---|---|---|']
for g in a.guides:
    rs = [r for r in rows if r['guide'] == g]; f = lambda k: f"{np.mean([r[k] for r in rs]):.3f}"
    md.append(f"| {g:g} | {len(rs)} | {f('guided_valid_ratio')} | {f('guided_vhr1')} | {f('pointer_hr1')} | {f('vhr1')} |")
Path(a.out + '.md').write_text(f"Pointer-guided generation weight on valid (tag `{a.tag}`, best checkpoints). Reproduce: `.venv/bin/python bench/guide_sweep.py --tag {a.tag} "
                               f"--seeds {' '.join(map(str, a.seeds))} --guides {' '.join(f'{g:g}' for g in a.guides)}`\n\n" + '\n'.join(md) + '\n')
print('\n'.join(md))
