"""Training prompts per second of a run, read from its `log.jsonl` (finished or stopped part-way; a finished run's
`metrics.json` has its own `train_prompts_per_s`, validations included).

    .venv/bin/python bench/train_rate.py RUN_DIR [RUN_DIR ...] [--last 170]

Per run: the rate between its first and last logged step, and over its last `--last` seconds of training clock (the
log's `time`), the window to read where the host's load changed during the run. Validations between the two steps
count in the time. Prints one line per run.
"""
import argparse, json
from pathlib import Path


def rate(steps: list, last: float | None = None) -> float:
    "Prompts per second between the first step (of the last `last` seconds, when given) and the last step."
    b = steps[-1]; a = steps[0] if last is None else next(s for s in steps if s['time'] >= b['time'] - last)
    return (b['prompts'] - a['prompts']) / (b['time'] - a['time'])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('runs', nargs='+', help='run folders holding log.jsonl')
    ap.add_argument('--last', type=float, default=170, help='seconds of training clock for the late window')
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


if __name__ == '__main__':
    main()
