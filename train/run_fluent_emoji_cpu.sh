#!/usr/bin/env bash
# The fluent-emoji cpu-preset run, end to end: inference → generation → snapshot export →
# regularizer → final fp16 export to checkpoints/fluent-emoji/. Safe to rerun after an interruption:
# finished phases are skipped and a stopped one resumes from its last checkpoint.
#   nohup train/run_fluent_emoji_cpu.sh > runs/fluent-emoji-cpu/stdout.log 2>&1 &
# A continued run: RUN=<new run folder> INIT_FROM=<pipeline folder> OUT=<export folder> and any
# train.py overrides as arguments, e.g. --set generation.steps_separate=0 --set generation.minutes=75.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
# One thread: on a shared 2-core machine two OpenMP threads spend most of their time waiting for each
# other (measured 3× slower per step under load); set ARTZOO_THREADS=2 on an idle machine.
export OMP_NUM_THREADS="${ARTZOO_THREADS:-1}"
RUN="${RUN:-runs/fluent-emoji-cpu}"
OUT="${OUT:-checkpoints/fluent-emoji}"
OVERRIDES=("$@")
# Train on a frozen copy of the data: rebuilding data/fluent-emoji during a run would pull files away.
if [ ! -f "$RUN/data/meta.json" ]; then
  mkdir -p "$RUN" && rm -rf "$RUN/.data.tmp" && cp -r data/fluent-emoji "$RUN/.data.tmp" && mv "$RUN/.data.tmp" "$RUN/data"
fi
train() { python train/train.py --config train/configs/fluent-emoji.toml --preset cpu --run-dir "$RUN" --set "data.root=\"$RUN/data\"" "${OVERRIDES[@]}" "$@"; }

# INIT_FROM=<pipeline folder> warm-starts a new run (ignored once the run has checkpoints).
init=()
if [ -n "${INIT_FROM:-}" ] && [ ! -e "$RUN/checkpoints/latest" ]; then init=(--init-from "$INIT_FROM"); fi

train --phase inference --resume "${init[@]}"
train --phase generation --resume
# A usable snapshot before the (optional) regulariser phase.
train --phase export --from-phase generation --out "$OUT"
train --phase regularizer --resume
train --phase export --out "$OUT"
echo "run complete: $(date)"
