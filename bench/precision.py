"""Training step and validation pass of the main command's model in fp32 against bf16 autocast, on this CPU.

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/precision.py --rounds 8

`speeder.trainer.pick_precision` autocasts to bf16 on a CPU with bf16 units (AMX or AVX-512 BF16: the latter since this
measurement and a run that learnt as in fp32, README); this measures what bf16 gives on the CPU at hand, for the model `nbs/train.ipynb` trains by default (config 'best', the
data's own features from the feature cache, stage 3: every modality active). The two precisions share the model, the
batches (the same training prompts, drawn once) and the machine, and alternate round by round, so load hits both
alike; reported as medians and as the ratio fp32 / bf16. Also reported: the largest difference between the two
precisions' losses on the same batch (bf16 changes the arithmetic, so a switch would change a run's numbers).
Writes bench/results/precision_<cpu flags>.md.
"""
import argparse, os, platform, statistics, sys, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def cpu_flags() -> str:
    "The bf16-relevant instruction sets this CPU reports: amx_bf16, avx512_bf16, or neither."
    try: flags = set(next(l for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('flags')).split())
    except (OSError, StopIteration): flags = set()
    return '+'.join(f for f in ('amx_bf16', 'avx512_bf16') if f in flags) or 'no-bf16-units'


def main_model(seed: int, n_batches: int):
    "The main command's model (config 'best', ml-100k, the feature cache's features), its settings and data, and `n_batches` training batches of stage 3's prompts."
    sys.path.insert(0, str(ROOT))
    from speeder.data import load_dataset
    from speeder.experiment import _features, build_model, experiment_config
    from speeder.prompt import collate
    from speeder.trainer import draw_train_prompts
    cfg = experiment_config(verbose=False, dataset='ml-100k', seed=seed)
    ds = load_dataset(cfg.dataset, image_dir=cfg.image_dir, n_max=cfg.model.n_max, seed=cfg.seed, verbose=False)
    model = build_model(cfg, ds, _features(cfg, ds, progress=False))
    prompts = draw_train_prompts(model, ds, cfg.train, 3, 0)
    B = cfg.train.batch_size
    return cfg, ds, model, [collate(prompts[r * B:(r + 1) * B]) for r in range(n_batches)]


def main(a):
    cfg, ds, model, batches = main_model(a.seed, a.rounds + 1)   # puts the checkout on sys.path first
    from speeder.prompt import collate
    from speeder.trainer import pick_precision
    B = cfg.train.batch_size
    valid = collate([model.prompts.rec(ds.valid.history(i)[-cfg.model.n_max:], ds.valid.candidates[i].tolist()) for i in range(B)], with_answer=False)
    times = {p: dict(train=[], score=[], loss=[]) for p in ('fp32', 'bf16')}
    for r, b in enumerate(batches):   # round 0 warms up and is dropped
        for prec in ('fp32', 'bf16'):
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=prec == 'bf16'):
                model.train(); t = time.perf_counter(); out = model(b); out['loss'].backward(); t_train = time.perf_counter() - t
                model.zero_grad(set_to_none=True)
                model.eval(); t = time.perf_counter()
                with torch.no_grad(): model.score(valid)
                t_score = time.perf_counter() - t
            if r:
                times[prec]['train'].append(t_train / B); times[prec]['score'].append(t_score / B); times[prec]['loss'].append(out['loss'].item())
        if r: print(f"round {r}: fp32 {times['fp32']['train'][-1]:.3f} s, bf16 {times['bf16']['train'][-1]:.3f} s per training prompt", flush=True)
    med = {p: {k: statistics.median(v) for k, v in t.items() if k != 'loss'} for p, t in times.items()}
    dloss = max(abs(x - y) for x, y in zip(times['fp32']['loss'], times['bf16']['loss']))
    flags = cpu_flags()
    md = [f"# fp32 against bf16 autocast on this CPU ({platform.processor() or platform.machine()}, {flags})", '',
          f"Reproduce: `HF_HUB_OFFLINE=1 OMP_NUM_THREADS={torch.get_num_threads()} .venv/bin/python bench/precision.py --rounds {a.rounds} --seed {a.seed}`; "
          f"{torch.get_num_threads()} thread(s), {os.cpu_count()} cores, 1-minute load average {os.getloadavg()[0]:.2f} at the end (other jobs slow both precisions alike: they alternate). "
          f"`pick_precision('auto')` here: `{pick_precision('auto')}`. Model: config 'best' (nbs/train.ipynb's default), ml-100k seed {a.seed}, stage 3, batch {B}; "
          f"median of {a.rounds} alternating rounds.", '',
          '| precision | training step (forward + backward), s / prompt | validation scoring pass, s / prompt |', '|---|---|---|']
    md += [f"| {p} | {m['train']:.4f} | {m['score']:.4f} |" for p, m in med.items()]
    md += [f"| **fp32 / bf16** | **{med['fp32']['train'] / med['bf16']['train']:.2f}x** | **{med['fp32']['score'] / med['bf16']['score']:.2f}x** |", '',
           f"Largest difference between the two precisions' losses on the same batch: {dloss:.4f} (losses around {statistics.median(times['fp32']['loss']):.3f})."]
    out = ROOT / f'bench/results/precision_{flags}.md'
    out.write_text('\n'.join(md) + '\n'); print('\n'.join(md))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rounds', type=int, default=8)
    ap.add_argument('--seed', type=int, default=0)
    main(ap.parse_args())
