"""How much of the gradient reaching MRC's weights pushes every item the same way.

    .venv/bin/python bench/item_grad.py runs/ml-100k/paper-textonly-s3x10-seed0 runs/ml-100k/paper-seqonly-s3x10-seed0 --out bench/results/item_grad.md

For a linear layer applied to rows $h_s$ (every item slot of a batch) with output gradients $G_s$, the weight
gradient splits exactly into $\\sum_s G_s h_s^\\top = S\\,\\bar G \\bar h^\\top + \\sum_s (G_s - \\bar G)(h_s - \\bar h)^\\top$:
a *common* term, which moves every row's output along the one direction $\\bar G$ (by $S \\bar G (\\bar h \\cdot h_s)$,
to first order: what makes the item tokens alike), and a *per-item* term. In MoME's shared layers (attention, the
multimodal expert) each modality token is its own group of rows, so differences between modalities, the same for every
item, count as common. This script sums both over the run's first training prompts (its first stage's, epoch 0, the
paper's loss as the run trains it, train mode) for every MRC linear layer, and writes the Frobenius norms of the two
terms. The raw gradient, not Adam's step: Adam rescales each weight by its own history, so this says which way the loss
pulls, not how far one step goes. The ratio of the two terms also grows with the inputs' own common part $\\bar h$
(collapsed inputs give a large ratio whatever the gradient), so beside it is the output gradients' *coherence*
$\\lVert \\sum_s G_s \\rVert / (\\sum_s \\lVert G_s \\rVert^2)^{1/2}$ (per group, the squares summed over groups), which reads the
gradients alone: about 1 when the rows' gradients share no direction (independent, zero-mean, of any norms), $\\sqrt{S}$
when they are all the same vector. Models: the untrained one (`run_experiment`'s build: the same seed, features and
backbone) and, with `--which`, the run's checkpoint.
"""
import argparse, sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))


def split(m, prompts, batch: int = 8) -> dict:
    "name -> (norm of the common term, norm of the per-item term, coherence, rows) of each MRC linear layer's weight gradient over `prompts` (checked against autograd's own); rows of MoME's shared layers are grouped by modality token."
    from speeder.prompt import collate
    M, rows = len(m.items.cfg.modalities), {}
    def fwd(name):
        def hook(mod, i, o):
            x = i[0]; k = torch.arange(M).repeat(x.shape[0]) if x.dim() == 3 and x.shape[1] == M else torch.zeros(x.shape[:-1].numel(), dtype=torch.long)   # (B, M, d): one group per modality token
            h = x.detach().float().reshape(-1, x.shape[-1])
            o.register_hook(lambda g: rows.setdefault(name, []).append((g.detach().float().reshape(-1, g.shape[-1]), h, k)))
        return hook
    lin = {n: mod for n, mod in m.items.named_modules() if isinstance(mod, torch.nn.Linear) and mod.weight.requires_grad}
    hooks = [mod.register_forward_hook(fwd(n)) for n, mod in lin.items()]
    m.zero_grad(set_to_none=True)
    for i in range(0, len(prompts), batch): m(collate(prompts[i:i + batch]))['loss'].backward()
    for hk in hooks: hk.remove()
    out = {}
    for n, parts in rows.items():
        G, H, K = (torch.cat([p[j] for p in parts]) for j in range(3))
        common, own, summed = 0., 0., 0.
        for k in K.unique():
            g, h = G[K == k], H[K == k]; gb, hb = g.mean(0), h.mean(0)
            common = common + len(g) * torch.outer(gb, hb); own = own + (g - gb).T @ (h - hb); summed += (len(g) * gb).square().sum()
        w = lin[n].weight.grad.float()
        if not torch.allclose(common + own, w, rtol=1e-3, atol=1e-6 * w.abs().max().item()):
            raise RuntimeError(f'{n}: the two terms do not add up to the weight gradient (max gap {(common + own - w).abs().max():.3g}); a hook missed a call.')
        out[n] = (common.norm().item(), own.norm().item(), (summed / G.square().sum()).sqrt().item(), len(G) // len(K.unique()))
    return out


def report(run: str, which: str | None, n: int) -> list:
    from item_geometry import run_data, untrained
    from speeder.model import LLMRec
    from speeder.mpo import set_stage
    from speeder.trainer import draw_train_prompts
    cfg, ds = run_data(run)
    stage = cfg.train.stages[0]
    models = {'untrained': untrained(run, (cfg, ds))} | ({which: LLMRec.load(Path(run) / 'checkpoints' / which)} if which else {})
    res = {}
    for k, m in models.items():
        torch.manual_seed(cfg.seed); set_stage(m, stage); m.train()
        res[k] = split(m, draw_train_prompts(m, ds, cfg.train, stage, 0)[:n])
    names = list(res['untrained'])
    cols = ' | '.join(f'{k}: common / per-item (ratio) | {k}: coherence' for k in res)
    md = [f'### {run} (stage {stage}, its first {n} training prompts)', '', f'| MRC weight | {cols} |', '|---|' + '---|---|' * len(res)]
    cell = lambda c, o, coh, S: f'{c:.3g} / {o:.3g} ({c / max(o, 1e-30):.2f}) | {coh:.1f} of {S ** 0.5:.0f}'
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
