"""How much of each frozen feature's geometry MRC passes into the item tokens before any training, per gate setting.

    .venv/bin/python bench/mrc_init_geometry.py --seed 0

The model is the one `run_experiment` builds for `config='paper'` (its seed, features and backbone), untrained, with
every modality active (MPO stage 3). For each gate variant (and $A^{tan}$'s initialisation, `gate_init`): the $E_s$ branch alone (E_s through $A_s$, then through the
gate; the correlation of two items' cosines there with their $E_s$ cosine, and how much the gate shrinks the vectors),
then the item token: the raw MRC output of every catalogue item is centred over
the catalogue, and two items' cosine is correlated with the cosine of their centred frozen features ($E_s$, text),
over about 400 items; also the tokens' mean norm (what the LLM reads when nothing rescales them, `normalize_items=False`)
and the norm of the component common to all items against the per-item part. A token whose
cosines do not follow $E_s$'s cannot hand $E_s$'s geometry (items that co-occur lie close) to the LLM, however the
gate opens later. Written to bench/results/mrc_init_geometry.md (or --out).
"""
import argparse, json, math
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = [   # (label, gate kind, A^tan's initialisation, presence forced on the non-text modalities or None = as built, gate_presence)
    ('tanh gate (Eq. 18 + presence), as built: presence 0, so E_s has no weight in the token (reference)', 'tanh', 'random', None, True),
    ('tanh gate, presence forced to 0.5', 'tanh', 'random', 0.5, True),
    ('tanh gate, presence forced to 0.9', 'tanh', 'random', 0.9, True),
    ('tanh gate, A^tan open (gate_init open), presence forced to 0.5', 'tanh', 'open', 0.5, True),
    ('tanh gate, A^tan open (gate_init open), presence forced to 0.9', 'tanh', 'open', 0.9, True),
    ('relu gate, presence forced to 1', 'relu', 'random', 1.0, True),
    ('no gate (gate none: presence 1, no A^tan)', 'none', 'random', None, True),
    ('tanh gate, Eq. 18 as written (gate_presence False: no alpha, presence 1)', 'tanh', 'random', None, False),
    ('tanh gate, Eq. 18 as written, A^tan open (gate_presence False, gate_init open)', 'tanh', 'open', None, False),
]


def probe(gate: str, gate_init: str, presence, gate_presence: bool, seed: int, dataset: str, ds, feats) -> dict:
    from speeder.experiment import build_model, experiment_config
    from speeder.mpo import set_stage
    cfg = experiment_config(verbose=False, config='paper', dataset=dataset, seed=seed, gate=gate, gate_init=gate_init, gate_presence=gate_presence)
    m = build_model(cfg, ds, feats).eval(); set_stage(m, 3)
    if presence is not None and not gate_presence: raise ValueError('a presence can be forced only where the gates have one (gate_presence True).')
    if presence is not None:
        with torch.no_grad():
            for g in m.items.gates.values(): g.alpha.fill_(math.atanh(presence) if gate == 'tanh' else presence)
    f = m.items.features
    with torch.no_grad():
        x = m.encode_items(torch.arange(len(m.titles))).float()
        e = m.items.adapters['sequential'](f['sequential'].x.to(m.items.type_emb.dtype)); g = m.items.gates['sequential'](e)   # the E_s branch alone: A_s, then the gate
        e, g = e.float(), g.float()
    k = torch.arange(0, len(x), max(1, len(x) // 400)); off = ~torch.eye(len(k), dtype=torch.bool)
    def cosines(z):
        z = torch.nn.functional.normalize(z[k] - z.mean(0), dim=-1); return (z @ z.T)[off]
    corr = lambda a, b: torch.corrcoef(torch.stack([a, b]))[0, 1].item()
    t, es = cosines(x), cosines(f['sequential'].x.float())
    return dict(branch_in=corr(cosines(e), es), branch_out=corr(cosines(g), es), shrink=(g.norm(dim=-1) / e.norm(dim=-1)).mean().item(),
                norm=x.norm(dim=-1).mean().item(), common=x.mean(0).norm().item(), item=(x - x.mean(0)).norm(dim=-1).mean().item(), presence=' / '.join(f'{n} {float(g.presence()):.2f}' for n, g in m.items.gates.items()),
                es=corr(t, es), text=corr(t, cosines(f['text'].x.float())),
                vision=corr(t, cosines(f['vision'].x.float())) if 'vision' in f else None)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--dataset', default='ml-100k')
    ap.add_argument('--out', default='bench/results/mrc_init_geometry.md')
    a = ap.parse_args()
    from speeder.data import load_dataset
    from speeder.experiment import _features, experiment_config
    cfg = experiment_config(verbose=False, config='paper', dataset=a.dataset, seed=a.seed)   # data and frozen features: the same for every gate variant, loaded once
    ds = load_dataset(cfg.dataset, image_dir=cfg.image_dir, n_max=cfg.model.n_max, seed=cfg.seed, verbose=False, **cfg.options)
    feats = _features(cfg, ds, False)
    md = [f'MRC item tokens before training (config paper, seed {a.seed}, {a.dataset}, every modality active). Command: `.venv/bin/python bench/mrc_init_geometry.py --seed {a.seed}'
          f'{"" if a.dataset == "ml-100k" else " --dataset " + a.dataset}{"" if a.out == ap.get_default("out") else " --out " + a.out}`', '',
          '| gate | presence (vision / sequential) | $E_s$ branch: after $A_s$ | after the gate | gate output norm / input norm | item token: mean norm | common component norm | per-item part norm | cosines\' correlation with $E_s$\'s | with the text features\' | with the posters\' |', '|---|---|---|---|---|---|---|---|---|---|---|']
    for label, gate, gate_init, presence, gate_presence in VARIANTS:
        r = probe(gate, gate_init, presence, gate_presence, a.seed, a.dataset, ds, feats); print(label, json.dumps(r), flush=True)
        md.append(f"| {label} | {r['presence']} | {r['branch_in']:.3f} | {r['branch_out']:.3f} | {r['shrink']:.3f} | {r['norm']:.2f} | {r['common']:.2f} | {r['item']:.2f} | **{r['es']:.3f}** | {r['text']:.3f} | {'—' if r['vision'] is None else format(r['vision'], '.3f')} |")
    (ROOT / a.out).write_text('\n'.join(md) + '\n'); print('\n'.join(md))
