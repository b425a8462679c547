#!/usr/bin/env bash
# Starts a private RabbitMQ node (Debian's rabbitmq-server) for tests and benchmarks, and prints the variables that
# reach it as shell assignments: eval "$(scripts/rabbitmq-node.sh start DIR)". Its own node name, AMQP port (the first
# free from 55672, the next ones when the boot finds it taken), distribution port and epmd port, so it never meets a
# system node or another run's; its files under DIR; no plugins. `scripts/rabbitmq-node.sh stop DIR` stops it. Works
# as root (the node runs as root) and as a user.
set -euo pipefail

RABBIT_BIN=/usr/lib/rabbitmq/bin
cmd=${1:?usage: rabbitmq-node.sh start|stop DIR}
dir=${2:?usage: rabbitmq-node.sh start|stop DIR}

free_port() {  # the first port from $1 nobody answers on
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

if [[ $cmd == stop ]]; then
  [[ -f $dir/env ]] || exit 0
  # shellcheck disable=SC1091
  set -a; source "$dir/env"; set +a
  "$RABBIT_BIN/rabbitmqctl" -q stop >/dev/null 2>&1 || true
  # epmd outlives the node; it was started for this node's port only.
  epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
  exit 0
fi

[[ -x $RABBIT_BIN/rabbitmq-server ]] || { echo "rabbitmq-node.sh: $RABBIT_BIN/rabbitmq-server is missing (apt-get install rabbitmq-server)" >&2; exit 1; }
mkdir -p "$dir"

# One try at ports from $1: writes $dir/env, boots the node and waits for it. A port can look free to the connect probe
# yet be bound as the local end of some client connection (55672 is inside Linux's ephemeral range), and then the boot
# fails with eaddrinuse; the caller moves on to the next ports. Returns 0 when the node is up, 2 when a port was taken,
# 1 for any other failure.
try_start() {
  amqp=$(free_port "$1")
  dist=$(free_port $((amqp + 1000)))
  epmd_port=$(free_port $((dist + 1)))
  rm -rf "$dir/mnesia" "$dir/log"
  echo '[].' >"$dir/enabled_plugins"
  cat >"$dir/env" <<ENV
RABBITMQ_NODENAME=consenthub-test-$$@localhost
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$amqp
RABBITMQ_DIST_PORT=$dist
ERL_EPMD_PORT=$epmd_port
ERL_EPMD_ADDRESS=127.0.0.1
RABBITMQ_MNESIA_BASE=$dir/mnesia
RABBITMQ_LOG_BASE=$dir/log
RABBITMQ_PID_FILE=$dir/rabbitmq.pid
RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
RABBITMQ_CONFIG_FILE=$dir/rabbitmq
RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
ENV
  : >"$dir/rabbitmq.conf"
  : >"$dir/rabbitmq-env.conf"
  echo '[].' >"$dir/advanced.config"
  set -a; source "$dir/env"; set +a
  "$RABBIT_BIN/rabbitmq-server" -detached >"$dir/start.log" 2>&1 || true
  # await_startup answers at once while the node has not registered with epmd yet: ask again until it is up, and give
  # up early when the boot has failed (the node logs it and exits).
  for _ in $(seq 1 120); do
    if "$RABBIT_BIN/rabbitmqctl" -q await_startup >>"$dir/start.log" 2>&1; then return 0; fi
    if grep -qs "BOOT FAILED" "$dir"/log/*.log; then break; fi
    sleep 0.5
  done
  local taken=1
  grep -qs "eaddrinuse" "$dir"/log/*.log "$dir/start.log" && taken=2
  if [[ $taken -eq 1 ]]; then
    echo "rabbitmq-node.sh: the node did not start; its logs follow" >&2
    cat "$dir/start.log" "$dir"/log/*.log >&2 2>/dev/null || true
  fi
  "$RABBIT_BIN/rabbitmqctl" -q stop >/dev/null 2>&1 || true
  epmd -port "$epmd_port" -kill >/dev/null 2>&1 || true
  return $taken
}

base=55672
for attempt in 1 2 3 4 5 6 7 8; do
  rc=0
  try_start "$base" || rc=$?
  [[ $rc -eq 0 ]] && break
  if [[ $rc -eq 2 && $attempt -lt 8 ]]; then
    echo "rabbitmq-node.sh: a port of $amqp/$dist/$epmd_port was taken; trying the next ones" >&2
    base=$((amqp + 1))
    continue
  fi
  [[ $rc -eq 2 ]] && echo "rabbitmq-node.sh: no free ports after $attempt tries" >&2
  exit 1
done
sed 's/^/export /' "$dir/env"
echo "export CONSENTHUB_TEST_RABBITMQ=amqp://guest:guest@127.0.0.1:$amqp/"
echo "export CONSENTHUB_TEST_RABBITMQ_ENV=$dir/env"
