"""Per-sample training step and generation cost of Speeder vs LLaRA-style on a large backbone (run by bench/gpu.sh).

    python bench/gpu_bench.py --shape llama2-7b --out bench/results/gpu_bench        # on a GPU
    python bench/gpu_bench.py --shape tiny --rounds 1 --out /tmp/gpu_bench            # a dry run of the script on a CPU

The backbone is randomly initialised with the shape named by --shape (llama2-7b: hidden 4096, 32 layers, 32 heads,
MLP 11008) in bf16 on the GPU, LoRA r16 on q/k/v/o, as in the workspace's models; its vocabulary is the bundled
SmolLM2 tokenizer's (49,152 tokens; LLaMA-2's has 32,000). Costs depend on shapes only, so the weights and the item
features are random; the prompts are real: ml-100k test samples (their histories, candidates and titles), the same
samples for both methods. Each method is built alone on the GPU (its peak memory is its own), warmed up, then timed
over --rounds batches: a training step (forward + backward of LoRA and the item encoder, bf16 autocast) and a forced
decode of the real answer (bench/forced_decode.py: Speeder its letter + end of text, LLaRA-style the target's title +
end of text). Writes <out>.json and <out>.md.
"""
import argparse, gc, json, platform, statistics, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from forced_decode import answer_tokens, forced_decode

SHAPES = dict(tiny=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4),
              smollm2_135m=dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3),
              llama2_7b=dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32))


def main(a):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from speeder.backbone import backbone_path
    from speeder.data import load_dataset
    from speeder.encoders import Features
    import speeder.baselines  # registers 'llara'
    from speeder.model import METHODS, SpeederConfig
    from speeder.prompt import collate

    dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if dev.type == 'cpu' and a.shape != 'tiny': sys.exit(f'--shape {a.shape} needs a GPU (a {a.shape} model would fill this machine\'s memory); on a CPU use --shape tiny for a dry run.')
    bf16 = dev.type == 'cuda' and torch.cuda.is_bf16_supported()
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    tok = AutoTokenizer.from_pretrained(backbone_path()); tok.padding_side = 'left'
    ds = load_dataset('ml-100k', n_max=a.n_max, verbose=False)
    g = torch.Generator().manual_seed(0)
    feats = {m: Features(torch.randn(ds.n_items, d, generator=g), torch.ones(ds.n_items, dtype=torch.bool), 'random')
             for m, d in dict(text=384, vision=1280, sequential=64).items()}
    cfgs = dict(speeder=SpeederConfig(n_max=a.n_max, lora_dropout=0., prompt=dict(noun='movie', wording='compact')),
                llara=SpeederConfig(n_max=a.n_max, lora_dropout=0., prompt=dict(noun='movie', wording='compact')))
    shape = SHAPES[a.shape.replace('-', '_')]
    B, rows = a.batch_size, {}
    for name, cfg in cfgs.items():
        if dev.type == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        torch.manual_seed(0)
        with torch.device(dev):   # built where it runs: a 7B model is never materialised on the host
            llm = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), max_position_embeddings=4096, **shape)).to(torch.bfloat16 if bf16 else torch.float32)
        m = METHODS[name](cfg, llm, tok, feats, ds.titles, ds.item_ids).to(dev)
        weights = torch.cuda.memory_allocated() if dev.type == 'cuda' else 0
        rec = dict(train=[], gen=[], tokens=[], answer_tokens=[])
        # every round's batch runs once untimed first (r < 0): each prompt length is a new shape, whose first pass pays the
        # kernels' setup (the H200 run of 2026-12-04 warmed up one batch only, and its rounds spread 6-11x)
        for r in [-x for x in range(1, a.rounds + 1)] + list(range(1, a.rounds + 1)):
            prompts = [m.prompts.rec(ds.test.history(i)[-a.n_max:], ds.test.candidates[i].tolist(), int(ds.test.labels[i])) for i in range(abs(r) * B, (abs(r) + 1) * B)]
            m.train(); b = collate(prompts, with_answer=True)
            sync(); t = time.perf_counter()
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): m(b)['loss'].backward()
            sync(); t_train = time.perf_counter() - t; m.zero_grad(set_to_none=True)
            m.eval(); ans, n_ans = answer_tokens(prompts)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): gd = forced_decode(m, collate(prompts, with_answer=False), ans)
            if r > 0:
                rec['train'].append(t_train / B); rec['gen'].append((gd['prompt_s'] + gd['decode_s']) / B)
                rec['tokens'].append(sum(len(p.ids) + len(p.answer) for p in prompts) / B); rec['answer_tokens'].append(n_ans.float().mean().item())
        try: prof = profile_step(m, b, dev, bf16, sync) if a.profile else {}   # the last timed batch, once more, under the profiler
        except Exception as e: prof = dict(prof_error=repr(e)); print('profile failed:', repr(e), flush=True)   # the timings above still count
        peak = torch.cuda.max_memory_allocated() if dev.type == 'cuda' else 0
        rows[name] = dict({k: statistics.median(v) for k, v in rec.items()}, peak_gib=peak / 2 ** 30, weights_gib=weights / 2 ** 30,
                          spread_train=max(rec['train']) / min(rec['train']), spread_gen=max(rec['gen']) / min(rec['gen']), **prof)
        print(name, json.dumps({k: round(v, 4) for k, v in rows[name].items()}), flush=True)
        del m, llm; gc.collect()
    meta = dict(shape=a.shape, **shape, vocab=len(tok), n_max=a.n_max, batch_size=B, rounds=a.rounds, device=torch.cuda.get_device_name() if dev.type == 'cuda' else (platform.processor() or platform.machine()),
                precision='bf16 weights + bf16 autocast' if bf16 else 'fp32', torch=torch.__version__,
                command='python ' + ' '.join(['bench/gpu_bench.py'] + sys.argv[1:]))
    Path(a.out + '.json').parent.mkdir(parents=True, exist_ok=True)
    Path(a.out + '.json').write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    s, l = rows['speeder'], rows['llara']
    md = [f"Randomly initialised {a.shape} backbone ({meta['precision']}, LoRA r16 q/k/v/o) on {meta['device']}; ml-100k test prompts, n_max {a.n_max}, "
          f"batch {B}, medians of {a.rounds} rounds, each batch run once untimed first. Command: `{meta['command']}`.", '',
          '| method | prompt + answer tokens / sample | answer tokens | training step ms / sample | generation ms / sample (forced decode of the real answer) | peak GPU memory GiB (weights) |',
          '|---|---|---|---|---|---|']
    for n, r in rows.items():
        md.append(f"| {n} | {r['tokens']:.0f} | {r['answer_tokens']:.1f} | {1e3 * r['train']:.2f} | {1e3 * r['gen']:.2f} | {r['peak_gib']:.1f} ({r['weights_gib']:.1f}) |")
    md += ['', f"Speeder vs LLaRA-style: {l['train'] / s['train']:.2f}x faster per training sample, {l['gen'] / s['gen']:.2f}x per generated recommendation, "
               f"{l['tokens'] / s['tokens']:.2f}x fewer tokens; spread (max / min over rounds) train {s['spread_train']:.2f} / {l['spread_train']:.2f}, "
               f"generation {s['spread_gen']:.2f} / {l['spread_gen']:.2f}."]
    if any('prof_wall_ms' in r for r in rows.values()):
        md += ['', 'One training step under the profiler: ' + '; '.join(
            f"{n} {r['prof_wall_ms']:.1f} ms wall, kernels {r['prof_kernel_ms']:.1f} ms ({100 * r['prof_kernel_ms'] / r['prof_wall_ms']:.0f} % busy), "
            f"{r['prof_launches']} kernel launches" for n, r in rows.items() if 'prof_wall_ms' in r) + '.']
    Path(a.out + '.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


def profile_step(m, b, dev, bf16, sync) -> dict:
    "One training step (forward + backward) under torch.profiler: its wall time, the GPU's kernel time in it and the kernels launched (on a GPU only)."
    if dev.type != 'cuda': return {}
    from torch.profiler import ProfilerActivity, profile
    m.train()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        sync(); t = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): m(b)['loss'].backward()
        sync(); wall = time.perf_counter() - t
    m.zero_grad(set_to_none=True)
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    return dict(prof_wall_ms=1e3 * wall, prof_kernel_ms=sum(e.device_time for e in kernels) / 1e3, prof_launches=len(kernels))   # device_time: µs


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--shape', default='llama2-7b', choices=[k.replace('_', '-') for k in SHAPES])
    ap.add_argument('--n-max', type=int, default=20)
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--out', default='bench/results/gpu_bench')
    ap.add_argument('--profile', action='store_true', help='also profile one training step (GPU only): kernel time against wall time, kernel launches')
    main(ap.parse_args())
