"""Where an fp32 training step's time goes on this CPU, and whether another matrix library would run it faster.

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/cpu_gemm.py

On a CPU without bf16 units `pick_precision('auto')` trains in fp32 (bench/precision.py). This profiles training steps
of the main command's model (config 'best', ml-100k seed 0, stage 3, batch 8: the data's own features from the feature
cache) with torch.profiler and reports the share of the matrix products (aten::mm, aten::addmm, aten::bmm) in the
step's CPU time. Then it times single-precision products of the step's own shapes (its tokens x SmolLM2-135M's widths,
and one large square) in the three libraries at hand: PyTorch's (MKL), NumPy's (OpenBLAS) and oneDNN (PyTorch's
mkldnn linear), interleaved round by round so that load falls on all three alike; medians in GFLOP/s.
If the products take most of the step and no library runs them much faster, switching libraries cannot make fp32
training here much faster. (The CPU's peak rate is not measured here, so neither is how far the products are from it.)
Writes bench/results/cpu_gemm_<cpu flags>.md.
"""
import argparse, os, platform, statistics, sys, time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
from precision import cpu_flags, main_model


def step_profile(steps: int):
    "((real tokens, token positions) of a step, seconds per step, the matrix products' share of the profiled CPU time, batch size, the LLM's config). A step is one micro-batch's forward and backward, no optimizer step."
    from torch.profiler import ProfilerActivity, profile
    cfg, _, model, batches = main_model(0, steps + 1)
    model.train(); B = cfg.train.batch_size
    def step(b): model(b)['loss'].backward(); model.zero_grad(set_to_none=True)
    step(batches[0])   # warm-up, not profiled
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        for b in batches[1:]: step(b)
        dt = (time.perf_counter() - t) / steps
    ev = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ev)
    mm = sum(e.self_cpu_time_total for e in ev if e.key in ('aten::mm', 'aten::addmm', 'aten::bmm'))
    tokens = int(batches[1].attention_mask.sum()), batches[1].input_ids.numel()
    return tokens, dt, mm / total, B, model.llm.config


def gemm_rates(shapes, rounds: int) -> dict:
    "shape -> library -> median GFLOP/s, the libraries interleaved within each round."
    out = {}
    for m, k, n in shapes:
        a32, b32 = np.random.randn(m, k).astype(np.float32), np.random.randn(k, n).astype(np.float32)
        ta, tb = torch.from_numpy(a32.copy()), torch.from_numpy(b32.copy())
        xm, wm = ta.to_mkldnn(), tb.t().contiguous().to_mkldnn()   # mkldnn_linear takes the weight as (out, in)
        libs = {'PyTorch (MKL)': lambda: ta @ tb, 'NumPy (OpenBLAS)': lambda: a32 @ b32,
                'oneDNN (mkldnn linear)': lambda: torch._C._nn.mkldnn_linear(xm, wm, None)}
        reps = max(1, int(2e9 / (2 * m * k * n)))   # about 2 GFLOP per timing
        rates = {name: [] for name in libs}
        for r in range(rounds + 1):   # round 0 warms up
            for name, f in libs.items():
                t = time.perf_counter()
                for _ in range(reps): f()
                if r: rates[name].append(2 * m * k * n * reps / (time.perf_counter() - t) / 1e9)
        out[(m, k, n)] = {name: statistics.median(v) for name, v in rates.items()}
    return out


def main(a):
    (tok, padded), dt, share, B, llm = step_profile(a.steps)
    d, f = llm.hidden_size, llm.intermediate_size
    shapes = [(padded, d, f), (padded, f, d), (padded, d, d), (2048, 2048, 2048)]
    rates = gemm_rates(shapes, a.rounds)
    libs = list(next(iter(rates.values())))
    md = [f"# An fp32 training step on this CPU ({platform.processor() or platform.machine()}, {cpu_flags()})", '',
          f"Reproduce: `HF_HUB_OFFLINE=1 OMP_NUM_THREADS={torch.get_num_threads()} .venv/bin/python bench/cpu_gemm.py --steps {a.steps} --rounds {a.rounds}`; "
          f"{torch.get_num_threads()} thread(s), {os.cpu_count()} cores, 1-minute load average {os.getloadavg()[0]:.2f} at the end "
          "(other jobs on the cores slow every library alike: they alternate within each round). PyTorch " + torch.__version__ + ", NumPy " + np.__version__ + '.', '',
          f"Training step of config 'best' (ml-100k seed 0, stage 3, batch {B}, fp32, profiled over {a.steps} steps): {padded} token positions "
          f"({tok} of them real, in the first profiled batch), **{dt:.2f} s per step** ({dt / B:.3f} s per prompt, under the profiler), of which the matrix products "
          f"(aten::mm / addmm / bmm) take **{share:.0%}** of the CPU time.", '',
          f"Single-precision products, median GFLOP/s over {a.rounds} interleaved rounds (M x K x N; the first three are the step's "
          f"own: its {padded} positions times SmolLM2-135M's widths {d} and {f}):", '',
          '| M x K x N | ' + ' | '.join(libs) + ' |', '|---' * (len(libs) + 1) + '|']
    md += [f"| {m} x {k} x {n} | " + ' | '.join(f'{r[l]:.1f}' for l in libs) + ' |' for (m, k, n), r in rates.items()]
    out = ROOT / f'bench/results/cpu_gemm_{cpu_flags()}.md'
    out.write_text('\n'.join(md) + '\n'); print('\n'.join(md))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--rounds', type=int, default=5)
    main(ap.parse_args())
