"""Summarise a bench/gpu.sh results folder into gpu.md there: python bench/gpu_summary.py FOLDER (gpu.sh calls it after
every part; run it here on an unpacked gpu-results.tgz)."""
import json, re, sys
from pathlib import Path
R = Path(sys.argv[1]); read = lambda f: (R / f).read_text() if (R / f).exists() else ''
ran = {l.strip() for l in read('parts.txt').splitlines() if l.strip() in ('1', '2', '3', '4')} if (R / 'parts.txt').exists() else set('1234')   # parts.txt: the parts run, and lines for skipped ones
def part(k, text): return text if k in ran else 'not run in this call (GPU_STEPS, or too little time left: parts.txt)'
tests = [l for l in read('pytest.txt').splitlines() if re.search(r'passed|failed|error', l)]
m = json.loads(read('default_run_metrics.json') or '{}'); wall = re.findall(r'wall time: (\d+) s', read('default_run.txt'))
md = ['# GPU check (bench/gpu.sh)', '', '```', read('env.txt').strip(), '```', '',
      '## 1. Tests on the GPU', '', part('1', f"`{tests[-1]}`" if tests else 'no pytest summary: stopped at its timeout (pytest.txt)'), '',
      '## 2. Default ml-100k run in bf16 (text + ID; random-weight SmolLM2-135M-shaped backbone: wall time only)', '',
      part('2', f"wall time {wall[-1]} s (training {m['train_time_s']} s, {m['train_prompts']} prompts, {m['train_prompts_per_s']} prompts/s, precision {m['precision']}, "
                f"device {m.get('device')}); SASRec ($E_s$, real, on the GPU) test HR@1 {m['sasrec_test_hr1']:.3f}, popularity {m['popularity_test_hr1']:.3f}"
                if m else 'did not finish (default_run.txt)'), '',
      '## 3. Speeder vs LLaRA-style, LLaMA-2-7B-shaped backbone', '', part('3', read('bench.md') or 'did not finish'), '',
      "## 4. SmolLM2-135M's shape, batch 8 and 32, one training step profiled", '',
      part('4', '\n'.join(read(f'bench135_b{b}.md') or f'batch {b}: did not finish' for b in (8, 32)))]
(R / 'gpu.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))
