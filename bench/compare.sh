#!/usr/bin/env bash
# Side-by-side load test: KestrelSocks, hev-socks5-server, Dante and microsocks on loopback, with the direct path
# as the reference.
#
#   bench/compare.sh            full run: every mode, every server, 3 repetitions (about 25 minutes on 2 cores)
#   bench/compare.sh --quick    one repetition, short windows, 2,000 idle sessions (about 5 minutes)
#   bench/compare.sh --modes mixed   TCP and UDP through the same server at once (about 8 minutes, 2 with --quick)
#
# Options: --reps N, --modes tcp-bulk,tcp-rr,tcp-latency,tcp-fairness,udp,idle (udp-dotnet, the C# generator's UDP
#          ladder, and mixed are not in the default list), --servers direct,kestrelsocks,hev,dante,microsocks,
#          --sessions N (idle), --udp-rates 10000,25000,50000,75000, --udp-layouts 1x1,100x1,1000x1,1570x1,10x157,
#          --mixed-udp-rate 25000 (UDP load beside the ping-pong), --mixed-probe-rate 10000 (UDP beside bulk),
#          --mixed-bulk-streams 8, --rules FILE (KestrelSocks settings, one per line, added to its command line,
#          such as bench/access-rules-20.args), --no-build, --out DIR.
# KestrelSocks runs with one rule, bench-loopback, that opens loopback past its egress guard (on by default): every
# target here is on loopback. --rules adds its rules ahead of it.
# hev: set HEV_SOCKS5_SERVER to the hev-socks5-server binary, built from its public source; without it hev is skipped.
# udp runs bench/udpgen (C, compiled here with gcc) at fixed offered rates. A layout CxM is C control connections
# with M UDP ASSOCIATE requests each; M > 1 is KestrelSocks' extension and runs against kestrelsocks only.
# mixed: tcp-latency alone and beside udpgen's load, then udpgen alone and beside tcp-bulk, through the same server.
# Results go to bench/results/<date>/<time>/ (gitignored): comparison.md, comparison.json, udp.md, udp.json,
# mixed.md, mixed.json, one SVG per mode, every run's own report under raw/ (mixed: raw-mixed/), server and generator
# logs under logs/. Everything this script starts is stopped by pid when it exits, however it exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
REPS=""
MODES="tcp-bulk,tcp-rr,tcp-latency,tcp-fairness,udp,idle"
SERVERS="direct,kestrelsocks,hev,dante,microsocks"
SESSIONS=""
UDP_RATES="10000,25000,50000,75000"
UDP_LAYOUTS=""
MIXED_UDP_RATE=25000
MIXED_PROBE_RATE=10000
MIXED_BULK_STREAMS=8
MIXED_UDP_ASSOCIATIONS=100     # the UDP load beside the ping-pong
MIXED_PROBE_ASSOCIATIONS="1 100" # the UDP runs beside bulk
BUILD=1
OUT=""
RULES=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --reps) REPS="$2"; shift ;;
        --modes) MODES="$2"; shift ;;
        --servers) SERVERS="$2"; shift ;;
        --sessions) SESSIONS="$2"; shift ;;
        --udp-rates) UDP_RATES="$2"; shift ;;
        --udp-layouts) UDP_LAYOUTS="$2"; shift ;;
        --mixed-udp-rate) MIXED_UDP_RATE="$2"; shift ;;
        --mixed-probe-rate) MIXED_PROBE_RATE="$2"; shift ;;
        --mixed-bulk-streams) MIXED_BULK_STREAMS="$2"; shift ;;
        --rules) RULES="$(realpath "$2")"; shift ;;
        --no-build) BUILD=0 ;;
        --out) OUT="$2"; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
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
# Generators that run in the background (mixed): started by start_bg, waited for by wait_bg, stopped by stop_bg.
declare -A BG=()
BG_PID=""
start_bg() { # start_bg STDOUT STDERR command...: runs the command in the background; its pid is in BG_PID
    local out="$1" err="$2"
    shift 2
    if [[ "$err" == "$out" ]]; then
        "$@" >"$out" 2>&1 &
    else
        "$@" >"$out" 2>"$err" &
    fi
    BG_PID=$!
    BG[$BG_PID]="$1"
}
wait_bg() { # wait_bg PID: its exit status
    local pid="$1" status=0
    wait "$pid" || status=$?
    unset "BG[$pid]"
    return "$status"
}
stop_bg() {
    local pid="$1" children child
    children="$(descendants "$pid" | xargs)"
    kill "$pid" 2>/dev/null || true
    for child in $children; do kill "$child" 2>/dev/null || true; done
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" $children 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "BG[$pid]"
}
cleanup() {
    local name pid
    for pid in "${!BG[@]}"; do stop_bg "$pid"; done
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

# The C# generator runs every mode but udp (udpgen's) and its reports go to comparison.md; mixed runs both
# generators and has its own mixed.md.
DOTNET_MODES="$(echo ",$MODES," | sed 's/,udp,/,/g; s/,mixed,/,/g; s/^,//; s/,$//')"
MIXED=0
[[ ",$MODES," == *,mixed,* ]] && MIXED=1
if [[ $BUILD -eq 1 ]]; then
    log "building KestrelSocks.Server$([[ -n "$DOTNET_MODES" || $MIXED -eq 1 ]] && echo ' and KestrelSocks.LoadTest') (Release)"
    dotnet build -c Release "$ROOT/src/KestrelSocks.Server" -nologo -v q >"$OUT/logs/build.log" 2>&1
    if [[ -n "$DOTNET_MODES" || $MIXED -eq 1 ]]; then
        dotnet build -c Release "$ROOT/bench/KestrelSocks.LoadTest" -nologo -v q >>"$OUT/logs/build.log" 2>&1
    fi
fi
if [[ ",$MODES," == *,udp,* || $MIXED -eq 1 ]]; then
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
        kestrelsocks|kestrelsocks-shared)
            local admin rules=() udp=(); admin="$(free_port)"
            # The shared-port row: every association's client sends to one port (Udp:Mode=Shared).
            [[ "$name" == kestrelsocks-shared ]] && udp=(--KestrelSocks:Udp:Mode=Shared --KestrelSocks:Udp:SharedPort=0)
            [[ -n "$RULES" ]] && mapfile -t rules < <(grep -v '^\s*\(#\|$\)' "$RULES")
            DOTNET_gcServer=0 dotnet "$KS_DLL" \
                --KestrelSocks:Listen:0=127.0.0.1:$port --KestrelSocks:Admin:Listen:0=127.0.0.1:$admin \
                --KestrelSocks:Limits:MaxConcurrentSessions=20000 --Logging:LogLevel:Default=Warning \
                --KestrelSocks:Limits:MaxHandshakesPerClient=1024 --KestrelSocks:Limits:MaxSessionsPerClient=20000 \
                --KestrelSocks:Limits:NewSessionsPerClientPerSecond=0 --KestrelSocks:Udp:MaxAssociationsPerClient=20000 \
                --KestrelSocks:Access:Rules:999:Name=bench-loopback --KestrelSocks:Access:Rules:999:Action=Allow \
                --KestrelSocks:Access:Rules:999:Destinations:0=127.0.0.0/8 --KestrelSocks:Access:Rules:999:Destinations:1=::1/128 \
                "${rules[@]}" "${udp[@]}" \
                >>"$OUT/logs/$name.log" 2>&1 &
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
    # On a virtual machine, time the host gave to others: a share of it in the run makes every figure noisier.
    echo "cpu steal ticks at start: $(awk '/^cpu /{print $9}' /proc/stat) (USER_HZ $(getconf CLK_TCK))"
    echo "reps: $REPS, modes: $MODES, servers: $SERVERS, duration: $DURATION s, udp-dotnet step: $UDP_STEP s, idle sessions: $SESSIONS"
    echo "kestrelsocks access rules: ${RULES:-none} (plus bench-loopback)"
    echo "udp (udpgen): rates $UDP_RATES /s, layouts $UDP_LAYOUTS, $UDPGEN_STEP s steps after $UDPGEN_WARMUP s of warm-up"
    if [[ $MIXED -eq 1 ]]; then
        echo "mixed: tcp-latency $DURATION s beside udpgen at $MIXED_UDP_RATE/s over $MIXED_UDP_ASSOCIATIONS associations;" \
            "udpgen at $MIXED_PROBE_RATE/s over ${MIXED_PROBE_ASSOCIATIONS// /, } association(s), $UDPGEN_STEP s each," \
            "beside tcp-bulk with $MIXED_BULK_STREAMS streams"
    fi
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
            [[ "${layout#*x}" != 1 && "$server" != kestrelsocks* ]] && continue
            ensure_running "$server"
            run_udpgen "$rep" "$layout" "$server"
        done
    done
}

# mixed: TCP and UDP through the same server at once. Part 1, for each server in turn: tcp-latency alone, then
# tcp-latency again while udpgen offers MIXED_UDP_RATE over MIXED_UDP_ASSOCIATIONS associations in the background.
# Part 2, for each server in turn: udpgen at MIXED_PROBE_RATE over 1 and over 100 associations alone, then tcp-bulk
# (MIXED_BULK_STREAMS streams, upload then download) in the background and, inside each of its two measured
# windows, the same udpgen runs again. Each run's files go to raw-mixed/rep<N>/<server>/, and checks.jsonl there says
# whether every loaded run fell inside the other generator's load (timed from their own progress lines).
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }
not_after() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
wait_line() { # wait_line FILE ERE PID SECONDS: until FILE has a line matching ERE; fails if PID ends first or time is up
    local file="$1" pattern="$2" pid="$3" i
    for ((i = 0; i < $4 * 20; i++)); do
        grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    grep -qE -- "$pattern" "$file" 2>/dev/null
}
mixed_targets() { # sets LT_TARGET (LoadTest) and UG_TARGET (udpgen) for a server
    if [[ "$1" == direct ]]; then
        LT_TARGET=(--targets direct)
        UG_TARGET=(--direct)
    else
        LT_TARGET=(--targets proxy --proxy "127.0.0.1:${PORT[$1]}" --name "$1" --server-pid "${PID[$1]}")
        UG_TARGET=(--proxy "127.0.0.1:${PORT[$1]}" --server-pid "${PID[$1]}")
    fi
}
mixed_check() { # mixed_check DIR SAMPLE COVERED(true|false) NOTE
    printf '{"sample":"%s","covered":%s,"note":"%s"}\n' "$2" "$3" "$4" >>"$1/checks.jsonl"
}
lt_figures() { # lt_figures REPORT.json: "name value, ..." of every case, for the log
    python3 - "$1" <<'PY' 2>/dev/null || echo "no report"
import json, sys
keep = {"p50 latency", "p99 latency", "throughput"}
for c in json.load(open(sys.argv[1]))["cases"]:
    figures = ", ".join(f"{m['name']} {m['value']:,.1f} {m['unit']}" for m in c["metrics"] if m["name"] in keep)
    print(f"{c['case']}: {figures}{'' if c['verified'] else ' (NOT verified)'}", end="; ")
PY
}
ug_figures() { # ug_figures UDPGEN.txt: delivered/s, loss, p50, p99 from udpgen's table
    awk 'NR > 1 { printf "%s/s delivered, loss %s %%, p50 %s p99 %s us", $7, $8, $9, $10 }' "$1" 2>/dev/null || true
}
mixed_udpgen() { # mixed_udpgen SERVER DIR NAME ASSOCIATIONS RATE STEP: one udpgen step in the foreground
    local server="$1" dir="$2" name="$3" assocs="$4" rate="$5" step="$6" status=0
    timeout --kill-after=5 "$(calc "$step + 40")" "$UDPGEN" --controls "$assocs" --rates "$rate" --step-seconds "$step" \
        --warmup-seconds "$UDPGEN_WARMUP" --label "$server" --json "$dir/$name.jsonl" "${UG_TARGET[@]}" \
        >"$dir/$name.txt" 2>"$OUT/logs/rep$rep-mixed-$server-$name.log" || status=$?
    [[ $status -eq 0 ]] || log "rep $rep mixed $server $name: udpgen exit $status, see $OUT/logs/rep$rep-mixed-$server-$name.log"
    return 0
}
mixed_latency() { # part 1
    local rep="$1" server="$2"
    local dir="$OUT/raw-mixed/rep$rep/$server" logs="$OUT/logs/rep$rep-mixed-$server"
    local step status=0 udp window_end ended
    mkdir -p "$dir"
    mixed_targets "$server"
    timeout --kill-after=5 120 dotnet "$LT_DLL" tcp-latency --duration "$DURATION" --warmup "$WARMUP" --commit "$COMMIT" \
        --out "$dir/latency-alone" "${LT_TARGET[@]}" >"$logs-latency-alone.log" 2>&1 || status=$?
    log "rep $rep mixed $server ping-pong alone: exit $status, $(lt_figures "$dir/latency-alone/report.json")"

    # The UDP load's window covers the ping-pong's start-up, warm-up and window, with a margin.
    step="$(calc "$DURATION + $WARMUP + 2")"
    start_bg "$dir/latency-udp.txt" "$logs-latency-udp.log" timeout --kill-after=5 "$(calc "$step + 40")" "$UDPGEN" \
        --controls "$MIXED_UDP_ASSOCIATIONS" --rates "$MIXED_UDP_RATE" --step-seconds "$step" \
        --warmup-seconds "$UDPGEN_WARMUP" --label "$server" --json "$dir/latency-udp.jsonl" --verbose "${UG_TARGET[@]}"
    udp=$BG_PID
    # udpgen writes this line when its associations are set up, just before the warm-up of the step.
    if ! wait_line "$logs-latency-udp.log" '^udpgen: [0-9]+ associations' "$udp" 30; then
        log "rep $rep mixed $server: udpgen did not set up its associations; see $logs-latency-udp.log"
        stop_bg "$udp"
        mixed_check "$dir" latency-loaded false "udpgen did not set up its associations"
        return 0
    fi
    window_end="$(calc "$(date +%s.%N) + $UDPGEN_WARMUP + $step")"
    status=0
    timeout --kill-after=5 120 dotnet "$LT_DLL" tcp-latency --duration "$DURATION" --warmup "$WARMUP" --commit "$COMMIT" \
        --out "$dir/latency-loaded" "${LT_TARGET[@]}" >"$logs-latency-loaded.log" 2>&1 || status=$?
    ended="$(date +%s.%N)"
    local udp_status=0
    wait_bg "$udp" || udp_status=$?
    if not_after "$ended" "$window_end"; then
        mixed_check "$dir" latency-loaded true ""
    else
        mixed_check "$dir" latency-loaded false "the ping-pong ended $(calc "$ended - $window_end") s after the UDP load's window"
    fi
    log "rep $rep mixed $server ping-pong beside UDP: exit $status, $(lt_figures "$dir/latency-loaded/report.json")" \
        "udpgen exit $udp_status, $(ug_figures "$dir/latency-udp.txt")"
}
mixed_bulk() { # part 2
    local rep="$1" server="$2"
    local dir="$OUT/raw-mixed/rep$rep/$server" logs="$OUT/logs/rep$rep-mixed-$server"
    local assocs window bulk direction started window_end status=0
    mkdir -p "$dir"
    mixed_targets "$server"
    for assocs in $MIXED_PROBE_ASSOCIATIONS; do
        mixed_udpgen "$server" "$dir" "udp-alone-${assocs}x1" "$assocs" "$MIXED_PROBE_RATE" "$UDPGEN_STEP"
        log "rep $rep mixed $server udp ${assocs}x1 alone: $(ug_figures "$dir/udp-alone-${assocs}x1.txt")"
    done

    # Each bulk window holds the udpgen runs (set-up, warm-up, window and drain each), with a margin.
    local runs
    runs="$(echo $MIXED_PROBE_ASSOCIATIONS | wc -w)"
    window="$(calc "$runs * ($UDPGEN_WARMUP + $UDPGEN_STEP + 0.5) + 3")"
    start_bg "$logs-bulk.log" "$logs-bulk.log" timeout --kill-after=5 "$(calc "2 * ($window + 40)")" dotnet "$LT_DLL" \
        tcp-bulk --streams "$MIXED_BULK_STREAMS" --duration "$window" --warmup "$WARMUP" --commit "$COMMIT" \
        --out "$dir/bulk" "${LT_TARGET[@]}"
    bulk=$BG_PID
    for direction in upload download; do
        # The generator writes this line just before it connects the streams; they pump from then on, and its
        # measured window starts after its warm-up.
        if ! wait_line "$logs-bulk.log" "^\[ *[0-9.]+s\] tcp-bulk [0-9]+ streams? $direction via .*: connecting" "$bulk" 60; then
            log "rep $rep mixed $server: tcp-bulk did not reach $direction; see $logs-bulk.log"
            mixed_check "$dir" "bulk-$direction" false "tcp-bulk did not reach $direction"
            break
        fi
        started="$(date +%s.%N)"
        window_end="$(calc "$started + $WARMUP + $window")"
        sleep "$WARMUP"
        for assocs in $MIXED_PROBE_ASSOCIATIONS; do
            mixed_udpgen "$server" "$dir" "udp-$direction-${assocs}x1" "$assocs" "$MIXED_PROBE_RATE" "$UDPGEN_STEP"
        done
        if not_after "$(date +%s.%N)" "$window_end"; then
            mixed_check "$dir" "bulk-$direction" true ""
        else
            mixed_check "$dir" "bulk-$direction" false "the UDP runs outlasted the bulk window by $(calc "$(date +%s.%N) - $window_end") s"
        fi
    done
    wait_bg "$bulk" || status=$?
    log "rep $rep mixed $server bulk: exit $status, $(lt_figures "$dir/bulk/report.json")"
    for direction in upload download; do
        for assocs in $MIXED_PROBE_ASSOCIATIONS; do
            [[ -f "$dir/udp-$direction-${assocs}x1.txt" ]] \
                && log "rep $rep mixed $server udp ${assocs}x1 beside $direction: $(ug_figures "$dir/udp-$direction-${assocs}x1.txt")"
        done
    done
}
run_mixed() {
    local rep="$1" server
    for server in "${SERVER_LIST[@]}"; do
        [[ "$server" == microsocks ]] && continue # microsocks has no UDP ASSOCIATE
        ensure_running "$server"
        mixed_latency "$rep" "$server"
    done
    for server in "${SERVER_LIST[@]}"; do
        [[ "$server" == microsocks ]] && continue
        ensure_running "$server"
        mixed_bulk "$rep" "$server"
    done
}

for rep in $(seq "$REPS"); do
    for mode in "${MODE_LIST[@]}"; do
        if [[ "$mode" == udp ]]; then
            run_udp "$rep"
            continue
        fi
        if [[ "$mode" == mixed ]]; then
            run_mixed "$rep"
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
echo "cpu steal ticks at end: $(awk '/^cpu /{print $9}' /proc/stat), after $((SECONDS - STARTED)) s on $(nproc) cores" >>"$OUT/machine.txt"
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
if [[ $MIXED -eq 1 ]]; then
    if ! python3 "$ROOT/bench/aggregate-mixed.py" --in "$OUT/raw-mixed" --out "$OUT" --machine "$OUT/machine.txt" \
        --title "TCP and UDP through the same server at once ($TITLE_TAIL)" | tee -a "$OUT/summary.txt"; then
        log "no mixed figures to aggregate; see $OUT/logs/rep*-mixed-*.log"
    elif [[ -f "$OUT/comparison.md" ]]; then
        {
            echo
            echo "## TCP and UDP at once (mixed)"
            echo
            echo "A ping-pong's latency alone and beside UDP load, and UDP's loss and round trip alone and beside TCP"
            echo "bulk load, through the same server: [mixed.md](mixed.md)."
        } >>"$OUT/comparison.md"
    else
        cp "$OUT/mixed.md" "$OUT/comparison.md"
    fi
fi
log "done in $((SECONDS - STARTED)) s; results in $OUT"
