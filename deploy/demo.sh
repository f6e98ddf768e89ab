#!/usr/bin/env bash
# The live demo: starts nats-server and `oversight serve`, submits real A&E returns for four
# London trusts (April 2025), shows a duplicate, a revision and a rejection, then the log, and
# ends with the address of London's web page. `--keep` keeps everything running until Ctrl-C, to
# look at the pages. Everything it starts it stops again, by PID, on exit.
set -euo pipefail
keep=false
case "${1:-}" in
  --keep) keep=true ;;
  "") ;;
  *) echo "usage: deploy/demo.sh [--keep]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh

echo "== building oversight"
cargo build --locked -p oversight
oversight="${CARGO_TARGET_DIR:-target}/debug/oversight"

port="${DEMO_NATS_PORT:-14222}"
metrics_addr="127.0.0.1:${DEMO_METRICS_PORT:-14223}"
web_addr="127.0.0.1:${DEMO_WEB_PORT:-14224}"
export NATS_URL="nats://127.0.0.1:${port}"
data="$(mktemp -d)/oversight-data"
pids=()
# Stops the service before the server it talks to, so it can answer and commit what it holds.
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT

echo "== starting nats-server on 127.0.0.1:${port}"
nats-server -a 127.0.0.1 -p "$port" >/dev/null 2>&1 &
pids+=($!)

echo "== starting oversight serve (data in ${data}; metrics on http://${metrics_addr}/metrics)"
"$oversight" serve --nats "$NATS_URL" --data "$data" --metrics-addr "$metrics_addr" \
  --web-addr "$web_addr" > >(sed -u 's/^/  [serve] /') 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$oversight" log --max 1 >/dev/null 2>&1 && break
  sleep 0.1
done
seeded=$("$oversight" log --max 1 --json | sed -E 's/.*"last_seq":([0-9]+).*/\1/')
echo "   log seeded with ${seeded} reference entries (regions, systems, trusts, CCGs, metrics)"

step() { echo; echo "== $*"; }

step "RJ1 Guy's and St Thomas' submits April 2025 A&E from a JSON file"
"$oversight" submit --file deploy/demo/RJ1-ae-monthly-2025-04.json
step "three more London trusts submit from the command line"
"$oversight" submit --org RAL --collection ae-monthly --period 2025-04 \
  --value ae_4hr=30638/41463 --value ae_12hr_dta=1792 --value ae_emergency_admissions=4872
"$oversight" submit --org R1H --collection ae-monthly --period 2025-04 \
  --value ae_4hr=31091/44402 --value ae_12hr_dta=1148 --value ae_emergency_admissions=4421
"$oversight" submit --org RJ7 --collection ae-monthly --period 2025-04 \
  --value ae_4hr=10480/12519 --value ae_12hr_dta=834 --value ae_emergency_admissions=2673
step "RJ1 retries the same file (safe: the original receipt comes back)"
"$oversight" submit --file deploy/demo/RJ1-ae-monthly-2025-04.json
step "RJ1 corrects its 12-hour figure: a new revision of the same month"
"$oversight" submit --org RJ1 --collection ae-monthly --period 2025-04 --submission-id RJ1-ae-monthly-2025-04-v2 \
  --value ae_4hr=13476/17442 --value ae_12hr_dta=65 --value ae_emergency_admissions=2054
step "a return with mistakes is rejected with every reason, and nothing is stored"
"$oversight" submit --org RJ1 --collection ae-monthly --period 2031-04 \
  --value ae_4hour=13476/17442 --value ae_12hr_dta=-1 || true
step "the same receipt in JSON, as Python or R would read it"
"$oversight" submit --json --file deploy/demo/RJ1-ae-monthly-2025-04.json

step "the log after the reference data"
"$oversight" log --from "$((seeded + 1))"
step "one entry as JSON (oversight.log.read)"
"$oversight" log --from "$((seeded + 1))" --max 1 --json

step "importing NHS England's published A&E files for April and May 2025 (every site in England)"
"$oversight" import ae deploy/data/ae/Monthly-AE-April-2025.csv
"$oversight" import ae deploy/data/ae/Monthly-AE-May-2025.csv
step "importing April again changes nothing"
"$oversight" import ae deploy/data/ae/Monthly-AE-April-2025.csv
step "England, latest month: the totals equal the TOTAL row of the published file"
"$oversight" watch --once national

step "London, live: June 2025 arrives while we watch (10 seconds)"
( sleep 3; "$oversight" import ae deploy/data/ae/Monthly-AE-June-2025-1-1.csv >/dev/null 2>&1 ) &
"$oversight" watch Y56 --for 10
wait $!

step "the same views as web pages"
python3 - "http://${web_addr}/scope/Y56" <<'PY'
import re, sys, urllib.request
page = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
row = page[page.index('data-metric="ae_4hr"'):]
value = re.search(r'data-field="value"[^>]*>([^<]*)<', row).group(1).strip()
period = re.search(r'data-field="period"[^>]*>([^<]*)<', row).group(1).strip()
print(f"   London's page says: {value} seen within 4 hours in {period}")
PY
echo "   England: http://${web_addr}/"
echo "   London:  http://${web_addr}/scope/Y56"
echo "   Segments and league tables (NHS Oversight Framework 2025/26): http://${web_addr}/oversight"
if [ "$keep" = true ]; then
  echo
  echo "== running until Ctrl-C"
  trap 'echo; echo "== stopping oversight serve and nats-server"; exit 0' INT TERM
  while true; do sleep 1; done
fi
echo
echo "== done; stopping oversight serve and nats-server (deploy/demo.sh --keep keeps them running)"
