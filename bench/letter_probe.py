"""Can the LM head learn to name a candidate's letter at all, and with which item tokens? The letter probe.

    .venv/bin/python bench/letter_probe.py --tag w5e4 --tokens word               # one probe run (about 7 min on one thread)
    .venv/bin/python bench/letter_probe.py --collect                              # the table, bench/results/letter_probe.md
    .venv/bin/python bench/letter_probe.py --geometry                             # how spread out each kind of token is
    .venv/bin/python bench/letter_probe.py --task ppt --tag ppt-word --tokens word --steps 600   # the PPT probe (below)
    .venv/bin/python bench/letter_probe.py --task ppt --refs letters --tag ppt-letters --tokens word --steps 600   # PPT's comparison alone
    .venv/bin/python bench/letter_probe.py --task locate --tag locate-word --tokens word --steps 600               # PPT's lookup alone

The copy task isolates the binding that the paper's answer needs (the LM head names the letter of the candidate it
prefers): every training prompt has its target planted in the history (`speeder.trainer.plant_target`, as the
`copy_frac` curriculum does), so the answer is "the candidate that is also in the history". A model that can tell the
items apart and bind a candidate to its letter learns it; chance is 0.2. ml-100k, text only, seed 0, `n_max` 10,
compact wording, the paper's readout and loss (LM head, answer tokens only), SmolLM2-135M + LoRA r16 on q/k/v/o, batch
8, AdamW (LoRA `--lr`, item encoder and PPL `--lr-items`), 20 warm-up steps then a constant rate, bf16 autocast,
one optimizer step per batch. Every `--every` steps, the first 160 valid samples are scored by the LM head's letter
logits (one pass): with the target planted ("copy") and as they are ("real").

The item tokens (`--tokens`), each scaled to the word-embedding norm except `word` (used as it is):
- `mrc`: Speeder's MRC (trained with the LLM; `--center` = `center_items`); `--mrc-dropout` sets its dropout;
- `mrc-whitened`: MRC, trained, its tokens ZCA-whitened over the whole catalogue at every pass, statistics without
  gradient (what `SpeederConfig.whiten_items` does; this script's own copy of it ran under bf16 autocast);
- `mrc-init-whitened`, `text-whitened`, `seq-whitened`: fixed tokens, the untrained MRC's outputs / the MiniLM text
  features / the frozen SASRec item embeddings ($E_s$), whitened once (a random rotation to 576 dimensions for the
  features); `seq`: $E_s$ only centred, embedded in 576 dimensions by a random rotation (cosines between items kept);
- `word`: a fixed random vocabulary token's embedding per item; `gauss`: a fixed random Gaussian vector per item;
  `title-mean`: the mean of the title's token embeddings.

`--task ppt` asks the same of the Position Proxy Task (Eq. 14): every training prompt is a PPT prompt (three history
items, answer yes / no, drawn as the trainer draws them), and the accuracy is the LM head's yes / no on the first
`--n-eval` valid PPT triples (the share of "yes" among them is the majority baseline). It tells whether PPT is
learnable at all with a given kind of item token, apart from the 20 % share of the 3,600 prompts it gets in MPO.
PPT needs two skills, and two probes take them apart. `--refs letters` names the three items by their history letters
instead of their item tokens ("Three of them: c, h, e"), so only the comparison of gaps is left (no item has to be
found). `--task locate` asks only the lookup: the history, then one of its items' tokens ("Which letter is [item]?"),
answer its letter (chance about 1 / history length; the item is a PPT triple's first, at its latest position).
`--task ppt --halves N` teaches both halves beside the task: in the first N steps two prompts in three are a lookup
or a comparison by letters, the third the paper's PPT prompt; then PPT prompts only (evaluation: the paper's PPT).
The prompts are the library's (`PromptBuilder.ppt(refs=...)`, `PromptBuilder.locate`); in MPO training the same
curriculum is `TrainConfig.ppt_halves` (by epochs, not steps).
Each run writes bench/results/letter_probe/<tag>.json (its settings and curve).
"""
import argparse, json, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'bench' / 'results' / 'letter_probe'
TOKENS = ('mrc', 'mrc-whitened', 'mrc-init-whitened', 'text-whitened', 'seq', 'seq-whitened', 'word', 'gauss', 'title-mean')



def choice_scores(model, prompts, batch: int = 32):
    "(N, W) the model's probabilities over each prompt's choices, one pass per batch, padded with 0 to the most choices (locate prompts differ in their number of letters)."
    from speeder.prompt import collate
    W = max(len(q.choices) for q in prompts)
    return torch.cat([F.pad(model.score(collate(prompts[i:i + batch], with_answer=False)), (0, W)).narrow(1, 0, W) for i in range(0, len(prompts), batch)])


def seq_features(ds):
    "(N, 64) the frozen SASRec item embeddings E_s of the probe's own data (ml-100k without posters: its own items, split and SASRec, cached)."
    from speeder.encoders import sequential_features
    return sequential_features(ds).x.float()


def fixed_tokens(kind, m, ds, feats, llm, tok):
    "(N, d) fixed item tokens, before the norm scaling."
    N, d = len(ds.titles), llm.config.hidden_size
    E = llm.get_input_embeddings().weight.detach()
    g = torch.Generator().manual_seed(1)
    if kind == 'gauss': return torch.randn(N, d, generator=g)
    if kind == 'word': return E[torch.randint(1000, 40000, (N,), generator=g)]
    if kind == 'title-mean': return torch.stack([E[tok(' ' + t, add_special_tokens=False)['input_ids']].mean(0) for t in ds.titles])
    with torch.no_grad():   # whitened once (or, `seq`, only centred): the untrained MRC's outputs, the text features or E_s
        m.eval(); X = m.encode_items(torch.arange(N)).float() if kind == 'mrc-init-whitened' else feats['text'].x.float() if kind == 'text-whitened' else seq_features(ds); m.train()
        X = X - X.mean(0); ev, V = torch.linalg.eigh(X.T @ X / N); keep = ev > ev.max() * 1e-4
        W = X if kind == 'seq' else X @ V[:, keep] / ev[keep].sqrt()
        if W.shape[1] < d: W = W @ torch.linalg.qr(torch.randn(d, W.shape[1], generator=torch.Generator().manual_seed(2)))[0].T
    return W


def setup(center: bool = False, mrc_dropout: float = 0.1):
    "The probe's data (ml-100k, text only, seed 0), text features, backbone and an untrained text-only Speeder (seed 0)."
    from speeder.backbone import load_backbone
    from speeder.data import load_dataset
    from speeder.encoders import text_features
    from speeder.model import SpeederConfig, SpeederModel
    from speeder.mrc import MRCConfig
    from speeder.prompt import PromptConfig
    ds = load_dataset('ml-100k', image_dir=None, n_max=10, seed=0, verbose=False)
    feats = dict(text=text_features(ds)); llm, tok = load_backbone()
    cfg = SpeederConfig(n_max=10, readout='index', center_items=center, lora_dropout=0.0, mrc=MRCConfig(modalities=('text',), dropout=mrc_dropout),
                        prompt=PromptConfig(noun='movie', wording='compact'))
    torch.manual_seed(0)
    return ds, feats, llm, tok, SpeederModel(cfg, llm, tok, feats, ds.titles, ds.item_ids)


def run(a):
    from speeder.mpo import set_stage
    from speeder.prompt import collate
    from speeder.trainer import TrainConfig, draw_train_samples, plant_target
    ds, feats, llm, tok, m = setup(center=a.center, mrc_dropout=a.mrc_dropout); set_stage(m, 1)
    if a.tokens == 'mrc-whitened':
        allit, enc = torch.arange(len(ds.titles)), m.encode_items
        def whitened(items):
            with torch.no_grad():
                X = enc(allit).float(); mu = X.mean(0); ev, V = torch.linalg.eigh((X - mu).T @ (X - mu) / len(X))
                W = V @ torch.diag((ev.clamp_min(0) + 1e-2 * ev.mean()).rsqrt()) @ V.T
            return F.normalize((enc(items).float() - mu) @ W, dim=-1) * m.token_norm
        m.item_tokens = whitened
    elif a.tokens != 'mrc':
        T = fixed_tokens(a.tokens, m, ds, feats, llm, tok)
        if a.tokens != 'word': T = F.normalize(T, dim=-1) * m.token_norm   # word embeddings as they are (their mean norm is that norm)
        m.item_tokens = lambda items: T[items.cpu()]
    lora = [p for n, p in m.named_parameters() if p.requires_grad and 'lora_' in n]
    rest = [p for n, p in m.named_parameters() if p.requires_grad and 'lora_' not in n] if a.lr_items > 0 else []
    opt = torch.optim.AdamW([dict(params=lora, lr=a.lr)] + ([dict(params=rest, lr=a.lr_items)] if rest else []), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1., 0.01 + s / 20))
    sp = ds.valid
    if a.task in ('ppt', 'locate'):   # PPT (or lookup) prompts only; evaluation: the first n_eval valid triples, label index 0 = yes (locate: the letter)
        tc = TrainConfig(samples_per_epoch=int(a.steps * a.batch * 1.1), ppt=True, ppt_frac=1.0, seed=0)   # 10 % spare: short histories have no triple
        draws = draw_train_samples(ds, tc, 10, 1, 0); ii = [i for i in range(len(sp)) if sp.ppt[i, 0] >= 0][:a.n_eval]
        if a.task == 'ppt':
            prompts = [m.prompts.ppt(d['history'], d['triple'], d['label'], refs=a.refs) for d in draws]
            for j, d in enumerate(draws[:a.halves * a.batch]):   # --halves N: the first N steps teach both halves too, prompts in turn: lookup, comparison, the task
                if j % 3 == 0: prompts[j] = m.prompts.locate(d['history'], d['triple'][0])
                elif j % 3 == 1: prompts[j] = m.prompts.ppt(d['history'], d['triple'], d['label'], refs='letters')
            evals = dict(ppt=[m.prompts.ppt(sp.history(i), sp.ppt[i].tolist(), refs=a.refs) for i in ii])
            lab = torch.tensor([0 if sp.ppt_labels[i] == 1 else 1 for i in ii])
        else:
            prompts = [m.prompts.locate(d['history'], d['triple'][0]) for d in draws]
            evals = dict(locate=[m.prompts.locate(sp.history(i), int(sp.ppt[i, 0]), with_answer=False) for i in ii])
            lab = torch.tensor([int(sp.ppt[i, 0]) for i in ii])
    else:
        samples = draw_train_samples(ds, TrainConfig(samples_per_epoch=a.steps * a.batch, ppt=False, copy_frac=a.copy, seed=0), 10, 1, 0)
        prompts = [m.prompts.rec(d['history'], d['candidates'], d['label']) for d in samples]
        rng, evals, lab = np.random.default_rng(123), dict(copy=[], real=[]), []
        for i in range(a.n_eval):
            h, c, l = list(sp.history(i)), sp.candidates[i].tolist(), int(sp.labels[i])
            evals['copy'].append(m.prompts.rec(plant_target(h, c[l], 10, rng), c)); evals['real'].append(m.prompts.rec(h[-10:], c)); lab.append(l)
        lab = torch.tensor(lab)
    if len(prompts) < a.steps * a.batch: raise SystemExit(f'only {len(prompts)} training prompts for {a.steps} steps of {a.batch}')

    def evaluate():
        m.eval(); out = {}
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            for name, ps in evals.items():
                sc = choice_scores(m, ps)
                out[name], out[name + '_p'] = float((sc.argmax(-1) == lab).float().mean()), float(sc[torch.arange(len(lab)), lab].mean())
        m.train(); return out

    log, losses, t0 = [], [], time.time(); m.train()
    for step in range(a.steps):
        with torch.autocast('cpu', dtype=torch.bfloat16): loss = m(collate(prompts[step * a.batch:(step + 1) * a.batch]))['loss']
        loss.backward(); torch.nn.utils.clip_grad_norm_(lora + rest, 1.0); opt.step(); sched.step(); opt.zero_grad(); m.project_()
        losses.append(loss.item())
        if (step + 1) % a.every == 0 or step == 0:
            e = dict(evaluate(), step=step + 1, loss=float(np.mean(losses[-a.every:])), min=(time.time() - t0) / 60)
            print(a.tag, json.dumps(e), flush=True); log.append(e)
    args = {k: getattr(a, k) for k in ('task', 'tokens', 'lr', 'lr_items', 'center', 'mrc_dropout', 'steps', 'batch', 'every', 'copy', 'n_eval')}
    if a.task == 'ppt': args.update(yes_share=float((lab == 0).float().mean()), refs=a.refs, halves=a.halves)
    if a.task == 'locate': args['chance'] = float(np.mean([1 / len(sp.history(i)) for i in ii]))
    OUT.mkdir(parents=True, exist_ok=True); (OUT / f'{a.tag}.json').write_text(json.dumps(dict(args=args, log=log), indent=1))


def geometry():
    "Spread of each kind of item token over the catalogue (before the norm scaling): mean cosine between items, the cosine to each item's nearest other item, effective rank (exp of the entropy of the centred spectrum)."
    ds, feats, llm, tok, m = setup(); m.eval()
    with torch.no_grad(): X = m.encode_items(torch.arange(len(ds.titles))).float()
    kinds = {'MRC, untrained': X, 'MRC, untrained, standardised (center_items)': (X - X.mean(0)) / X.std(0)}
    kinds.update({k: fixed_tokens(k, m, ds, feats, llm, tok) for k in ('word', 'gauss', 'title-mean', 'mrc-init-whitened')})
    kinds['MiniLM text features'] = feats['text'].x
    md = ['Item-token geometry over the ml-100k catalogue (text only, untrained MRC of seed 0). Command: `.venv/bin/python bench/letter_probe.py --geometry`', '',
          '| tokens | mean cosine between items | nearest other item: median cosine | p90 | effective rank (of d) |', '|---|---|---|---|---|']
    for k, T in kinds.items():
        T = T.float(); U = F.normalize(T, dim=-1); C = U @ U.T; off = ~torch.eye(len(T), dtype=torch.bool)
        nn = C.masked_fill(~off, -2).max(1).values
        s = torch.linalg.svdvals(T - T.mean(0)); p = s ** 2 / (s ** 2).sum(); er = float(torch.exp(-(p * p.clamp_min(1e-12).log()).sum()))
        md.append(f'| {k} | {C[off].mean():.3f} | {nn.median():.3f} | {nn.quantile(0.9):.3f} | {er:.0f} of {T.shape[1]} |')
    (ROOT / 'bench' / 'results' / 'letter_probe_geometry.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))


def label_mix(n: int = 160) -> str:
    "What answering one fixed letter scores on the probe's evaluation samples (their labels are not uniform)."
    from speeder.data import load_dataset
    lab = load_dataset('ml-100k', image_dir=None, n_max=10, seed=0, verbose=False).valid.labels[:n]
    return ', '.join(f'{L} {np.mean(lab == k):.3f}' for k, L in enumerate('ABCDE'))


def real_baselines(n: int = 160) -> str:
    "What needs no LLM on the probe's real evaluation samples: popularity, and the nearest candidate to the history's mean in E_s (cosine, centred)."
    from speeder.data import load_dataset
    from speeder.sequential import hr_at_1, popularity_scores
    ds = load_dataset('ml-100k', image_dir=None, n_max=10, seed=0, verbose=False); sp = ds.valid
    X = seq_features(ds); X = F.normalize(X - X.mean(0), dim=-1)
    near = torch.stack([X[sp.candidates[i]] @ X[list(sp.history(i))].mean(0) for i in range(n)])
    return (f'popularity {hr_at_1(popularity_scores(ds, sp)[:n], sp.labels[:n]):.2f}, '
            f'the candidate nearest the mean of the last 10 history items in E_s {hr_at_1(near, sp.labels[:n]):.2f}')


def collect():
    runs = {f.stem: json.loads(f.read_text()) for f in sorted(OUT.glob('*.json'))}
    copy = {t: d for t, d in runs.items() if d['args'].get('task', 'copy') == 'copy' and d['args']['copy'] > 0}
    real = {t: d for t, d in runs.items() if d['args'].get('task', 'copy') == 'copy' and d['args']['copy'] == 0}
    ppt = {t: d for t, d in runs.items() if d['args'].get('task') == 'ppt'}
    locate = {t: d for t, d in runs.items() if d['args'].get('task') == 'locate'}
    taught = lambda a: f", halves taught in the first {a['halves']} steps" if a.get('halves') else ''
    trace = lambda log, k: f"{' / '.join(format(e[k], '.2f') for e in log if e['step'] % 100 == 0 or e['step'] == 1)} | {log[-1][k]:.2f} |"   # step 1, every 100th, last
    what = lambda a: a['tokens'] + (', centred' if a['center'] else '') + (', MRC frozen' if a['tokens'] == 'mrc' and a['lr_items'] == 0 else '')
    dropout = lambda a: a['mrc_dropout'] if a['tokens'].startswith('mrc') else '—'
    rows = []
    for tag, d in copy.items():
        a, log = d['args'], d['log']
        first = next((e['step'] for e in log if e['copy'] >= 0.8), None)
        curve = ' / '.join(f"{e['copy']:.2f}" for e in log if e['step'] % 50 == 0)
        rows.append((first or 10**6, f"| {tag} | {what(a)} | {dropout(a)} | {a['lr']:g} | {curve} | "
                     f"{first if first else 'not within ' + str(log[-1]['step'])} | {log[-1]['real']:.2f} |"))
    md = ['Letter probe: the copy task (the target planted in every training prompt\'s history), valid copy accuracy of the LM head\'s letter (160 samples, chance 0.2); '
          'each row\'s settings and curve in `bench/results/letter_probe/TAG.json`, its command below the tables. '
          f'The labels of these samples are not uniform: always answering one letter scores {label_mix()} (step 1 is "always A" in every run). One seed; '
          'a run\'s training prompts are drawn for its own --steps, so runs of different lengths see different draws.', '',
          '| tag | item tokens | MRC dropout | LoRA lr | copy accuracy at steps 50 / 100 / 150 / … | first step ≥ 0.8 | real prompts, last |', '|---|---|---|---|---|---|---|']
    md += [r for _, r in sorted(rows)]
    if real:
        md += ['', 'The real task (`--copy 0`: real training prompts, nothing planted), valid accuracy of the LM head\'s letter on the same 160 real samples '
               f'(the paper\'s HR@1 by one pass). The probe\'s data is ml-100k without posters (its own items, split and E_s, not the training runs\'). Without an LLM on these samples: {real_baselines()}.', '',
               '| tag | item tokens | MRC dropout | LoRA lr | real accuracy at steps 100 / 200 / … | last |', '|---|---|---|---|---|---|']
        for tag, d in real.items():
            a, log = d['args'], d['log']
            md.append(f"| {tag} | {what(a)} | {dropout(a)} | {a['lr']:g} | {' / '.join(format(e['real'], '.2f') for e in log if e['step'] % 100 == 0)} | {log[-1]['real']:.2f} |")
    if ppt:
        md += ['', 'PPT probe (`--task ppt`): PPT prompts only, valid PPT accuracy of the LM head\'s yes / no on the first valid triples; '
               'answering always "yes" scores the yes share. The triple is named by its item tokens (the paper\'s PPT) or, `--refs letters`, by its history letters (the comparison of gaps alone).', '',
               '| tag | item tokens | triple named by | MRC dropout | LoRA lr | eval triples | yes share | PPT accuracy at step 1 / 100 / 200 / … | last |', '|---|---|---|---|---|---|---|---|---|']
        for tag, d in ppt.items():
            a, log = d['args'], d['log']
            md.append(f"| {tag} | {what(a)} | {a.get('refs', 'items')}{taught(a)} | {dropout(a)} | {a['lr']:g} | {a['n_eval']} | {a['yes_share']:.2f} | {trace(log, 'ppt')}")
    if locate:
        md += ['', 'Lookup probe (`--task locate`): PPT\'s lookup alone — the history, then one of its item tokens, answer its history letter; '
               'valid accuracy of the LM head\'s letter on the first valid triples\' first items (chance: the mean of 1 / history length).', '',
               '| tag | item tokens | MRC dropout | LoRA lr | eval items | chance | accuracy at step 1 / 100 / 200 / … | last |', '|---|---|---|---|---|---|---|---|']
        for tag, d in locate.items():
            a, log = d['args'], d['log']
            md.append(f"| {tag} | {what(a)} | {dropout(a)} | {a['lr']:g} | {a['n_eval']} | {a['chance']:.2f} | {trace(log, 'locate')}")
    md += ['', 'Commands:', '']
    for tag, d in runs.items():
        a = d['args']
        md.append(f"    .venv/bin/python bench/letter_probe.py --tag {tag}{' --task ' + a['task'] if a.get('task', 'copy') != 'copy' else ''}{' --refs letters' if a.get('refs') == 'letters' else ''}{' --halves ' + str(a['halves']) if a.get('halves') else ''} --tokens {a['tokens']}{' --center' if a['center'] else ''} --lr {a['lr']:g} --lr-items {a['lr_items']:g} "
                  f"--mrc-dropout {a['mrc_dropout']:g} --steps {a['steps']}" + (f" --copy {a['copy']:g}" if a['copy'] != 1 else '') + (f" --n-eval {a['n_eval']}" if a['n_eval'] != 160 else '')
                  + (f" --every {a['every']}" if a['every'] != 50 else '') + (f" --batch {a['batch']}" if a['batch'] != 8 else '')
                  + (f"   # stopped by hand after step {a['stopped_by_hand_after']}" if 'stopped_by_hand_after' in a else ''))
    (ROOT / 'bench' / 'results' / 'letter_probe.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tag'); ap.add_argument('--task', choices=('copy', 'ppt', 'locate'), default='copy'); ap.add_argument('--refs', choices=('items', 'letters'), default='items', help='--task ppt: name the triple by item tokens (the paper) or history letters')
    ap.add_argument('--halves', type=int, default=0, help='--task ppt: for the first N steps, two prompts in three teach the halves (lookup, comparison by letters)')
    ap.add_argument('--tokens', choices=TOKENS, default='mrc'); ap.add_argument('--center', action='store_true')
    ap.add_argument('--lr', type=float, default=5e-4); ap.add_argument('--lr-items', type=float, default=1e-3); ap.add_argument('--mrc-dropout', type=float, default=0.1)
    ap.add_argument('--steps', type=int, default=300); ap.add_argument('--batch', type=int, default=8); ap.add_argument('--every', type=int, default=50)
    ap.add_argument('--copy', type=float, default=1.0); ap.add_argument('--n-eval', type=int, default=160); ap.add_argument('--collect', action='store_true'); ap.add_argument('--geometry', action='store_true')
    a = ap.parse_args()
    if a.collect: collect()
    elif a.geometry: geometry()
    else:
        if not a.tag: ap.error('--tag names the run')
        run(a); collect()
