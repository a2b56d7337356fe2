#!/bin/bash
# The measurement still owed to issue 12, in one call on the two-GPU H200 host (nvidia-h200-x2;
# ≈ 8 min; BENCHMARKS.md, "Data-parallel training", says which figure each fills). The walks at
# 1e8 and 1e9, the fused normalisation and the Gowalla epochs were measured the sixth session.
# Run from the project root with the release binary at $PINSAGE (default ./pinsage), the Gowalla
# folder at $GOWALLA (default ../shared/data/gowalla) and the Vulkan loader set up as the
# developers' guide describes; results go to $OUT (default ./out).
set -u
P=${PINSAGE:-./pinsage}; D=${GOWALLA:-../shared/data/gowalla}; OUT=${OUT:-./out}; mkdir -p "$OUT"
G=configs/gowalla-pinsage.json
SECONDS=0
step() { echo "[$SECONDS s] $*"; }
# Triplets/s on one GPU and on two (data-parallel), and each device's GPU-wait share.
timeout 150 "$P" bench train-step --data "$D" --device gpu --config $G --devices 0,1 --steps 200 --json > "$OUT/dp_step.json" 2> "$OUT/dp_step.err"
step "train-step 1 vs 2 GPUs: $(grep -o '"speedup": [0-9.]*' "$OUT/dp_step.json")"
# Recall parity after the same epochs: one GPU, then two.
for devs in "" "--devices 0,1"; do
  n=${devs:+2gpu}; n=${n:-1gpu}
  timeout 150 "$P" train --data "$D" --config $G --device gpu $devs --epochs 5 --eval-interval 5 --out "$OUT/run_$n" --json > "$OUT/train_$n.jsonl" 2> "$OUT/train_$n.err"
  step "$n: $(grep -o '"epoch_secs":[0-9.]*\|"device_wait_shares":[^]]*]' "$OUT/train_$n.jsonl" | tr '\n' ' ') $(grep -o '"recall@20":[0-9.]*' "$OUT/train_$n.jsonl" | tail -1)"
done
