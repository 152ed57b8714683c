"""Training prompts per second of a run, read from its `log.jsonl` (finished or stopped part-way; a finished run's
`metrics.json` has its own `train_prompts_per_s`, validations included).

    .venv/bin/python bench/train_rate.py RUN_DIR [RUN_DIR ...] [--last 170]

Per run: the rate between its first and last logged step, and over its last `--last` seconds of training clock (the
log's `time`), the window to read where the host's load changed during the run. Validations between the two steps
count in the time. Prints one line per run.

    .venv/bin/python bench/train_rate.py RUN_DIR [RUN_DIR ...] --by-stage

adds, per MPO stage, the median seconds per optimizer step (between consecutive steps of that stage, so a validation
or a resume in between does not count): session 42 found with it that every stage after a sitting's first trained in
fp32 on a bf16 machine (README "Stages after the first trained in fp32").
"""
import argparse, json
from pathlib import Path


def rate(steps: list, last: float | None = None) -> float:
    "Prompts per second between the first step (of the last `last` seconds, when given) and the last step."
    b = steps[-1]; a = steps[0] if last is None else next(s for s in steps if s['time'] >= b['time'] - last)
    return (b['prompts'] - a['prompts']) / (b['time'] - a['time'])


def step_times(steps: list) -> dict:
    "Per stage: (median seconds between consecutive optimizer steps of that stage, how many such gaps); a gap holding a validation or a resume is an outlier the median passes over."
    gaps = {}
    for a, b in zip(steps, steps[1:]):
        if a['stage'] == b['stage'] and b['global_step'] == a['global_step'] + 1: gaps.setdefault(b['stage'], []).append(b['time'] - a['time'])
    return {k: (sorted(v)[len(v) // 2], len(v)) for k, v in gaps.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('runs', nargs='+', help='run folders holding log.jsonl')
    ap.add_argument('--last', type=float, default=170, help='seconds of training clock for the late window')
    ap.add_argument('--by-stage', action='store_true', help='also the median seconds per optimizer step in each MPO stage')
    a = ap.parse_args()
    for run in a.runs:
        log = Path(run) / 'log.jsonl'
        if not log.exists(): raise SystemExit(f'{log}: no such file (a run folder holds log.jsonl)')
        steps = {}
        for r in map(json.loads, log.read_text().splitlines()):
            if r['kind'] == 'step': steps[r['global_step']] = r   # a resumed run logs steps again: the last write counts
        steps = [steps[g] for g in sorted(steps)]
        if len(steps) < 2: raise SystemExit(f'{log}: fewer than two training steps logged')
        print(f"{Path(run).name}: {steps[-1]['prompts']:,} prompts in {steps[-1]['time']:.0f} s of training clock; "
              f"{rate(steps):.2f} prompts / s from the first step, {rate(steps, a.last):.2f} over the last {a.last:g} s")
        if a.by_stage: print('  median s / step by stage: ' + '; '.join(f'stage {k}: {v:.2f} ({n} intervals)' for k, (v, n) in step_times(steps).items()))


if __name__ == '__main__':
    main()
