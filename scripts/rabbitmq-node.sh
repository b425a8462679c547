#!/usr/bin/env bash
# Starts a private RabbitMQ node (Debian's rabbitmq-server) for tests and benchmarks, and prints the variables that
# reach it as shell assignments: eval "$(scripts/rabbitmq-node.sh start DIR)". Its own node name, AMQP port (the first
# free from 55672), distribution port and epmd port, so it never meets a system node or another run's; its files under
# DIR; no plugins. `scripts/rabbitmq-node.sh stop DIR` stops it. Works as root (the node runs as root) and as a user.
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

mkdir -p "$dir"
amqp=$(free_port 55672)
dist=$(free_port $((amqp + 1000)))
epmd_port=$(free_port $((dist + 1)))
: >"$dir/enabled_plugins"
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
"$RABBIT_BIN/rabbitmq-server" -detached >"$dir/start.log" 2>&1
# await_startup answers at once while the node has not registered with epmd yet: ask again until it is up.
started=0
for _ in $(seq 1 120); do
  if "$RABBIT_BIN/rabbitmqctl" -q await_startup >>"$dir/start.log" 2>&1; then started=1; break; fi
  sleep 0.5
done
if [[ $started -eq 0 ]]; then
  echo "rabbitmq-node.sh: the node did not start; its logs follow" >&2
  cat "$dir/start.log" "$dir"/log/*.log >&2 2>/dev/null || true
  exit 1
fi
sed 's/^/export /' "$dir/env"
echo "export CONSENTHUB_TEST_RABBITMQ=amqp://guest:guest@127.0.0.1:$amqp/"
echo "export CONSENTHUB_TEST_RABBITMQ_ENV=$dir/env"
