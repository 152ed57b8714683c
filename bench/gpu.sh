#!/usr/bin/env bash
# The GPU check, one call on a GPU machine (issue 14; at most 8 minutes: each part has its own timeout, and the summary
# is written whatever finished):
#   here:   bash bench/gpu_prepare.sh                      (fills .gpu/: wheels, ml-100k, the tokenizer)
#   there:  bash bench/gpu.sh                               (device tool: carry [".gpu"], timeout_s 600)
#   here:   copy the returned gpu.md to bench/results/gpu.md and commit it.
# 1. the CUDA-relevant tests (tests/test_gpu.py: bf16, device buffers, no host sync in Speeder's step; exact resume,
#    tiny LLaMA / Qwen2 / Gemma, the model) on the GPU;
# 2. the README's default ml-100k run through `python -m speeder.experiment` in bf16, with its wall time (text + ID:
#    the posters and MiniLM do not fit the carry; the backbone has SmolLM2-135M's shape and random weights, so the
#    wall time is real and its accuracy is not reported);
# 3. per-sample training / generation timings and peak memory of Speeder vs LLaRA-style on a randomly initialised
#    LLaMA-2-7B-shaped backbone (bench/gpu_bench.py).
# Results go to $OUT (the device tool's folder) or bench/results/gpu/, summarised in gpu.md there.
set -uo pipefail
cd "$(dirname "$0")/.."
R=${OUT:-bench/results/gpu}; mkdir -p "$R"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SPEEDER_CACHE=/tmp/speeder-cache CUBLAS_WORKSPACE_CONFIG=:4096:8
t0=$(date +%s)
if ls .gpu/wheels/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD:$PWD/.gpu/assets:${PYTHONPATH:-}
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'bench/gpu.sh: no CUDA device here; it is the check for a GPU machine (README, \"GPU check\").')" || exit 1
python3 - <<'EOF' || exit 1
# the bundled backbone's folder in the cache: the carried tokenizer and config, random weights of SmolLM2-135M's shape
import shutil, torch
from pathlib import Path
from transformers import AutoConfig, AutoModelForCausalLM
dst = Path('/tmp/speeder-cache/backbones/SmolLM2-135M-Instruct')
if not (dst / 'model.safetensors').exists():
    dst.mkdir(parents=True, exist_ok=True)
    for f in Path('.gpu/smollm2').iterdir(): shutil.copy(f, dst / f.name)
    torch.manual_seed(0); AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(dst)).save_pretrained(dst)
print('backbone folder ready (random weights, SmolLM2-135M shape):', dst)
EOF
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, transformers, peft, accelerate; print('torch', torch.__version__, '| transformers', transformers.__version__, '| peft', peft.__version__, '| accelerate', accelerate.__version__, '| bf16', torch.cuda.is_bf16_supported())"; } > "$R/env.txt" 2>&1
cat "$R/env.txt"

echo "== 1. tests on the GPU"
timeout 170 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_trainer.py tests/test_architectures.py tests/test_model.py 2>&1 | tee "$R/pytest.txt" | tail -25
echo "== 2. the default ml-100k run, bf16"
s=$(date +%s)
timeout 180 python3 -m speeder.experiment --dataset ml-100k --image_dir None --text_encoder llm --output_dir /tmp/runs --run_name gpu 2>&1 | tee "$R/default_run.txt" | tail -8
echo "wall time: $(( $(date +%s) - s )) s" | tee -a "$R/default_run.txt"
cp /tmp/runs/ml-100k/gpu/metrics.json "$R/default_run_metrics.json" 2>/dev/null
echo "== 3. Speeder vs LLaRA-style on a LLaMA-2-7B-shaped backbone"
timeout 110 python3 bench/gpu_bench.py --shape llama2-7b --out "$R/bench" 2>&1 | tail -12

python3 - "$R" <<'EOF'
import json, re, sys
from pathlib import Path
R = Path(sys.argv[1]); read = lambda f: (R / f).read_text() if (R / f).exists() else ''
tests = [l for l in read('pytest.txt').splitlines() if re.search(r'passed|failed|error', l)]
m = json.loads(read('default_run_metrics.json') or '{}'); wall = re.findall(r'wall time: (\d+) s', read('default_run.txt'))
md = ['# GPU check (bench/gpu.sh)', '', '```', read('env.txt').strip(), '```', '',
      '## 1. Tests on the GPU', '', f"`{tests[-1] if tests else 'no pytest summary (see pytest.txt)'}`", '',
      '## 2. Default ml-100k run in bf16 (text + ID; random-weight SmolLM2-135M-shaped backbone: wall time only)', '',
      (f"wall time {wall[-1]} s (training {m['train_time_s']} s, {m['train_prompts']} prompts, {m['train_prompts_per_s']} prompts/s, precision {m['precision']}, "
       f"device {m.get('device')}); SASRec ($E_s$, real, on the GPU) test HR@1 {m['sasrec_test_hr1']:.3f}, popularity {m['popularity_test_hr1']:.3f}")
      if m else 'did not finish (see default_run.txt)', '',
      '## 3. Speeder vs LLaRA-style, LLaMA-2-7B-shaped backbone', '', read('bench.md') or 'did not finish']
(R / 'gpu.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))
EOF
echo "gpu.sh: $(( $(date +%s) - t0 )) s"
