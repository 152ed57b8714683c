"""When the item tokens merge: their geometry over a run's first optimizer steps.

    .venv/bin/python bench/early_merge.py runs/ml-100k/paper-eq18open-s3x10-seed0 runs/ml-100k/paper-eq18open-lr1e4-s3x10-seed0 --out bench/results/early_merge.md

Per run: its model as `run_experiment` builds it (the same seed, features, backbone), trained by `speeder.trainer.train`
with the run's own `TrainConfig` (schedule, rates, data order) and `max_steps` raised step by step (each call resumes
from the last one's checkpoint, which the trainer makes exact), in a scratch folder (`--scratch`, emptied first; the
run's own folder is only read). After each stop, over the whole catalogue (eval mode, no gradient): the item tokens'
mean pairwise cosine, MRC's output split into the component common to every item and the mean per-item part, and the
anchor's token after MoME as per item ÷ common. The first steps are where `bench/item_grad.py` finds the gradients
sharing a direction; this shows when that turns into merged tokens. Written to --out.
"""
import argparse, shutil, sys
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))


def geometry(m) -> dict:
    "Mean pairwise cosine of the tokens the LLM reads, MRC's output common / per-item norms, and the anchor's token after MoME as per item ÷ common."
    from mrc_drift import trace
    was = m.training; m.eval()
    with torch.no_grad():
        items = torch.arange(len(m.titles))
        t = torch.nn.functional.normalize(m.item_tokens(items).float(), dim=-1)
        cos = ((t.sum(0).square().sum() - len(t)) / (len(t) * (len(t) - 1))).item()   # mean over pairs i != j of t_i . t_j
        x = m.encode_items(items).float(); mu = x.mean(0)
        tr = trace(m); a = tr[f'{m.items.cfg.anchor} token after MoME layer {len(m.items.mome)}']
    m.train(was)
    return dict(cos=cos, common=mu.norm().item(), per_item=(x - mu).norm(dim=-1).mean().item(),
                anchor=((a - a.mean(0)).norm(dim=-1).mean() / a.mean(0).norm()).item())


def follow(run: str, steps: list, scratch: Path) -> list:
    from item_geometry import run_data, untrained
    from speeder.trainer import train
    cfg, ds = run_data(run)
    m = untrained(run, (cfg, ds))
    out = scratch / Path(run).name
    if out.exists(): shutil.rmtree(out)
    rows = [dict(step=0, prompts=0, **geometry(m))]
    print(rows[-1], flush=True)
    for k in steps:
        res = train(m, ds, replace(cfg.train, max_steps=k), out, resume=True, progress=False)
        rows.append(dict(step=k, prompts=res['prompts'], **geometry(m))); print(rows[-1], flush=True)
    md = [f'### {run} (lr_items {cfg.train.lr_items}, lr_lora {cfg.train.lr_lora}, stages {list(cfg.train.stages)}, seed {cfg.seed})', '',
          '| optimizer steps | prompts | item tokens: mean cosine | MRC output: common / per-item | anchor after MoME: per item ÷ common |', '|---|---|---|---|---|']
    md += [f"| {r['step']} | {r['prompts']} | {r['cos']:.4f} | {r['common']:.2f} / {r['per_item']:.2f} | {r['anchor']:.2f} |" for r in rows]
    return md + ['']


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+')
    ap.add_argument('--steps', type=int, nargs='+', default=[5, 10, 20, 40, 75], help='optimizer steps at which to stop and measure (increasing)')
    ap.add_argument('--scratch', default='/tmp/early_merge', help='where the probe trains (emptied per run)')
    ap.add_argument('--out', default='bench/results/early_merge.md')
    a = ap.parse_args()
    if a.steps != sorted(set(a.steps)) or a.steps[0] < 1: raise SystemExit(f'--steps {a.steps}: give increasing step counts >= 1.')
    md = [f'Item-token geometry over the first optimizer steps. Command: `.venv/bin/python bench/early_merge.py {" ".join(a.runs)}'
          f'{"" if a.steps == ap.get_default("steps") else " --steps " + " ".join(map(str, a.steps))}{"" if a.out == ap.get_default("out") else " --out " + a.out}`', '']
    for r in a.runs: md += follow(r, a.steps, Path(a.scratch))
    (ROOT / a.out).write_text('\n'.join(md) + '\n'); print('\n'.join(md))
