"""Where the item tokens' common component comes from: which MRC weights moved in training, and how much of the growth of
the component common to every item arises in $A_f$'s last layer rather than upstream.

    .venv/bin/python bench/mrc_drift.py runs/ml-100k/paper-eq18-s3x10-seed0 --out bench/results/mrc_drift_eq18.md

Per run, the untrained model (`run_experiment`'s build: the same seed, features and backbone) against a checkpoint
(`--which`, default `best`): the MRC parameters that moved most (Frobenius norm of the change, beside the norm at the
start); then, along MRC (each modality's adapter output, its token after each MoME layer, the pooled vector, after
$A_f$'s LayerNorm, the input $h$ of $A_f$'s last linear layer $x = W h + b$, and $x$), the norm of the component common to
every catalogue item against the mean norm of what is left per item. The change of $x$'s common component $\\bar x$
splits exactly, and symmetrically in before and after, into $\\tfrac12 \\Delta W (\\bar h_0 + \\bar h_1)$ (the last
layer's own drift), $\\tfrac12 (W_0 + W_1) \\Delta \\bar h$ (what came from upstream) and $\\Delta b$. Every item has
every modality in the protocol with posters, so no mask is needed. Written to --out.
"""
import argparse, sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))


def trace(m) -> dict:
    "MRC's intermediate values over every catalogue item (eval mode): each modality's adapter output, its token after each MoME layer, the pooled vector ($A_f$'s input), after $A_f$'s LayerNorm, $h$ (the last layer's input) and $x$ (its output)."
    it, ms = m.items, m.items.cfg.modalities
    adapters, layers, tail = {}, {}, {}
    keep = lambda store, key, inp=False: (lambda mod, i, o: store.update({key: (i[0] if inp else o).float()}))
    hooks = [it.adapters[k].register_forward_hook(keep(adapters, f'{k} adapter output')) for k in ms]
    hooks += [layer.register_forward_hook(keep(layers, j)) for j, layer in enumerate(it.mome)]
    hooks += [it.out[0].register_forward_hook(keep(tail, 'pooled ($A_f$\'s input)', True)), it.out[0].register_forward_hook(keep(tail, "after $A_f$'s LayerNorm")),
              it.out[-1].register_forward_hook(keep(tail, '$h$', True)), it.out[-1].register_forward_hook(keep(tail, '$x$ (MRC\'s output)'))]
    with torch.no_grad(): m.encode_items(torch.arange(len(m.titles)))
    for hk in hooks: hk.remove()
    return adapters | {f'{k} token after MoME layer {j + 1}': h[:, i] for j, h in layers.items() for i, k in enumerate(ms)} | tail


def drift(run: str, which: str = 'best') -> list:
    from item_geometry import untrained
    from speeder.model import LLMRec
    m0, m1 = untrained(run).eval(), LLMRec.load(Path(run) / 'checkpoints' / which).eval()
    p0, p1 = dict(m0.items.named_parameters()), dict(m1.items.named_parameters())
    moved = sorted(((n, (p1[n] - p0[n]).float().norm().item(), p0[n].float().norm().item()) for n in p0), key=lambda r: -r[1])[:8]
    t0, t1 = trace(m0), trace(m1)
    (x0, h0), (x1, h1) = (t0['$x$ (MRC\'s output)'], t0['$h$']), (t1['$x$ (MRC\'s output)'], t1['$h$'])
    W0, W1 = m0.items.out[-1].weight.float(), m1.items.out[-1].weight.float()
    b0, b1 = m0.items.out[-1].bias.float(), m1.items.out[-1].bias.float()
    hb0, hb1 = h0.mean(0), h1.mean(0)
    split = lambda z: f'{z.mean(0).norm():.2f} / {(z - z.mean(0)).norm(dim=-1).mean():.2f}'
    md = [f'### {run} ({which} checkpoint against the untrained model)', '', '| MRC parameter | change (norm) | norm at the start |', '|---|---|---|']
    md += [f'| `{n}` | {d:.3f} | {n0:.3f} |' for n, d, n0 in moved]
    md += ['', f'| along MRC: common component / per-item part (mean norm) | untrained | {which} |', '|---|---|---|']
    md += [f'| {k} | {split(t0[k])} | {split(t1[k])} |' for k in t0]
    parts = dict(own=(0.5 * (W1 - W0) @ (hb0 + hb1)).norm().item(), upstream=(0.5 * (W0 + W1) @ (hb1 - hb0)).norm().item(), bias=(b1 - b0).norm().item(), total=(x1.mean(0) - x0.mean(0)).norm().item())
    md += ['', f"Change of the common component: {parts['total']:.2f} in all; from $A_f$'s last layer's own drift "
           f"($\\lVert \\tfrac12 \\Delta W (\\bar h_0 + \\bar h_1) \\rVert$) {parts['own']:.2f}, from upstream ($\\lVert \\tfrac12 (W_0 + W_1) \\Delta \\bar h \\rVert$) {parts['upstream']:.2f}, "
           f"from its bias {parts['bias']:.2f} (the three add as vectors, not as norms).", '']
    return md


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+'); ap.add_argument('--which', default='best', help="checkpoint: 'best' or 'last'")
    ap.add_argument('--out', default='bench/results/mrc_drift.md')
    a = ap.parse_args()
    md = [f'MRC drift in training. Command: `.venv/bin/python bench/mrc_drift.py {" ".join(a.runs)}'
          f'{"" if a.which == "best" else " --which " + a.which}{"" if a.out == ap.get_default("out") else " --out " + a.out}`', '']
    for r in a.runs: md += drift(r, a.which)
    (ROOT / a.out).write_text('\n'.join(md) + '\n'); print('\n'.join(md))
