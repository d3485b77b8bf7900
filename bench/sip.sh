#!/usr/bin/env bash
# SIP load benchmark: Switchboard against Kamailio (Debian package) on loopback, in one run.
#
# For each server it measures, with sipp:
#   1. REGISTER with digest authentication per second (BENCH_REGISTRATIONS registrations over
#      990 users 10010-10999, password "pw<user>", BENCH_REG_INFLIGHT in flight at a time; the
#      users 10000 and 10001 of the call tests keep one contact each);
#   2. memory per concurrent call: BENCH_HELD_CALLS calls held 30 s, memory compared with idle;
#   3. calls per second (INVITE, 407, ACK, INVITE with credentials, 200, ACK, BYE, 200; a sipp
#      UAS registered as extension 10001 answers, 10000 calls) at rising rates BENCH_RATES, each for
#      BENCH_STEP_SECONDS, until a step fails twice in a row (a failed step is repeated once, for
#      noise from other load on the machine); per step: setup time p50/p99 (first
#      INVITE to 200, including the 407 round trip), CPU of the server, memory.
# Then it prints one table (metric | Switchboard | Kamailio | ratio) to stdout. Raw files (sipp
# statistics, response times, server logs) stay in a temporary directory named at the end.
#
# Usage: bench/sip.sh            (from anywhere; builds the release binary if it is missing)
# Environment: SWITCHBOARD_BIN, BENCH_RATES, BENCH_STEP_SECONDS, BENCH_HOLD_MS,
#              BENCH_REGISTRATIONS, BENCH_REG_INFLIGHT, BENCH_HELD_CALLS, BENCH_OUT,
#              BENCH_SERVERS (default "switchboard kamailio").
# Needs sipp (apt package sip-tester) and kamailio (apt package kamailio); installs nothing.
# Memory is the PSS summed over all server processes (Kamailio forks workers that share memory,
# so summing RSS would count the shared part several times); for one process PSS ~ RSS.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
RATES=${BENCH_RATES:-"50 100 200 300 400 500 600 800 1000 1200 1600 2400"}
STEP_SECONDS=${BENCH_STEP_SECONDS:-10}
HOLD_MS=${BENCH_HOLD_MS:-1000}
REGISTRATIONS=${BENCH_REGISTRATIONS:-5000}
REG_INFLIGHT=${BENCH_REG_INFLIGHT:-100}
HELD_CALLS=${BENCH_HELD_CALLS:-500}
HELD_MS=30000
SERVERS=${BENCH_SERVERS:-"switchboard kamailio"}
CLK_TCK=$(getconf CLK_TCK)

# --- prerequisites ---------------------------------------------------------------------------
KAMAILIO=$(command -v kamailio || true)
[ -z "$KAMAILIO" ] && [ -x /usr/sbin/kamailio ] && KAMAILIO=/usr/sbin/kamailio
missing=()
command -v sipp > /dev/null || missing+=(sip-tester)
[ -n "$KAMAILIO" ] || missing+=(kamailio)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/sip.sh: missing apt packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
fi
for tool in ss awk getconf; do
    command -v "$tool" > /dev/null || { echo "bench/sip.sh: needs $tool" >&2; exit 2; }
done

if [ -z "${SWITCHBOARD_BIN:-}" ]; then
    SWITCHBOARD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/switchboard"
    if [ ! -x "$SWITCHBOARD_BIN" ]; then
        echo "building $SWITCHBOARD_BIN" >&2
        (cd "$ROOT" && cargo build --release --quiet -p switchboard)
    fi
fi
[ -x "$SWITCHBOARD_BIN" ] || { echo "bench/sip.sh: no executable at $SWITCHBOARD_BIN" >&2; exit 2; }

OUT=${BENCH_OUT:-$(mktemp -d /tmp/sip-bench.XXXXXX)}
mkdir -p "$OUT/bin"
echo "raw results in $OUT" >&2

# Private copies under other names: on a shared machine another test run's `pkill sipp` or
# `pkill switchboard` would otherwise end the benchmark's processes in the middle of a step
# (seen while this script was written). The copies are the same binaries.
cp "$(command -v sipp)" "$OUT/bin/sip-loadgen"
cp "$SWITCHBOARD_BIN" "$OUT/bin/pbx-under-test"
sipp() { "$OUT/bin/sip-loadgen" "$@"; }

# Every background process this script starts is recorded here and ended by its id on exit.
STARTED_PIDS=()
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2> /dev/null || true
    done
    if [ -f "$OUT/kamailio/kamailio.pid" ]; then
        kill "$(cat "$OUT/kamailio/kamailio.pid")" 2> /dev/null || true
    fi
}
trap cleanup EXIT

# --- helpers ---------------------------------------------------------------------------------
source "$ROOT/bench/lib.sh"

# Sum of utime+stime (clock ticks) of the given pids.
cpu_ticks() {
    local pid sum=0 fields
    for pid in "$@"; do
        fields=$(sed 's/^.*) //' "/proc/$pid/stat")
        sum=$((sum + $(echo "$fields" | awk '{print $12 + $13}')))
    done
    echo "$sum"
}

# Sum of PSS (kB) of the given pids.
pss_kb() {
    local pid sum=0 v
    for pid in "$@"; do
        v=$(awk '/^Pss:/ {print $2; exit}' "/proc/$pid/smaps_rollup" 2> /dev/null || echo 0)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# Largest VmHWM (kB) among the given pids.
hwm_kb() {
    local pid max=0 v
    for pid in "$@"; do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2> /dev/null || echo 0)
        [ "${v:-0}" -gt "$max" ] && max=$v
    done
    echo "$max"
}

# Samples the PSS sum of the server every 0.5 s into $1 until killed (one line per sample).
start_sampler() {
    local file=$1
    shift
    (
        while true; do
            pss_kb "$@" >> "$file"
            sleep 0.5
        done
    ) &
    SAMPLER_PID=$!
    STARTED_PIDS+=("$SAMPLER_PID")
}
stop_sampler() {
    kill "$SAMPLER_PID" 2> /dev/null || true
    wait "$SAMPLER_PID" 2> /dev/null || true
}
max_of_file() { awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$1"; }

# Cumulative value of a counter ("Successful call", "Failed call") on sipp's final screen.
screen_value() {
    awk -v label="$2" 'index($0, "  " label " ") == 1 {v = $NF} END {print (v == "" ? "?" : v)}' "$1"
}

# Column of the last row of a sipp -trace_stat file, by header name.
stat_value() {
    awk -F';' -v name="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == name) c = i}
        END {if (c) print $c; else print "?"}' "$1"
    # The END block sees the last record; fields are re-split there by awk.
}

# Why calls failed, from a sipp -trace_err file: "408 in place of 200: 12, timeout: 3" ("-" if none).
failure_reasons() {
    [ -f "$1" ] || { echo "-"; return 0; }
    {
        grep -a -o "while expecting '[0-9A-Z]*' ([^)]*), received 'SIP/2.0 [0-9]*" "$1" \
            | sed "s/while expecting '\([0-9A-Z]*\)'.*SIP\/2.0 \([0-9]*\)/\2 in place of \1/"
        grep -a -o "while pausing ([^)]*), received 'SIP/2.0 [0-9]*" "$1" \
            | sed "s/.*SIP\/2.0 \([0-9]*\)/\1 during the hold/"
        grep -a -o "Aborting call on UDP retransmission timeout" "$1" | sed 's/.*/timeout/'
    } | sort | uniq -c | sort -rn | head -4 \
        | awk '{n = $1; $1 = ""; s = s (s == "" ? "" : ", ") substr($0, 2) ": " n} END {print (s == "" ? "-" : s)}'
}

# p50 and p99 (ms) of a sipp -trace_rtt file, "p50 p99".
percentiles() {
    tail -n +2 "$@" | awk -F';' '{print $2}' | sort -n | awk '{v[NR] = $1}
        END {if (NR == 0) {print "- -"; exit}
             i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999);
             print v[i50], v[i99]}'
}

# --- one server ------------------------------------------------------------------------------
# run_server NAME: NAME is switchboard or kamailio. Writes $OUT/NAME/summary (key=value lines).
run_server() {
    local name=$1 dir="$OUT/$1" port pids=() t0 t1 c0 c1
    mkdir -p "$dir"
    port=$(free_port)
    case "$name" in
        switchboard)
            local http
            http=$(free_port)
            (cd "$ROOT" && exec "$OUT/bin/pbx-under-test" serve --dialplan "$BENCH/dialplan.yaml" \
                --sip-listen "127.0.0.1:$port" --http-listen "127.0.0.1:$http" \
                --database-url "sqlite:$OUT/bench-db.sqlite" --public-address 127.0.0.1 \
                --rtp-ports 20000-49999) > "$dir/server.log" 2>&1 &
            pids=($!)
            STARTED_PIDS+=("${pids[0]}")
            wait_udp "$port"
            ;;
        kamailio)
            sed "s/BENCH_PORT/$port/g" "$BENCH/kamailio.cfg" > "$dir/kamailio.cfg"
            "$KAMAILIO" -f "$dir/kamailio.cfg" -P "$dir/kamailio.pid" -w "$dir" -m 256 -M 16 \
                > "$dir/server.log" 2>&1
            wait_udp "$port"
            sleep 1
            local main
            main=$(cat "$dir/kamailio.pid")
            pids=("$main")
            mapfile -t -O 1 pids < <(ps -o pid= --ppid "$main" | tr -d ' ')
            ;;
    esac
    echo "== $name on udp 127.0.0.1:$port, pids ${pids[*]}" >&2
    {
        echo "loadavg_start=$(cut -d' ' -f1 /proc/loadavg)"
        echo "port=$port"
        echo "processes=${#pids[@]}"
        echo "idle_start_kb=$(pss_kb "${pids[@]}")"
    } > "$dir/summary"

    # 1. REGISTER per second.
    (echo SEQUENTIAL
        for u in $(seq 10010 10999); do echo "$u;[authentication username=$u password=pw$u]"; done) \
        > "$dir/users.csv"
    local regport rc=0
    regport=$(free_port)
    c0=$(cpu_ticks "${pids[@]}")
    t0=$(now_s)
    (cd "$dir" && sipp "127.0.0.1:$port" -sf "$BENCH/scenarios/register.xml" -inf "$dir/users.csv" \
        -i 127.0.0.1 -p "$regport" -m "$REGISTRATIONS" -r 100000 -l "$REG_INFLIGHT" \
        -nostdin -timeout 120 -trace_stat -stf "$dir/register_stat.csv" -fd 1 \
        -trace_err -error_file "$dir/register_err.log" > "$dir/register.out" 2>&1) || rc=$?
    t1=$(now_s)
    c1=$(cpu_ticks "${pids[@]}")
    local reg_ok reg_failed
    reg_ok=$(screen_value "$dir/register.out" "Successful call")
    reg_failed=$(screen_value "$dir/register.out" "Failed call")
    {
        echo "register_rc=$rc"
        echo "register_ok=$reg_ok"
        echo "register_failed=$reg_failed"
        awk -v ok="$reg_ok" -v a="$t0" -v b="$t1" 'BEGIN {printf "register_per_s=%.0f\n", ok / (b - a)}'
        awk -v c="$((c1 - c0))" -v t="$CLK_TCK" -v ok="$reg_ok" \
            'BEGIN {printf "register_cpu_ms_each=%.3f\n", (ok > 0 ? c / t * 1000 / ok : 0)}'
    } >> "$dir/summary"
    echo "   REGISTER: $reg_ok ok, $reg_failed failed, sipp exit $rc" >&2

    # The answering phone 10001 and the calling phone 10000 register from their own ports.
    local uasport uacport uasmp uacmp
    uasport=$(free_port)
    uacport=$(free_port)
    uasmp=$(free_port)
    uacmp=$(free_port)
    local who p
    for who in "10001 $uasport" "10000 $uacport"; do
        read -r u p <<< "$who"
        sipp "127.0.0.1:$port" -sf "$ROOT/tests/sipp/register.xml" -key user "$u" -key expires 3600 \
            -au "$u" -ap "pw$u" -i 127.0.0.1 -p "$p" -m 1 -nostdin -timeout 10 \
            > "$dir/register_$u.out" 2>&1 || {
            echo "bench/sip.sh: $name: registering $u failed (see $dir/register_$u.out)" >&2
            return 1
        }
    done
    local uas_pid="" uas_starts=0
    # Starts the answering sipp, or restarts it if it has gone (something outside this script
    # ending sipp processes would otherwise turn into failed calls); its registration stays valid.
    ensure_uas() {
        if [ -n "$uas_pid" ] && kill -0 "$uas_pid" 2> /dev/null; then
            return 0
        fi
        uas_starts=$((uas_starts + 1))
        [ "$uas_starts" -gt 1 ] && echo "   answering sipp had exited; restart $uas_starts" >&2
        (cd "$dir" && exec "$OUT/bin/sip-loadgen" -sf "$BENCH/scenarios/uas.xml" -i 127.0.0.1 -p "$uasport" \
            -mi 127.0.0.1 -mp "$uasmp" -nostdin -timeout 900 -trace_err \
            -error_file "$dir/uas_err_$uas_starts.log" > "$dir/uas_$uas_starts.out" 2>&1) &
        uas_pid=$!
        STARTED_PIDS+=("$uas_pid")
        wait_udp "$uasport"
    }
    ensure_uas
    sleep 3
    local idle_kb
    idle_kb=$(pss_kb "${pids[@]}")
    echo "idle_kb=$idle_kb" >> "$dir/summary"

    # Common sipp arguments of the caller.
    local uac=("$OUT/bin/sip-loadgen" "127.0.0.1:$port" -sf "$BENCH/scenarios/uac.xml" -s 10001 -key caller 10000
        -au 10000 -ap pw10000 -i 127.0.0.1 -p "$uacport" -mi 127.0.0.1 -mp "$uacmp" -nostdin)

    # 2. Memory per concurrent call: HELD_CALLS calls at 100/s, each held 30 s.
    mkdir -p "$dir/held"
    rc=0
    (cd "$dir/held" && exec "${uac[@]}" -r 100 -m "$HELD_CALLS" -l "$HELD_CALLS" -d "$HELD_MS" \
        -timeout $((HELD_MS / 1000 + HELD_CALLS / 100 + 60)) -trace_stat -stf "$dir/held/stat.csv" \
        -fd 1 -trace_err -error_file "$dir/held/err.log" > "$dir/held/out" 2>&1) &
    local held_pid=$!
    STARTED_PIDS+=("$held_pid")
    sleep $((HELD_CALLS / 100 + 8))
    local held_kb
    held_kb=$(pss_kb "${pids[@]}")
    wait "$held_pid" || rc=$?
    {
        echo "held_calls=$HELD_CALLS"
        echo "held_kb=$held_kb"
        echo "held_rc=$rc"
        echo "held_ok=$(screen_value "$dir/held/out" "Successful call")"
        echo "held_failed=$(screen_value "$dir/held/out" "Failed call")"
        awk -v h="$held_kb" -v i="$idle_kb" -v n="$HELD_CALLS" \
            'BEGIN {printf "kb_per_held_call=%.1f\n", (h - i) / n}'
    } >> "$dir/summary"
    echo "   held: $HELD_CALLS calls, memory idle ${idle_kb} kB, held ${held_kb} kB, sipp exit $rc" >&2
    sleep 2

    # 3. Calls per second at rising rates.
    local rate best=0 first_fail=none steps="$dir/steps.tsv" calls sdir ok failed retrans p50 p99
    printf 'rate\tcalls\tok\tfailed\tretrans\tsipp_rc\twall_s\tp50_ms\tp99_ms\tcpu_pct\tcpu_ms_per_call\tpeak_kb\tfailures\n' \
        > "$steps"
    local attempt
    for rate in $RATES; do
      for attempt in 1 2; do
        ensure_uas
        calls=$((rate * STEP_SECONDS))
        sdir="$dir/rate_$rate"
        [ "$attempt" -eq 2 ] && sdir="$dir/rate_${rate}_repeat"
        rm -rf "$sdir"
        mkdir -p "$sdir"
        start_sampler "$sdir/pss.txt" "${pids[@]}"
        rc=0
        c0=$(cpu_ticks "${pids[@]}")
        t0=$(now_s)
        (cd "$sdir" && exec "${uac[@]}" -r "$rate" -m "$calls" -l $((rate * (HOLD_MS / 1000 + 5))) \
            -d "$HOLD_MS" -timeout $((STEP_SECONDS + 60)) -trace_stat -stf "$sdir/stat.csv" -fd 1 \
            -trace_rtt -rtt_freq 1 -trace_err -error_file "$sdir/err.log" > "$sdir/out" 2>&1) || rc=$?
        t1=$(now_s)
        c1=$(cpu_ticks "${pids[@]}")
        stop_sampler
        ok=$(screen_value "$sdir/out" "Successful call")
        failed=$(screen_value "$sdir/out" "Failed call")
        retrans=$(stat_value "$sdir/stat.csv" "Retransmissions(C)")
        read -r p50 p99 < <(percentiles "$sdir"/uac_*_rtt.csv)
        awk -v r="$rate" -v n="$calls" -v ok="$ok" -v f="$failed" -v re="$retrans" -v rc="$rc" \
            -v a="$t0" -v b="$t1" -v p50="$p50" -v p99="$p99" -v c="$((c1 - c0))" -v tck="$CLK_TCK" \
            -v pk="$(max_of_file "$sdir/pss.txt")" \
            -v why="$(failure_reasons "$sdir/err.log")" \
            'BEGIN {w = b - a; printf "%d\t%d\t%s\t%s\t%s\t%d\t%.1f\t%s\t%s\t%.0f\t%.3f\t%d\t%s\n",
                r, n, ok, f, re, rc, w, p50, p99, c / tck / w * 100, (ok > 0 ? c / tck * 1000 / ok : 0), pk, why}' \
            >> "$steps"
        echo "   $rate calls/s: $ok ok, $failed failed, $retrans retransmissions, setup p50 ${p50} ms p99 ${p99} ms, sipp exit $rc" >&2
        # On a shared machine one step can fail because of a neighbour's burst of load: a failed
        # step is run a second time (both rows stay in steps.tsv), and only counts as failed if
        # the second run fails too.
        if [ "$rc" -eq 0 ] && [ "$failed" = 0 ] && [ "$ok" = "$calls" ]; then
            break
        fi
        [ "$attempt" -eq 2 ] && break
        echo "   repeating the $rate calls/s step once" >&2
        sleep 5
      done
        if ! kill -0 "${pids[0]}" 2> /dev/null; then
            echo "   the $name process exited during the $rate calls/s step (see $dir/server.log)" >&2
            echo "server_exited_at_rate=$rate" >> "$dir/summary"
        fi
        if [ "$rc" -ne 0 ] || [ "$failed" != 0 ] || [ "$ok" != "$calls" ]; then
            first_fail=$rate
            break
        fi
        best=$rate
        sleep 3
    done
    echo "uas_starts=$uas_starts" >> "$dir/summary"
    {
        echo "best_rate=$best"
        echo "first_failing_rate=$first_fail"
        echo "peak_kb=$(cat "$dir"/rate_*/pss.txt | awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}')"
        echo "vmhwm_kb=$(hwm_kb "${pids[@]}")"
        echo "loadavg_end=$(cut -d' ' -f1 /proc/loadavg)"
    } >> "$dir/summary"
    if [ "$best" != 0 ]; then
        awk -F'\t' -v r="$best" '$1 == r {printf "best_p50_ms=%s\nbest_p99_ms=%s\nbest_cpu_pct=%s\nbest_cpu_ms_per_call=%s\nbest_retrans=%s\n", $8, $9, $10, $11, $5}' \
            "$steps" >> "$dir/summary"
    fi

    kill "$uas_pid" 2> /dev/null || true
    wait "$uas_pid" 2> /dev/null || true
    case "$name" in
        switchboard)
            kill "${pids[0]}" 2> /dev/null || true
            wait "${pids[0]}" 2> /dev/null || true
            ;;
        kamailio)
            kill "$(cat "$dir/kamailio.pid")" 2> /dev/null || true
            sleep 2
            rm -f "$dir/kamailio.pid"
            ;;
    esac
}

for server in $SERVERS; do
    run_server "$server"
done

# --- report ----------------------------------------------------------------------------------
get() {
    [ -f "$OUT/$1/summary" ] || return 0
    awk -F= -v k="$2" '$1 == k {print $2}' "$OUT/$1/summary"
}
row() {
    local label=$1 key=$2 scale=${3:-1} a b
    a=$(get switchboard "$key")
    b=$(get kamailio "$key")
    awk -v l="$label" -v a="$a" -v b="$b" -v s="$scale" 'BEGIN {
        fa = (a ~ /^-?[0-9.]+$/) ? sprintf("%.4g", a / s) : (a == "" ? "-" : a);
        fb = (b ~ /^-?[0-9.]+$/) ? sprintf("%.4g", b / s) : (b == "" ? "-" : b);
        r = (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/ && b + 0 != 0) ? sprintf("%.2f", a / b) : "-";
        printf "| %s | %s | %s | %s |\n", l, fa, fb, r}'
}
{
    echo
    echo "| metric | Switchboard | Kamailio | ratio |"
    echo "|---|---|---|---|"
    row "REGISTER with digest auth per second ($REGISTRATIONS over 990 users, $REG_INFLIGHT in flight)" register_per_s
    row "REGISTER failures" register_failed
    row "server CPU per REGISTER transaction pair (ms)" register_cpu_ms_each
    row "highest call rate with zero failed calls (calls/s, steps: $RATES)" best_rate
    row "first rate with a failure" first_failing_rate
    row "setup time p50 at that rate (ms, INVITE to 200 incl. 407)" best_p50_ms
    row "setup time p99 at that rate (ms)" best_p99_ms
    row "retransmissions at that rate" best_retrans
    row "server CPU at that rate (% of one core)" best_cpu_pct
    row "server CPU per call at that rate (ms)" best_cpu_ms_per_call
    row "idle memory after registrations (MB PSS)" idle_kb 1024
    row "memory with $HELD_CALLS held calls (MB PSS)" held_kb 1024
    row "memory per concurrent held call (KB)" kb_per_held_call
    row "peak memory during the rate steps (MB PSS)" peak_kb 1024
    row "peak RSS of the largest process (MB VmHWM)" vmhwm_kb 1024
    row "server processes" processes
    row "machine load average (1 min) when the server's run started" loadavg_start
    row "machine load average (1 min) when it ended" loadavg_end
    echo
    echo "Kamailio is a stateful proxy: it does not anchor media (SDP passes through) and keeps no"
    echo "dialog state after the INVITE transaction; Switchboard is a B2BUA with two SIP legs, two RTP"
    echo "relay port pairs and a call record per call. Per-step details:"
    for name in $SERVERS; do
        echo
        echo "$name:"
        echo
        awk -F'\t' 'NR == 1 {h = $0; gsub(/\t/, " | ", h); print "| " h " |";
                         s = "|"; for (i = 1; i <= NF; i++) s = s "---|"; print s; next}
                    {l = $0; gsub(/\t/, " | ", l); print "| " l " |"}' "$OUT/$name/steps.tsv"
    done
    echo
    echo "raw results: $OUT"
} | tee "$OUT/report.md"
