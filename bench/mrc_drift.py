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
every modality in the protocol with posters, so no mask is needed. Then, inside each MoME layer, the same split for the
anchor's token at every sublayer (Eq. 7 and 9, post-LN: $h_1 = LN_1(h + \\mathrm{attn}(h))$, out $= LN_2(f(h_1)) + h_1$),
with the ratio of the per-item part to the common one (what a LayerNorm keeps: it rescales each token, so a common
component that grows against the per-item part leaves the items alike after it), and how far each LayerNorm's gain and
bias and the biases that add one vector to every item moved. Written to --out.
"""
import argparse, sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))


def keep(store: dict, key, inp: bool = False):
    "A forward hook writing the module's first input (`inp`) or its output, in fp32, to `store[key]`."
    return lambda mod, i, o: store.update({key: (i[0] if inp else o).float()})


def trace(m) -> dict:
    "MRC's intermediate values over every catalogue item (eval mode): each modality's adapter output, its token after each MoME layer, the pooled vector ($A_f$'s input), after $A_f$'s LayerNorm, $h$ (the last layer's input) and $x$ (its output)."
    it, ms = m.items, m.items.cfg.modalities
    adapters, layers, tail = {}, {}, {}
    hooks = [it.adapters[k].register_forward_hook(keep(adapters, f'{k} adapter output')) for k in ms]
    hooks += [layer.register_forward_hook(keep(layers, j)) for j, layer in enumerate(it.mome)]
    hooks += [it.out[0].register_forward_hook(keep(tail, 'pooled ($A_f$\'s input)', True)), it.out[0].register_forward_hook(keep(tail, "after $A_f$'s LayerNorm")),
              it.out[-1].register_forward_hook(keep(tail, '$h$', True)), it.out[-1].register_forward_hook(keep(tail, '$x$ (MRC\'s output)'))]
    with torch.no_grad(): m.encode_items(torch.arange(len(m.titles)))
    for hk in hooks: hk.remove()
    return adapters | {f'{k} token after MoME layer {j + 1}': h[:, i] for j, h in layers.items() for i, k in enumerate(ms)} | tail


def sublayers(m) -> dict:
    "Inside each MoME layer, the anchor's token (eval mode, so dropout is the identity): its input $h$ (layer 1's; each later layer's is the one before's output), attn($h$), $h$ + attn($h$) ($LN_1$'s input), $h_1$, the expert's output $f$ ($LN_2$'s input), $LN_2(f)$ and the layer's output."
    it = m.items; a = it.cfg.modalities.index(it.cfg.anchor)
    rows = {}
    hooks = []
    for j, layer in enumerate(it.mome):
        L = f'layer {j + 1}'
        if j == 0: hooks.append(layer.register_forward_pre_hook(lambda mod, i: rows.update({'layer 1: input $h$': i[0].float()})))   # each later layer's input is the row above it
        hooks += [layer.attn.register_forward_hook(keep(rows, f'{L}: attn($h$)')),
                  layer.norm1.register_forward_hook(keep(rows, f'{L}: $h$ + attn($h$) ($LN_1$\'s input)', True)), layer.norm1.register_forward_hook(keep(rows, f'{L}: $h_1$ ($LN_1$\'s output)')),
                  layer.norm2.register_forward_hook(keep(rows, f'{L}: expert output $f$ ($LN_2$\'s input)', True)), layer.norm2.register_forward_hook(keep(rows, f'{L}: $LN_2(f)$')),
                  layer.register_forward_hook(keep(rows, f'{L}: output $LN_2(f) + h_1$'))]
    with torch.no_grad(): m.encode_items(torch.arange(len(m.titles)))
    for hk in hooks: hk.remove()
    return {k: v[:, a] for k, v in rows.items()}


def norms(m0, m1) -> dict:
    "Per MoME layer, how far (norm of the change) each LayerNorm's gain and bias moved, and the biases that add the same vector to every item: attention's value and output projections', the anchor's expert's last layer's; with each one's norm at the start."
    d = m0.items.cfg.d_f
    def parts(m):
        out = {}
        for j, l in enumerate(m.items.mome):
            ex = l.experts[m.items.cfg.anchor] if l.hard else l.mm_expert
            out |= {f'layer {j + 1} $LN_{k}$ gain': getattr(l, f'norm{k}').weight for k in (1, 2)} | {f'layer {j + 1} $LN_{k}$ bias': getattr(l, f'norm{k}').bias for k in (1, 2)}
            out |= {f'layer {j + 1} attention, value bias': l.attn.qkv.bias[2 * d:], f'layer {j + 1} attention, output bias': l.attn.out.bias, f'layer {j + 1} expert, last layer bias': ex[-1].bias}
        return out
    p0, p1 = parts(m0), parts(m1)
    return {k: ((p1[k] - p0[k]).float().norm().item(), p0[k].float().norm().item()) for k in p0}


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
    s0, s1 = sublayers(m0), sublayers(m1)
    ratio = lambda z: f'{(z - z.mean(0)).norm(dim=-1).mean() / z.mean(0).norm().clamp_min(1e-12):.2f}'
    md += [f'Inside MoME, the anchor ({m0.items.cfg.anchor}) token:', '', f'| sublayer | untrained: common / per item | {which}: common / per item | per item ÷ common: untrained → {which} |', '|---|---|---|---|']
    md += [f'| {k} | {split(s0[k])} | {split(s1[k])} | {ratio(s0[k])} → {ratio(s1[k])} |' for k in s0]
    md += ['', f'| MoME parameter | change (norm), untrained → {which} | norm at the start |', '|---|---|---|']
    md += [f'| {k} | {c:.3f} | {n0:.3f} |' for k, (c, n0) in norms(m0, m1).items()] + ['']
    return md


def main(per_run, title: str, script: str, doc: str):
    "The command line shared by bench/mrc_drift.py and bench/mrc_nearest.py: runs, --which, --out; `per_run(run, which)` gives each run's markdown lines, written under `title` with the command that makes them."
    default = f'bench/results/{script}.md'
    ap = argparse.ArgumentParser(description=doc.split('\n')[0])
    ap.add_argument('runs', nargs='+'); ap.add_argument('--which', default='best', help="checkpoint: 'best' or 'last'")
    ap.add_argument('--out', default=default)
    a = ap.parse_args()
    md = [f'{title}. Command: `.venv/bin/python bench/{script}.py {" ".join(a.runs)}'
          f'{"" if a.which == "best" else " --which " + a.which}{"" if a.out == default else " --out " + a.out}`', '']
    for r in a.runs: md += per_run(r, a.which)
    (ROOT / a.out).write_text('\n'.join(md) + '\n'); print('\n'.join(md))


if __name__ == '__main__':
    main(drift, 'MRC drift in training', 'mrc_drift', __doc__)
