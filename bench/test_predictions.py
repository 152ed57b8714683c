"""Per-sample test answers for finished runs made before `test_predictions.json` existed, by re-testing the checkpoint they were tested on.

    .venv/bin/python bench/test_predictions.py runs/ml-100k/paper-seqres-long-seed0 [more runs ...]

Per run: its dataset (the same seed, so the same test candidates), the checkpoint `run_experiment` tested (best, or the
last weights when validation kept none), `evaluate(..., predictions=True)` at the run's precision. The re-tested
metrics must equal those in the run's metrics.json, or nothing is written for it (the answers would not be the ones its
numbers came from). Writes <run>/test_predictions.json, and into the run's committed record
(bench/results/train_runs_records/<dataset>/<run>/) when there is one. Runs that have the file are skipped.
"""
import argparse, json, math, sys
from pathlib import Path

from speeder.core import atomic_write_json
from speeder.eval import evaluate
from speeder.viz import load_run

from records import record_dir

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('runs', nargs='+')
a = ap.parse_args()
failed = []
for run in map(Path, a.runs):
    if (run / 'test_predictions.json').exists(): print(f'{run}: has test_predictions.json'); continue
    metrics = json.loads((run / 'metrics.json').read_text())
    which = 'best' if metrics.get('valid_best') else 'last'
    model, ds, _ = load_run(run, which=which)
    test, preds = evaluate(model, ds.test, generate=True, ppt=False, precision=metrics['precision'], predictions=True)
    shared = [k for k in test if k in metrics['test']]   # metrics older code did not record are not compared
    differ = {k: (metrics['test'][k], test[k]) for k in shared if not math.isclose(metrics['test'][k], test[k], abs_tol=1e-6)}
    if differ or not shared:
        print(f'{run}: re-testing checkpoints/{which} does not reproduce metrics.json ({", ".join(f"{k}: {x} there, {y} now" for k, (x, y) in differ.items()) or "no metric to compare"}); nothing written')
        failed.append(str(run)); continue
    atomic_write_json(run / 'test_predictions.json', preds)
    record = record_dir(metrics['dataset'], run.name)   # the committed copy of this very run (the same metrics.json), if there is one
    if record.resolve() != run.resolve() and (record / 'metrics.json').exists() and (record / 'metrics.json').read_bytes() == (run / 'metrics.json').read_bytes():
        atomic_write_json(record / 'test_predictions.json', preds)
    print(f"{run}: checkpoints/{which} re-tested, {', '.join(f'{k} {test[k]:.3f}' for k in shared)} as in metrics.json; test_predictions.json written")
if failed: sys.exit(f'not reproduced: {" ".join(failed)}')
