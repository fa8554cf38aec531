#!/bin/bash
# tcplens over one capture in 8 shards as a Slurm job array, one task a
# shard, then the merge as a job that waits for the whole array
# (docs/scale-out.md):
#   jobid=$(sbatch --parsable slurm-array.sh)
#   sbatch --dependency=afterok:"$jobid" --wrap 'bash slurm-array.sh merge'
# CAPTURE names the capture, OUT the directory of shard-K.ndjson and
# connections.ndjson, both on a file system every node sees; sbatch passes
# the submitting shell's environment on.
#SBATCH --job-name=tcplens
#SBATCH --array=1-8
set -eu
N=8
CAPTURE=${CAPTURE:-big.pcap}
OUT=${OUT:-.}
if [ "${1:-}" = merge ]; then
    tcplens merge "$OUT"/shard-*.ndjson >"$OUT/connections.ndjson"
else
    tcplens "$CAPTURE" --shard "${SLURM_ARRAY_TASK_ID}/${N}" --ndjson \
        >"$OUT/shard-${SLURM_ARRAY_TASK_ID}.ndjson"
fi
