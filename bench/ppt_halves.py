"""PPT inside MPO, taken apart: a finished run's kept checkpoint (`checkpoints/best`) scored on its valid PPT triples
with the paper's PPT prompt and with each of PPT's two halves, as `TrainConfig.ppt_halves` teaches them.

    .venv/bin/python bench/ppt_halves.py runs/ml-100k/best-ppt-halves-seed0 runs/ml-100k/best-teach-ppt-seed0

- PPT (the paper's prompt, Eq. 14: the triple named by its item tokens): `speeder.eval.ppt_records`, P(yes) >= 0.5 is
  right when the label is yes (the run's own `ppt_acc`);
- the comparison alone (`ppt_records(refs='letters')`: the triple named by its history letters), scored the same;
- the lookup alone (`PromptBuilder.locate`: "which letter is [item]?" for each of the triple's three items), the LM
  head's most likely history letter; chance is 1 / the history's length;
- what the order of the three positions alone allows: Eq. 14's label (|a - b| <= |b - c|) is fixed by their order
  whenever b, the middle item of the prompt, is the earliest or the latest of the three; only where b lies between a and c
  do the gaps decide. The order-only ceiling is the accuracy of the best rule that sees the order alone (each of the six
  orders answered with its majority label on these triples), and PPT is split into the triples where the gaps decide and
  the others.

One pass per prompt, no generation, under the run's precision (bf16 autocast where it trained so), as its own validation. Each run's row goes to bench/results/ppt_halves.json (keyed by the run's folder name)
and the table to bench/results/ppt_halves.md. It needs the run's checkpoint, which the committed records do not keep:
run it where the run was trained.
"""
import argparse, json
from pathlib import Path

import numpy as np
import torch

from letter_probe import choice_scores
from speeder.eval import ppt_records
from speeder.viz import load_run

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'bench' / 'results' / 'ppt_halves'


def measure(run_dir) -> dict:
    model, ds, metrics = load_run(run_dir); sp = ds.valid; P = model.prompts
    with torch.no_grad(), torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=metrics.get('precision') == 'bf16'):   # as the run's own validation
        model.cache_item_tokens()   # the item tokens again, under that precision
        recs = {refs: ppt_records(model, sp, refs=refs) for refs in ('items', 'letters')}
        ii = [r['i'] for r in recs['items']]; hist = {i: list(sp.history(i)) for i in ii}
        look = [(i, int(p)) for i in ii for p in sp.ppt[i].tolist()]
        pick = choice_scores(model, [P.locate(hist[i], p, with_answer=False) for i, p in look]).argmax(-1).numpy()
    ppt = {refs: float(np.mean([r['correct'] for r in rr])) for refs, rr in recs.items()}; yes = np.array([r['label'] == 1 for r in recs['items']])
    run_ppt = metrics.get('valid_best', {}).get('ppt_acc')
    if run_ppt is not None and abs(run_ppt - ppt['items']) > 1e-6: print(f'{run_dir}: PPT {ppt["items"]:.4f} here, {run_ppt:.4f} in the run\'s own validation', flush=True)
    cfg = metrics['config']['train']
    order = [tuple(np.argsort(r['positions'])) for r in recs['items']]; lab = [r['label'] for r in recs['items']]
    ceiling = sum(max(sum(l for o2, l in zip(order, lab) if o2 == o), sum(1 - l for o2, l in zip(order, lab) if o2 == o)) for o in set(order)) / len(lab)
    gaps = np.array([sorted(r['positions'])[1] == r['positions'][1] for r in recs['items']]); ok = np.array([r['correct'] for r in recs['items']])
    return dict(run=Path(run_dir).name, triples=len(ii), yes_share=float(yes.mean()), ppt=ppt['items'], ppt_letters=ppt['letters'],
                lookup=float(np.mean(pick == np.array([p for _, p in look]))), lookup_chance=float(np.mean([1 / len(hist[i]) for i, _ in look])),
                run_ppt_acc=run_ppt, ppt_frac=cfg['ppt_frac'] if cfg['ppt'] else 0.0, ppt_halves=cfg.get('ppt_halves', 0), ppt_first=cfg.get('ppt_first', 0),
                order_ceiling=ceiling, gaps_share=float(gaps.mean()), ppt_gaps=float(ok[gaps].mean()), ppt_order=float(ok[~gaps].mean()),
                valid_vhr1=metrics.get('valid_best', {}).get('vhr1'))


def table(rows: dict) -> str:
    md = ['PPT inside MPO, taken apart (valid, the kept checkpoint of each run; `bench/ppt_halves.py RUN_DIR ...`). '
          'PPT: the paper\'s prompt, P(yes) >= 0.5; comparison: the triple named by its history letters; lookup: the letter of each triple item, '
          'the LM head\'s most likely history letter (chance: 1 / history length).', '',
          'Order-only ceiling: the best accuracy of a rule that sees only the order of the three positions; PPT where the gaps decide: '
          'on the triples whose middle prompt item lies between the other two (their share in brackets), elsewhere the order alone fixes the label. '
          '— : a row measured before these columns were added.', '',
          '| run | PPT share of prompts | halves taught in the first N epochs | valid VHR@1 | triples | yes share | PPT | comparison alone | lookup alone | lookup chance | order-only ceiling | PPT where the gaps decide (share) / elsewhere |',
          '|---|---|---|---|---|---|---|---|---|---|---|---|']
    f3 = lambda r, k: '—' if r.get(k) is None else format(r[k], '.3f')
    for r in rows.values():
        share = f"{r['ppt_frac']:g}" + (f" (1 in the first {r['ppt_first']} epochs)" if r.get('ppt_first') else '')
        split = '—' if r.get('ppt_gaps') is None else f"{r['ppt_gaps']:.3f} ({r['gaps_share']:.2f}) / {r['ppt_order']:.3f}"
        md.append(f"| {r['run']} | {share} | {r['ppt_halves']} | {r['valid_vhr1']:.3f} | {r['triples']} | {r['yes_share']:.3f} | {r['ppt']:.3f} | {r['ppt_letters']:.3f} | {r['lookup']:.3f} | {r['lookup_chance']:.3f} | {f3(r, 'order_ceiling')} | {split} |")
    return '\n'.join(md) + '\n'


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+', help='finished train.ipynb run folders (with checkpoints/best)')
    a = ap.parse_args()
    path = OUT.with_suffix('.json'); rows = json.loads(path.read_text()) if path.exists() else {}
    for run in a.runs:
        r = measure(run); rows[r['run']] = r; print(json.dumps(r), flush=True)
    path.write_text(json.dumps(rows, indent=1)); OUT.with_suffix('.md').write_text(table(rows)); print(table(rows))
