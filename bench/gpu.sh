#!/usr/bin/env bash
# The GPU check, one call on a GPU machine (issue 14; under 10 minutes: each part has its own timeout, a part that would
# not fit in what is left is skipped, and the summary is written after every part):
#   here:   bash bench/gpu_prepare.sh                      (fills .gpu/: wheels, ml-100k, the tokenizer)
#   there:  bash bench/gpu.sh                               (device tool: carry [".gpu"], timeout_s 600)
#   here:   unpack the returned gpu-results.tgz into bench/results/gpu/, write up gpu.md in bench/results/gpu.md, commit.
# 1. the CUDA-relevant tests (tests/test_gpu.py: bf16, device buffers, no host sync in Speeder's step; exact resume,
#    tiny LLaMA / Qwen2 / Gemma, the model) on the GPU;
# 2. the README's default ml-100k run through `python -m speeder.experiment` in bf16, with its wall time (text + ID:
#    the posters and MiniLM do not fit the carry; the backbone has SmolLM2-135M's shape and random weights, so the
#    wall time is real and its accuracy is not reported);
# 3. per-sample training / generation timings and peak memory of Speeder vs LLaRA-style on a randomly initialised
#    LLaMA-2-7B-shaped backbone (bench/gpu_bench.py).
# 4. the same per-sample timings on SmolLM2-135M's shape at batch 8 (the default run's) and 32, with a profile of one
#    training step: the share of its wall time the GPU spends in kernels, and how many kernels it launches (whether the
#    default run is bound by per-step overhead rather than by the GPU's arithmetic).
# GPU_STEPS=14 (say) runs only those parts, in that order. The device tool brings back 8 files at most: every part's output goes
# into one archive, gpu-results.tgz, beside the summary gpu.md, in $OUT (the device tool's folder) or bench/results/gpu/.
set -uo pipefail
cd "$(dirname "$0")/.."
DEST=${OUT:-bench/results/gpu}; R=/tmp/gpu-results; rm -rf "$R"; mkdir -p "$R" "$DEST"
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

# Parts in the order GPU_STEPS gives (default 1342: the long default run last). A part starts only if its timeout fits in
# what is left of GPU_BUDGET_S (default 560 s, inside the device tool's 600 s per call); after each part the summary and
# the archive are written again, so a call stopped at its limit still brings back what finished.
BUDGET=${GPU_BUDGET_S:-560}
part1() { SPEEDER_TEST_BACKBONE=/tmp/speeder-cache/backbones/SmolLM2-135M-Instruct timeout $1 python3 -m pytest -q -p no:cacheprovider -rA \
            tests/test_gpu.py tests/test_trainer.py tests/test_architectures.py tests/test_model.py 2>&1 | tee "$R/pytest.txt" | tail -25; }
part2() { rm -rf /tmp/runs/ml-100k/gpu; local s=$(date +%s)   # a fresh run: a warm machine's earlier checkpoint would be resumed
          timeout $1 python3 -m speeder.experiment --dataset ml-100k --image_dir None --text_encoder llm --output_dir /tmp/runs --run_name gpu 2>&1 | tee "$R/default_run.txt" | tail -8
          echo "wall time: $(( $(date +%s) - s )) s" | tee -a "$R/default_run.txt"; cp /tmp/runs/ml-100k/gpu/metrics.json "$R/default_run_metrics.json" 2>/dev/null; }
part3() { timeout $1 python3 bench/gpu_bench.py --shape llama2-7b --out "$R/bench" 2>&1 | tail -12; }
part4() { for b in 8 32; do timeout $(( $1 / 2 )) python3 bench/gpu_bench.py --shape smollm2-135m --n-max 10 --batch-size $b --rounds 3 --profile --out "$R/bench135_b$b" 2>&1 | tail -4; done; }
declare -A LIMIT=([1]=170 [2]=330 [3]=110 [4]=120) NAME=([1]='tests on the GPU' [2]='the default ml-100k run, bf16' [3]='Speeder vs LLaRA-style, LLaMA-2-7B shape' [4]="SmolLM2-135M's shape at batch 8 and 32, profiled")
for k in $(echo "${GPU_STEPS:-1342}" | grep -o .); do
  left=$(( BUDGET - ($(date +%s) - t0) ))
  if (( left < ${LIMIT[$k]} )); then echo "== $k. ${NAME[$k]}: skipped, ${left} s left of ${BUDGET}" | tee -a "$R/parts.txt"; continue; fi
  echo "== $k. ${NAME[$k]}"; part$k ${LIMIT[$k]}; echo "$k" >> "$R/parts.txt"
  python3 bench/gpu_summary.py "$R" > /dev/null; cp "$R/gpu.md" "$DEST/"; tar czf "$DEST/gpu-results.tgz" -C "$R" .
done
python3 bench/gpu_summary.py "$R"; cp "$R/gpu.md" "$DEST/"; tar czf "$DEST/gpu-results.tgz" -C "$R" .
echo "gpu.sh: $(( $(date +%s) - t0 )) s"
