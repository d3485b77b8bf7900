#!/usr/bin/env bash
# Operator queue benchmark: BENCH_CALLERS (default 200) callers waiting at once in the operator
# queue with music on hold and position announcements, on ONE core; then the queue drains through
# one operator, timing each hand-off.
#
# The server runs pinned to core 1 (`taskset -c 1`), every sipp, dumpcap and tshark on core 0, all
# on 127.0.0.1. The dialplan is dialplan/default.yaml in manual mode (outside calls to 1000 go to
# the operator queue) with the queue's max_length raised to 1000 and announce_position_every set to
# BENCH_ANNOUNCE_S (default 10 s).
#
#   operator  one sipp (bench/scenarios/queue-operator.xml) registered to position 0 as op1. It
#             answers at once; it holds the first call BENCH_HOLD_S (default 35 s), so every later
#             caller waits, and hangs up every later call after 100 ms.
#   callers   one sipp (bench/scenarios/queue-caller.xml) places BENCH_CALLERS + 1 unregistered
#             calls to 1000 at 50 calls/s; the first reaches the operator, the rest wait, hearing
#             music on hold and "you are caller number N" every BENCH_ANNOUNCE_S seconds. Each
#             waits for the BYE the PBX sends when the operator it was put through to hangs up.
#
# Phase 1 (all callers waiting): 2 s after the last call is up, the server's CPU (utime+stime from
# /proc/PID/stat) is sampled around a BENCH_CAPTURE_S-second capture (default 12 s, longer than
# one announcement period) of the RTP the server sends to the callers. `tshark -o
# rtp.heuristic_rtp:TRUE -z rtp,streams` gives per stream packets, lost (sequence gaps) and jitter
# (RFC 3550 interarrival jitter seen on loopback, i.e. the server's send-time jitter).
# Phase 2 (drain): when the operator's first call ends, the queue is answered caller by caller;
# the hand-off time is from the operator's BYE (the operator becomes free) to the INVITE for the
# next caller arriving at the operator, read from the operator sipp's message trace.
#
# Usage: bench/queue.sh    (must run as root: dumpcap)
# Environment: SWITCHBOARD_BIN (else builds `cargo build --release -p switchboard` with
#              CARGO_TARGET_DIR, default the repository's target/), BENCH_CALLERS (default 200),
#              BENCH_ANNOUNCE_S (default 10), BENCH_HOLD_S (default 35), BENCH_CAPTURE_S (default 12),
#              BENCH_OUT (raw results directory).
# Needs sipp (sip-tester), tshark and dumpcap (tshark), taskset (util-linux); installs nothing.
# Takes about 1.5 minutes with the defaults.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
CALLERS=${BENCH_CALLERS:-200}
ANNOUNCE_S=${BENCH_ANNOUNCE_S:-10}
HOLD_S=${BENCH_HOLD_S:-35}
CAPTURE_S=${BENCH_CAPTURE_S:-12}
RATE=50
# Above Linux's ephemeral range (32768-60999) and the e2e tests' ports (20000-31999): on a shared
# machine, a port taken by another process makes the server log "cannot bind RTP port" and that
# caller gets no audio.
RTP_LO=61000
RTP_HI=65499
CLK_TCK=$(getconf CLK_TCK)
SERVER_CORE=1
LOAD_CORE=0

# --- prerequisites ---------------------------------------------------------------------------
missing=()
command -v sipp > /dev/null || missing+=(sip-tester)
command -v tshark > /dev/null || missing+=(tshark)
command -v dumpcap > /dev/null || missing+=(tshark)
command -v taskset > /dev/null || missing+=(util-linux)
command -v ss > /dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/queue.sh: missing apt packages: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/queue.sh: must run as root (dumpcap on lo)" >&2
    exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "bench/queue.sh: needs at least 2 cores (server on core 1, load on core 0)" >&2
    exit 2
fi
if [ "$HOLD_S" -le $(( (CALLERS + RATE) / RATE + 2 + CAPTURE_S + 2 )) ]; then
    echo "bench/queue.sh: BENCH_HOLD_S=$HOLD_S must outlast the ramp, 2 s and the ${CAPTURE_S} s capture" >&2
    exit 2
fi

if [ -z "${SWITCHBOARD_BIN:-}" ]; then
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    SWITCHBOARD_BIN="$CARGO_TARGET_DIR/release/switchboard"
    echo "building $SWITCHBOARD_BIN" >&2
    (cd "$ROOT" && cargo build --release --quiet -p switchboard)
fi
[ -x "$SWITCHBOARD_BIN" ] || { echo "bench/queue.sh: no executable at $SWITCHBOARD_BIN" >&2; exit 2; }

OUT=${BENCH_OUT:-$(mktemp -d /tmp/queue-bench.XXXXXX)}
mkdir -p "$OUT/bin"
echo "raw results in $OUT" >&2

# Private copies under other names (see bench/sip.sh): a `pkill sipp` or `pkill switchboard`
# of another job on the shared machine must not end the benchmark's processes.
cp "$(command -v sipp)" "$OUT/bin/queue-loadgen"
cp "$SWITCHBOARD_BIN" "$OUT/bin/pbx-queue-under-test"

# Every background process this script starts is recorded here and ended by its id on exit.
STARTED_PIDS=()
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2> /dev/null || true
    done
}
trap cleanup EXIT

source "$ROOT/bench/lib.sh"

# Nanoseconds the process's threads spent runnable but waiting for a CPU (sum of the second field
# of /proc/PID/task/*/schedstat): time another job on the server's core held it.
runq_wait_ns() { cat /proc/"$1"/task/*/schedstat 2> /dev/null | awk '{s += $2} END {printf "%.0f", s}'; }
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
screen_value() {
    awk -v label="$2" 'index($0, "  " label " ") == 1 {v = $NF} END {print (v == "" ? "?" : v)}' "$1"
}

# --- dialplan and server ---------------------------------------------------------------------
sed -e 's/^\(\s*max_concurrent_calls:\).*/\1 100000/' \
    -e 's/^\(\s*max_calls_per_second:\).*/\1 100000/' \
    -e "s|^\(\s*directory:\) \.\./prompts.*|\1 $ROOT/prompts|" \
    -e 's/^\(\s*mode:\) automatic/\1 manual/' \
    -e 's/^\(\s*max_length:\) 20 /\1 1000 /' \
    -e "s/^\(\s*announce_position_every:\) 30s/\1 ${ANNOUNCE_S}s/" \
    "$ROOT/dialplan/default.yaml" > "$OUT/dialplan.yaml"
for want in "max_concurrent_calls: 100000" "max_calls_per_second: 100000" "directory: $ROOT/prompts" \
    "mode: manual" "max_length: 1000" "announce_position_every: ${ANNOUNCE_S}s" "user: op1" \
    "password: secretop1" "music_on_hold: default" "max_wait: 5m"; do
    grep -qF "$want" "$OUT/dialplan.yaml" || {
        echo "bench/queue.sh: dialplan/default.yaml changed: expected '$want' in the derived $OUT/dialplan.yaml" >&2
        exit 1
    }
done

SIP_PORT=$(free_port)
HTTP_PORT=$(free_port)
mkdir -p "$OUT/server"
# pbx=debug logs each position announcement, which the report counts.
(cd "$ROOT" && SWITCHBOARD_LOG=info,pbx=debug exec taskset -c "$SERVER_CORE" "$OUT/bin/pbx-queue-under-test" serve \
    --dialplan "$OUT/dialplan.yaml" --sip-listen "127.0.0.1:$SIP_PORT" \
    --http-listen "127.0.0.1:$HTTP_PORT" --database-url "sqlite:$OUT/bench-db.sqlite" \
    --public-address 127.0.0.1 --rtp-ports "$RTP_LO-$RTP_HI" --log-format text) > "$OUT/server/server.log" 2>&1 &
SERVER_PID=$!
STARTED_PIDS+=("$SERVER_PID")
wait_udp "$SIP_PORT" || {
    echo "bench/queue.sh: the server did not start; end of $OUT/server/server.log:" >&2
    tail -5 "$OUT/server/server.log" >&2
    exit 1
}
echo "== server pid $SERVER_PID on udp 127.0.0.1:$SIP_PORT (core $SERVER_CORE)" >&2

# --- operator --------------------------------------------------------------------------------
OP_PORT=$(free_port)
OP_MP=$(free_port)
CALLER_PORT=$(free_port)
CALLER_MP=$(free_port)
taskset -c "$LOAD_CORE" "$OUT/bin/queue-loadgen" "127.0.0.1:$SIP_PORT" -sf "$ROOT/tests/sipp/register.xml" \
    -key user 0 -key expires 3600 -au op1 -ap secretop1 -i 127.0.0.1 -p "$OP_PORT" -m 1 -nostdin \
    -timeout 10 > "$OUT/register_op1.out" 2>&1 || {
    echo "bench/queue.sh: logging op1 in to position 0 failed (see $OUT/register_op1.out)" >&2
    exit 1
}
(cd "$OUT" && exec taskset -c "$LOAD_CORE" "$OUT/bin/queue-loadgen" -sf "$BENCH/scenarios/queue-operator.xml" \
    -i 127.0.0.1 -p "$OP_PORT" -mi 127.0.0.1 -mp "$OP_MP" -m $((CALLERS + 1)) -d $((HOLD_S * 1000)) \
    -nostdin -timeout $((HOLD_S + CALLERS + 120)) -trace_msg -message_file "$OUT/operator.msg" \
    -trace_err -error_file "$OUT/operator_err.log" > "$OUT/operator.out" 2>&1) &
OP_PID=$!
STARTED_PIDS+=("$OP_PID")
wait_udp "$OP_PORT"
sleep 1
IDLE_RSS=$(status_kb "$SERVER_PID" VmRSS)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- callers ---------------------------------------------------------------------------------
T_START=$(now_s)
(cd "$OUT" && exec taskset -c "$LOAD_CORE" "$OUT/bin/queue-loadgen" "127.0.0.1:$SIP_PORT" -sf "$BENCH/scenarios/queue-caller.xml" \
    -s 1000 -i 127.0.0.1 -p "$CALLER_PORT" -mi 127.0.0.1 -mp "$CALLER_MP" -r "$RATE" \
    -m $((CALLERS + 1)) -l $((CALLERS + 1)) -nostdin -timeout $((HOLD_S + CALLERS + 200)) \
    -trace_err -error_file "$OUT/callers_err.log" > "$OUT/callers.out" 2>&1) &
CALLERS_PID=$!
STARTED_PIDS+=("$CALLERS_PID")
RAMP_S=$(( (CALLERS + RATE) / RATE ))
sleep $((RAMP_S + 2))

# --- phase 1: everybody waiting ----------------------------------------------------------------
echo "== phase 1: capturing ${CAPTURE_S} s of the RTP sent to $CALLERS waiting callers" >&2
c0=$(cpu_ticks "$SERVER_PID")
w0=$(runq_wait_ns "$SERVER_PID")
t0=$(now_s)
taskset -c "$LOAD_CORE" dumpcap -i lo -s 96 -B 256 -f "udp and src portrange $RTP_LO-$RTP_HI and dst port $CALLER_MP" \
    -a "duration:$CAPTURE_S" -w "$OUT/capture.pcapng" > "$OUT/dumpcap.out" 2>&1 || true
t1=$(now_s)
c1=$(cpu_ticks "$SERVER_PID")
w1=$(runq_wait_ns "$SERVER_PID")
RUNQ_WAIT_MS=$(awk -v a="$w0" -v b="$w1" 'BEGIN {printf "%.1f", (b - a) / 1e6}')
RSS_WAITING=$(status_kb "$SERVER_PID" VmRSS)
WAITING_AT_CAPTURE_END=$(grep -c "caller queued" "$OUT/server/server.log" || true)
taskset -c "$LOAD_CORE" tshark -r "$OUT/capture.pcapng" -o rtp.heuristic_rtp:TRUE -q -z rtp,streams \
    > "$OUT/streams.txt" 2> "$OUT/tshark.err" || true
CPU_WAITING=$(awk -v c="$((c1 - c0))" -v t="$CLK_TCK" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", c / t / (b - a) * 100}')

# Per stream: packets, lost, mean and max jitter. Rows look like
#   start end src_ip src_port dst_ip dst_port ssrc payload pkts lost (pct%) min_d mean_d max_d
#   min_j mean_j max_j [X]
# Streams are keyed by SSRC: a stream whose source changes SSRC (music, then an announcement)
# shows as several rows; they are summed per server port.
read -r STREAMS PACKETS LOST LOSS_PCT MEAN_JITTER MEAN_MAX_JITTER WORST_JITTER WORST_GAP SENT_PCT < <(
    awk '$7 ~ /^0x[0-9A-Fa-f]+$/ {
            i = 8; while (i <= NF && $i !~ /^[0-9]+$/) i++
            port = $4; pk[port] += $i; ls[port] += ($(i + 1) > 0 ? $(i + 1) : 0)
            mj = $(i + 8); aj = $(i + 7); md = $(i + 5)
            if (mj > mx[port]) mx[port] = mj
            if (md > gap) gap = md
            sa[port] += aj * $i
            if (!(port in st) || $1 < st[port]) st[port] = $1
            if ($2 > en[port]) en[port] = $2
        }
        END {
            for (p in pk) {
                n++; tp += pk[p]; tl += ls[p]; smx += mx[p]; sav += sa[p] / (pk[p] > 0 ? pk[p] : 1); if (mx[p] > w) w = mx[p]
                # 20 ms frames: the packets real time calls for between the first and last seen.
                rt += (en[p] - st[p]) * 50 + 1
            }
            if (n == 0) {print "0 0 0 - - - - - 0"; exit}
            printf "%d %d %d %.3f %.2f %.2f %.2f %.1f %.1f\n", n, tp, tl, (tp + tl > 0 ? tl / (tp + tl) * 100 : 0), sav / n, smx / n, w, gap, tp / rt * 100
        }' "$OUT/streams.txt")
DROPS=$(grep -o "dropped on interface '[^']*': [0-9]*/[0-9]*" "$OUT/dumpcap.out" | awk -F'[ /]' '{print $NF}' | head -1)
echo "   streams $STREAMS, packets $PACKETS ($SENT_PCT % of real time), lost $LOST ($LOSS_PCT %), jitter mean $MEAN_JITTER ms, mean per-stream max $MEAN_MAX_JITTER ms, worst $WORST_JITTER ms, largest gap $WORST_GAP ms, cpu $CPU_WAITING %" >&2

# --- phase 2: the queue drains through the operator ------------------------------------------
echo "== phase 2: waiting for the operator to take all $CALLERS waiting callers" >&2
c2=$(cpu_ticks "$SERVER_PID")
t2=$(now_s)
rc_callers=0
wait "$CALLERS_PID" || rc_callers=$?
t3=$(now_s)
c3=$(cpu_ticks "$SERVER_PID")
rc_op=0
wait "$OP_PID" || rc_op=$?
PEAK_RSS=$(status_kb "$SERVER_PID" VmHWM)
CPU_DRAIN=$(awk -v c="$((c3 - c2))" -v t="$CLK_TCK" -v a="$t2" -v b="$t3" 'BEGIN {printf "%.1f", c / t / (b - a) * 100}')
OK=$(screen_value "$OUT/callers.out" "Successful call")
FAILED=$(screen_value "$OUT/callers.out" "Failed call")
OP_OK=$(screen_value "$OUT/operator.out" "Successful call")
ANNOUNCED=$(grep -c "position announced" "$OUT/server/server.log" || true)
QUEUED=$(grep -c "caller queued" "$OUT/server/server.log" || true)
OFFERED=$(grep -c "offering caller to operator" "$OUT/server/server.log" || true)
BIND_ERRORS=$(grep -c "cannot bind RTP port" "$OUT/server/server.log" || true)

# Hand-off: from each BYE the operator sent to the next INVITE it received (ms).
awk '
    /^-+ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+$/ {split($3, t, ":"); ts = t[1] * 3600 + t[2] * 60 + t[3]; next}
    /message sent/ {dir = "sent"; next}
    /message received/ {dir = "recv"; next}
    /^BYE / && dir == "sent" {bye = ts; next}
    /^INVITE / && dir == "recv" {if (bye != "") {printf "%.3f\n", (ts - bye) * 1000; bye = ""}}
' "$OUT/operator.msg" | sort -n > "$OUT/handoff_ms.txt"
read -r H_N H_MIN H_MED H_P95 H_MAX < <(awk '{v[NR] = $1} END {
        if (NR == 0) {print "0 - - - -"; exit}
        p95 = int(NR * 0.95 + 0.5); if (p95 < 1) p95 = 1; if (p95 > NR) p95 = NR
        printf "%d %.2f %.2f %.2f %.2f\n", NR, v[1], v[int((NR + 1) / 2)], v[p95], v[NR]}' "$OUT/handoff_ms.txt")
DRAIN_S=$(awk -v a="$t2" -v b="$t3" 'BEGIN {printf "%.1f", b - a}')

kill "$SERVER_PID" 2> /dev/null || true
wait "$SERVER_PID" 2> /dev/null || true

# --- report ----------------------------------------------------------------------------------
verdict=pass
[ "$FAILED" = 0 ] && [ "$OK" = $((CALLERS + 1)) ] && [ "$rc_callers" -eq 0 ] || verdict=fail
[ "$STREAMS" -ge $((CALLERS * 99 / 100)) ] || verdict=fail
awk -v l="$LOSS_PCT" -v s="$SENT_PCT" 'BEGIN {exit !(l != "-" && l + 0 < 0.1 && s + 0 >= 98)}' || verdict=fail
{
    echo
    echo "server: $(basename "$SWITCHBOARD_BIN") pinned to core $SERVER_CORE; sipp, dumpcap, tshark on core $LOAD_CORE"
    echo "callers waiting: $CALLERS (+1 talking to the operator), set up at $RATE/s; announcements every ${ANNOUNCE_S} s; capture ${CAPTURE_S} s"
    echo "load average: $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end (other jobs on the machine share both cores)"
    echo
    echo "| measure | value |"
    echo "|---|---|"
    echo "| callers ok / failed (of $((CALLERS + 1))) | $OK / $FAILED |"
    echo "| operator calls ok (of $((CALLERS + 1))) | $OP_OK (sipp exit $rc_op) |"
    echo "| queued / offered / position announcements (server log) | $QUEUED / $OFFERED / $ANNOUNCED |"
    echo "| RTP streams to waiting callers in the capture | $STREAMS |"
    echo "| packets (share of 50/s real time between each stream's first and last packet) | $PACKETS ($SENT_PCT %) |"
    echo "| lost (sequence gaps) | $LOST ($LOSS_PCT %) |"
    echo "| send jitter: mean / mean per-stream max / worst (ms) | $MEAN_JITTER / $MEAN_MAX_JITTER / $WORST_JITTER |"
    echo "| largest gap between two packets of one stream (ms; 20 = none) | $WORST_GAP |"
    echo "| capture drops (dumpcap) / RTP ports the server could not bind | ${DROPS:-?} / $BIND_ERRORS |"
    echo "| server CPU with all callers waiting | $CPU_WAITING % of one core |"
    echo "| server threads' time runnable but not running during the capture (ms) | $RUNQ_WAIT_MS |"
    echo "| server RSS idle / all waiting / peak (VmHWM) | $(awk -v a="$IDLE_RSS" -v b="$RSS_WAITING" -v c="$PEAK_RSS" 'BEGIN {printf "%.1f / %.1f / %.1f MB", a / 1024, b / 1024, c / 1024}') |"
    echo "| RSS per waiting caller | $(awk -v a="$IDLE_RSS" -v b="$RSS_WAITING" -v n="$CALLERS" 'BEGIN {printf "%.1f KB", (b - a) / n}') |"
    echo "| hand-offs timed (operator BYE -> next INVITE at the operator) | $H_N |"
    echo "| hand-off min / median / p95 / max (ms) | $H_MIN / $H_MED / $H_P95 / $H_MAX |"
    echo "| drain: all callers through one operator (100 ms talk each) | $DRAIN_S s, server CPU $CPU_DRAIN % |"
    echo "| verdict (no failed call, >= 99 % of streams, < 0.1 % loss, >= 98 % of real time) | $verdict |"
    echo
    echo "raw results: $OUT"
} | tee "$OUT/report.md"
[ "$verdict" = pass ]
