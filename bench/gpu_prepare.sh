#!/usr/bin/env bash
# Prepare, on this machine, what bench/gpu.sh needs on a GPU machine that can fetch nothing (into .gpu/, git-ignored,
# carried by the device call: `carry: [".gpu"]`, < 30 MiB):
#   - wheels of the library versions this workspace pins (transformers, peft, accelerate) and what transformers imports
#     (tokenizers, safetensors, regex, huggingface_hub 1.x), for the GPU machine's Python 3.12, installed there with
#     --no-deps over its own torch;
#   - ml-100k's two files, laid out as the recbole asset package (`asset_dir('recbole')` finds them on PYTHONPATH);
#   - the bundled SmolLM2's tokenizer and config (its GGUF weights, 94 MB, do not fit the 64 MiB carry: gpu.sh gives
#     the backbone random weights of the same shape, so its timings are real and its accuracies are not reported).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/wheels .gpu/assets/recbole/dataset_example/ml-100k .gpu/smollm2
# the versions pinned here, plus what transformers needs at import in a consistent set: tokenizers, safetensors, regex, and
# huggingface_hub from its 1.x line (2.x imports httpx2, which the GPU image lacks; 1.x uses its httpx)
pins="$(.venv/bin/python -m pip list --format=freeze 2>/dev/null | grep -i -E '^(transformers|peft|accelerate|tokenizers|safetensors|regex)==') huggingface_hub==1.33.0"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/wheels $pins
ML=$(.venv/bin/python -c "from speeder.core import asset_dir; print(asset_dir('recbole') / 'dataset_example' / 'ml-100k')")
cp "$ML/ml-100k.inter" "$ML/ml-100k.item" .gpu/assets/recbole/dataset_example/ml-100k/
BB=$(.venv/bin/python -c "from speeder.backbone import bundled_backbone_dir; print(bundled_backbone_dir())")
cp "$BB"/*.json "$BB"/*.jinja .gpu/smollm2/ 2>/dev/null || cp "$BB"/*.json .gpu/smollm2/
du -sh .gpu; ls .gpu/wheels
