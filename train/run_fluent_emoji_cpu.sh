#!/usr/bin/env bash
# The fluent-emoji cpu-preset run, end to end: inference → generation → snapshot export →
# regularizer → final fp16 export to checkpoints/fluent-emoji/. Safe to rerun after an interruption:
# finished phases are skipped and a stopped one resumes from its last checkpoint.
#   nohup train/run_fluent_emoji_cpu.sh > runs/fluent-emoji-cpu/stdout.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
# One thread: on a shared 2-core machine two OpenMP threads spend most of their time waiting for each
# other (measured 3× slower per step under load); set ARTZOO_THREADS=2 on an idle machine.
export OMP_NUM_THREADS="${ARTZOO_THREADS:-1}"
RUN=runs/fluent-emoji-cpu
# Train on a frozen copy of the data: rebuilding data/fluent-emoji during a run would pull files away.
if [ ! -f "$RUN/data/meta.json" ]; then
  mkdir -p "$RUN" && rm -rf "$RUN/.data.tmp" && cp -r data/fluent-emoji "$RUN/.data.tmp" && mv "$RUN/.data.tmp" "$RUN/data"
fi
train() { python train/train.py --config train/configs/fluent-emoji.toml --preset cpu --set "data.root=\"$RUN/data\"" "$@"; }

# INIT_FROM=<pipeline folder> warm-starts a new run (ignored once the run has checkpoints).
init=()
if [ -n "${INIT_FROM:-}" ] && [ ! -e "$RUN/checkpoints/latest" ]; then init=(--init-from "$INIT_FROM"); fi

train --phase inference --resume "${init[@]}"
train --phase generation --resume
# A usable snapshot before the (optional) regulariser phase.
train --phase export --from-phase generation --out checkpoints/fluent-emoji
train --phase regularizer --resume
train --phase export --out checkpoints/fluent-emoji
echo "run complete: $(date)"
