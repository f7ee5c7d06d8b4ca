#!/usr/bin/env bash
# make load: start the stack on the bench county (bench/stack.py), run locust headless against
# it, count rows (bench/load/count.py), stop the stack. Figures: stdout and
# instance/stack/load-*.csv. Variables: USERS, SPAWN, DURATION, WORKERS, PORT, LOAD_DB.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
USERS=${USERS:-312} SPAWN=${SPAWN:-2} DURATION=${DURATION:-5m}
WORKERS=${WORKERS:-$((2 * $(nproc) + 1))} PORT=${PORT:-8000} LOAD_DB=${LOAD_DB:-fieldlog_load}
mkdir -p instance/stack
$PY bench/stack.py --county bench --db "$LOAD_DB" --workers "$WORKERS" --port "$PORT" \
    > instance/stack/stack.log 2>&1 &
STACK=$!
trap 'kill -TERM $STACK 2>/dev/null; wait $STACK 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do  # the first run generates the county: minutes
    if curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null; then break; fi
    if ! kill -0 $STACK 2>/dev/null; then cat instance/stack/stack.log; exit 1; fi
    sleep 1
done
echo "stack up ($WORKERS workers); load: $USERS users for $DURATION; machine load: $(cut -d' ' -f1-3 /proc/loadavg)"
PYTHONPATH=. .venv/bin/locust -f bench/load/locustfile.py --headless -H "http://127.0.0.1:$PORT" \
    -u "$USERS" -r "$SPAWN" -t "$DURATION" --only-summary --csv instance/stack/load \
    --exit-code-on-error 0 --stop-timeout 90 2>&1 | tee instance/stack/locust.log | grep -v "^\[" || true
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# while the stack (and its S3 store) still runs; first wait for the job worker to finish the run
$PY bench/load/count.py --db "$LOAD_DB" --drain "${JOB_QUEUE_NAME:-fieldlog}"
