"The papermill notebooks' parameters cells: every parameter is one that papermill can read (and so list with --help-notebook)."
import ast, json, logging
from pathlib import Path

import papermill as pm
import pytest

NBS = sorted(p for p in Path(__file__).parents[1].joinpath('nbs').glob('*.ipynb')
             if any('parameters' in c.get('metadata', {}).get('tags', []) for c in json.loads(p.read_text())['cells']))

def test_papermill_notebooks_found():
    assert {p.name for p in NBS} >= {'train.ipynb', 'dataset.ipynb', 'attention.ipynb', 'ppt.ipynb', 'cases.ipynb'}

@pytest.mark.parametrize('nb', NBS, ids=lambda p: p.name)
def test_parameters_parse(nb, caplog):
    cell = next(c for c in json.loads(nb.read_text())['cells'] if 'parameters' in c.get('metadata', {}).get('tags', []))
    names = [t.id for s in ast.parse(''.join(cell['source'])).body for t in getattr(s, 'targets', [])]
    with caplog.at_level(logging.WARNING, logger='papermill'):
        found = pm.inspect_notebook(str(nb))
    assert not [r.getMessage() for r in caplog.records if 'Unable to parse' in r.getMessage()]
    assert list(found) == names
