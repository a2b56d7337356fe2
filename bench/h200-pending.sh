#!/bin/bash
# The measurements still owed to issues 12 and 15, in one GPU call (≈ 9 min; BENCHMARKS.md says
# which figure each fills). Run from the project root on the lent H200 with the release binary at
# $PINSAGE (default ./pinsage), the Gowalla folder at $GOWALLA (default ../shared/data/gowalla) and
# the Vulkan loader set up as the developers' guide describes; results go to $OUT (default ./out).
set -u
P=${PINSAGE:-./pinsage}; D=${GOWALLA:-../shared/data/gowalla}; OUT=${OUT:-./out}; mkdir -p "$OUT"
SECONDS=0
step() { echo "[$SECONDS s] $*"; }
# Issue 12: the prefetched walks on 16 threads (the 1e8 row had 102 M steps/s before them), then
# the 1e9 graph's generate + walks stage (estimated at 8–16 min before them).
for e in 1e8 1e9; do
  timeout 200 "$P" bench walks --data powerlaw:edges=$e --top-k 50 --repeats 1 --json > "$OUT/walks_$e.json" 2> "$OUT/walks_$e.err"
  step "walks $e: $(grep -o '"steps_per_sec": [0-9.]*' "$OUT/walks_$e.json")"
done
# Issue 15: the step with and without the fused L2 normalisation (the default is composed).
for v in "" --fused-norm; do
  timeout 100 "$P" bench train-step --data "$D" --device gpu --config configs/gowalla-pinsage.json --steps 400 $v --json > "$OUT/step${v}.json" 2> /dev/null
  step "train-step ${v:-composed}: $(grep -o '"ms_per_step": [0-9.]*' "$OUT/step${v}.json")"
done
# Issue 15: Gowalla epochs (target ≤ 3 s) and recall@20 after 3 epochs, with the default settings.
timeout 120 "$P" train --data "$D" --config configs/gowalla-pinsage.json --device gpu --epochs 3 --out "$OUT/run" --json > "$OUT/train.jsonl" 2> "$OUT/train.err"
step "epochs: $(grep -o '"epoch_secs": [0-9.]*' "$OUT/train.jsonl" | tr '\n' ' ')"
