#!/usr/bin/env bash
# Media load benchmark: how many concurrent calls with RTP the server carries on ONE core.
#
# The server runs pinned to core 1 (`taskset -c 1`), every sipp, dumpcap and tshark on core 0,
# all on 127.0.0.1. Two tests, each at rising levels of concurrent calls (BENCH_LEVELS):
#
#   relay   sipp registered as room 8101 calls sipp registered as room 8102, which answers.
#           The caller sends 21 s of PCMA (the audio of /usr/share/sip-tester/g711a.pcap, looped)
#           and the PBX relays it to 8102; 8102 sends the same audio the other way (BENCH_RTP=
#           stream) or echoes what arrives (-rtp_echo, BENCH_RTP=pcap), relayed back to 8101.
#   prompt  outside callers (unregistered, no auth) dial 1000 and hear the attendant's greeting
#           (no digits pressed; the greeting is played twice, 27 s, longer than the 21 s call);
#           they send the same audio as their own.
#
# How sipp sends the callers' audio (BENCH_RTP):
#   stream  (default, run 7 on) sipp's `rtp_stream` action (bench/scenarios/media-uac-stream.xml,
#           media-uas-stream.xml, media-guest-stream.xml): the pcap's A-law payload is written
#           once to a WAV ($OUT/media-stream.wav) and sipp streams it in 20 ms packets of 160
#           bytes (50 per second per call) from its ordinary UDP media socket (-mp; sipp 3.6.1
#           sends every call's stream from that one socket, each call with its own SSRC, and does
#           not read what arrives there: the kernel drops it when the socket's buffer is full).
#           Both sides of a relayed call send; sipp's -rtp_echo (one thread) lost 14 % at 1000
#           relayed calls.
#   pcap    (runs 1-6) `play_pcap_audio` of the pcap itself (media-uac.xml, media-guest.xml,
#           media-uas.xml with -rtp_echo): 240-byte packets every 30 ms (33.5 per second), sent
#           through a raw socket per playing call.
#
# Per level: calls are set up at L/8 calls/s (at least 50/s); 2 s after the last call should be
# up, the server's CPU (run time of its threads, below) and RSS are sampled around a
# BENCH_CAPTURE_S-second capture (dumpcap on lo, only RTP sent BY the server's relay ports TO the
# sipp media ports). `tshark -o rtp.heuristic_rtp:TRUE -z rtp,streams` gives per stream packets,
# lost (sequence gaps) and max jitter (RFC 3550 interarrival jitter as seen on loopback, i.e. the
# server's send-time jitter). A level passes with < 0.1 % loss, mean per-stream max jitter < 5 ms
# and no failed call; a second verdict allows the jitter to be at most 5 ms above that of the
# streams sipp sent in (captured too). Ramping stops after the first level with a failed call, a
# missing stream (more than 1 %), >= 0.1 % loss or fewer than 98 % of the packets real time needs
# (the server falling behind: sent_pct_of_realtime; for the relay: packets sent per packet received).
#
# With BENCH_RTP=pcap the server's CPU includes a cost of the load generator: sipp plays each
# call's pcap through a raw socket of its own, and every UDP datagram delivered on the host is
# offered to every raw UDP socket, on loopback inside the sender's sendto. So each packet the
# server sends costs it more the more calls run (docs/benchmarks.md, media load run 6, measures
# the share with perf). BENCH_RTP=stream opens no raw socket.
#
# cpu_pct and cpu_us_per_pkt come from the run time of all the server's threads
# (/proc/PID/task/*/schedstat, ns) over the capture: cpu_us_per_pkt is that CPU time per second
# divided by the packets per second the server sent in the capture (relay: per relayed packet,
# each received once and sent once; prompt: per prompt frame sent, the caller's packet received
# and run through DTMF detection included).
#
# Usage: bench/media-load.sh    (must run as root: dumpcap; with BENCH_RTP=pcap also sipp's pcap play)
# Environment: SWITCHBOARD_BIN (else builds `cargo build --release -p switchboard` with
#              CARGO_TARGET_DIR, default the repository's target/), BENCH_LEVELS (default
#              "100 250 500 750 1000 1500 2000"), BENCH_TESTS (default "relay prompt"),
#              BENCH_CAPTURE_S (default 2), BENCH_OUT (raw results directory), BENCH_RTP
#              (stream or pcap, default stream).
# Needs sipp (sip-tester), tshark and dumpcap (tshark), taskset (util-linux), perl; installs
# nothing.
# Takes about 6-9 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
LEVELS=${BENCH_LEVELS:-"100 250 500 750 1000 1500 2000"}
TESTS=${BENCH_TESTS:-"relay prompt"}
CAPTURE_S=${BENCH_CAPTURE_S:-2}
RTP_MODE=${BENCH_RTP:-stream}
case "$RTP_MODE" in
    stream) UAC_SF=media-uac-stream.xml GUEST_SF=media-guest-stream.xml UAS_SF=media-uas-stream.xml UAS_ECHO=() ;;
    pcap) UAC_SF=media-uac.xml GUEST_SF=media-guest.xml UAS_SF=media-uas.xml UAS_ECHO=(-rtp_echo) ;;
    *) echo "bench/media-load.sh: BENCH_RTP must be stream or pcap, not '$RTP_MODE'" >&2; exit 2 ;;
esac
PCAP=/usr/share/sip-tester/g711a.pcap
RTP_LO=20000
RTP_HI=49999
SERVER_CORE=1
LOAD_CORE=0

# --- prerequisites ---------------------------------------------------------------------------
missing=()
command -v sipp > /dev/null || missing+=(sip-tester)
[ -f "$PCAP" ] || missing+=(sip-tester)
command -v tshark > /dev/null || missing+=(tshark)
command -v dumpcap > /dev/null || missing+=(tshark)
command -v taskset > /dev/null || missing+=(util-linux)
command -v ss > /dev/null || missing+=(iproute2)
command -v perl > /dev/null || missing+=(perl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/media-load.sh: missing apt packages: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/media-load.sh: must run as root (dumpcap; sipp's play_pcap_audio with BENCH_RTP=pcap)" >&2
    exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "bench/media-load.sh: needs at least 2 cores (server on core 1, load on core 0)" >&2
    exit 2
fi

if [ -z "${SWITCHBOARD_BIN:-}" ]; then
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    SWITCHBOARD_BIN="$CARGO_TARGET_DIR/release/switchboard"
    echo "building $SWITCHBOARD_BIN" >&2
    (cd "$ROOT" && cargo build --release --quiet -p switchboard)
fi
[ -x "$SWITCHBOARD_BIN" ] || { echo "bench/media-load.sh: no executable at $SWITCHBOARD_BIN" >&2; exit 2; }

OUT=${BENCH_OUT:-$(mktemp -d /tmp/media-bench.XXXXXX)}
mkdir -p "$OUT/bin"
echo "raw results in $OUT" >&2

# Private copies under other names (see bench/sip.sh): a `pkill sipp` or `pkill switchboard`
# of another job on the shared machine must not end the benchmark's processes.
cp "$(command -v sipp)" "$OUT/bin/media-loadgen"
cp "$SWITCHBOARD_BIN" "$OUT/bin/pbx-media-under-test"
sipp() { taskset -c "$LOAD_CORE" "$OUT/bin/media-loadgen" "$@"; }

# Every background process this script starts is recorded here and ended by its id on exit.
STARTED_PIDS=()
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2> /dev/null || true
    done
}
trap cleanup EXIT

# --- helpers ---------------------------------------------------------------------------------
source "$ROOT/bench/lib.sh"

# Nanoseconds all threads of process $1 have run (first field of each thread's schedstat).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2> /dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }
# Raw IPPROTO_UDP sockets on the host (any process): each one costs every UDP datagram delivered.
raw_udp_sockets() { awk 'NR > 1 && $2 ~ /:0011$/ {n++} END {print n + 0}' /proc/net/raw; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# Cumulative value of a counter ("Successful call", "Failed call") on sipp's final screen.
screen_value() {
    awk -v label="$2" 'index($0, "  " label " ") == 1 {v = $NF} END {print (v == "" ? "?" : v)}' "$1"
}

# Summary of `tshark -z rtp,streams` output $1 for the streams sent by the server ($2 = out: source
# port in the server's RTP range) or to it ($2 = in): "streams packets lost loss_pct
# mean_max_jitter worst_max_jitter". Rows look like
#   start end src_ip src_port dst_ip dst_port ssrc payload pkts lost (pct%) min_d mean_d max_d
#   min_j mean_j max_j [X]
# Field positions are counted from the first number after the SSRC column (the payload name may
# contain spaces).
rtp_summary() {
    awk -v dir="$2" -v lo="$RTP_LO" -v hi="$RTP_HI" '$7 ~ /^0x[0-9A-Fa-f]+$/ {
            out = ($4 + 0 >= lo && $4 + 0 <= hi)
            if ((dir == "out") != out) next
            i = 8; while (i <= NF && $i !~ /^[0-9]+$/) i++
            pk = $i; ls = $(i + 1); mj = $(i + 8)
            n++; tp += pk; tl += (ls > 0 ? ls : 0); sj += mj; if (mj > wj) wj = mj
        }
        END {
            if (n == 0) {print "0 0 0 - - -"; exit}
            printf "%d %d %d %.3f %.2f %.2f\n", n, tp, tl, (tp + tl > 0 ? tl / (tp + tl) * 100 : 0), sj / n, wj
        }' "$1"
}

# The audio sipp streams with rtp_stream: the RTP payload of $PCAP (A-law) as an 8 kHz mono A-law
# WAV (sipp skips the header up to the data chunk and sends the bytes as they are).
make_stream_wav() {
    local wav="$OUT/media-stream.wav" bytes
    tshark -r "$PCAP" -o rtp.heuristic_rtp:TRUE -T fields -e rtp.payload 2> "$OUT/stream-wav.err" | perl -e '
        local $/; my $hex = <STDIN>; $hex =~ s/[^0-9a-fA-F]//g; my $d = pack("H*", $hex);
        binmode STDOUT;
        print "RIFF", pack("V", 4 + 26 + 8 + length($d)), "WAVE",
            "fmt ", pack("VvvVVvvv", 18, 6, 1, 8000, 8000, 1, 8, 0), "data", pack("V", length($d)), $d;' > "$wav"
    bytes=$(($(stat -c %s "$wav") - 46))
    # 236 packets of 240 bytes (7.08 s) in sip-tester 3.6.1's g711a.pcap; any real recording will do.
    if [ "$bytes" -lt 8000 ]; then
        echo "bench/media-load.sh: expected at least 1 s of A-law audio from $PCAP, got $bytes bytes (see $OUT/stream-wav.err)" >&2
        exit 1
    fi
}

# --- server ----------------------------------------------------------------------------------
# The dialplan is dialplan/default.yaml with the admission limits raised, the prompts directory
# made absolute and the main greeting played twice (27 s, longer than a benchmark call).
make_dialplan() {
    sed -e 's/^\(\s*max_concurrent_calls:\).*/\1 100000/' \
        -e 's/^\(\s*max_calls_per_second:\).*/\1 100000/' \
        -e "s|^\(\s*directory:\) \.\./prompts.*|\1 $ROOT/prompts|" \
        -e 's/^\(\s*greeting:\) \[welcome, common\/language_menu, dial_extension, press_9_information\]/\1 [welcome, common\/language_menu, dial_extension, press_9_information, welcome, common\/language_menu, dial_extension, press_9_information]/' \
        "$ROOT/dialplan/default.yaml" > "$OUT/dialplan.yaml"
    local want
    for want in "max_concurrent_calls: 100000" "max_calls_per_second: 100000" "directory: $ROOT/prompts" \
        "press_9_information, welcome" "numbers: 8101-8130" "password: room{number}" "1000: { menu: main }"; do
        grep -qF "$want" "$OUT/dialplan.yaml" || {
            echo "bench/media-load.sh: dialplan/default.yaml changed: expected '$want' in the derived $OUT/dialplan.yaml" >&2
            exit 1
        }
    done
}

SERVER_PID=""
SIP_PORT=""
start_server() {
    local http dir="$OUT/server"
    mkdir -p "$dir"
    SIP_PORT=$(free_port)
    http=$(free_port)
    rm -f "$OUT"/bench-db.sqlite*
    # Several sockets per call (2006 with 500 prompt calls up): 6000 prompt calls ran out of a
    # 20000-descriptor limit in run 7. Raising it needs a hard limit (or CAP_SYS_RESOURCE) that
    # allows it; otherwise the server runs with the limit it has and server.log says so.
    (cd "$ROOT" && { ulimit -n 65536 2> /dev/null || echo "bench/media-load.sh: could not raise ulimit -n to 65536 (is $(ulimit -n))" >&2; } \
        && exec taskset -c "$SERVER_CORE" "$OUT/bin/pbx-media-under-test" serve \
        --dialplan "$OUT/dialplan.yaml" --sip-listen "127.0.0.1:$SIP_PORT" \
        --http-listen "127.0.0.1:$http" --database-url "sqlite:$OUT/bench-db.sqlite" \
        --public-address 127.0.0.1 --rtp-ports "$RTP_LO-$RTP_HI") > "$dir/server.log" 2>&1 &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    wait_udp "$SIP_PORT" || {
        echo "bench/media-load.sh: the server did not start; end of $dir/server.log:" >&2
        tail -5 "$dir/server.log" >&2
        exit 1
    }
    echo "== server pid $SERVER_PID on udp 127.0.0.1:$SIP_PORT (core $SERVER_CORE)" >&2
}
stop_server() {
    kill "$SERVER_PID" 2> /dev/null || true
    wait "$SERVER_PID" 2> /dev/null || true
}

# --- one level -------------------------------------------------------------------------------
# run_level TEST LEVEL: appends one row to $OUT/TEST.tsv; returns 1 if the level did not pass.
run_level() {
    local test=$1 level=$2 dir="$OUT/$1/$2" rate ramp_s hold_timeout rc=0
    mkdir -p "$dir"
    rate=$(( (level + 7) / 8 ))
    [ "$rate" -lt 50 ] && rate=50
    ramp_s=$(( (level + rate - 1) / rate ))
    hold_timeout=$((ramp_s + 21 + 60))
    local uac_pid
    [ "$RTP_MODE" = stream ] && ln -sf "$OUT/media-stream.wav" "$dir/media-stream.wav"
    case "$test" in
        relay)
            (cd "$dir" && exec taskset -c "$LOAD_CORE" "$OUT/bin/media-loadgen" "127.0.0.1:$SIP_PORT" -sf "$BENCH/scenarios/$UAC_SF" \
                -s 8102 -key caller 8101 -au 8101 -ap room8101 -i 127.0.0.1 -p "$UAC_PORT" \
                -mi 127.0.0.1 -mp "$UAC_MP" -r "$rate" -m "$level" -l "$level" -nostdin \
                -timeout "$hold_timeout" -trace_err -error_file "$dir/err.log" > "$dir/out" 2>&1) &
            ;;
        prompt)
            (cd "$dir" && exec taskset -c "$LOAD_CORE" "$OUT/bin/media-loadgen" "127.0.0.1:$SIP_PORT" -sf "$BENCH/scenarios/$GUEST_SF" \
                -s 1000 -i 127.0.0.1 -p "$GUEST_PORT" -mi 127.0.0.1 -mp "$GUEST_MP" \
                -r "$rate" -m "$level" -l "$level" -nostdin \
                -timeout "$hold_timeout" -trace_err -error_file "$dir/err.log" > "$dir/out" 2>&1) &
            ;;
    esac
    uac_pid=$!
    STARTED_PIDS+=("$uac_pid")
    local rss0 c0 c1 t0 t1 rss1 filter raw
    rss0=$TEST_IDLE_RSS
    sleep $((ramp_s + 2))
    case "$test" in
        relay) filter="udp and portrange $RTP_LO-$RTP_HI and (port $UAC_MP or port $UAS_MP)" ;;
        prompt) filter="udp and portrange $RTP_LO-$RTP_HI and port $GUEST_MP" ;;
    esac
    c0=$(cpu_ns "$SERVER_PID")
    t0=$(now_s)
    taskset -c "$LOAD_CORE" dumpcap -i lo -s 96 -B 256 -f "$filter" -a "duration:$CAPTURE_S" \
        -w "$dir/capture.pcapng" > "$dir/dumpcap.out" 2>&1 || true
    t1=$(now_s)
    c1=$(cpu_ns "$SERVER_PID")
    rss1=$(status_kb "$SERVER_PID" VmRSS)
    raw=$(raw_udp_sockets)
    # Analysed while the calls run out (the capture is short: a few hundred thousand packets).
    taskset -c "$LOAD_CORE" tshark -r "$dir/capture.pcapng" -o rtp.heuristic_rtp:TRUE -q -z rtp,streams \
        > "$dir/streams.txt" 2> "$dir/tshark.err" || true
    wait "$uac_pid" || rc=$?
    local ok failed drops streams packets lost loss mj wj cpu kbpc uspp
    ok=$(screen_value "$dir/out" "Successful call")
    failed=$(screen_value "$dir/out" "Failed call")
    drops=$(grep -o "dropped on interface '[^']*': [0-9]*/[0-9]*" "$dir/dumpcap.out" | awk -F'[ /]' '{print $NF}' | head -1)
    read -r streams packets lost loss mj wj < <(rtp_summary "$dir/streams.txt" out)
    # The same for the streams sipp sent to the server: the jitter the server was handed.
    local in_packets in_loss in_mj
    read -r _ in_packets _ in_loss in_mj _ < <(rtp_summary "$dir/streams.txt" in)
    cpu=$(awk -v c="$((c1 - c0))" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", c / 1e9 / (b - a) * 100}')
    # CPU seconds per second over packets sent per second (the capture lasts CAPTURE_S seconds).
    uspp=$(awk -v c="$((c1 - c0))" -v a="$t0" -v b="$t1" -v p="$packets" -v s="$CAPTURE_S" \
        'BEGIN {if (p > 0) printf "%.2f", (c / 1e3 / (b - a)) / (p / s); else print "-"}')
    kbpc=$(awk -v a="$rss0" -v b="$rss1" -v n="$level" 'BEGIN {printf "%.1f", (b - a) / n}')
    # carried: every call set up and ended, every stream present, loss < 0.1 %. pass: carried and
    # the server's outgoing streams' jitter < 5 ms. added: carried and the outgoing jitter at most
    # 5 ms above the jitter of what sipp sent in (sipp on a shared core paces its pcap unevenly,
    # and a relay forwards that unevenness).
    local carried=yes pass=yes added=yes
    awk -v l="$loss" 'BEGIN {exit !(l != "-" && l + 0 < 0.1)}' || carried=no
    [ "$failed" = 0 ] && [ "$ok" = "$level" ] && [ "$rc" -eq 0 ] || carried=no
    # Streams expected: relay two per call (to 8102 and back to 8101), prompt one per call.
    local expect=$level
    [ "$test" = relay ] && expect=$((level * 2))
    # A stream or two may start or end inside the capture window and be missed by the heuristic:
    # at least 99 % of the expected streams must be there.
    [ $((streams * 100)) -lt $((expect * 99)) ] && carried=no
    # Packets sent as a share of real time: sequence numbers only reveal packets dropped; a
    # server that falls behind sends contiguous numbers, just too few of them. Prompts are
    # 20 ms frames (50/s per stream); a relay should send as many packets as arrive (the pcap's
    # own pacing is uneven: 236 packets in 7.05 s).
    local realtime
    if [ "$test" = relay ]; then
        realtime=$(awk -v p="$packets" -v i="$in_packets" 'BEGIN {printf "%.1f", (i > 0 ? p / i * 100 : 0)}')
    else
        realtime=$(awk -v p="$packets" -v n="$expect" -v s="$CAPTURE_S" 'BEGIN {printf "%.1f", p / (n * 50 * s) * 100}')
    fi
    awk -v r="$realtime" 'BEGIN {exit !(r >= 98)}' || carried=no
    # What sipp sent to the server as a share of real time (stream: 50 packets/s per stream; pcap:
    # 236 packets in 7.05 s). Not part of the verdicts: below about 98 % the load generator fell
    # behind and the level does not load the server as it says.
    local in_realtime
    in_realtime=$(awk -v p="$in_packets" -v n="$expect" -v s="$CAPTURE_S" -v r="$([ "$RTP_MODE" = stream ] && echo 50 || echo 33.48)" \
        'BEGIN {printf "%.1f", p / (n * r * s) * 100}')
    [ "$carried" = yes ] || { pass=no; added=no; }
    awk -v j="$mj" 'BEGIN {exit !(j != "-" && j + 0 < 5)}' || pass=no
    awk -v j="$mj" -v i="$in_mj" 'BEGIN {exit !(j != "-" && i != "-" && j - i < 5)}' || added=no
    printf '%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$level" "$rate" "$ok" "$failed" "$streams" "$expect" "$packets" "$lost" "$loss" "$mj" "$wj" \
        "$cpu" "$uspp" "$(awk -v r="$rss1" 'BEGIN {printf "%.1f", r / 1024}')" "$(awk -v r="$rss0" 'BEGIN {print r / 1024}')" \
        "$kbpc" "${drops:-?}" "$in_loss" "$in_mj" "$realtime" "$in_realtime" "$raw" "$(cut -d' ' -f1 /proc/loadavg)" "$pass" "$added" >> "$OUT/$test.tsv"
    echo "   $test $level calls: ok $ok failed $failed, streams $streams/$expect, sent $realtime % of real time, loss $loss %, jitter mean-max $mj ms worst $wj ms, (arriving from sipp: $in_realtime % of real time, loss $in_loss %, jitter $in_mj ms), cpu $cpu % ($uspp µs per packet sent; $raw raw UDP sockets on the host), rss $((rss1 / 1024)) MB ($kbpc KB/call), pass $pass, pass on added jitter $added" >&2
    sleep 3
    [ "$carried" = yes ]
}

# --- run -------------------------------------------------------------------------------------
# Each test gets a fresh server, so that its memory per call is measured from its own idle RSS.
make_dialplan
[ "$RTP_MODE" = stream ] && make_stream_wav
HEADER='calls\tsetup_per_s\tok\tfailed\tstreams\tpackets\tlost\tloss_pct\tjitter_mean_max_ms\tjitter_worst_ms\tcpu_pct\tcpu_us_per_pkt\trss_mb\tidle_rss_mb\tkb_per_call\tcapture_drops\tin_loss_pct\tin_jitter_mean_max_ms\tsent_pct_of_realtime\tin_pct_of_realtime\traw_udp_sockets\tload1\tpass\tpass_added_jitter'
for test in $TESTS; do
    start_server
    UAS_PID=""
    UAC_PORT=$(free_port)
    UAS_PORT=$(free_port)
    UAC_MP=$(free_port)
    UAS_MP=$(free_port)
    GUEST_PORT=$(free_port)
    GUEST_MP=$(free_port)
    if [ "$test" = relay ]; then
        for who in "8102 $UAS_PORT" "8101 $UAC_PORT"; do
            read -r u p <<< "$who"
            sipp "127.0.0.1:$SIP_PORT" -sf "$ROOT/tests/sipp/register.xml" -key user "$u" -key expires 3600 \
                -au "$u" -ap "room$u" -i 127.0.0.1 -p "$p" -m 1 -nostdin -timeout 10 > "$OUT/register_$u.out" 2>&1 || {
                echo "bench/media-load.sh: registering $u failed (see $OUT/register_$u.out)" >&2
                exit 1
            }
        done
        (cd "$OUT" && exec taskset -c "$LOAD_CORE" "$OUT/bin/media-loadgen" -sf "$BENCH/scenarios/$UAS_SF" \
            -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MP" "${UAS_ECHO[@]}" -nostdin -timeout 900 \
            -trace_err -error_file "$OUT/uas_err.log" > "$OUT/uas.out" 2>&1) &
        UAS_PID=$!
        STARTED_PIDS+=("$UAS_PID")
        wait_udp "$UAS_PORT"
    fi
    sleep 2
    TEST_IDLE_RSS=$(status_kb "$SERVER_PID" VmRSS)
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/$test.summary"
    echo "idle_rss_kb=$TEST_IDLE_RSS" >> "$OUT/$test.summary"
    printf "$HEADER\n" > "$OUT/$test.tsv"
    for level in $LEVELS; do
        if [ -n "$UAS_PID" ] && ! kill -0 "$UAS_PID" 2> /dev/null; then
            echo "bench/media-load.sh: the answering sipp exited (see $OUT/uas.out)" >&2
            exit 1
        fi
        kill -0 "$SERVER_PID" 2> /dev/null || { echo "bench/media-load.sh: the server exited (see $OUT/server/server.log)" >&2; exit 1; }
        run_level "$test" "$level" || break
    done
    echo "vmhwm_kb=$(status_kb "$SERVER_PID" VmHWM)" >> "$OUT/$test.summary"
    echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/$test.summary"
    if [ -n "$UAS_PID" ]; then
        kill "$UAS_PID" 2> /dev/null || true
        wait "$UAS_PID" 2> /dev/null || true
    fi
    stop_server
done

# --- report ----------------------------------------------------------------------------------
{
    echo
    echo "server: $(basename "$SWITCHBOARD_BIN") pinned to core $SERVER_CORE; sipp, dumpcap, tshark on core $LOAD_CORE; callers' RTP: $RTP_MODE"
    echo "levels: $LEVELS; capture ${CAPTURE_S} s per level (server-sent streams; in_* columns: streams sipp sent to the server)"
    for test in $TESTS; do
        [ -f "$OUT/$test.tsv" ] || continue
        echo
        best=$(awk -F'\t' 'NR > 1 && $(NF - 1) == "yes" {b = $1} END {print (b == "" ? "none" : b)}' "$OUT/$test.tsv")
        added=$(awk -F'\t' 'NR > 1 && $NF == "yes" {b = $1} END {print (b == "" ? "none" : b)}' "$OUT/$test.tsv")
        echo "$test: highest level passing (< 0.1 % loss, mean per-stream max jitter < 5 ms, no failed call): $best"
        echo "$test: highest level passing with jitter at most 5 ms above sipp's own (pass_added_jitter): $added"
        awk -F= '{v[$1] = $2} END {printf "fresh server: idle RSS %.1f MB, peak RSS (VmHWM) %.1f MB; load average %s at start, %s at end\n",
            v["idle_rss_kb"] / 1024, v["vmhwm_kb"] / 1024, v["loadavg_start"], v["loadavg_end"]}' "$OUT/$test.summary"
        echo
        awk -F'\t' 'NR == 1 {h = $0; gsub(/\t/, " | ", h); print "| " h " |";
                         s = "|"; for (i = 1; i <= NF; i++) s = s "---|"; print s; next}
                    {l = $0; gsub(/\t/, " | ", l); print "| " l " |"}' "$OUT/$test.tsv"
    done
    echo
    echo "raw results: $OUT"
} | tee "$OUT/report.md"
