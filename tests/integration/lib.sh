# SPDX-License-Identifier: MIT
# Helpers for the shell integration tests: assertions that explain their own
# failures, a scratch folder, and simulator servers that are always stopped.
set -u

: "${TRUSTX:?TRUSTX must name the trustx binary}"
: "${TRUSTX_SIM:?TRUSTX_SIM must name the trustx-sim binary}"
: "${TEST_TMP:?TEST_TMP must name a scratch folder}"

rm -rf "$TEST_TMP"
mkdir -p "$TEST_TMP"
failures=0
checks=0
server_pids=""

cleanup() {
    for pid in $server_pids; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

pass() {
    checks=$((checks + 1))
}

# expect_status WANT DESCRIPTION -- COMMAND...: runs COMMAND, keeps its output in $out and $err.
expect_status() {
    want=$1
    what=$2
    shift 3
    "$@" >"$TEST_TMP/.stdout" 2>"$TEST_TMP/.stderr"
    got=$?
    out=$(cat "$TEST_TMP/.stdout")
    err=$(cat "$TEST_TMP/.stderr")
    if [ "$got" -ne "$want" ]; then
        fail "$what: exit status $got, expected $want; stderr: $err"
        return 1
    fi
    pass
    return 0
}

# expect_contains HAYSTACK NEEDLE DESCRIPTION
expect_contains() {
    case $1 in
    *"$2"*) pass ;;
    *) fail "$3: '$2' not found in: $1" ;;
    esac
}

# start_server STATE ARGS...: starts trustx-sim serve in the background and waits until it listens.
# For --tcp 127.0.0.1:0 the chosen port is left in $server_port.
start_server() {
    state=$1
    shift
    portfile="$TEST_TMP/port.$$.$RANDOM"
    ready=$portfile
    if [ "$1" = "--socket" ]; then
        ready=$2
        "$TRUSTX_SIM" serve "$state" "$@" >"$TEST_TMP/server.log" 2>&1 &
    else
        "$TRUSTX_SIM" serve "$state" --port-file "$portfile" "$@" >"$TEST_TMP/server.log" 2>&1 &
    fi
    server_pids="$server_pids $!"
    for _ in $(seq 1 200); do
        if [ -S "$ready" ] || [ -s "$ready" ]; then
            [ "$ready" = "$portfile" ] && server_port=$(cat "$portfile")
            return 0
        fi
        sleep 0.05
    done
    fail "trustx-sim serve $* did not start: $(cat "$TEST_TMP/server.log")"
    return 1
}

finish() {
    echo "$checks passed, $failures failed"
    [ "$failures" -eq 0 ]
    exit $?
}
