# Helpers shared by the benchmark scripts (sourced, not run). Needs $OUT, the run's output
# directory, to be set before sourcing.

# A free UDP+TCP port on 127.0.0.1 in 50000-59999 (the servers' RTP ranges lie below 50000),
# whose port+2 is free too (sipp's -rtp_echo opens it), never handed out twice in one run.
# Callers use $(free_port), a subshell, so the ports already handed out are kept in a file.
free_port() {
    local port tries=0 used="$OUT/.used-ports"
    touch "$used"
    while [ $tries -lt 200 ]; do
        port=$((50000 + RANDOM % 10000))
        tries=$((tries + 1))
        grep -qx -e "$port" -e "$((port + 2))" -e "$((port - 2))" "$used" && continue
        if [ -z "$(ss -Hlnu "sport = :$port")" ] && [ -z "$(ss -Hlnt "sport = :$port")" ] \
            && [ -z "$(ss -Hlnu "sport = :$((port + 2))")" ]; then
            printf '%s\n%s\n' "$port" "$((port + 2))" >> "$used"
            echo "$port"
            return 0
        fi
    done
    echo "${0##*/}: no free port found in 200 tries" >&2
    return 1
}

# Waits up to 15 s until something listens on UDP port $1 of 127.0.0.1.
wait_udp() {
    local i
    for i in $(seq 1 150); do
        [ -n "$(ss -Hlnu "sport = :$1")" ] && return 0
        sleep 0.1
    done
    echo "${0##*/}: nothing listens on udp/$1 after 15 s" >&2
    return 1
}

# Seconds since the epoch with nanoseconds, for durations.
now_s() { date +%s.%N; }
