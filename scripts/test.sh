#!/usr/bin/env bash
# Runs the ConsentHub test suite against a throwaway PostgreSQL 15 cluster.
# Works on a bare Debian 12 box with the .NET 10 SDK, as root (CI) or as a
# user with sudo. Extra arguments are passed to `dotnet test` (e.g. --filter).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$PWD
RESULTS_DIR=$REPO_ROOT/test-results   # must be git-ignored
PG_BIN=/usr/lib/postgresql/15/bin
export DEBIAN_FRONTEND=noninteractive

# Root runs apt directly; otherwise use sudo if there is one (else apt fails loudly).
SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO=(sudo); fi

APT_UPDATED=0
apt_install() {  # apt-get update at most once per run, and only if we install something
  if [[ $APT_UPDATED -eq 0 ]]; then "${SUDO[@]}" apt-get update -q; APT_UPDATED=1; fi
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "$@"
}

install_postgres() {
  [[ -x $PG_BIN/initdb ]] || apt_install postgresql-15
}

# Message broker for the change data capture tests: Debian's rabbitmq-server. Only its programs are used; the tests run
# a private node of their own (scripts/rabbitmq-node.sh), never the system's.
install_rabbitmq() {
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || apt_install rabbitmq-server
}

# Browser for the UI/end-to-end tests of later issues: Debian's chromium.
install_browser() {
  [[ -x /usr/bin/chromium ]] || apt_install chromium
}

# The OpenAPI lint (HostingTests): redocly's CLI from the npm registry, pinned, installed once outside the repository.
REDOCLY_VERSION=2.77.0
install_redocly() {
  local dir=${XDG_CACHE_HOME:-$HOME/.cache}/consenthub-tools/redocly-$REDOCLY_VERSION
  if [[ ! -x $dir/node_modules/.bin/redocly ]]; then
    command -v npm >/dev/null || apt_install nodejs npm
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent "@redocly/cli@$REDOCLY_VERSION" >/dev/null
  fi
  export CONSENTHUB_REDOCLY=$dir/node_modules/.bin/redocly
}

install_postgres
install_rabbitmq
install_browser
install_redocly

# initdb refuses to run as root, so as root everything runs as the `postgres`
# system user (created by the package); as a normal user we run as ourselves.
AS_PG=()
if [[ $(id -u) -eq 0 ]]; then AS_PG=(runuser -u postgres --); fi

# Short path under /tmp: the unix socket path must stay below ~107 characters.
PG_TMP=$(mktemp -d /tmp/consenthub-pg.XXXXXX)
PGDATA=$PG_TMP/data
RABBIT_TMP=$(mktemp -d /tmp/consenthub-rabbitmq.XXXXXX)
cleanup() {
  ./scripts/rabbitmq-node.sh stop "$RABBIT_TMP" || true
  rm -rf "$RABBIT_TMP"
  # -m immediate: nothing in a test cluster is worth a clean shutdown. Silent so
  # the summary stays the last line of output.
  if [[ -f $PGDATA/postmaster.pid ]]; then
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -s -D "$PGDATA" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$PG_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT    # turn signals into a normal exit so the EXIT trap runs
trap 'exit 143' TERM
[[ ${#AS_PG[@]} -eq 0 ]] || chown postgres: "$PG_TMP"

"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PGDATA" -A trust -U postgres \
  --encoding=UTF8 --locale=C.UTF-8 >/dev/null

# The tests' own superuser logs in without a password; every other role (the SQL read roles the hub creates, see
# tests/ConsentHub.Tests/SqlAccess) must give its password, or no test could tell a revoked or rotated one from a good one.
cat >"$PGDATA/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA

# Durability is pointless for a cluster that is deleted afterwards; turn it off
# for speed. max_connections is high because tests run in parallel with pools.
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_TMP'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF

# The first free TCP port from 55432 on. A port can look free to a connect probe yet be
# bound as the local end of some client connection (the range is inside Linux's ephemeral
# ports), so a start that fails with "Address already in use" moves on to the next port.
PORT=55432
while true; do
  while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done
  (( PORT < 55532 )) || { echo "test.sh: no free port in 55432-55531" >&2; exit 1; }
  if "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_TMP/postgres.log" -o "-p $PORT" -w -s start; then
    break
  fi
  if grep -q "Address already in use" "$PG_TMP/postgres.log"; then
    PORT=$((PORT + 1))
    : >"$PG_TMP/postgres.log"
    continue
  fi
  echo "test.sh: PostgreSQL failed to start; log follows:" >&2
  cat "$PG_TMP/postgres.log" >&2
  exit 1
done
for _ in $(seq 1 30); do
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
  sleep 1
done
"$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PORT"

# Tests create and drop their own databases through this connection string.
export CONSENTHUB_TEST_POSTGRES="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=postgres"

# A private RabbitMQ node (own node name, AMQP port from 55672, distribution and epmd ports, files under RABBIT_TMP, no
# plugins): exports CONSENTHUB_TEST_RABBITMQ (amqp://guest:guest@127.0.0.1:port/) and CONSENTHUB_TEST_RABBITMQ_ENV, the
# file of variables rabbitmqctl needs to reach the node (the outage test stops and starts its app).
rabbit_env=$(./scripts/rabbitmq-node.sh start "$RABBIT_TMP")
eval "$rabbit_env"

rm -rf "$RESULTS_DIR"   # stale TRX files would corrupt the summary
rc=0
if [[ $# -gt 0 ]]; then
  # The caller chose (a filter, say): one run, as asked.
  dotnet test tests/ConsentHub.Tests/ConsentHub.Tests.csproj -c Release \
    --logger "trx;LogFileName=results.trx" --results-directory "$RESULTS_DIR" \
    --logger "console;verbosity=normal" "$@" || rc=$?
else
  # Every test, in two processes side by side. The memory tests (Category=Memory: they measure the process's live heap
  # while a large upload, import or extract runs) need a process whose heap is theirs alone; in the main process they
  # had to wait until every other test was done and then ran one at a time, minutes at the end of the run. Here they
  # run in their own process, alone there and one after another, while the main process runs the rest.
  dotnet build tests/ConsentHub.Tests/ConsentHub.Tests.csproj -c Release
  memory_log=$(mktemp)
  dotnet test tests/ConsentHub.Tests/ConsentHub.Tests.csproj -c Release --no-build --filter "Category=Memory" \
    --logger "trx;LogFileName=results-memory.trx" --results-directory "$RESULTS_DIR" \
    --logger "console;verbosity=normal" >"$memory_log" 2>&1 &
  memory_pid=$!
  dotnet test tests/ConsentHub.Tests/ConsentHub.Tests.csproj -c Release --no-build --filter "Category!=Memory" \
    --logger "trx;LogFileName=results.trx" --results-directory "$RESULTS_DIR" \
    --logger "console;verbosity=normal" || rc=$?
  memory_rc=0
  wait "$memory_pid" || memory_rc=$?
  echo "test.sh: the memory tests, in their own process:"
  cat "$memory_log"
  rm -f "$memory_log"
  [[ $rc -ne 0 ]] || rc=$memory_rc
fi

# Summarise from the TRX <Counters .../> element(s), summed over all files.
shopt -s nullglob
trx_files=("$RESULTS_DIR"/*.trx)
if [[ ${#trx_files[@]} -eq 0 ]]; then
  echo "test.sh: no TRX file in $RESULTS_DIR (build failure?); dotnet test exit code $rc" >&2
  exit $(( rc == 0 ? 1 : rc ))
fi
counter() {  # counter NAME -> sum of NAME="n" over all <Counters> elements
  grep -ho '<Counters [^>]*>' "${trx_files[@]}" |
    sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}
# The benchmark harness must keep working: its dry run parses the scripts and builds the bench projects. Its
# output goes before the summary, which stays the last line; its failure fails the run.
if ! ./scripts/bench.sh --quick --dry-run; then
  echo "test.sh: ./scripts/bench.sh --quick --dry-run failed" >&2
  [[ $rc -ne 0 ]] || rc=1
fi

# The README's tour must answer as the README says: tour.sh runs it against a fresh server started from the
# Release build the tests just used. Like the dry run, its output goes before the summary; its failure fails the run.
if ! ./scripts/tour.sh --no-build; then
  echo "test.sh: ./scripts/tour.sh failed: the README's tour does not run as written" >&2
  [[ $rc -ne 0 ]] || rc=1
fi

# Name what failed last, beside the summary, where a log read from its end shows it.
python3 scripts/trx-failures.py "${trx_files[@]}" || true

total=$(counter total); executed=$(counter executed)
passed=$(counter passed); failed=$(counter failed)
echo "$passed passed, $failed failed, $((total - executed)) skipped"
exit "$rc"
