"""Learning curves: valid metrics against training prompts seen (log scale), one line per configuration.

    .venv/bin/python bench/learning_curves.py --run best=best --run paper=paper [--dataset ml-100k]

Each --run LABEL=TAG reads runs/<dataset>/<TAG>-seed*/log.jsonl, or where a run is not in runs/ its committed copy in
bench/results/train_runs_records/<dataset>/ (every validation of nbs/train.ipynb's trainer,
resumed sittings included) and plots the mean over the seeds found (a band: min-max) of the paper's VHR@1 (free
generation, plain LM head), the pointer-guided VHR@1 and the pointer head's one-pass HR@1 where the run has them.
Popularity and SASRec (valid, from bench/results/score_priors.json when present) are drawn as references.
Writes bench/results/learning_curves.png and .md (the points, with the runs' commands in bench/results/train_runs.md).
"""
import argparse, json, shlex
from collections import defaultdict
from pathlib import Path

import matplotlib
import matplotlib.ticker
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np

from records import finished, names, run_dir

ap = argparse.ArgumentParser()
ap.add_argument('--run', action='append', required=True, metavar='LABEL=TAG')
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--unfinished', action='store_true', help='also plot runs still in progress (no metrics.json yet); by default only finished runs, so a point\'s seeds do not change along a curve')
ap.add_argument('--out', default='bench/results/learning_curves')
a = ap.parse_args()

METRICS = [('vhr1', 'VHR@1, plain LM head (paper)', '-'), ('guided_vhr1', 'VHR@1, pointer-guided (extra)', '--'), ('pointer_hr1', 'pointer HR@1, one pass (extra)', ':')]
fig, ax = plt.subplots(figsize=(9, 5)); md = ['| configuration | seeds | prompts seen | stage | ' + ' | '.join(m[1] for m in METRICS) + ' | PPT acc |', '|---|---|---|---|---|---|---|---|']
for (label, tag), color in zip((r.split('=', 1) for r in a.run), plt.rcParams['axes.prop_cycle'].by_key()['color']):
    runs = [d / 'log.jsonl' for n in names(a.dataset, tag) for d in [finished(a.dataset, n) or (run_dir(a.dataset, n) if a.unfinished else None)] if d and (d / 'log.jsonl').exists()]
    if not runs: raise SystemExit(f'No finished run of {tag} (runs/{a.dataset}/{tag}-seed*/ or its record): run bench/train_runs.py --tag {tag} first.')
    pts = defaultdict(list)   # prompts seen -> valid records (one per seed)
    for f in runs:
        for r in map(json.loads, f.read_text().splitlines()):
            if r['kind'] == 'valid': pts[r.get('prompts', r['global_step'] * 32)].append(r)   # logs before 'prompts' was recorded: 32 prompts per step
    xs = sorted(pts)
    for key, name, ls in METRICS:
        ys = [[r[key] for r in pts[x] if key in r] for x in xs]
        if not any(ys): continue
        x = [x for x, y in zip(xs, ys) if y]; y = [y for y in ys if y]
        ax.plot(x, [np.mean(v) for v in y], ls, color=color, marker='o', label=f'{label}: {name}')
        ax.fill_between(x, [min(v) for v in y], [max(v) for v in y], color=color, alpha=0.12)
    for x in xs:
        f = lambda k: (lambda v: f'{np.mean(v):.3f}' if v else '—')([r[k] for r in pts[x] if k in r])
        md.append(f"| {label} (`{tag}`) | {len(pts[x])} | {x:,} | {pts[x][0]['stage']} | {' | '.join(f(k) for k, _, _ in METRICS)} | {f('ppt_acc')} |")
pri = Path('bench/results/score_priors.json')
if pri.exists():
    rows = [r for r in json.loads(pri.read_text()) if r['split'] == 'valid' and r['dataset'] == a.dataset]
    for p, ls in [('popularity', '-.'), ('sequential', (0, (1, 3))), ('popularity + sequential', (0, (3, 1, 1, 1)))]:
        v = [r['hr1'] for r in rows if r['prior'] == p]
        if v: ax.axhline(np.mean(v), color='gray', ls=ls, lw=1, label=f"{ {'sequential': 'SASRec (prompt history)'}.get(p, p)}: valid HR@1, no LLM")
ax.axhline(0.2, color='lightgray', lw=1, label='chance (1 of 5)')
ax.set_xscale('log'); ax.set_xlabel('training prompts seen (log scale)'); ax.set_ylabel(f'{a.dataset} valid'); ax.set_ylim(0, 1)
ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5))); ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())   # 1, 2, 5 x 10^k, labelled in full
ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f'{v:,.0f}'))
ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(0, -0.16), ncol=1); ax.grid(alpha=0.3, which='both')   # the legend below the axes: long labels do not cover the curves
Path(a.out + '.png').parent.mkdir(parents=True, exist_ok=True); fig.savefig(a.out + '.png', dpi=120, bbox_inches='tight')
Path(a.out + '.md').write_text(f"Valid metrics against training prompts seen (mean over seeds), {a.dataset}. Reproduce: "
                               f"`.venv/bin/python bench/learning_curves.py {' '.join('--run ' + shlex.quote(r) for r in a.run)}{'' if a.out == ap.get_default('out') else ' --out ' + a.out}`\n\n" + '\n'.join(md) + '\n')
print('\n'.join(md))
