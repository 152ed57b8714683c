"""Where the bench scripts find a finished run: runs/<dataset>/<name>/ on this machine, else its committed record in
bench/results/train_runs_records/<dataset>/<name>/ (bench/train_runs.py copies `speeder.experiment.RECORD` there), or for
bench/paper_tables.py's runs (<name> = tables-<scale>/<run>) in bench/results/paper_tables_runs/<dataset>/<scale>/<run>/."""
import json, subprocess
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / 'bench/results/train_runs_records'


def run_dir(dataset: str, name: str) -> Path: return ROOT / 'runs' / dataset.replace(':', '_') / name


def record_dir(dataset: str, name: str) -> Path:
    "The committed record of a run: bench/paper_tables.py's runs (tables-<scale>/<run>) are under paper_tables_runs/<dataset>/<scale>/, the rest under RECORDS."
    if name.startswith('tables-'):
        scale, _, run = name[len('tables-'):].partition('/')
        return ROOT / 'bench/results/paper_tables_runs' / dataset.replace(':', '_') / scale / run
    return RECORDS / dataset.replace(':', '_') / name


def all_runs(dataset: str, local: bool = False) -> dict:
    "name -> folder of every run with a step log and settings: the committed records (the inverse of `record_dir`); with `local`, runs/ on this machine too (which wins: it may be further on)."
    ds, tables = dataset.replace(':', '_'), ROOT / 'bench/results/paper_tables_runs'
    found = {d.name: d for d in sorted((RECORDS / ds).glob('*'))}
    found.update({f'tables-{d.parent.name}/{d.name}': d for d in sorted((tables / ds).glob('*/*'))})
    for d in sorted(run_dir(dataset, '').glob('*')) if local else []:
        local_runs = {f'{d.name}/{e.name}': e for e in sorted(d.glob('*'))} if d.name.startswith('tables-') else {d.name: d}
        found.update({k: v for k, v in local_runs.items() if (v / 'log.jsonl').exists()})   # a run just started (no step log yet) does not hide its record
    return {k: v for k, v in found.items() if (v / 'log.jsonl').exists() and (v / 'experiment.json').exists()}


def finished(dataset: str, name: str) -> Path | None:
    "The folder of a finished run (it has metrics.json): runs/ first, then the committed record; None when neither has finished."
    return next((d for d in (run_dir(dataset, name), record_dir(dataset, name)) if (d / 'metrics.json').exists()), None)


def first_made(folder: Path) -> tuple:
    "Sort key of records: the time the record's metrics.json was first committed (a record not committed yet, or without git history here, comes after every committed one), then its name."
    try: t = subprocess.run(['git', 'log', '--diff-filter=A', '--format=%ct', '--', str(folder / 'metrics.json')], cwd=ROOT, capture_output=True, text=True).stdout.split()
    except OSError: t = []
    return (int(t[-1]) if t else float('inf'), folder.name)


def names(dataset: str, tag: str) -> list:
    "The run names of a tag (<tag>-seed<k>; a paper_tables run's tag with its tables-<scale>/ folder) in runs/ or in the records, sorted."
    folder, _, base = tag.rpartition('/')
    found = {d.name for where in (run_dir(dataset, tag), record_dir(dataset, tag)) for d in where.parent.glob(f'{base}-seed*') if d.name[len(base) + 5:].isdigit()}
    return sorted(f'{folder}/{n}' if folder else n for n in found)


def settings(params: dict) -> dict:
    "The settings a run with these nbs/train.ipynb parameters saves (its experiment.json), as JSON reads them back."
    from speeder.experiment import experiment_config
    return json.loads(json.dumps(asdict(experiment_config(verbose=False, **params))))


def settings_diff(folder: Path, params: dict) -> list:
    "Where a run folder's saved settings differ from those `params` (nbs/train.ipynb parameters) give: `speeder.experiment.config_diff`."
    from speeder.experiment import config_diff
    return config_diff(json.loads((folder / 'experiment.json').read_text()), settings(params))
