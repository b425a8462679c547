#!/usr/bin/env bash
# Runs the README's tour against a fresh server and fails on the first step that does not answer as the
# README says. The commands are read from README.md itself, so the two cannot drift apart.
#
#   ./scripts/tour.sh              builds the server (Release), then runs the tour
#   ./scripts/tour.sh --no-build   uses the Release build already there (test.sh runs it so, after the tests)
#   TOUR_KEEP=1 ./scripts/tour.sh  keeps the scratch directory (server log, data, the tour's files) afterwards
#
# Where the tour is. Every ```sh block inside a region of README.md between a line `<!-- tour:begin -->` and
# a line `<!-- tour:end -->`. There may be several regions, in any section; they run in README order, all
# in one bash session, so variables set by one step are there for the next. Other blocks (```text, ```json,
# and ```sh outside a region) are not run.
#
# How a block is cut into steps. A step is one or more command lines followed by the lines that say what it
# answers:
#   #> TEXT                 the step's output (stdout and stderr together) contains TEXT, character for
#                           character (no patterns); several #> lines must all hold
#   #> within N s: TEXT     the same, but the answer comes from a background worker: the step is run again
#                           every half second until every expectation holds, for at most N seconds (use it on
#                           steps that only read)
#   #> exit N               the step ends with exit status N; without this line it must end with 0
# A blank line ends a step too, and command lines with no #> line after them make a step that must end with
# status 0 (so a command whose output is not checked, e.g. one started with &, is run once, on its own).
#
# Adding a step. Put the command in a ```sh block inside a tour region (or wrap a new section's block in
# the two markers) and write under it one #> line for each thing its answer must contain, e.g.
#     curl -si -H "Authorization: Bearer $ADMIN" http://localhost:5080/admin/organisations/tgb
#     #> HTTP/1.1 200 OK
# Keep the files a step writes under data/ (git ignores it). Steps may use what earlier steps set: $ADMIN,
# $CRM, $DMS, $FEED (tokens), $C, $D, $S (routes), data/*.json (credentials); a new region after the tour's
# section runs after all of them.
#
# What is changed before running. The commands run as written, in a scratch directory laid out like the root
# of a fresh clone: samples/ (a link to the repository's), an empty data/, and src/ConsentHub/data/, the
# fresh server's data directory. Only these are rewritten, in commands and expectations alike:
#   localhost:5080           -> the fresh server, on a free port (ConsentHub__Validation__PublicBaseUrl too)
#   the ports 9001, 9002, 9003 -> free ports (the sample webhook receivers; the sample change feed of step 15)
#   dotnet run --project src/ConsentHub -- ARGS
#                            -> this repository's Release build with ARGS, run as `dotnet run` would run it
#                               (see the function `dotnet` below), with ConsentHub__DataDirectory set to the
#                               scratch data directory
# The server is started as the README says, from the Release build, with
# ConsentHub__Propagation__AllowInsecureLoopback=true, and stopped at the end.
#
# Needs bash, curl, jq, python3 and sqlite3; missing ones are installed with apt-get (as root or with sudo).
set -uo pipefail   # no -e: the tour's own commands are evaluated here and their failures are reported

TOUR_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOUR_README=$TOUR_REPO/README.md
TOUR_BUILD=1
TOUR_TIMEOUT=${TOUR_TIMEOUT:-300}   # seconds for the whole tour, server start included; a step that hangs fails it
for tour_arg in "$@"; do
  case $tour_arg in
    --no-build) TOUR_BUILD=0 ;;
    *) echo "usage: scripts/tour.sh [--no-build]" >&2; exit 2 ;;
  esac
done

tour_fail() { echo "tour.sh: $*" >&2; exit 1; }

# --- prerequisites ---------------------------------------------------------------------------------------
tour_missing=()
for tour_tool in curl jq python3 sqlite3; do
  command -v "$tour_tool" >/dev/null || tour_missing+=("$tour_tool")
done
if [[ ${#tour_missing[@]} -gt 0 ]]; then
  tour_sudo=()
  if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then tour_sudo=(sudo); fi
  echo "tour.sh: installing ${tour_missing[*]}" >&2
  "${tour_sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
    "${tour_sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${tour_missing[@]}" >&2 ||
    tour_fail "could not install ${tour_missing[*]}; install them and run again"
fi

# --- read the tour from the README -----------------------------------------------------------------------
TOUR_CMDS=()      # the commands of each step
TOUR_EXPECTS=()   # its #> lines, without the prefix, one per line
TOUR_LINES=()     # README line of its first command
tour_cmd='' tour_expect='' tour_first=0
tour_flush() {
  if [[ -n $tour_expect && -z ${tour_cmd//[[:space:]]/} ]]; then
    tour_fail "README.md line $tour_first: #> lines with no command before them"
  fi
  # A step of nothing but comments and blank lines is no step.
  if grep -qv '^[[:space:]]*\(#.*\)\?$' <<<"$tour_cmd"; then
    TOUR_CMDS+=("$tour_cmd"); TOUR_EXPECTS+=("$tour_expect"); TOUR_LINES+=("$tour_first")
  fi
  tour_cmd='' tour_expect='' tour_first=0
}
tour_in_region=0 tour_in_block=0 tour_n=0
while IFS= read -r tour_line || [[ -n $tour_line ]]; do
  tour_n=$((tour_n + 1))
  if [[ $tour_in_block -eq 0 ]]; then
    case $tour_line in
      '<!-- tour:begin -->') [[ $tour_in_region -eq 0 ]] || tour_fail "README.md line $tour_n: tour:begin inside a region"
                             tour_in_region=1 ;;
      '<!-- tour:end -->')   [[ $tour_in_region -eq 1 ]] || tour_fail "README.md line $tour_n: tour:end without tour:begin"
                             tour_in_region=0 ;;
      *) if [[ $tour_in_region -eq 1 && $tour_line =~ ^[[:space:]]*\`\`\`sh[[:space:]]*$ ]]; then tour_in_block=1; fi ;;
    esac
    continue
  fi
  if [[ $tour_line =~ ^[[:space:]]*\`\`\` ]]; then tour_flush; tour_in_block=0; continue; fi
  if [[ $tour_line =~ ^[[:space:]]*\#\>[[:space:]]?(.*)$ ]]; then
    tour_expect+="${BASH_REMATCH[1]}"$'\n'
    continue
  fi
  [[ -z $tour_expect ]] || tour_flush
  if [[ -z ${tour_line//[[:space:]]/} ]]; then tour_flush; continue; fi
  [[ $tour_first -ne 0 || -z ${tour_line//[[:space:]]/} ]] || tour_first=$tour_n
  tour_cmd+="$tour_line"$'\n'
done <"$TOUR_README"
[[ $tour_in_region -eq 0 && $tour_in_block -eq 0 ]] || tour_fail "README.md: a tour region or code block is not closed"
[[ ${#TOUR_CMDS[@]} -gt 0 ]] || tour_fail "README.md has no tour steps (\`\`\`sh blocks between <!-- tour:begin --> and <!-- tour:end -->)"

# --- build, scratch directory, ports ---------------------------------------------------------------------
if [[ $TOUR_BUILD -eq 1 ]]; then
  dotnet build "$TOUR_REPO/src/ConsentHub" -c Release -nologo -v quiet >&2 || tour_fail "the Release build failed"
fi
TOUR_DLL=$TOUR_REPO/src/ConsentHub/bin/Release/net10.0/ConsentHub.dll
[[ -f $TOUR_DLL ]] || tour_fail "no Release build at $TOUR_DLL (run without --no-build)"

TOUR_DIR=$(mktemp -d /tmp/consenthub-tour.XXXXXX)
mkdir -p "$TOUR_DIR/src/ConsentHub/data" "$TOUR_DIR/data"
ln -s "$TOUR_REPO/samples" "$TOUR_DIR/samples"
export ConsentHub__DataDirectory=$TOUR_DIR/src/ConsentHub/data

tour_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
tour_free_port() {  # a free port from $1 on, not among those already taken by this run
  local port=$1
  while ! tour_port_free "$port" || [[ " ${TOUR_TAKEN[*]:-} " == *" $port "* ]]; do port=$((port + 1)); done
  echo "$port"
}
TOUR_TAKEN=()
TOUR_PORT=$(tour_free_port $((20000 + RANDOM % 20000))); TOUR_TAKEN+=("$TOUR_PORT")
TOUR_HOOK1=$(tour_free_port $((TOUR_PORT + 1))); TOUR_TAKEN+=("$TOUR_HOOK1")
TOUR_HOOK2=$(tour_free_port $((TOUR_HOOK1 + 1))); TOUR_TAKEN+=("$TOUR_HOOK2")
TOUR_FEED=$(tour_free_port $((TOUR_HOOK2 + 1))); TOUR_TAKEN+=("$TOUR_FEED")

tour_rewrite() {
  local text=${1//localhost:5080/localhost:$TOUR_PORT}
  text=${text//127.0.0.1:5080/127.0.0.1:$TOUR_PORT}
  sed -E "s/(^|[^0-9])9001([^0-9]|$)/\1$TOUR_HOOK1\2/g; s/(^|[^0-9])9002([^0-9]|$)/\1$TOUR_HOOK2\2/g; s/(^|[^0-9])9003([^0-9]|$)/\1$TOUR_FEED\2/g" <<<"$text"
}

# The README's `dotnet run --project src/ConsentHub -- …` runs this repository's Release build the way
# `dotnet run` runs a program: in the project directory (so appsettings.json is read), with the caller's
# PWD in the environment. It skips `dotnet run`'s MSBuild evaluation, which costs seconds per call.
dotnet() {
  if [[ ${1:-} == run && ${2:-} == --project && ${3:-} == src/ConsentHub ]]; then
    shift 3
    [[ ${1:-} != -- ]] || shift
    ( local caller=$PWD; cd "$TOUR_REPO/src/ConsentHub" && exec env PWD="$caller" dotnet "$TOUR_DLL" "$@" )
  else
    command dotnet "$@"
  fi
}

# --- the server ------------------------------------------------------------------------------------------
TOUR_SERVER_PID=''
TOUR_STEP=''
tour_cleanup() {
  local rc=$?
  trap - EXIT
  [[ -z ${TOUR_WATCHDOG:-} ]] || kill "$TOUR_WATCHDOG" 2>/dev/null
  # Background processes the tour's steps started (the webhook receivers), by their ids.
  local job
  for job in $(jobs -p); do [[ $job == "${TOUR_WATCHDOG:-}" ]] || kill "$job" 2>/dev/null; done
  if [[ -n $TOUR_SERVER_PID ]]; then
    kill -TERM "$TOUR_SERVER_PID" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$TOUR_SERVER_PID" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$TOUR_SERVER_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  if [[ $rc -ne 0 || -n ${TOUR_KEEP:-} ]]; then
    echo "tour.sh: scratch directory kept: $TOUR_DIR (server log: $TOUR_DIR/server.log)" >&2
  else
    rm -rf "$TOUR_DIR"
  fi
  exit "$rc"
}
trap tour_cleanup EXIT
trap 'exit 130' INT
trap 'echo "tour.sh: timed out after ${TOUR_TIMEOUT} s${TOUR_STEP:+ in the step at README.md line $TOUR_STEP}" >&2; exit 1' TERM

# From the project directory, as `dotnet run` does, so the server reads src/ConsentHub/appsettings.json.
(
  cd "$TOUR_REPO/src/ConsentHub" || exit 1
  Urls=http://localhost:$TOUR_PORT \
  ConsentHub__Validation__PublicBaseUrl=http://localhost:$TOUR_PORT \
  ConsentHub__Propagation__AllowInsecureLoopback=true \
    exec dotnet "$TOUR_DLL"
) >"$TOUR_DIR/server.log" 2>&1 </dev/null &
TOUR_SERVER_PID=$!
# The watchdog: after TOUR_TIMEOUT seconds it stops the server, which ends a step waiting on it, and this
# script, whose TERM trap then reports the step. Stopped itself, it stops its sleep.
(
  trap 'kill "$tour_sleep" 2>/dev/null; exit 0' TERM
  sleep "$TOUR_TIMEOUT" & tour_sleep=$!
  wait "$tour_sleep" || exit 0
  kill -TERM $$; kill -TERM "$TOUR_SERVER_PID"
) 2>/dev/null &
TOUR_WATCHDOG=$!

for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://localhost:$TOUR_PORT/health" && break
  kill -0 "$TOUR_SERVER_PID" 2>/dev/null || { cat "$TOUR_DIR/server.log" >&2; tour_fail "the server stopped while starting"; }
  sleep 0.5
done
curl -sf -o /dev/null "http://localhost:$TOUR_PORT/health" ||
  { tail -n 40 "$TOUR_DIR/server.log" >&2; tour_fail "the server did not answer /health within 60 s"; }

# --- run the steps ---------------------------------------------------------------------------------------
tour_check() {  # tour_check EXPECTATIONS OUTPUT_FILE RC -> 0 when every expectation holds
  local line text want_rc=0 ok=0
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    text=$line
    [[ $text =~ ^within\ [0-9]+\ s:\ ?(.*)$ ]] && text=${BASH_REMATCH[1]}
    if [[ $text =~ ^exit\ ([0-9]+)$ ]]; then want_rc=${BASH_REMATCH[1]}; continue; fi
    grep -qF -- "$text" "$2" || ok=1
  done <<<"$1"
  [[ $3 -eq $want_rc ]] || ok=1
  return "$ok"
}

cd "$TOUR_DIR" || tour_fail "cannot enter $TOUR_DIR"
set +uo pipefail   # the steps run in a shell like the reader's
TOUR_OUT=$TOUR_DIR/step-output
TOUR_STARTED=$SECONDS
for tour_i in "${!TOUR_CMDS[@]}"; do
  TOUR_STEP=${TOUR_LINES[$tour_i]}
  tour_run=$(tour_rewrite "${TOUR_CMDS[$tour_i]}")
  tour_want=$(tour_rewrite "${TOUR_EXPECTS[$tour_i]}")
  tour_wait=0
  [[ $tour_want =~ (^|$'\n')within\ ([0-9]+)\ s: ]] && tour_wait=${BASH_REMATCH[2]}
  tour_deadline=$((SECONDS + tour_wait))
  tour_t0=${EPOCHREALTIME/[.,]/}
  while true; do
    eval "$tour_run" >"$TOUR_OUT" 2>&1 </dev/null
    tour_rc=$?
    tour_check "$tour_want" "$TOUR_OUT" "$tour_rc" && break
    if [[ $SECONDS -ge $tour_deadline ]]; then
      {
        echo "tour.sh: FAILED: the step at README.md line $TOUR_STEP"
        echo "--- the step (as run)"
        printf '%s\n' "$tour_run" | sed '/^[[:space:]]*$/d'
        echo "--- expected"
        if [[ -n $tour_want ]]; then printf '%s\n' "$tour_want" | sed '/^$/d; s/^/#> /'; else echo "exit status 0"; fi
        echo "--- came back (exit status $tour_rc)"
        cat "$TOUR_OUT"; [[ -z $(tail -c 1 "$TOUR_OUT") ]] || echo
        echo "--- server log, last lines"
        tail -n 15 "$TOUR_DIR/server.log"
      } >&2
      exit 1
    fi
    sleep 0.5
  done
  tour_ms=$(( (${EPOCHREALTIME/[.,]/} - tour_t0) / 1000 ))
  printf 'ok  README.md:%-4s %3d.%01d s  %s\n' "$TOUR_STEP" $((tour_ms / 1000)) $((tour_ms % 1000 / 100)) "$(sed -n '/[^[:space:]]/{s/^[[:space:]]*//;p;q}' <<<"$tour_run" | cut -c1-90)"
done
TOUR_STEP=''
echo "tour: ${#TOUR_CMDS[@]} steps answered as the README says ($((SECONDS - TOUR_STARTED)) s)"
