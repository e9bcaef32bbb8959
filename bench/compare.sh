#!/usr/bin/env bash
# Side-by-side load test: KestrelSocks, hev-socks5-server, Dante and microsocks on loopback, with the direct path
# as the reference.
#
#   bench/compare.sh            full run: every mode, every server, 3 repetitions (about 25 minutes on 2 cores)
#   bench/compare.sh --quick    one repetition, short windows, 2,000 idle sessions (about 5 minutes)
#
# Options: --reps N, --modes tcp-bulk,tcp-rr,tcp-latency,tcp-fairness,udp,idle (udp-dotnet, the C# generator's UDP
#          ladder, is not in the default list), --servers direct,kestrelsocks,hev,dante,microsocks, --sessions N (idle),
#          --udp-rates 10000,25000,50000,75000, --udp-layouts 1x1,100x1,1000x1,1570x1,10x157, --no-build, --out DIR.
# hev: set HEV_SOCKS5_SERVER to the hev-socks5-server binary, built from its public source; without it hev is skipped.
# udp runs bench/udpgen (C, compiled here with gcc) at fixed offered rates. A layout CxM is C control connections
# with M UDP ASSOCIATE requests each; M > 1 is KestrelSocks' extension and runs against kestrelsocks only.
# Results go to bench/results/<date>/<time>/ (gitignored): comparison.md, comparison.json, udp.md, udp.json, one SVG
# per mode, every run's own report under raw/, server and generator logs under logs/. Everything this script starts
# is stopped by pid when it exits, however it exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
REPS=""
MODES="tcp-bulk,tcp-rr,tcp-latency,tcp-fairness,udp,idle"
SERVERS="direct,kestrelsocks,hev,dante,microsocks"
SESSIONS=""
UDP_RATES="10000,25000,50000,75000"
UDP_LAYOUTS=""
BUILD=1
OUT=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --reps) REPS="$2"; shift ;;
        --modes) MODES="$2"; shift ;;
        --servers) SERVERS="$2"; shift ;;
        --sessions) SESSIONS="$2"; shift ;;
        --udp-rates) UDP_RATES="$2"; shift ;;
        --udp-layouts) UDP_LAYOUTS="$2"; shift ;;
        --no-build) BUILD=0 ;;
        --out) OUT="$2"; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

if [[ $QUICK -eq 1 ]]; then
    REPS="${REPS:-1}"; DURATION=1; WARMUP=0.25; UDP_STEP=0.5; SETTLE=1; SESSIONS="${SESSIONS:-2000}"
    UDPGEN_STEP=1; UDPGEN_WARMUP=0.25; UDP_LAYOUTS="${UDP_LAYOUTS:-1x1,100x1,1570x1,10x157}"
else
    # 9,000 idle sessions: a single-process proxy holds two sockets per session, and the open-file limit
    # here is 20,000 per process, so 10,000 sessions cannot fit in KestrelSocks or microsocks.
    REPS="${REPS:-3}"; DURATION=2; WARMUP=0.5; UDP_STEP=1; SETTLE=1.5; SESSIONS="${SESSIONS:-9000}"
    UDPGEN_STEP=2; UDPGEN_WARMUP=0.5; UDP_LAYOUTS="${UDP_LAYOUTS:-1x1,100x1,1000x1,1570x1,10x157}"
fi

DATE="$(date +%Y-%m-%d)"
OUT="${OUT:-$ROOT/bench/results/$DATE/$(date +%H%M%S)$([[ $QUICK -eq 1 ]] && echo -quick || true)}"
mkdir -p "$OUT/raw" "$OUT/logs"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo -dirty)"
KS_DLL="$ROOT/src/KestrelSocks.Server/bin/Release/net10.0/KestrelSocks.Server.dll"
LT_DLL="$ROOT/bench/KestrelSocks.LoadTest/bin/Release/net10.0/KestrelSocks.LoadTest.dll"
UDPGEN="$ROOT/bench/udpgen/bin/udpgen"
STARTED=$SECONDS

log() { printf '[%4ds] %s\n' $((SECONDS - STARTED)) "$*"; }

# --- everything started here is stopped here, by pid ------------------------------------------------------
declare -A PID=() PORT=()
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}
stop_server() {
    local name="$1" pid="${PID[$1]:-}" children
    [[ -z "$pid" ]] && return 0
    # Dante's pool: its workers are stopped by their own pids too, in case one outlives the parent.
    children="$(descendants "$pid" | xargs)"
    kill "$pid" 2>/dev/null || true
    for child in $children; do kill "$child" 2>/dev/null || true; done
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]"
}
cleanup() {
    local name
    for name in "${!PID[@]}"; do stop_server "$name"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools --------------------------------------------------------------------------------------------------
need() {
    local binary="$1" package="$2"
    if ! command -v "$binary" >/dev/null 2>&1; then
        log "installing $package"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    fi
}
[[ ",$SERVERS," == *,dante,* ]] && need danted dante-server
[[ ",$SERVERS," == *,microsocks,* ]] && need microsocks microsocks
if [[ ",$SERVERS," == *,hev,* ]] && [[ ! -f "${HEV_SOCKS5_SERVER:-}" || ! -x "${HEV_SOCKS5_SERVER:-}" ]]; then
    if [[ -z "${HEV_SOCKS5_SERVER:-}" ]]; then
        log "skipping hev: HEV_SOCKS5_SERVER is not set (build hev-socks5-server from its public source and pass the binary's path in HEV_SOCKS5_SERVER)"
    else
        log "skipping hev: HEV_SOCKS5_SERVER=$HEV_SOCKS5_SERVER is not an executable file"
    fi
    SERVERS="$(echo ",$SERVERS," | sed 's/,hev,/,/g; s/^,//; s/,$//')"
fi

# The C# generator runs every mode but udp (udpgen's).
DOTNET_MODES="$(echo ",$MODES," | sed 's/,udp,/,/g; s/^,//; s/,$//')"
if [[ $BUILD -eq 1 ]]; then
    log "building KestrelSocks.Server$([[ -n "$DOTNET_MODES" ]] && echo ' and KestrelSocks.LoadTest') (Release)"
    dotnet build -c Release "$ROOT/src/KestrelSocks.Server" -nologo -v q >"$OUT/logs/build.log" 2>&1
    if [[ -n "$DOTNET_MODES" ]]; then
        dotnet build -c Release "$ROOT/bench/KestrelSocks.LoadTest" -nologo -v q >>"$OUT/logs/build.log" 2>&1
    fi
fi
if [[ ",$MODES," == *,udp,* ]]; then
    log "compiling udpgen"
    mkdir -p "$(dirname "$UDPGEN")"
    gcc -O2 -Wall -Wextra -Werror -pthread -o "$UDPGEN" "$ROOT/bench/udpgen/udpgen.c" -lm >>"$OUT/logs/build.log" 2>&1 \
        || { log "udpgen did not compile; see $OUT/logs/build.log"; exit 1; }
fi

# --- servers ------------------------------------------------------------------------------------------------
free_port() {
    local port
    for port in $(shuf -i 20000-29999 -n 200); do
        if [[ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]] && [[ -z "$(ss -Huan "( sport = :$port )" 2>/dev/null)" ]]; then
            echo "$port"; return 0
        fi
    done
    echo "no free port" >&2; return 1
}
wait_listening() {
    local port="$1" pid="$2"
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || return 1
        [[ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ]] && return 0
        sleep 0.1
    done
    return 1
}
start_server() {
    local name="$1" port
    port="$(free_port)"
    case "$name" in
        kestrelsocks)
            local admin; admin="$(free_port)"
            DOTNET_gcServer=0 dotnet "$KS_DLL" \
                --KestrelSocks:Listen:0=127.0.0.1:$port --KestrelSocks:Admin:Listen:0=127.0.0.1:$admin \
                --KestrelSocks:Limits:MaxConcurrentSessions=20000 --Logging:LogLevel:Default=Warning \
                >>"$OUT/logs/kestrelsocks.log" 2>&1 &
            ;;
        dante)
            # Loopback only, no authentication; Dante forks its own pool of negotiate/request/io processes.
            cat >"$OUT/danted.conf" <<EOF
logoutput: $OUT/logs/danted.log
internal: 127.0.0.1 port = $port
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
    from: 127.0.0.0/8 to: 0.0.0.0/0
    log: error
}
socks pass {
    from: 127.0.0.0/8 to: 127.0.0.0/8
    command: connect udpassociate udpreply
    log: error
}
EOF
            danted -f "$OUT/danted.conf" -p "$OUT/danted.pid" >>"$OUT/logs/danted.out" 2>&1 &
            ;;
        microsocks)
            microsocks -i 127.0.0.1 -p "$port" >>"$OUT/logs/microsocks.log" 2>&1 &
            ;;
        hev)
            # Two workers (one per core), UDP relay sockets on 127.0.0.1 with random ports, no log file. The rest
            # is hev's default (among it 512 KiB UDP receive buffers and recvmmsg batches of 10).
            cat >"$OUT/hev.yml" <<EOF
main:
  workers: 2
  port: $port
  listen-address: '127.0.0.1'
  udp-port: 0
  udp-listen-address: '127.0.0.1'
misc:
  log-file: null
  log-level: error
  limit-nofile: $(ulimit -Hn)
EOF
            "$HEV_SOCKS5_SERVER" "$OUT/hev.yml" >>"$OUT/logs/hev.log" 2>&1 &
            ;;
    esac
    PID[$name]=$!
    PORT[$name]=$port
    if ! wait_listening "$port" "${PID[$name]}"; then
        log "$name did not start; see $OUT/logs"; exit 1
    fi
    log "$name listening on 127.0.0.1:$port (pid ${PID[$name]})"
}

IFS=',' read -r -a SERVER_LIST <<<"$SERVERS"
IFS=',' read -r -a MODE_LIST <<<"$MODES"
for server in "${SERVER_LIST[@]}"; do
    [[ "$server" != direct ]] && start_server "$server"
done

{
    echo "date: $(date -Is)"
    echo "commit: $COMMIT"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
    echo "kernel: $(uname -r)"
    echo "dotnet: $(dotnet --version)"
    echo "dante: $(dpkg-query -W -f '${Version}' dante-server 2>/dev/null || echo unknown)"
    echo "microsocks: $(dpkg-query -W -f '${Version}' microsocks 2>/dev/null || echo unknown)"
    if [[ ",$SERVERS," == *,hev,* ]]; then
        echo "hev: $("$HEV_SOCKS5_SERVER" --version 2>&1 | grep -m1 -i version || true) ($HEV_SOCKS5_SERVER)"
    fi
    echo "net.core.rmem_max: $(cat /proc/sys/net/core/rmem_max), wmem_max: $(cat /proc/sys/net/core/wmem_max), netdev_max_backlog: $(cat /proc/sys/net/core/netdev_max_backlog)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "reps: $REPS, modes: $MODES, servers: $SERVERS, duration: $DURATION s, udp-dotnet step: $UDP_STEP s, idle sessions: $SESSIONS"
    echo "udp (udpgen): rates $UDP_RATES /s, layouts $UDP_LAYOUTS, $UDPGEN_STEP s steps after $UDPGEN_WARMUP s of warm-up"
} >"$OUT/machine.txt"

# --- the runs: for each repetition and mode, every server in turn (A B C A B C ...) -------------------------
# The idle echo target runs in a child process of the generator: the generator then holds one socket per session,
# and the direct path reports what a bare .NET echo server costs per connection, next to the proxies' figures.
run_one() {
    local rep="$1" mode="$2" server="$3"
    local dir="$OUT/raw/rep$rep/$mode/$server"
    local args=("${mode/#udp-dotnet/udp}" --duration "$DURATION" --warmup "$WARMUP" --udp-step "$UDP_STEP" --sessions "$SESSIONS"
        --idle-settle "$SETTLE" --idle-target process --commit "$COMMIT" --out "$dir")
    if [[ "$server" == direct ]]; then
        args+=(--targets direct)
    else
        args+=(--targets proxy --proxy "127.0.0.1:${PORT[$server]}" --name "$server" --server-pid "${PID[$server]}")
    fi
    local status=0
    timeout 600 dotnet "$LT_DLL" "${args[@]}" >"$OUT/logs/rep$rep-$mode-$server.log" 2>&1 || status=$?
    local headline
    headline="$(grep -m1 -E '^\| [0-9]' "$dir/report.md" 2>/dev/null | cut -c1-110 || true)"
    log "rep $rep $mode $server: exit $status ${headline}"
}

# udp: udpgen at fixed offered rates; for each layout every server in turn (A B C A B C ...).
ensure_running() {
    local server="$1"
    if [[ "$server" != direct ]] && ! kill -0 "${PID[$server]}" 2>/dev/null; then
        log "$server has exited; restarting it"
        start_server "$server"
    fi
}
run_udpgen() {
    local rep="$1" layout="$2" server="$3"
    local controls="${layout%x*}" per="${layout#*x}"
    local dir="$OUT/raw/rep$rep/udp" name="$server-$layout"
    mkdir -p "$dir"
    local args=(--controls "$controls" --per-control "$per" --rates "$UDP_RATES" --step-seconds "$UDPGEN_STEP"
        --warmup-seconds "$UDPGEN_WARMUP" --label "$server" --json "$dir/$name.jsonl")
    if [[ "$server" == direct ]]; then
        args+=(--direct)
    else
        args+=(--proxy "127.0.0.1:${PORT[$server]}" --server-pid "${PID[$server]}")
    fi
    local status=0
    timeout 300 "$UDPGEN" "${args[@]}" >"$dir/$name.txt" 2>"$OUT/logs/rep$rep-udp-$name.log" || status=$?
    # offered rate:loss % of each step, from udpgen's table
    local steps
    steps="$(awk 'NR > 1 { printf " %s:%s%%", $4, $8 }' "$dir/$name.txt" 2>/dev/null || true)"
    log "rep $rep udp $layout $server: exit $status, loss${steps:- -- no step finished, see $OUT/logs/rep$rep-udp-$name.log}"
}
run_udp() {
    local rep="$1" layout server
    local -a layouts
    IFS=',' read -r -a layouts <<<"$UDP_LAYOUTS"
    for layout in "${layouts[@]}"; do
        [[ "$layout" == *x* ]] || layout="${layout}x1"
        for server in "${SERVER_LIST[@]}"; do
            [[ "$server" == microsocks ]] && continue # microsocks has no UDP ASSOCIATE
            # Several associations per control connection is KestrelSocks' extension; the direct path has none.
            [[ "${layout#*x}" != 1 && "$server" != kestrelsocks ]] && continue
            ensure_running "$server"
            run_udpgen "$rep" "$layout" "$server"
        done
    done
}

for rep in $(seq "$REPS"); do
    for mode in "${MODE_LIST[@]}"; do
        if [[ "$mode" == udp ]]; then
            run_udp "$rep"
            continue
        fi
        for server in "${SERVER_LIST[@]}"; do
            if [[ "$mode" == udp-dotnet && "$server" == microsocks ]]; then
                continue # microsocks has no UDP ASSOCIATE
            fi
            if [[ "$mode" == idle && "$server" != direct ]]; then
                # Memory per session is read on a fresh process, not one grown by the modes before.
                stop_server "$server"
                start_server "$server"
            fi
            ensure_running "$server"
            run_one "$rep" "$mode" "$server"
        done
    done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
TITLE_TAIL="$(date +%Y-%m-%d), commit $COMMIT, $REPS repetition(s)$([[ $QUICK -eq 1 ]] && echo ', quick' || true)"
if [[ -n "$DOTNET_MODES" ]]; then
    dotnet "$LT_DLL" aggregate --in "$OUT/raw" --out "$OUT" --baseline dante \
        --title "KestrelSocks side by side ($TITLE_TAIL)" | tee "$OUT/summary.txt"
fi
if [[ ",$MODES," == *,udp,* ]]; then
    if ! python3 "$ROOT/bench/aggregate-udp.py" --in "$OUT/raw" --out "$OUT" --machine "$OUT/machine.txt" \
        --title "UDP relays at fixed offered rates ($TITLE_TAIL)" | tee -a "$OUT/summary.txt"; then
        log "no udp figures to aggregate; see $OUT/logs/rep*-udp-*.log"
    elif [[ -f "$OUT/comparison.md" ]]; then
        {
            echo
            echo "## UDP at fixed offered rates (udpgen)"
            echo
            echo "Per layout and rate, every server's delivered rate, loss, round trip, and server CPU and context"
            echo "switches per datagram: [udp.md](udp.md)."
        } >>"$OUT/comparison.md"
    else
        cp "$OUT/udp.md" "$OUT/comparison.md"
    fi
fi
log "done in $((SECONDS - STARTED)) s; results in $OUT"
