"""How much of the gradient reaching MRC's weights pushes every item the same way.

    .venv/bin/python bench/item_grad.py runs/ml-100k/paper-textonly-s3x10-seed0 runs/ml-100k/paper-seqonly-s3x10-seed0 --out bench/results/item_grad.md

For a linear layer applied to rows $h_s$ (every item slot of a batch, and in MoME every modality token of it) with
output gradients $G_s$, the weight gradient splits exactly into
$\\sum_s G_s h_s^\\top = S\\,\\bar G \\bar h^\\top + \\sum_s (G_s - \\bar G)(h_s - \\bar h)^\\top$:
a *common* term, which moves every row's output by the same vector to first order (what makes the item tokens
alike), and a *per-item* term, which moves each by what is its own. This script sums both over the run's first
training prompts (its first stage's, epoch 0, the paper's loss as the run trains it, train mode) for every MRC linear
layer, and writes the Frobenius norms of the two terms. The raw gradient, not Adam's step: Adam rescales each weight by
its own history, so this says which way the loss pulls, not how far one step goes. Beside it, the output gradients'
*coherence*, $\\sqrt{S}\\,\\lVert \\bar G \\rVert$ / mean $\\lVert G_s - \\bar G \\rVert$: about 1 when the rows' gradients share no
direction (their mean is then noise of that size), far above 1 when the loss pushes every row the same way; the
weight ratio also grows with the inputs' own common part $\\bar h$, the coherence does not. Models: the untrained one
(`run_experiment`'s build: the same seed, features and backbone) and, with `--which`, the run's checkpoint.
"""
import argparse, json, sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))


def split(m, prompts, batch: int = 8) -> dict:
    "name -> (norm of the common term, norm of the per-item term, coherence) of each MRC linear layer's weight gradient over `prompts` (checked against autograd's own); coherence: $\\sqrt{S}\\,\\lVert \\bar G \\rVert$ / mean $\\lVert G_s - \\bar G \\rVert$ of the output gradients, about 1 for gradients that share no direction."
    from speeder.prompt import collate
    rows = {}
    def fwd(name):
        def hook(mod, i, o):
            h = i[0].detach().float().reshape(-1, i[0].shape[-1])
            o.register_hook(lambda g: rows.setdefault(name, []).append((g.detach().float().reshape(-1, g.shape[-1]), h)))
        return hook
    lin = {n: mod for n, mod in m.items.named_modules() if isinstance(mod, torch.nn.Linear) and mod.weight.requires_grad}
    hooks = [mod.register_forward_hook(fwd(n)) for n, mod in lin.items()]
    m.zero_grad(set_to_none=True)
    for i in range(0, len(prompts), batch): m(collate(prompts[i:i + batch]))['loss'].backward()
    for hk in hooks: hk.remove()
    out = {}
    for n, parts in rows.items():
        G, H = torch.cat([g for g, _ in parts]), torch.cat([h for _, h in parts])
        Gb, Hb = G.mean(0), H.mean(0)
        common, own = len(G) * torch.outer(Gb, Hb), (G - Gb).T @ (H - Hb)
        w = lin[n].weight.grad.float()
        if not torch.allclose(common + own, w, rtol=1e-3, atol=1e-6 * w.abs().max().item()):
            raise RuntimeError(f'{n}: the two terms do not add up to the weight gradient (max gap {(common + own - w).abs().max():.3g}); a hook missed a call.')
        out[n] = (common.norm().item(), own.norm().item(), (Gb.norm() / (G - Gb).norm(dim=-1).mean()).item() * len(G) ** 0.5)
    return out


def report(run: str, which: str | None, n: int) -> list:
    from item_geometry import untrained
    from speeder.data import load_dataset
    from speeder.experiment import ExperimentConfig
    from speeder.model import LLMRec
    from speeder.mpo import set_stage
    from speeder.trainer import draw_train_prompts
    cfg = ExperimentConfig.from_dict(json.loads((Path(run) / 'experiment.json').read_text()))
    ds = load_dataset(cfg.dataset, image_dir=cfg.image_dir, n_max=cfg.model.n_max, seed=cfg.seed, verbose=False, **cfg.options)
    stage = cfg.train.stages[0]
    models = {'untrained': untrained(run)} | ({which: LLMRec.load(Path(run) / 'checkpoints' / which)} if which else {})
    res = {}
    for k, m in models.items():
        torch.manual_seed(cfg.seed); set_stage(m, stage); m.train()
        res[k] = split(m, draw_train_prompts(m, ds, cfg.train, stage, 0)[:n])
    names = list(res['untrained'])
    cols = ' | '.join(f'{k}: common / per-item (ratio) | {k}: coherence' for k in res)
    md = [f'### {run} (stage {stage}, its first {n} training prompts)', '', f'| MRC weight | {cols} |', '|---|' + '---|---|' * len(res)]
    cell = lambda c, o, coh: f'{c:.3g} / {o:.3g} ({c / max(o, 1e-30):.2f}) | {coh:.1f}'
    md += [f'| `{nm}.weight` | ' + ' | '.join(cell(*res[k][nm]) for k in res) + ' |' for nm in names]
    return md + ['']


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+'); ap.add_argument('--which', default='best', help="checkpoint beside the untrained model: 'best', 'last' or 'none'")
    ap.add_argument('--prompts', type=int, default=64, help='training prompts summed over (batches of 8)')
    ap.add_argument('--out', default='bench/results/item_grad.md')
    a = ap.parse_args()
    which = None if a.which == 'none' else a.which
    md = [f'MRC weight gradients: the common term against the per-item term. Command: `.venv/bin/python bench/item_grad.py {" ".join(a.runs)}'
          f'{"" if a.which == "best" else " --which " + a.which}{"" if a.prompts == 64 else f" --prompts {a.prompts}"}{"" if a.out == ap.get_default("out") else " --out " + a.out}`', '']
    for r in a.runs: md += report(r, which, a.prompts)
    (ROOT / a.out).write_text('\n'.join(md) + '\n'); print('\n'.join(md))
