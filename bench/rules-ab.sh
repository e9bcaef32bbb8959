#!/usr/bin/env bash
# The cost of access rules on sessions/s, in steady state: two KestrelSocks servers at once, one with the single
# bench-loopback rule and one with bench/access-rules-20.args ahead of it, and the tcp-rr load run against each in
# turn, REPS times. Both servers are warm for every window after the first pair, and each pair runs under the same
# machine conditions, which a fresh server per run (compare.sh) cannot give: there, start-up compilation of the rules'
# code lands in the first seconds and reads as a cost.
#
#   bench/rules-ab.sh [REPS] [SECONDS]      (defaults 3 and 6; builds Release first)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPS="${1:-3}"
SECONDS_PER_WINDOW="${2:-6}"
dotnet build -c Release "$ROOT/src/KestrelSocks.Server" -nologo -v q >/dev/null
dotnet build -c Release "$ROOT/bench/KestrelSocks.LoadTest" -nologo -v q >/dev/null
KS="$ROOT/src/KestrelSocks.Server/bin/Release/net10.0/KestrelSocks.Server.dll"
LT="$ROOT/bench/KestrelSocks.LoadTest/bin/Release/net10.0/KestrelSocks.LoadTest.dll"
OUT="$(mktemp -d)"
mapfile -t rules < <(grep -v '^\s*\(#\|$\)' "$ROOT/bench/access-rules-20.args")
common=(--Logging:LogLevel:Default=Warning
    --KestrelSocks:Limits:MaxHandshakesPerClient=1024 --KestrelSocks:Limits:MaxSessionsPerClient=20000
    --KestrelSocks:Limits:NewSessionsPerClientPerSecond=0
    --KestrelSocks:Access:Rules:999:Name=bench-loopback --KestrelSocks:Access:Rules:999:Action=Allow
    --KestrelSocks:Access:Rules:999:Destinations:0=127.0.0.0/8)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A PORT PID
for variant in none rules; do
    PORT[$variant]="$(free_port)"
    extra=()
    [[ $variant == rules ]] && extra=("${rules[@]}")
    dotnet "$KS" --KestrelSocks:Listen:0=127.0.0.1:${PORT[$variant]} --KestrelSocks:Admin:Listen:0=127.0.0.1:$(free_port) \
        "${common[@]}" "${extra[@]}" >"$OUT/server-$variant.log" 2>&1 &
    PID[$variant]=$!
done
trap 'kill ${PID[none]} ${PID[rules]} 2>/dev/null || true' EXIT
sleep 4
printf '| window | rules | sessions/s | server CPU (µs/session) |\n| --- | --- | --- | --- |\n'
for rep in $(seq "$REPS"); do
    for variant in none rules; do
        dotnet "$LT" tcp-rr --duration "$SECONDS_PER_WINDOW" --warmup 1 --targets proxy --proxy "127.0.0.1:${PORT[$variant]}" \
            --name "$variant" --server-pid "${PID[$variant]}" --out "$OUT/$variant-$rep" >"$OUT/$variant-$rep.log" 2>&1
        grep -h '| 32 concurrent' "$OUT/$variant-$rep.log" | head -1 | awk -F'|' -v r="$rep" -v v="$variant" \
            '{gsub(/ /,"",$4); gsub(/ /,"",$7); printf "| %s | %s | %s | %s |\n", r, (v=="rules" ? "20 + bench-loopback" : "bench-loopback"), $4, $7}'
    done
done
