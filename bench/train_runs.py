"""Run nbs/train.ipynb per dataset and per seed with papermill, then collect one table.

    .venv/bin/python bench/train_runs.py --datasets ml-100k --seeds 0 1 2 [-p samples_per_epoch 3000 ...]

Each run lands in runs/<dataset>/<run_name>/ (executed notebook, metrics.json, log, checkpoints); finished
runs (with metrics.json) are skipped, unfinished ones resume from their last checkpoint. Each finished run's record
(`speeder.experiment.RECORD`: settings, metrics, step log, test answers; no checkpoints) is copied to
bench/results/train_runs_records/<dataset>/<run_name>/, committed: a fresh checkout reads it instead of training again (a
record made with other settings is refused). The table goes to bench/results/train_runs.md (mean ± std over seeds)
and .json (every run).
"""
import argparse, ast, json, shlex, sys
from pathlib import Path

import numpy as np
import papermill as pm

from records import finished, record_dir, run_dir, settings_diff
from speeder.eval import gen_metrics
from speeder.experiment import copy_record

ap = argparse.ArgumentParser()
ap.add_argument('--datasets', nargs='+', default=['ml-100k'])
ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
ap.add_argument('--tag', default='default', help='run name prefix, e.g. an ablation name')
ap.add_argument('-p', nargs=2, action='append', default=[], metavar=('NAME', 'VALUE'), help='notebook parameter (Python literal)')
ap.add_argument('--out', default='bench/results/train_runs')
a = ap.parse_args()
params = {k: (ast.literal_eval(v) if v[:1] in '[{(0123456789-TFN\'"' else v) for k, v in a.p}

rows = []
for ds in a.datasets:
    for seed in a.seeds:
        name = f'{a.tag}-seed{seed}'; p = dict(params, dataset=ds, seed=seed, run_name=name)
        run, record = finished(ds, name) or run_dir(ds, name), record_dir(ds, name)   # finished here, else finished elsewhere (its record), else to run here
        for f in (run, record):   # a folder of this name made with other settings is another run: refused, never mixed in or overwritten
            diff = settings_diff(f, p) if (f / 'experiment.json').exists() else []
            if diff: sys.exit(f'{f} was made with other settings ({", ".join(f"{k}: {x!r} there, {y!r} now" for k, x, y in diff[:4])}): use another --tag.')
        if not (run / 'metrics.json').exists():
            run.mkdir(parents=True, exist_ok=True)
            pm.execute_notebook('nbs/train.ipynb', str(run / 'train.ipynb'), parameters=p, log_output=True)
        if run != record:
            missing = copy_record(run, record)
            if missing: print(f'{run}: no {", ".join(missing)} (made by older code)')
        m = json.loads((run / 'metrics.json').read_text()); test = m['test']
        if 'answer_mode_share' not in test and (run / 'test_predictions.json').exists():   # runs older than that metric: from their own saved answers
            p = json.loads((run / 'test_predictions.json').read_text()); g = gen_metrics(p['answer'], p['target'])
            test = dict(test, answer_mode=g['answer_mode'], answer_mode_share=g['answer_mode_share'])
        rows.append(dict(dataset=ds, seed=seed, tag=a.tag, **{f'test_{k}': v for k, v in test.items()},
                         popularity=m['popularity_test_hr1'], sasrec=m.get('sasrec_test_hr1'), wall_time_s=m['wall_time_s'],
                         prompts_per_s=m.get('train_prompts_per_s'), params=params))
Path(a.out + '.json').parent.mkdir(parents=True, exist_ok=True)
old = json.loads(Path(a.out + '.json').read_text()) if Path(a.out + '.json').exists() else []
keep = [r for r in old if (r['dataset'], r['seed'], r['tag']) not in {(x['dataset'], x['seed'], x['tag']) for x in rows}]
allrows = keep + rows
Path(a.out + '.json').write_text(json.dumps(allrows, indent=1))
md = ['| dataset | tag | seeds | pointer HR@1 (one pass; ValidRatio 1 by construction) | LM-head letter HR@1 (one pass) | ValidRatio | HR@1 | **VHR@1** | share of the most named letter (plain LM head) | pointer-guided ValidRatio | pointer-guided VHR@1 | PPT acc | popularity | SASRec ($E_s$) | wall time per run (min) | training prompts / s |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
for key in sorted({(r['dataset'], r['tag']) for r in allrows}):
    rs = [r for r in allrows if (r['dataset'], r['tag']) == key]
    v = lambda k: np.array([np.nan if r.get(k) is None else r[k] for r in rs], dtype=float)
    f = lambda k: "—" if all(np.isnan(v(k))) else f"{np.nanmean(v(k)):.3f} ± {np.nanstd(v(k)):.3f}"   # runs without a metric (older code) are left out of its column
    md.append(f"| {key[0]} | {key[1]} | {len(rs)} | {f('test_pointer_hr1')} | {f('test_letter_hr1')} | {f('test_valid_ratio')} | {f('test_hr1')} | {f('test_vhr1')} | {f('test_answer_mode_share')} | {f('test_guided_valid_ratio')} | {f('test_guided_vhr1')} | {f('test_ppt_acc')} | {f('popularity')} | {f('sasrec')} | {min(r['wall_time_s'] for r in rs) / 60:.1f}–{max(r['wall_time_s'] for r in rs) / 60:.1f} | {f('prompts_per_s')} |")
cmds = sorted({' '.join(['.venv/bin/python bench/train_runs.py --tag', r['tag'], '--seeds', *map(str, sorted(x['seed'] for x in allrows if x['tag'] == r['tag']))]
                        + [f'-p {k} {shlex.quote(v if isinstance(v, str) else repr(v))}' for k, v in (r.get('params') or {}).items()]) for r in allrows})
Path(a.out + '.md').write_text('Speeder test metrics on the fixed candidates (nbs/train.ipynb via bench/train_runs.py; mean ± population sd over seeds (numpy std, ddof 0); '
                               'popularity and SASRec on the same test candidates of each seed). ValidRatio, HR@1 and VHR@1 are the paper\'s: '
                               'free greedy generation by the plain LM head. The one-pass and pointer-guided columns are other decoders (extras), reported under their own names.\n\n' + '\n'.join(md) + '\n\nReproduce:\n\n'
                               + '\n'.join(f'    {c}' for c in cmds) + '\n')
print('\n'.join(md))
