#!/usr/bin/env bash
# Measures ConsentHub on PostgreSQL beside a baseline for each workload, in the same run, and prints one markdown
# table (also written to bench/results/latest.md). See bench/README.md.
#   ./scripts/bench.sh [--quick] [--dry-run] [--customers N] [--records N] [--entries N] [--seconds N] [--only LIST]
# --only takes a comma-separated subset of read,write,propagation,bulk,ledger,optout,events,cdc,replica,extract (bulk is upload and export together).
# --dry-run builds, then posts one array of inbound events to a ConsentHub on SQLite; it measures nothing.
# Works on a bare Debian 12 machine with the .NET 10 SDK, as root or as a user with sudo.
# BENCH_ARTIFACTS=DIR builds into DIR (dotnet build --artifacts-path) instead of each project's bin/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$PWD
PG_BIN=/usr/lib/postgresql/15/bin
RESULTS=$REPO_ROOT/bench/results/latest.md
export DEBIAN_FRONTEND=noninteractive

QUICK=0 DRY_RUN=0 ONLY=read,write,propagation,bulk,ledger,optout,events,cdc,replica,extract
CUSTOMERS='' RECORDS='' ENTRIES='' SECONDS_EACH=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --customers) CUSTOMERS=$2; shift ;;
    --records) RECORDS=$2; shift ;;
    --entries) ENTRIES=$2; shift ;;
    --seconds) SECONDS_EACH=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,8p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for part in ${ONLY//,/ }; do
  case $part in read|write|propagation|bulk|ledger|optout|events|cdc|replica|extract|scaleout) ;; *) echo "bench.sh: --only takes read, write, propagation, bulk, ledger, optout, events, cdc, replica, extract, scaleout; not $part" >&2; exit 2 ;; esac
done
wanted() { [[ ,$ONLY, == *,$1,* ]]; }   # wanted PART: whether this run measures PART

if [[ $QUICK -eq 1 ]]; then
  : "${CUSTOMERS:=5000}" "${RECORDS:=20000}" "${ENTRIES:=100000}" "${SECONDS_EACH:=5}"; LEDGER_ROUNDS=1
else
  : "${CUSTOMERS:=100000}" "${RECORDS:=1000000}" "${ENTRIES:=1000000}" "${SECONDS_EACH:=20}"; LEDGER_ROUNDS=3
fi
# Unmeasured load before the timed read and write, for the hub and its baseline alike: under load the runtime keeps
# recompiling hot methods (tiered JIT with dynamic PGO) for about 30 s, and the hub's read climbs from about a third of
# its rate to all of it meanwhile (bench/README.md, "Warm-up"); a shorter warm-up measures the compiler, not the hub.
WARMUP_SECONDS=30
# Each workload's process gets at most this long; a workload that runs out is reported as skipped.
BULK_LIMIT=$(( QUICK ? 600 : 3600 ))
SEED_LIMIT=$(( QUICK ? 300 : 900 ))
STEP_LIMIT=$(( SECONDS_EACH + 120 ))
BACKLOG=$(( QUICK ? 300 : 2000 ))
PROPAGATE_LIMIT=$(( SECONDS_EACH + 600 ))
# Change data capture: the backlog of changes drained to RabbitMQ, and how long seeding and draining it may take.
CDC_CHANGES=$(( QUICK ? 10000 : 100000 ))
CDC_LIMIT=$(( QUICK ? 600 : 1800 ))
# Replication: the records whose one change each a replica catches up on after a target outage.
REPLICA_CHANGES=$(( QUICK ? 10000 : 100000 ))
# Extracts: the records (one consent each) a detail extract writes in CSV and in Parquet.
EXTRACT_RECORDS=$(( QUICK ? 100000 : 1000000 ))

ROWS=()
row() { ROWS[$1]="| ${WORKLOADS[$1]} | $2 | $3 | $4 | ${TARGETS[$1]} | $5 |"; }   # row N CONSENTHUB BASELINE RATIO MET
skip() { row "$1" "skipped ($2)" "" "" ""; }                                        # skip N REASON

print_table() {
  echo "| workload | ConsentHub | baseline (same run) | ratio | target | met |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
}

# ---- what every run checks ---------------------------------------------------------------------------------
BENCH_FILES=(bench/wrk/read.lua bench/wrk/pk.lua bench/wrk/receiver.lua bench/pgbench/change.sql bench/README.md)
BENCH_PROJECTS=(bench/ReplicaBench/ReplicaBench.csproj bench/LoadGen/LoadGen.csproj bench/LedgerVerify/LedgerVerify.csproj bench/ReadBaseline/ReadBaseline.csproj bench/CdcBench/CdcBench.csproj bench/ExtractBench/ExtractBench.csproj)

build() {  # build PROJECT…: Release, into BENCH_ARTIFACTS when set
  local project
  for project in "$@"; do
    dotnet build "$project" -c Release -nologo -v q ${BENCH_ARTIFACTS:+--artifacts-path "$BENCH_ARTIFACTS"} >/dev/null ||
      { echo "bench.sh: build of $project failed:" >&2
        dotnet build "$project" -c Release -nologo -v q ${BENCH_ARTIFACTS:+--artifacts-path "$BENCH_ARTIFACTS"} >&2 || true
        return 1; }
  done
}
dll() {  # dll NAME PROJECT-DIR -> the built assembly
  if [[ -n ${BENCH_ARTIFACTS:-} ]]; then echo "$BENCH_ARTIFACTS/bin/$1/release/$1.dll"
  else echo "$REPO_ROOT/$2/bin/Release/net10.0/$1.dll"; fi
}

bash -n scripts/bench.sh scripts/test.sh
for file in "${BENCH_FILES[@]}"; do [[ -s $file ]] || { echo "bench.sh: $file is missing" >&2; exit 1; }; done

TARGETS=("≥ 50% of baseline req/s, p99 < 10 ms" "≥ 1,000 changes/s and ≥ 40% of the unlocked baseline; p99 < 100 ms" "≥ 1,000/s, p99 < 1 s" "≥ 25% of COPY" "≥ 33% of COPY" "≥ 50%"
  "≥ 100% of the change write's changes/s" "none set: beside the change write's changes/s" "≥ 50%" "none set: beside COPY" "CSV ≥ 50% of COPY TO"
  "≥ 50% of the plain PK read, p99 ≤ 2× its p99" "none set: beside the plain PK read" "none set: beside the unlocked baseline at 8"
  "none set: on paper, beside the unlocked baseline" "≥ 25% of COPY" "< 100 ms to the last byte")
WORKLOADS=("consent read, ${CUSTOMERS} customers, 64 connections" "change write, validated REQUESTED, 32 connections"
  "propagation to a local receiver" "initial upload, ${RECORDS} records" "DPO export, ${RECORDS} records"
  "ledger verify, ${ENTRIES} entries" "opt-out upload (seed 002), 100-record requests, 16 connections, ${CUSTOMERS} customers"
  "inbound events (seed 001), arrays of 100 validated events, 16 connections"
  "change data capture to RabbitMQ, a backlog of ${CDC_CHANGES} changes drained"
  "replica catch-up, a backlog of ${REPLICA_CHANGES} changes into another PostgreSQL database"
  "detail extract, ${EXTRACT_RECORDS} rows, CSV (Parquet beside it)"
  "consent read, 8 connections" "consent read, 32 connections" "change write, validated REQUESTED, 8 connections"
  "one ledger per organisation (docs/scale-out.md): the change's rows with 1, 4, 16 and 64 ledger heads"
  "initial upload with ?propagate=true, ${RECORDS} more records"
  "console pages (overview, a customer, operations, ledger, tenancy), the admin, ${CUSTOMERS} customers")

# ---- processes, and stopping them whatever happens --------------------------------------------------------------
SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO=(sudo); fi
AS_PG=()
if [[ $(id -u) -eq 0 ]]; then AS_PG=(runuser -u postgres --); fi
WORK=$(mktemp -d /tmp/consenthub-bench.XXXXXX)
PGDATA=$WORK/data
STARTED=()   # pids of every background process this script started
stop_pid() {  # TERM, up to 10 s, then KILL
  local pid=$1 _
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
  [[ ! -d $WORK/rabbitmq ]] || ./scripts/rabbitmq-node.sh stop "$WORK/rabbitmq" || true
  if [[ -f $PGDATA/postmaster.pid ]]; then
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -s -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      "${AS_PG[@]}" "$PG_BIN/pg_ctl" -s -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[[ ${#AS_PG[@]} -eq 0 ]] || chown postgres: "$WORK"

free_port() {  # free_port FROM -> the first port from FROM on that nothing answers on
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}
wait_http() {  # wait_http URL SECONDS: until URL answers 2xx
  local _
  for _ in $(seq 1 "$2"); do curl -sf -o /dev/null --max-time 2 "$1" && return 0; sleep 1; done
  return 1
}

# LoadGen's line: the value of FIELD (e.g. 'events\/s', p99) in FILE.
loadgen_field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2"; }

HUB_DLL=$(dll ConsentHub src/ConsentHub)
LOADGEN=(dotnet "$(dll LoadGen bench/LoadGen)")
ADMIN=(--admin-client-id bench-admin --admin-client-secret bench-secret --admin-password bench-admin-password)
HUB_PID='' HUB_URL=''
start_hub_process() {  # start_hub_process NAME ENV…: a ConsentHub with ENV on a free port; sets HUB_PID and HUB_URL
  local name=$1 port; shift
  port=$(free_port 56600)
  mkdir -p "$WORK/hub-$name"
  # The working directory is the build output, so its appsettings.json (JSON logs, Warning for the framework) applies.
  (cd "$(dirname "$HUB_DLL")" && exec env "$@" \
    ConsentHub__DataDirectory="$WORK/hub-$name" Urls="http://127.0.0.1:$port" \
    ConsentHub__Bootstrap__AdminPassword=bench-admin-password ConsentHub__Bootstrap__ClientId=bench-admin \
    ConsentHub__Bootstrap__ClientSecret=bench-secret ConsentHub__Propagation__AllowInsecureLoopback=true \
    dotnet "$HUB_DLL" >"$WORK/hub-$name.log" 2>&1) &
  HUB_PID=$!; STARTED+=("$HUB_PID"); HUB_URL=http://127.0.0.1:$port
  wait_http "$HUB_URL/health" 90 || { echo "bench.sh: ConsentHub did not answer on $HUB_URL; log:" >&2; tail -20 "$WORK/hub-$name.log" >&2; exit 1; }
  echo "bench.sh: ConsentHub (pid $HUB_PID) on $HUB_URL, database $name" >&2
}
stop_hub() { stop_pid "$HUB_PID"; }

if [[ $DRY_RUN -eq 1 ]]; then
  build src/ConsentHub/ConsentHub.csproj "${BENCH_PROJECTS[@]}"
  command -v curl >/dev/null || { echo "bench.sh --dry-run: curl is missing" >&2; exit 1; }
  # The inbound-event path end to end, briefly: a hub on SQLite, one array of 100 events, its 202 and every event applied.
  start_hub_process dry-run ConsentHub__Database__Provider=Sqlite
  timeout 120 "${LOADGEN[@]}" --url "$HUB_URL" --mode events "${ADMIN[@]}" --connections 1 --seconds 0 --batch 100 \
    >"$WORK/events.out" 2>"$WORK/events.err" ||
    { echo "bench.sh --dry-run: LoadGen --mode events failed:" >&2; cat "$WORK/events.out" "$WORK/events.err" >&2; exit 1; }
  stop_hub
  for i in "${!WORKLOADS[@]}"; do skip "$i" "dry run"; done
  row 7 "dry run: $(loadgen_field events "$WORK/events.out") events in one array answered 202, all applied (SQLite)" "" "" ""
  echo "bench.sh --dry-run: scripts parse, bench projects build, wrk and pgbench scripts present, one array of events posted"
  print_table
  exit 0
fi


# ---- install what is missing ---------------------------------------------------------------------------------
missing=()
[[ -x $PG_BIN/initdb && -x $PG_BIN/pgbench ]] || missing+=(postgresql-15)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
! wanted cdc || [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || missing+=(rabbitmq-server)
if [[ ${#missing[@]} -gt 0 ]]; then
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---- PostgreSQL: private, durable ------------------------------------------------------------------------------
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PGDATA" -A trust -U postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
# Unlike the tests' cluster, this one keeps fsync and synchronous_commit on: a 201 is only honest when it is durable.
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
fsync = on
synchronous_commit = on
max_connections = 300
CONF
PORT=56432
while true; do
  PORT=$(free_port "$PORT")
  (( PORT < 56532 )) || { echo "bench.sh: no free port in 56432-56531" >&2; exit 1; }
  if "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/postgres.log" -o "-p $PORT" -w -t 60 -s start; then break; fi
  if grep -q "Address already in use" "$WORK/postgres.log"; then PORT=$((PORT + 1)); : >"$WORK/postgres.log"; continue; fi
  echo "bench.sh: PostgreSQL failed to start; log follows:" >&2; cat "$WORK/postgres.log" >&2; exit 1
done
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
pg() { echo "Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$1;Maximum Pool Size=100"; }
echo "bench.sh: PostgreSQL 15 on 127.0.0.1:$PORT (fsync on, synchronous_commit on)" >&2

# ---- build -------------------------------------------------------------------------------------------------------
echo "bench.sh: building Release…" >&2
build src/ConsentHub/ConsentHub.csproj "${BENCH_PROJECTS[@]}"
READ_BASELINE_DLL=$(dll ReadBaseline bench/ReadBaseline)
LEDGER_VERIFY=(dotnet "$(dll LedgerVerify bench/LedgerVerify)")

# The commit measured, taken now: a commit made while the run goes on must not be credited with its figures.
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench scripts || echo ' (with uncommitted changes)')"

start_hub() {  # start_hub DATABASE: a ConsentHub on its own PostgreSQL database and a free port; sets HUB_PID and HUB_URL
  "${PSQL[@]}" -c "CREATE DATABASE $1"
  start_hub_process "$1" ConsentHub__Database__Provider=Postgres ConnectionStrings__ConsentHub="$(pg "$1")"
}

# Arithmetic on figures: calc EXPRESSION (awk), e.g. calc "100 * $a / $b".
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }
ge() { awk "BEGIN { exit !($1 >= $2) }"; }
lt() { awk "BEGIN { exit !($1 < $2) }"; }
yes_no() { if "$@"; then echo yes; else echo "**no**"; fi; }

# wrk's figures: rate, p50 and p99 in ms, non-2xx count, from its --latency output.
wrk_rate() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
wrk_ms() {  # wrk_ms FILE PERCENT
  awk -v p="$2%" '$1 == p { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    m = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : 60000; printf "%.2f", v * m }' "$1"
}
wrk_errors() { awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$1"; }
WRK_THREADS=2

# ---- 1. initial upload and DPO export: their own database and hub (COPY copies whole tables) -------------------------
if ! wanted bulk; then
  skip 3 "not in --only"; skip 4 "not in --only"; skip 15 "not in --only"
else
start_hub bulk
if timeout "$BULK_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode bulk "${ADMIN[@]}" --records "$RECORDS" \
     --pg "$(pg bulk)" --server-pid "$HUB_PID" >"$WORK/bulk.out" 2>"$WORK/bulk.err"; then
  # | upload, N records | 12.3 s (1626 records/s) | 1.2 s (COPY …) | 10.25× | 300 MiB |
  read -r up_s up_rate up_copy up_rss < <(awk -F'|' '/^\| upload,/ { split($3, a, " "); split($4, c, " "); gsub(/[()]/, "", a[3]); print a[1], a[3], c[1], $6 }' "$WORK/bulk.out")
  read -r pr_s pr_rate pr_rss < <(awk -F'|' '/^\| upload \?propagate/ { split($3, a, " "); gsub(/[()]/, "", a[3]); print a[1], a[3], $6 }' "$WORK/bulk.out")
  read -r ex_s ex_rate ex_copy ex_rss < <(awk -F'|' '/^\| export/ { split($3, a, " "); split($4, c, " "); gsub(/[()]/, "", a[3]); print a[1], a[3], c[1], $6 }' "$WORK/bulk.out")
  up_ratio=$(calc "100 * $up_copy / $up_s"); ex_ratio=$(calc "100 * $ex_copy / $ex_s")
  row 3 "$up_rate records/s, peak RSS ${up_rss% }" "COPY FROM: $(calc "$RECORDS / $up_copy") records/s" "$up_ratio%" "$(yes_no ge "$up_ratio" 25)"
  pr_ratio=$(calc "100 * $up_copy / $pr_s")
  row 15 "$pr_rate records/s, peak RSS ${pr_rss% }" "COPY FROM: $(calc "$RECORDS / $up_copy") records/s (the first upload's)" "$pr_ratio%" "$(yes_no ge "$pr_ratio" 25)"
  row 4 "$ex_rate records/s, peak RSS ${ex_rss% }" "COPY TO: $(calc "$RECORDS / $ex_copy") records/s" "$ex_ratio%" "$(yes_no ge "$ex_ratio" 33)"
else
  rc=$?
  reason="LoadGen --mode bulk failed (exit $rc)"
  [[ $rc -eq 124 ]] && reason="not done within $BULK_LIMIT s"
  grep -q ': 404' "$WORK/bulk.err" && reason="the upload or export route answered 404"
  skip 3 "$reason"; skip 4 "$reason"; skip 15 "$reason"
  tail -5 "$WORK/bulk.err" >&2
fi
stop_hub
fi

# ---- the main hub: seeded customers ------------------------------------------------------------------------------------
if ! wanted read && ! wanted write && ! wanted propagation && ! wanted optout && ! wanted events && ! wanted scaleout; then
  for n in 0 1 2 6 7 11 12 13 14 16; do skip "$n" "not in --only"; done
else
start_hub hub
echo "bench.sh: seeding $CUSTOMERS customers…" >&2
SEEDED=0
if timeout "$SEED_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode seed "${ADMIN[@]}" --customers "$CUSTOMERS" \
     --out "$WORK/seed.env" >"$WORK/seed.out" 2>"$WORK/seed.err"; then
  set -a; source "$WORK/seed.env"; set +a; SEEDED=1
  cat "$WORK/seed.err" >&2
else
  tail -5 "$WORK/seed.err" >&2
fi

# ---- 2. consent read: wrk against the hub and against ReadBaseline, same database, same script ------------------------
if ! wanted read; then
  skip 0 "not in --only"; skip 11 "not in --only"; skip 12 "not in --only"; skip 16 "not in --only"
elif [[ $SEEDED -eq 1 ]]; then
  wrk_at() {  # wrk_at CONNECTIONS SCRIPT URL OUT
    timeout "$STEP_LIMIT" wrk -t "$WRK_THREADS" -c "$1" -d "${SECONDS_EACH}s" --latency -s "bench/wrk/$2.lua" "$3" >"$4" 2>&1
  }
  read_port=$(free_port 56700)
  dotnet "$READ_BASELINE_DLL" --pg "$(pg hub)" --urls "http://127.0.0.1:$read_port" >"$WORK/read-baseline.log" 2>&1 &
  READ_PID=$!; STARTED+=("$READ_PID")
  wait_http "http://127.0.0.1:$read_port${SEED_PREFIX}0/subscription-data" 60 || true
  # A warm-up of each (tiered JIT, pools), then the measurements.
  timeout 120 wrk -t 1 -c 8 -d "${WARMUP_SECONDS}s" -s bench/wrk/read.lua "$HUB_URL" >/dev/null 2>&1 || true
  timeout 120 wrk -t 1 -c 8 -d "${WARMUP_SECONDS}s" -s bench/wrk/read.lua "http://127.0.0.1:$read_port" >/dev/null 2>&1 || true
  if wrk_at 64 read "$HUB_URL" "$WORK/read-hub.out" && wrk_at 64 read "http://127.0.0.1:$read_port" "$WORK/read-base.out"; then
    hub_rate=$(wrk_rate "$WORK/read-hub.out"); base_rate=$(wrk_rate "$WORK/read-base.out")
    hub_p99=$(wrk_ms "$WORK/read-hub.out" 99)
    errors="$(wrk_errors "$WORK/read-hub.out")/$(wrk_errors "$WORK/read-base.out")"
    ratio=$(calc "100 * $hub_rate / $base_rate")
    note=''; [[ $errors == 0/0 ]] || note=", non-2xx/socket errors hub/baseline $errors"
    row 0 "$(calc "$hub_rate") req/s, p50 $(wrk_ms "$WORK/read-hub.out" 50) ms, p99 $hub_p99 ms$note" \
      "$(calc "$base_rate") req/s, p50 $(wrk_ms "$WORK/read-base.out" 50) ms, p99 $(wrk_ms "$WORK/read-base.out" 99) ms (bench/ReadBaseline, Npgsql)" \
      "$ratio%" "$(yes_no eval "ge $ratio 50 && lt $hub_p99 10 && [[ $errors == 0/0 ]]")"
  else
    skip 0 "wrk failed or timed out"
  fi
  # At 8 and 32 connections: the hub beside the plainest read the machine does (one row by primary key through
  # Kestrel and Npgsql, bench/ReadBaseline's /pk/{id}), with the three-query baseline's figure at the same concurrency.
  read -r PK_MIN PK_MAX < <("${PSQL[@]}" -d hub -At -F ' ' -c 'SELECT min("Id"), max("Id") FROM customers'); export PK_MIN PK_MAX
  timeout 120 wrk -t 1 -c 8 -d "${WARMUP_SECONDS}s" -s bench/wrk/pk.lua "http://127.0.0.1:$read_port" >/dev/null 2>&1 || true
  for pair in "11 8" "12 32"; do
    read -r n c <<<"$pair"
    if wrk_at "$c" read "$HUB_URL" "$WORK/read-hub-$c.out" && wrk_at "$c" pk "http://127.0.0.1:$read_port" "$WORK/read-pk-$c.out" &&
       wrk_at "$c" read "http://127.0.0.1:$read_port" "$WORK/read-base-$c.out"; then
      hub_rate=$(wrk_rate "$WORK/read-hub-$c.out"); pk_rate=$(wrk_rate "$WORK/read-pk-$c.out")
      hub_p99=$(wrk_ms "$WORK/read-hub-$c.out" 99); pk_p99=$(wrk_ms "$WORK/read-pk-$c.out" 99)
      errors="$(wrk_errors "$WORK/read-hub-$c.out")/$(wrk_errors "$WORK/read-pk-$c.out")"
      ratio=$(calc "100 * $hub_rate / $pk_rate")
      note=''; [[ $errors == 0/0 ]] || note=", non-2xx/socket errors hub/baseline $errors"
      met=''; [[ $c -eq 8 ]] && met=$(yes_no eval "ge $ratio 50 && ! lt $(calc "2 * $pk_p99") $hub_p99 && [[ $errors == 0/0 ]]")
      row "$n" "$(calc "$hub_rate") req/s, p50 $(wrk_ms "$WORK/read-hub-$c.out" 50) ms, p99 $hub_p99 ms$note" \
        "$(calc "$pk_rate") req/s, p50 $(wrk_ms "$WORK/read-pk-$c.out" 50) ms, p99 $pk_p99 ms (plain PK read); three-query read $(calc "$(wrk_rate "$WORK/read-base-$c.out")") req/s, p99 $(wrk_ms "$WORK/read-base-$c.out" 99) ms" \
        "$ratio%" "$met"
    else
      skip "$n" "wrk failed or timed out"
    fi
  done
  stop_pid "$READ_PID"

  # The console's overview over the seeded data, signed in as the admin (issue 21: pages render in under 100 ms),
  # beside its login page, which draws the same frame without reading a figure. Asked once the console's hourly
  # counts have caught up with the seed's ledger (the page says so until then), then 5 unmeasured and 30 measured.
  jar="$WORK/console.cookies"
  token=$(curl -s -c "$jar" "$HUB_URL/console/login" | sed -n 's/.*name="__RequestVerificationToken" value="\([^"]*\)".*/\1/p' | head -1)
  signed=$(curl -s -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' --data-urlencode "__RequestVerificationToken=$token" \
    --data-urlencode username=admin --data-urlencode password=bench-admin-password "$HUB_URL/console/login")
  for _ in $(seq 1 60); do curl -s -b "$jar" "$HUB_URL/console" | grep -q 'still counting the ledger' || break; sleep 1; done
  page_ms() {  # page_ms PATH -> "median p95" in ms of 30 GETs after 5
    local i times=()
    for i in $(seq 1 35); do times+=("$(curl -s -b "$jar" -o /dev/null -w '%{time_total}' "$HUB_URL$1")"); done
    printf '%s\n' "${times[@]:5}" | sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "%.1f %.1f\n", t[int((NR + 1) / 2)], t[int(NR * 0.95)] }'
  }
  # A customer of the seed that has a cluster (the page's heaviest kind): the record page reads its data, cluster,
  # changes and messages.
  customer_id=$("${PSQL[@]}" -d hub -At -c 'SELECT c."Id" FROM customers c JOIN cluster_members m ON m."Nmsc" = c."Nmsc"
    AND m."Context" = c."Context" AND m."SourceSystem" = c."SourceSystem" AND m."SourceCustomerId" = c."SourceCustomerId" ORDER BY c."Id" LIMIT 1')
  if [[ $signed == 303 && -n $customer_id ]] && read -r page_p50 page_p95 < <(page_ms /console) &&
     read -r customer_p50 customer_p95 < <(page_ms "/console/customers/$customer_id") &&
     read -r operations_p50 operations_p95 < <(page_ms /console/operations) && read -r ledger_p50 ledger_p95 < <(page_ms /console/ledger) &&
     read -r tenancy_p50 tenancy_p95 < <(page_ms /console/tenancy) && read -r login_p50 login_p95 < <(page_ms /console/login); then
    worst=$(printf '%s\n' "$page_p95" "$customer_p95" "$operations_p95" "$ledger_p95" "$tenancy_p95" | sort -n | tail -1)
    row 16 "median/p95: overview $page_p50/$page_p95 ms, a customer $customer_p50/$customer_p95 ms, operations $operations_p50/$operations_p95 ms, ledger $ledger_p50/$ledger_p95 ms, tenancy $tenancy_p50/$tenancy_p95 ms (curl, 30 requests each)" \
      "median $login_p50 ms, p95 $login_p95 ms (GET /console/login: the frame, no figures)" "" "$(yes_no lt "$worst" 100)"
  else
    skip 16 "the admin's console sign-in answered ${signed:-nothing}, customer ${customer_id:-none}"
  fi
else
  for n in 0 11 12 16; do skip "$n" "seeding failed: $(tail -1 "$WORK/seed.err" | cut -c1-120)"; done
fi

# ---- 3. change write: LoadGen --mode post against pgbench on empty twins of the hub's tables -----------------------------
# Two baselines, each at the hub's concurrency, both bench/pgbench/change.sql: unlocked=1 (the change's rows, ledger
# indices from a sequence: what the machine writes when nothing serialises the commits, the ratio's denominator) and
# unlocked=0 (the same rows under the ledger head's row lock, as the hub writes them today).
WRITE_CUSTOMERS=1000
# twin_db NAME: a database of its own holding empty twins of the tables a change writes (pg_dump --schema-only of the
# hub's: same columns and indexes) and the sequence bench/pgbench/change.sql takes unlocked indices from.
twin_db() {
  "${PSQL[@]}" -c "CREATE DATABASE $1"
  "$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PORT" -U postgres --schema-only -t customers -t person_keys -t change_requests \
    -t personal_data -t consent_entries -t channel_entries -t ledger_entries -t ledger_tree_nodes -t ledger_head hub |
    "${PSQL[@]}" -d "$1" >/dev/null
  "${PSQL[@]}" -d "$1" -c "CREATE SEQUENCE ledger_index START 0 MINVALUE 0"
}
# pgbench_change DB HEADS UNLOCKED CLIENTS OUT [LOG]: bench/pgbench/change.sql for --seconds on DB's twins, emptied
# first (HEADS ledger heads at 0, the sequence restarted) so that each run starts as the first did; with LOG, pgbench
# also writes each transaction's latency to files LOG.* (for pgbench_ms).
pgbench_change() {
  "${PSQL[@]}" -d "$1" -c "TRUNCATE customers, person_keys, change_requests, personal_data, consent_entries, channel_entries, ledger_entries, ledger_tree_nodes, ledger_head" \
    -c "SELECT setval('ledger_index', 0, false)" \
    -c "INSERT INTO ledger_head SELECT g, 0, repeat('0', 64), NULL FROM generate_series(1, $2) g" >/dev/null
  local log=(); [[ -n ${6:-} ]] && log=(-l --log-prefix="$6")
  (cd "$WORK" && timeout "$STEP_LIMIT" "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -n -M prepared -c "$4" -j 2 \
    -T "$SECONDS_EACH" -D customers="$WRITE_CUSTOMERS" -D orgs="$2" -D unlocked="$3" "${log[@]}" \
    -f "$REPO_ROOT/bench/pgbench/change.sql" "$1" >"$5" 2>&1)
}
pgbench_tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -1; }
# pgbench_ms LOG PERCENT: a percentile of the per-transaction latencies pgbench -l wrote (microseconds, column 3).
pgbench_ms() {
  cat "$1".* 2>/dev/null | awk '{ print $3 }' | sort -n | awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "?"; exit }
    i = int(NR * p / 100); if (i < 1) i = 1; printf "%.1f", v[i] / 1000 }'
}
if ! wanted write; then
  skip 1 "not in --only"; skip 13 "not in --only"
else
  twin_db baseline
  # Unmeasured first: the hub has just started, and its first seconds under load go to the runtime compiling hot methods
  # again (tiered JIT), which the first timed run would otherwise carry alone.
  timeout 180 "${LOADGEN[@]}" --url "$HUB_URL" --mode post "${ADMIN[@]}" --connections 8 \
    --seconds "$WARMUP_SECONDS" --customers "$WRITE_CUSTOMERS" >"$WORK/write-warmup.out" 2>&1 || true
  for pair in "1 32" "13 8"; do
    read -r n c <<<"$pair"
    if timeout "$STEP_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode post "${ADMIN[@]}" --connections "$c" \
         --seconds "$SECONDS_EACH" --customers "$WRITE_CUSTOMERS" >"$WORK/write-hub-$c.out" 2>"$WORK/write-hub-$c.err"; then
      hub_rate=$(sed -n 's/.* rate=\([0-9.]*\)\/s.*/\1/p' "$WORK/write-hub-$c.out")
      [[ $c -eq 32 ]] && hub_write_rate=$hub_rate
      hub_p50=$(sed -n 's/.* p50=\([0-9.]*\)ms.*/\1/p' "$WORK/write-hub-$c.out"); hub_p99=$(sed -n 's/.* p99=\([0-9.]*\)ms.*/\1/p' "$WORK/write-hub-$c.out")
      if pgbench_change baseline 1 1 "$c" "$WORK/write-free-$c.out" "$WORK/write-free-$c.out.log" &&
         pgbench_change baseline 1 0 "$c" "$WORK/write-base-$c.out" "$WORK/write-base-$c.out.log"; then
        free_rate=$(pgbench_tps "$WORK/write-free-$c.out"); base_rate=$(pgbench_tps "$WORK/write-base-$c.out")
        ratio=$(calc "100 * $hub_rate / $free_rate")
        met=''; [[ $c -eq 32 ]] && met=$(yes_no eval "ge $hub_rate 1000 && ge $ratio 40 && lt $hub_p99 100")
        row "$n" "$hub_rate changes/s, p50 $hub_p50 ms, p99 $hub_p99 ms (LoadGen --mode post, $c connections)" \
          "unlocked $(calc "$free_rate") tx/s, p50 $(pgbench_ms "$WORK/write-free-$c.out.log" 50) ms, p99 $(pgbench_ms "$WORK/write-free-$c.out.log" 99) ms; under the ledger lock $(calc "$base_rate") tx/s, p99 $(pgbench_ms "$WORK/write-base-$c.out.log" 99) ms (pgbench, $c clients)" \
          "$ratio% of unlocked, $(calc "100 * $hub_rate / $base_rate")% of locked" "$met"
      else
        skip "$n" "pgbench failed: $(grep -h -m1 -i error "$WORK/write-free-$c.out" "$WORK/write-base-$c.out" 2>/dev/null | head -1 | cut -c1-160)"
      fi
    else
      skip "$n" "LoadGen --mode post failed: $(tail -1 "$WORK/write-hub-$c.err" | cut -c1-120)"
    fi
  done
fi

# ---- 3a. one ledger per organisation, on paper (docs/scale-out.md): pgbench with 1, 4, 16 and 64 ledger heads ---------
# The change's rows with each transaction taking only its organisation's ledger head (bench/pgbench/change.sql, orgs=N),
# at 32 clients, beside the unlocked baseline: how much of the machine's write rate per-organisation ledgers recover.
if ! wanted scaleout; then
  skip 14 "not in --only"
else
  twin_db sharded
  sharded_figures=(); sharded_ok=1
  for orgs in 1 4 16 64 unlocked; do
    unlocked=0; [[ $orgs == unlocked ]] && unlocked=1
    if pgbench_change sharded "${orgs/unlocked/1}" "$unlocked" 32 "$WORK/sharded-$orgs.out"; then
      sharded_figures+=("$orgs: $(calc "$(pgbench_tps "$WORK/sharded-$orgs.out")") tx/s")
    else
      sharded_ok=0; skip 14 "pgbench failed at $orgs: $(grep -m1 -i error "$WORK/sharded-$orgs.out" | cut -c1-160)"; break
    fi
  done
  if [[ $sharded_ok -eq 1 ]]; then
    row 14 "ledger heads $(IFS=';'; echo "${sharded_figures[*]:0:4}" | sed 's/;/, /g') (pgbench bench/pgbench/change.sql, orgs=N, 32 clients)" \
      "${sharded_figures[4]} (bench/pgbench/change.sql, unlocked=1, 32 clients)" "" ""
  fi
fi

# ---- 3b. inbound events: LoadGen --mode events, beside the change write of this run -----------------------------------------
# Arrays of 100 validated events (samples/inbound/form-builder.json's mapping, a new id each) at 16 connections: each
# event is a change applied at once, as each POST of the change write is; the baseline is that write's rate above.
if ! wanted events; then
  skip 7 "not in --only"
elif timeout "$STEP_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode events "${ADMIN[@]}" --connections 16 --batch 100 \
     --seconds "$SECONDS_EACH" --mapping "$REPO_ROOT/samples/inbound/form-builder.json" >"$WORK/events.out" 2>"$WORK/events.err"; then
  events_rate=$(loadgen_field 'events\/s' "$WORK/events.out")
  events_latency="p50 $(loadgen_field p50 "$WORK/events.out") ms, p99 $(loadgen_field p99 "$WORK/events.out") ms per 100-event request"
  if [[ -n ${hub_write_rate:-} ]]; then
    row 7 "$events_rate events/s, $events_latency (LoadGen --mode events)" \
      "$hub_write_rate changes/s (the change write above, same hub build)" "$(calc "100 * $events_rate / $hub_write_rate")%" ""
  else
    row 7 "$events_rate events/s, $events_latency (LoadGen --mode events)" "change write not measured in this run" "" ""
  fi
else
  reason="LoadGen --mode events failed: $(tail -1 "$WORK/events.err" | cut -c1-120)"
  grep -q ': 404' "$WORK/events.err" && reason="the event type or events route answered 404"
  skip 7 "$reason"
fi

# ---- 4. propagation: LoadGen --mode propagate, beside wrk against the same receiver standing alone --------------------------
# Steady phase: latency from 201 to receipt while posting (its deliveries/s cannot exceed the posting rate). Drain
# phase: a backlog posted while the receiver is down, then delivered at once: the dispatcher's own rate.
if ! wanted propagation; then
  skip 2 "not in --only"
elif timeout "$PROPAGATE_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode propagate "${ADMIN[@]}" --connections 32 \
     --seconds "$SECONDS_EACH" --backlog "$BACKLOG" --wait 120 >"$WORK/propagate.out" 2>"$WORK/propagate.err"; then
  steady=$(grep '^phase=steady' "$WORK/propagate.out"); drain=$(grep '^phase=drain' "$WORK/propagate.out")
  field() { sed -n "s/.* $1=\([-0-9.]*\).*/\1/p" <<<"$2"; }
  deliveries=$(field 'deliveries\/s' "$drain"); steady_rate=$(field 'deliveries\/s' "$steady"); posts=$(field 'posts\/s' "$steady")
  p50=$(field p50 "$steady"); p99=$(field p99 "$steady")
  receiver_port=$(free_port 56800)
  "${LOADGEN[@]}" --mode receiver --port "$receiver_port" --seconds $(( SECONDS_EACH + 60 )) >"$WORK/receiver.out" 2>&1 &
  RECEIVER_PID=$!; STARTED+=("$RECEIVER_PID")
  for _ in $(seq 1 60); do grep -q listening "$WORK/receiver.out" && break; sleep 1; done
  timeout 60 wrk -t 1 -c 8 -d 3s -s bench/wrk/receiver.lua "http://127.0.0.1:$receiver_port" >/dev/null 2>&1 || true
  if timeout "$STEP_LIMIT" wrk -t "$WRK_THREADS" -c 64 -d "${SECONDS_EACH}s" --latency -s bench/wrk/receiver.lua \
       "http://127.0.0.1:$receiver_port" >"$WORK/receiver-wrk.out" 2>&1; then
    base_rate=$(wrk_rate "$WORK/receiver-wrk.out")
    row 2 "$deliveries deliveries/s draining a backlog of $BACKLOG; while posting ($posts posts/s, 32 connections) $steady_rate/s, 201→receipt p50 $p50 ms, p99 $p99 ms (LoadGen --mode propagate)" \
      "$(calc "$base_rate") req/s accepted (wrk, 64 connections, LoadGen --mode receiver)" "$(calc "100 * $deliveries / $base_rate")%" \
      "$(yes_no eval "ge $deliveries 1000 && lt $p99 1000")"
  else
    skip 2 "wrk against the receiver failed"
  fi
  stop_pid "$RECEIVER_PID"
else
  skip 2 "LoadGen --mode propagate failed: $(tail -1 "$WORK/propagate.err" | cut -c1-120)"
  cat "$WORK/propagate.out" >&2
fi

# ---- 5. opt-out upload: seed 002's upload against the seeded customers, beside the change write of this run ---------------
# Each record names a seeded email no earlier record named; every email is on one record of each of the four seeded
# systems, so one opt-out record withdraws four records. The baseline is the hub's own change-write rate above.
if ! wanted optout; then
  skip 6 "not in --only"
elif [[ $SEEDED -ne 1 ]]; then
  skip 6 "seeding failed"
elif timeout "$STEP_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode optout "${ADMIN[@]}" --nmsc "$SEED_NMSC" --connections 16 \
     --batch 100 --seconds "$SECONDS_EACH" --customers "$SEED_PER_SYSTEM" >"$WORK/optout.out" 2>"$WORK/optout.err"; then
  optout_rate=$(sed -n 's/.* records\/s=\([0-9.]*\).*/\1/p' "$WORK/optout.out")
  optout_p99=$(sed -n 's/.* p99=\([0-9.]*ms\).*/\1/p' "$WORK/optout.out")
  if [[ -n ${hub_write_rate:-} ]]; then
    ratio=$(calc "100 * $optout_rate / $hub_write_rate")
    row 6 "$optout_rate records/s ($(calc "4 * $optout_rate") records withdrawn/s), p99 $optout_p99 per request (LoadGen --mode optout)" \
      "$hub_write_rate changes/s (the change write above, same hub build)" "$ratio%" "$(yes_no ge "$ratio" 100)"
  else
    row 6 "$optout_rate records/s, p99 $optout_p99 per request (LoadGen --mode optout)" "change write not measured in this run" "" ""
  fi
else
  reason="LoadGen --mode optout failed: $(tail -1 "$WORK/optout.err" | cut -c1-120)"
  grep -q ': 404' "$WORK/optout.err" && reason="the API key or upload route answered 404"
  skip 6 "$reason"
fi
stop_hub
fi

# ---- 6. ledger verify: bench/LedgerVerify, in-process, (a) against (b) ----------------------------------------------------
if ! wanted ledger; then
  skip 5 "not in --only"
elif timeout "$BULK_LIMIT" "${LEDGER_VERIFY[@]}" --entries "$ENTRIES" --rounds "$LEDGER_ROUNDS" --dir "$WORK/ledger" \
     >"$WORK/ledger.out" 2>"$WORK/ledger.err"; then
  # | a   | verification … | entries | bytes | best s | median s | entries/s | …
  a_rate=$(awk -F'|' '$2 ~ /^ a +$/ { gsub(/[ ,]/, "", $8); print $8 }' "$WORK/ledger.out")
  b_rate=$(awk -F'|' '$2 ~ /^ b +$/ { gsub(/[ ,]/, "", $8); print $8 }' "$WORK/ledger.out")
  ratio=$(calc "100 * $a_rate / $b_rate")
  row 5 "$a_rate entries/s (LedgerCheck: file, chain, tree, signature; best of $LEDGER_ROUNDS)" \
    "$b_rate entries/s (the same lines, one SHA-256 each)" "$ratio%" "$(yes_no ge "$ratio" 50)"
else
  skip 5 "LedgerVerify failed or timed out: $(tail -1 "$WORK/ledger.err" | cut -c1-120)"
fi

# ---- 7. change data capture: a backlog drained to RabbitMQ, beside RabbitMQ's own publish rate with confirms -------------
# A private RabbitMQ node (scripts/rabbitmq-node.sh, as the tests run it) and a hub on its own database with the broker
# configured; LoadGen --mode seed uploads CDC_CHANGES records to one system (each one change-log row), then
# bench/CdcBench replays a subscription over them from ledger index 1 and times the drain, then publishes as many
# messages of the same size with confirms, in pages of the hub's page size (500), straight to the broker.
if ! wanted cdc; then
  skip 8 "not in --only"
elif ! rabbit_env=$(./scripts/rabbitmq-node.sh start "$WORK/rabbitmq" 2>"$WORK/rabbitmq.err"); then
  skip 8 "the RabbitMQ node did not start: $(tail -1 "$WORK/rabbitmq.err" | cut -c1-120)"
else
  amqp=$(sed -n 's/^export CONSENTHUB_TEST_RABBITMQ=//p' <<<"$rabbit_env")
  "${PSQL[@]}" -c "CREATE DATABASE cdc"
  start_hub_process cdc ConsentHub__Database__Provider=Postgres ConnectionStrings__ConsentHub="$(pg cdc)" ConsentHub__Broker__Uri="$amqp"
  if timeout "$CDC_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode seed "${ADMIN[@]}" --customers "$CDC_CHANGES" --systems crm \
       --out "$WORK/cdc-seed.env" >"$WORK/cdc-seed.out" 2>"$WORK/cdc-seed.err" &&
     cdc_nmsc=$(sed -n 's/^SEED_NMSC=//p' "$WORK/cdc-seed.env") &&
     timeout "$CDC_LIMIT" dotnet "$(dll CdcBench bench/CdcBench)" --url "$HUB_URL" "${ADMIN[@]}" --amqp "$amqp" --nmsc "$cdc_nmsc" \
       --changes "$CDC_CHANGES" --wait "$CDC_LIMIT" >"$WORK/cdc.out" 2>"$WORK/cdc.err"; then
    cdc_rate=$(loadgen_field 'events\/s' "$WORK/cdc.out"); cdc_base=$(loadgen_field 'baseline\/s' "$WORK/cdc.out")
    ratio=$(calc "100 * $cdc_rate / $cdc_base")
    row 8 "$cdc_rate events/s ($(loadgen_field published "$WORK/cdc.out") events of $(loadgen_field bytes "$WORK/cdc.out") bytes in $(loadgen_field hub_s "$WORK/cdc.out") s: structured CloudEvents, persistent, confirmed)" \
      "$cdc_base msgs/s (bench/CdcBench: as many messages of that size, persistent, confirms awaited per 500)" "$ratio%" "$(yes_no ge "$ratio" 50)"
  else
    skip 8 "seeding or CdcBench failed: $(cat "$WORK/cdc-seed.err" "$WORK/cdc.err" 2>/dev/null | grep . | tail -1 | cut -c1-160)"
  fi
  stop_hub
  ./scripts/rabbitmq-node.sh stop "$WORK/rabbitmq" || true
fi

# ---- 8. replica catch-up: a backlog applied into another PostgreSQL database, beside COPY of the same rows -------------
# A hub on its own database; LoadGen --mode seed uploads REPLICA_CHANGES records to one system; bench/ReplicaBench makes a
# replica of the organisation in a fresh database (its first copy), stops that database, uploads one change per record,
# starts it again and times the catch-up, then copies the replica's rows with binary COPY into a table of the same shape.
if ! wanted replica; then
  skip 9 "not in --only"
else
  "${PSQL[@]}" -c "CREATE DATABASE replica_hub"
  # Retried every second, so the catch-up is timed from when the target is back, not from the end of a backoff.
  start_hub_process replica ConsentHub__Database__Provider=Postgres ConnectionStrings__ConsentHub="$(pg replica_hub)" ConsentHub__Replicas__RetrySeconds=1
  if timeout "$CDC_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode seed "${ADMIN[@]}" --customers "$REPLICA_CHANGES" --systems crm \
       --out "$WORK/replica-seed.env" >"$WORK/replica-seed.out" 2>"$WORK/replica-seed.err" &&
     replica_nmsc=$(sed -n 's/^SEED_NMSC=//p' "$WORK/replica-seed.env") &&
     replica_token=$(sed -n 's/^SEED_TOKEN=//p' "$WORK/replica-seed.env") &&
     timeout "$CDC_LIMIT" dotnet "$(dll ReplicaBench bench/ReplicaBench)" --url "$HUB_URL" "${ADMIN[@]}" --nmsc "$replica_nmsc" \
       --token "$replica_token" --system crm --records "$REPLICA_CHANGES" --target-admin "$(pg postgres)" --wait "$CDC_LIMIT" \
       >"$WORK/replica.out" 2>"$WORK/replica.err"; then
    replica_rate=$(loadgen_field 'rows\/s' "$WORK/replica.out"); replica_base=$(loadgen_field 'baseline\/s' "$WORK/replica.out")
    row 9 "$replica_rate rows/s ($(loadgen_field rows "$WORK/replica.out") rows of $(loadgen_field changes "$WORK/replica.out") changes in $(loadgen_field catchup_s "$WORK/replica.out") s; first copy $(loadgen_field 'copy_rows\/s' "$WORK/replica.out") rows/s)" \
      "$replica_base rows/s (binary COPY of the replica's rows into a table of the same shape)" "$(calc "100 * $replica_rate / $replica_base")%" ""
  else
    skip 9 "seeding or ReplicaBench failed: $(cat "$WORK/replica-seed.err" "$WORK/replica.err" 2>/dev/null | grep . | tail -1 | cut -c1-160)"
  fi
  stop_hub
fi

# ---- 9. extracts: a detail extract in CSV and in Parquet, beside COPY TO of the same rows ------------------------------------
# A hub on its own database; LoadGen --mode seed uploads EXTRACT_RECORDS records (one consent each) to one system;
# bench/ExtractBench runs a seven-column detail extract in CSV and in Parquet (the run's own startedAt to completedAt) and
# then COPY (SELECT the same columns) TO STDOUT in CSV.
if ! wanted extract; then
  skip 10 "not in --only"
else
  "${PSQL[@]}" -c "CREATE DATABASE extract_hub"
  start_hub_process extract ConsentHub__Database__Provider=Postgres ConnectionStrings__ConsentHub="$(pg extract_hub)"
  if timeout "$BULK_LIMIT" "${LOADGEN[@]}" --url "$HUB_URL" --mode seed "${ADMIN[@]}" --customers "$EXTRACT_RECORDS" --systems crm \
       --out "$WORK/extract-seed.env" >"$WORK/extract-seed.out" 2>"$WORK/extract-seed.err" &&
     extract_nmsc=$(sed -n 's/^SEED_NMSC=//p' "$WORK/extract-seed.env") &&
     timeout "$BULK_LIMIT" dotnet "$(dll ExtractBench bench/ExtractBench)" --url "$HUB_URL" "${ADMIN[@]}" --nmsc "$extract_nmsc" \
       --rows "$EXTRACT_RECORDS" --database "$(pg extract_hub)" --wait "$BULK_LIMIT" >"$WORK/extract.out" 2>"$WORK/extract.err"; then
    csv_rate=$(loadgen_field 'csv_rows\/s' "$WORK/extract.out"); parquet_rate=$(loadgen_field 'parquet_rows\/s' "$WORK/extract.out")
    copy_rate=$(loadgen_field 'baseline\/s' "$WORK/extract.out")
    ratio=$(calc "100 * $csv_rate / $copy_rate")
    row 10 "CSV $csv_rate rows/s ($(loadgen_field csv_bytes "$WORK/extract.out") bytes in $(loadgen_field csv_s "$WORK/extract.out") s); Parquet $parquet_rate rows/s ($(loadgen_field parquet_bytes "$WORK/extract.out") bytes in $(loadgen_field parquet_s "$WORK/extract.out") s, $(calc "100 * $parquet_rate / $copy_rate")% of COPY)" \
      "$copy_rate rows/s (COPY (SELECT the same seven columns) TO STDOUT, CSV, read by Npgsql)" "$ratio%" "$(yes_no ge "$ratio" 50)"
  else
    skip 10 "seeding or ExtractBench failed: $(cat "$WORK/extract-seed.err" "$WORK/extract.err" 2>/dev/null | grep . | tail -1 | cut -c1-160)"
  fi
  stop_hub
fi

# ---- the table -----------------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$RESULTS")"
{
  echo "# ConsentHub benchmark"
  echo
  echo "commit $COMMIT, $(date -u +%Y-%m-%dT%H:%MZ)," \
    "$([[ $QUICK -eq 1 ]] && echo '--quick' || echo 'full run')$([[ $ONLY == read,write,propagation,bulk,ledger,optout,events,cdc,replica,extract ]] || echo " --only $ONLY"): $CUSTOMERS customers, $RECORDS upload records," \
    "$ENTRIES ledger entries, ${SECONDS_EACH} s per timed workload"
  echo
  echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') with fsync and synchronous_commit on; .NET $(dotnet --version)"
  echo
  print_table
} >"$RESULTS"
cat "$RESULTS"
