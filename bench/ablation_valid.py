"""The ablation table on valid: one row per configuration at the same budget, read from the runs' logs.

    .venv/bin/python bench/ablation_valid.py --row "default=default" --row "+ score priors, guided=priors" ...

Each --row LABEL=TAG reads the finished runs <TAG>-seed*/log.jsonl (runs/<dataset>/, else the committed record in
bench/results/train_runs_records/<dataset>/) and reports the LAST validation of each run
(after its final stage: the same budget for every row) as mean over the seeds found, the seeds listed.
Test numbers are not read here. Writes bench/results/ablation_valid.md.
"""
import argparse, json
from pathlib import Path

import numpy as np

from records import finished, names

ap = argparse.ArgumentParser()
ap.add_argument('--row', action='append', required=True, metavar='LABEL=TAG')
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--seeds', type=int, nargs='+', default=None, help='only these seeds (e.g. 0: every row on the same valid set and draws)')
ap.add_argument('--out', default='bench/results/ablation_valid')
a = ap.parse_args()

cols = [('vhr1', 'VHR@1 (paper: plain LM head)'), ('valid_ratio', 'ValidRatio (paper)'), ('guided_vhr1', 'VHR@1, pointer-guided (extra)'),
        ('pointer_hr1', 'pointer HR@1 (extra)'), ('letter_hr1', 'LM-head letter HR@1, one pass'), ('ppt_acc', 'PPT acc')]
md = ['| configuration | tag | seeds | prompts | ' + ' | '.join(c[1] for c in cols) + ' | train time (min) |', '|' + '---|' * (len(cols) + 5)]
for label, tag in (r.split('=', 1) for r in a.row):
    last = {}
    for f in [d / 'log.jsonl' for n in names(a.dataset, tag) for d in [finished(a.dataset, n)] if d]:
        v = [r for r in map(json.loads, f.read_text().splitlines()) if r['kind'] == 'valid']
        seed = f.parent.name.rsplit('seed', 1)[1]
        if v and (a.seeds is None or int(seed) in a.seeds): last[seed] = v[-1]
    if not last: raise SystemExit(f'No finished run {tag}-seed* with a validation (runs/{a.dataset}/ or bench/results/train_runs_records/{a.dataset}/)')
    rs = list(last.values())
    f = lambda k: (lambda v: '—' if not v else f'{np.mean(v):.3f}' + (f' ± {np.std(v):.3f}' if len(v) > 1 else ''))([r[k] for r in rs if k in r])
    md.append(f"| {label} | `{tag}` | {', '.join(sorted(last))} | {int(np.mean([r.get('prompts', r['global_step'] * 32) for r in rs])):,} | "
              + ' | '.join(f(k) for k, _ in cols) + f" | {np.mean([r['time'] for r in rs]) / 60:.0f} |")
Path(a.out + '.md').parent.mkdir(parents=True, exist_ok=True)
Path(a.out + '.md').write_text(f'Valid metrics after the last stage ({a.dataset}; mean ± sd over the seeds listed; the runs\' commands are in '
                               f'bench/results/train_runs.md). Reproduce: `.venv/bin/python bench/ablation_valid.py ' + (f"--seeds {' '.join(map(str, a.seeds))} " if a.seeds else '')
                               + ' '.join(f'--row {json.dumps(r)}' for r in a.row) + '`\n\n' + '\n'.join(md) + '\n')
print('\n'.join(md))
