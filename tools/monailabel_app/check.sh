#!/usr/bin/env bash
# End-to-end check of the PRISM MONAI Label app: start the server on 127.0.0.1, ask it for one segmentation,
# verify the label map (shape and affine of the study, values among the bundle's labels), stop the server.
#
# Usage: bash tools/monailabel_app/check.sh [WORKDIR]
# Env:   MONAILABEL_VENV (default /tmp/monailabel-venv, made by setup_env.sh), PYTHON (the project's main
#        environment, default python3), BUNDLES (comma-separated; default: a single-sequence, a multi-sequence
#        with dataset label values, and an external-evaluation bundle), CHECK_TIMEOUT (seconds for server
#        start-up and for each answer; default 300), TRAIN_BUNDLE (one of BUNDLES that MONAI Label then trains
#        for one epoch on two labelled studies and serves again; default prism_amos_abdomen_seg; empty: no
#        training), CHECK_TOTAL (seconds for the whole script, default 1800).
# The network is shrunk (feature size 12, 3 mm voxels, 64^3 windows) and untrained: the serving path is
# checked, not the model.
set -euo pipefail
if [ -z "${_PRISM_CHECK_BOUNDED:-}" ]; then  # the whole run under one time limit; TERM runs the cleanup trap
    _PRISM_CHECK_BOUNDED=1 exec timeout --signal=TERM --kill-after=60 "${CHECK_TOTAL:-1800}" bash "$0" "$@"
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MONAILABEL_VENV:-/tmp/monailabel-venv}"
PYTHON="${PYTHON:-python3}"
BUNDLES="${BUNDLES:-prism_amos_abdomen_seg,prism_brats2021_tumour_seg,prism_chaos_abdomen_seg}"
TRAIN_BUNDLE="${TRAIN_BUNDLE-prism_amos_abdomen_seg}"
LIMIT="${CHECK_TIMEOUT:-300}"
WORK="${1:-$(mktemp -d /tmp/prism-monailabel-check.XXXXXX)}"
OVERRIDES='{"feature_size": 12, "roi_size": [64, 64, 64], "pixdim": [3.0, 3.0, 3.0], "sw_batch_size": 1, "sw_overlap": 0.0}'
# training only: no PRISM encoder file in the copied bundle, and a tiny single-process run
TRAIN_OVERRIDES='{"pretrained_source": "scratch", "num_workers": 0, "cache_rate": 0.0, "batch_size": 1, "num_samples": 1}'
HOST=127.0.0.1

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import monailabel" 2>/dev/null; then
    echo "check.sh: no MONAI Label at $VENV (run tools/monailabel_app/setup_env.sh first)" >&2
    exit 2
fi
mkdir -p "$WORK"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -- "-$SERVER_PID" 2>/dev/null || kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
        kill -9 -- "-$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'echo "check.sh: stopped (time limit or signal)" >&2; exit 124' INT TERM

t0=$(date +%s.%N)
cd "$REPO_ROOT"
timeout "$LIMIT" "$PYTHON" tools/monailabel_app/check.py prepare --workdir "$WORK" --bundles "$BUNDLES" \
    --overrides "$OVERRIDES" ${TRAIN_BUNDLE:+--train_bundle "$TRAIN_BUNDLE"}
t1=$(date +%s.%N)

PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# its own process group (setsid), so the exit trap stops the server and anything it started. Not through the
# `monailabel` launcher script: it runs whichever `python` is first on PATH, prepends the venv's parent folder
# to PYTHONPATH, and re-splits arguments on spaces (`$*`), which breaks the JSON overrides.
setsid "$VENV/bin/python" -m monailabel.main start_server --app "$REPO_ROOT/tools/monailabel_app" --studies "$WORK/studies" \
    --conf bundles "$WORK/bundles" --conf models "$BUNDLES" --conf bundle_overrides "$OVERRIDES" \
    --conf train_overrides "$TRAIN_OVERRIDES" \
    --host "$HOST" --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
deadline=$(( $(date +%s) + LIMIT ))
until curl -sf "http://$HOST:$PORT/info/" -o "$WORK/info.json"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
        echo "check.sh: the server did not answer /info/ (log: $WORK/server.log)" >&2
        tail -40 "$WORK/server.log" >&2
        exit 1
    fi
    sleep 2
done
t2=$(date +%s.%N)

fail() { echo "check.sh: $1 (log: $WORK/server.log)" >&2; tail -40 "$WORK/server.log" >&2; exit 1; }
summary=()
while read -r BUNDLE STUDY; do
    for round in 1 2; do  # the second answer comes from the cached network: steady-state latency
        s=$(date +%s.%N)
        curl -sf --max-time "$LIMIT" -X POST "http://$HOST:$PORT/infer/$BUNDLE?image=$STUDY&output=image" \
            -o "$WORK/$BUNDLE.$round.nii.gz" || fail "inference with $BUNDLE on $STUDY failed"
        e=$(date +%s.%N)
        summary+=("$(printf '%s on %s, request %d: %.1f s' "$BUNDLE" "$STUDY" "$round" "$(echo "$e - $s" | bc)")")
    done
    "$PYTHON" tools/monailabel_app/check.py verify --image "$WORK/studies/$STUDY.nii.gz" --label "$WORK/$BUNDLE.1.nii.gz" \
        --bundle_dir "$WORK/bundles/$BUNDLE" --info "$WORK/info.json" --model "$BUNDLE"
done <"$WORK/requests.txt"
if [ -n "$TRAIN_BUNDLE" ]; then
    weights="$WORK/bundles/$TRAIN_BUNDLE/models/model.pt"
    before=$(md5sum "$weights" | cut -d' ' -f1)
    s=$(date +%s.%N)
    curl -sf --max-time "$LIMIT" -X POST "http://$HOST:$PORT/train/$TRAIN_BUNDLE?run_sync=true" \
        -H "Content-Type: application/json" \
        -d '{"max_epochs": 1, "val_split": 0.5, "multi_gpu": false, "device": "cpu"}' -o "$WORK/train.json" \
        || fail "training $TRAIN_BUNDLE failed"
    e=$(date +%s.%N)
    [ "$(md5sum "$weights" | cut -d' ' -f1)" != "$before" ] || fail "training left $weights unchanged"
    summary+=("$(printf 'training %s for one epoch on 2 studies (MONAI Label datastore): %.1f s' \
        "$TRAIN_BUNDLE" "$(echo "$e - $s" | bc)")")
    study=$(awk -v b="$TRAIN_BUNDLE" '$1 == b {print $2}' "$WORK/requests.txt")
    curl -sf --max-time "$LIMIT" -X POST "http://$HOST:$PORT/infer/$TRAIN_BUNDLE?image=$study&output=image" \
        -o "$WORK/$TRAIN_BUNDLE.trained.nii.gz" || fail "inference with the trained $TRAIN_BUNDLE failed"
    grep -q "Reload model from cache" "$WORK/server.log" || fail "the server did not reload the trained weights"
    "$PYTHON" tools/monailabel_app/check.py verify --image "$WORK/studies/$study.nii.gz" \
        --label "$WORK/$TRAIN_BUNDLE.trained.nii.gz" --bundle_dir "$WORK/bundles/$TRAIN_BUNDLE" \
        --info "$WORK/info.json" --model "$TRAIN_BUNDLE"
fi
grep -o "Latencies => .*" "$WORK/server.log" || true
printf 'prepare %.1f s, server start to /info/ %.1f s\n' "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
printf '%s\n' "${summary[@]}"
echo "check.sh: OK ($WORK)"
