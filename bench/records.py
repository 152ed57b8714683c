"""Where the bench scripts find a finished run: runs/<dataset>/<name>/ on this machine, else its committed record in
bench/results/train_runs_records/<dataset>/<name>/ (bench/train_runs.py copies `speeder.experiment.RECORD` there)."""
import json
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / 'bench/results/train_runs_records'


def run_dir(dataset: str, name: str) -> Path: return ROOT / 'runs' / dataset.replace(':', '_') / name


def record_dir(dataset: str, name: str) -> Path: return RECORDS / dataset.replace(':', '_') / name


def finished(dataset: str, name: str) -> Path | None:
    "The folder of a finished run (it has metrics.json): runs/ first, then the committed record; None when neither has finished."
    return next((d for d in (run_dir(dataset, name), record_dir(dataset, name)) if (d / 'metrics.json').exists()), None)


def names(dataset: str, tag: str) -> list:
    "The run names of a train_runs tag (<tag>-seed<k>) in runs/ or in the records, sorted."
    return sorted({d.name for base in (run_dir(dataset, ''), record_dir(dataset, '')) for d in base.glob(f'{tag}-seed*') if d.name[len(tag) + 5:].isdigit()})


def settings(params: dict) -> dict:
    "The settings a run with these nbs/train.ipynb parameters saves (its experiment.json), as JSON reads them back."
    from speeder.experiment import experiment_config
    return json.loads(json.dumps(asdict(experiment_config(verbose=False, **params))))


def settings_diff(folder: Path, params: dict) -> list:
    "Where a run folder's saved settings differ from those `params` (nbs/train.ipynb parameters) give: `speeder.experiment.config_diff`."
    from speeder.experiment import config_diff
    return config_diff(json.loads((folder / 'experiment.json').read_text()), settings(params))
