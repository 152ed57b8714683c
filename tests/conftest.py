import os, shutil
from pathlib import Path
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / 'fixtures'
# The shared posters are an optional input: tests that need them skip, loudly, when they are absent.
POSTERS = Path(os.environ.get('SPEEDER_POSTERS', ROOT.parent / 'shared' / 'data' / 'ml-100k-posters' / 'images'))
needs_posters = pytest.mark.skipif(not POSTERS.is_dir(), reason=f'posters folder {POSTERS} not present')


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    "Each test session gets its own Speeder cache, so tests never read a stale user cache."
    cache = tmp_path_factory.getbasetemp() / 'speeder-cache'
    monkeypatch.setenv('SPEEDER_CACHE', str(cache))
    # bench/gpu.sh: a machine without the GGUF asset (it does not fit the device carry) is handed a ready backbone folder
    # (the tokenizer is all these tests read from it), linked in instead of converted
    given, link = os.environ.get('SPEEDER_TEST_BACKBONE'), cache / 'backbones' / 'SmolLM2-135M-Instruct'
    if given and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True); link.symlink_to(Path(given).resolve(), target_is_directory=True)


@pytest.fixture
def amazon_root(tmp_path):
    "A copy of the hand-written Amazon fixtures that a test may edit."
    dst = tmp_path / 'amazon'
    shutil.copytree(FIXTURES, dst)
    return dst


if __import__('torch').cuda.is_available():   # GPU runs (bench/gpu.sh): deterministic kernels, so the exact-resume test can compare losses digit for digit
    os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    __import__('torch').use_deterministic_algorithms(True, warn_only=True)
