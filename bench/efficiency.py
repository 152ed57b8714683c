"""Training and inference cost of Speeder's hybrid prompt vs the LLaRA-style and TALLRec-style title prompts.

Reproduce (ml-100k + posters, the train notebook's settings: SmolLM2-135M, LoRA r16 q/k/v/o, n_max 10):
    HF_HUB_OFFLINE=1 .venv/bin/python bench/efficiency.py --image-dir ../shared/data/ml-100k-posters/images
The three models share the backbone, the batches (same samples) and the machine; their timings are
interleaved round by round, so noise hits all alike, and reported as medians and as ratios to Speeder.
Generation is a forced decode of each prompt's real answer (bench/forced_decode.py): the models are untrained, so
free generation would run the title styles to the token cap; instead one cached prompt pass + one cached
single-token step per further answer token, fed the true answer (teacher forcing, the same work per step as greedy
decoding): Speeder decodes its letter + end of text (2 tokens), LLaRA / TALLRec the target's title + end of text.
Writes bench/results/efficiency.{json,md}; `--from-json` re-writes the .md from a saved .json without timing anything.
"""
import argparse, json, os, platform, statistics, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from forced_decode import answer_tokens, forced_decode

KEYS = ['train', 'score', 'tokens', 'prompt', 'decode', 'total', 'answer_tokens', 'steps', 'per_step', 'per_token']
GEN_NOTE = ("Generation is a forced decode of each prompt's real answer length (the models are untrained, so free generation would run the title "
            "styles to the 25-token cap): one cached prompt pass (LM head at the answer position gives answer token 1), then one cached single-token "
            "decoder step + LM head + argmax per further answer token, fed the true answer tokens (teacher forcing: the same work per step as greedy "
            "decoding). Speeder's answer is its letter + end of text (2 tokens, 1 decode step); LLaRA / TALLRec's is the target's title tokens + end of text. "
            "Rows of a batch have different answer lengths: the batch runs max L - 1 steps, finished rows are fed end of text (as batched greedy "
            "generation computes them until every row is done).")


def fixed_length_titles(titles, tok, n: int) -> list:
    "Each title made n tokens long (the paper's Figure 8 setting): cut, or continued with the words of the following titles (real text, not padding)."
    ids = [tok(t or '', add_special_tokens=False)['input_ids'] for t in titles]
    out = []
    for k, x in enumerate(ids):
        j = k
        while len(x) < n: j = (j + 1) % len(ids); x = x + tok(' ' + (titles[j] or ''), add_special_tokens=False)['input_ids']
        out.append(tok.decode(x[:n]).strip())
    return out


def bench(a) -> tuple:
    "Time the three models, interleaved round by round; returns (meta, per-round values per model)."
    from speeder.backbone import load_backbone
    from speeder.data import load_dataset
    from speeder.encoders import sequential_features, text_features, vision_features
    import speeder.baselines  # registers 'llara' and 'tallrec'
    from speeder.model import METHODS, SpeederConfig
    from speeder.prompt import collate
    from speeder.sequential import SeqRecConfig

    ds = load_dataset(a.dataset, image_dir=a.image_dir, n_max=a.n_max, verbose=False)
    feats = dict(text=text_features(ds), sequential=sequential_features(ds, SeqRecConfig(model='sasrec', epochs=150, patience=30)))
    if a.image_dir: feats['vision'] = vision_features(ds)
    noun = 'movie' if a.dataset == 'ml-100k' else 'item'
    llm, tok = load_backbone()
    titles = ds.titles if not a.title_tokens else fixed_length_titles(ds.titles, tok, a.title_tokens)
    cap = max(24, a.title_tokens or 0)   # titles are cut to this many tokens in the title prompts
    models = {'speeder': SpeederConfig(n_max=a.n_max, readout='candidate', mrc=dict(modalities=tuple(feats)), prompt=dict(noun=noun, wording=a.wording)),
              'llara': SpeederConfig(n_max=a.n_max, prompt=dict(noun=noun, wording=a.wording, max_title_tokens=cap)),
              'tallrec': SpeederConfig(n_max=a.n_max, prompt=dict(noun=noun, wording=a.wording, max_title_tokens=cap))}
    built = {}
    for name, cfg in models.items():   # each wraps its own copy of the backbone with LoRA; the class sets the prompt style
        l, _ = load_backbone(); built[name] = METHODS[name](cfg, l, tok, feats, titles, ds.item_ids)

    B = a.batch_size
    def batches(m, r):   # the same test samples for every model
        idx = range(r * B, (r + 1) * B)
        return [m.prompts.rec(ds.test.history(i)[-a.n_max:], ds.test.candidates[i].tolist(), int(ds.test.labels[i])) for i in idx]

    load_start = os.getloadavg()[0]
    times = {n: {k: [] for k in KEYS} for n in built}
    for r in range(a.rounds + 1):                      # round 0 warms up and is dropped
        for name, m in built.items():
            prompts = batches(m, r)                    # labelled: p.answer holds the real answer tokens
            m.train(); b = collate(prompts, with_answer=True)
            t = time.perf_counter(); m(b)['loss'].backward(); m.zero_grad(set_to_none=True); t_train = time.perf_counter() - t
            m.eval(); b = collate(prompts, with_answer=False)
            t = time.perf_counter(); m.score(b); t_score = time.perf_counter() - t
            ans, n_ans = answer_tokens(prompts)        # (B, max L) right-padded with end of text; per-row lengths L
            g = forced_decode(m, b, ans)               # prompt pass + (max L - 1) cached steps for the whole batch
            if r:
                rec = times[name]
                rec['train'].append(t_train / B); rec['score'].append(t_score / B)
                rec['tokens'].append(sum(len(p.ids) + len(p.answer) for p in prompts) / B)
                rec['prompt'].append(g['prompt_s'] / B); rec['decode'].append(g['decode_s'] / B); rec['total'].append((g['prompt_s'] + g['decode_s']) / B)
                rec['answer_tokens'].append(n_ans.float().mean().item()); rec['steps'].append(g['steps'])
                rec['per_step'].append(g['decode_s'] / B / g['steps'])                         # one decoded token per row per step (finished rows included)
                rec['per_token'].append(g['decode_s'] / (n_ans - 1).sum().item())                # per real decoded answer token (padding steps charged to them)
        print(f'round {r}: ' + ', '.join(f"{n} train {times[n]['train'][-1]:.3f}s total gen {times[n]['total'][-1]:.3f}s" for n in built) if r else 'warm-up done', flush=True)

    meta = dict(dataset=a.dataset, images=a.image_dir is not None, n_max=a.n_max, title_tokens=a.title_tokens, wording=a.wording, batch_size=B, rounds=a.rounds,
                threads=torch.get_num_threads(), cores=os.cpu_count(), load_avg_1min=[round(load_start, 2), round(os.getloadavg()[0], 2)],
                host=platform.node(), cpu=platform.processor() or platform.machine(),
                command='HF_HUB_OFFLINE=1 .venv/bin/python ' + ' '.join(['bench/efficiency.py'] + sys.argv[1:]), generation=GEN_NOTE)
    return meta, times


def render(meta: dict, times: dict) -> tuple:
    "Medians, ratios to Speeder and the markdown report."
    rows = {n: {k: statistics.median(v) for k, v in t.items()} for n, t in times.items()}
    for n, rw in rows.items():
        for k in KEYS: rw[f'{k}_x'] = round(rw[k] / rows['speeder'][k], 2)
    spread = {n: {k: round(max(t[k]) / min(t[k]), 1) for k in ['train', 'score', 'prompt', 'total']} for n, t in times.items()}
    load = meta.get('load_avg_1min')
    md = [f"Seconds per sample (median of {meta['rounds']} interleaved rounds, batch {meta['batch_size']}, {meta['dataset']} test samples, n_max={meta['n_max']}, "
          f"{meta['wording']} wording, {meta['threads']} threads, fp32 CPU, untrained LoRA). Ratios (×) are to Speeder in the same run.", '',
          f"Reproduce: `{meta['command']}`", '',
          '| model | tokens / sample (prompt + answer) | train step | × | score (1 pass) | × |', '|---|---|---|---|---|---|']
    for n, rw in rows.items():
        md.append(f"| {n} | {rw['tokens']:.1f} | {rw['train']:.3f} | {rw['train_x']} | {rw['score']:.3f} | {rw['score_x']} |")
    md += ['', 'Generation, decoded to the real answer length. ' + GEN_NOTE, '',
           '| model | answer tokens (mean) | decode steps / batch | prompt pass | × | decode | × | decode / step | × | decode / answer token | × | total | × |',
           '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for n, rw in rows.items():
        md.append(f"| {n} | {rw['answer_tokens']:.2f} | {rw['steps']:g} | {rw['prompt']:.3f} | {rw['prompt_x']} | {rw['decode']:.3f} | {rw['decode_x']} | "
                  f"{rw['per_step']:.4f} | {rw['per_step_x']} | {rw['per_token']:.4f} | {rw['per_token_x']} | {rw['total']:.3f} | {rw['total_x']} |")
    md += ['', 'decode = the cached single-token steps after the prompt pass; total = prompt pass + decode. decode / step = per-sample decode time / '
           'steps (the per-token cost of one decode step, each row decoding one token); decode / answer token = decode time / the real decoded answer '
           'tokens (answer tokens - 1 per row, the first comes from the prompt pass), so it also carries the steps spent on rows that had already finished.',
           '', 'Noise: the largest / smallest per-round value of each model (train, score, prompt pass, total generation): '
           + '; '.join(f"{n} " + ' / '.join(f'{v}×' for v in s.values()) for n, s in spread.items())
           + (f". 1-minute load average {load[0]} at the start, {load[1]} at the end, on {meta.get('cores')} cores." if load else
              '. The machine load was not recorded for this run.')]
    return rows, md


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--dataset', default='ml-100k')
    ap.add_argument('--image-dir', default=None)
    ap.add_argument('--n-max', type=int, default=10)
    ap.add_argument('--title-tokens', type=int, default=None, help="make every title this many tokens long (Figure 8's setting); default: the data's own titles")
    ap.add_argument('--wording', default='compact')
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--out', default='bench/results/efficiency')
    ap.add_argument('--from-json', default=None, help='re-render the report from a saved efficiency .json (no timing)')
    a = ap.parse_args()
    if a.from_json:
        d = json.loads(Path(a.from_json).read_text())
        times = d.pop('raw'); d.pop('rows', None); meta = d
        meta.setdefault('generation', GEN_NOTE)
    else: meta, times = bench(a)
    rows, md = render(meta, times)
    Path(a.out + '.json').parent.mkdir(parents=True, exist_ok=True)
    Path(a.out + '.json').write_text(json.dumps(dict(meta, rows=rows, raw=times), indent=1))
    Path(a.out + '.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))
