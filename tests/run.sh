#!/usr/bin/env bash
# Runs Switchboard's whole test suite on a Debian machine that has only Rust installed:
#   1. installs the programs the tests drive (sipp, baresip, linphonec, tshark/dumpcap, PostgreSQL) when missing;
#   2. makes sure PostgreSQL answers on 127.0.0.1:5432 with a `test` database (user postgres);
#   3. builds everything, checks formatting and lints (clippy -D warnings);
#   4. runs every test (cargo-nextest when installed, else cargo test); its summary is the last line.
# Exit status is non-zero if any step failed. Needs root (or sudo) for apt-get and for packet capture.
#
# Environment: TEST_THREADS (default 4; e2e tests mostly wait on the network, not the CPU),
# SKIP_APT=1 to skip package installation, SWITCHBOARD_TEST_POSTGRES to use another database.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
APT_WAIT=(-o DPkg::Lock::Timeout=900)

# --- 1. packages -------------------------------------------------------------------------------
# command -> Debian package. Only what the tests use.
declare -A PACKAGE_OF=(
    [sipp]=sip-tester
    [baresip]=baresip
    [linphonec]=linphone-cli
    [ss]=iproute2
    [tshark]=tshark
    [dumpcap]=tshark
    [pg_isready]=postgresql-client
    [psql]=postgresql-client
    [cc]=build-essential
    [pkg-config]=pkg-config
)
if [ "${SKIP_APT:-0}" != "1" ]; then
    missing=()
    for command in "${!PACKAGE_OF[@]}"; do
        if ! command -v "$command" >/dev/null 2>&1; then
            missing+=("${PACKAGE_OF[$command]}")
        fi
    done
    if [ ! -d /etc/postgresql ] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
        missing+=(postgresql)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
        say "installing: ${missing[*]}"
        $SUDO apt-get "${APT_WAIT[@]}" update
        $SUDO apt-get "${APT_WAIT[@]}" install -y --no-install-recommends "${missing[@]}"
    else
        say "all test programs present (sipp, baresip, linphonec, tshark, PostgreSQL)"
    fi
fi

# --- 2. PostgreSQL -----------------------------------------------------------------------------
export PGCONNECT_TIMEOUT=5
PG_URL="${SWITCHBOARD_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 -t 2; }
if ! pg_up; then
    if [ -d /etc/postgresql ]; then
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        say "starting PostgreSQL $version (cluster main)"
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
    for _ in $(seq 1 30); do
        pg_up && break
        sleep 1
    done
fi
if ! pg_up; then
    echo "PostgreSQL does not answer on 127.0.0.1:5432; the store tests need it" >&2
    exit 1
fi
if [ -z "${SWITCHBOARD_TEST_POSTGRES:-}" ]; then
    if ! psql -w -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
        # A fresh Debian cluster only lets the postgres OS user in through the socket: let local TCP
        # connections of the test user in (this is a test machine; 127.0.0.1 and ::1 only).
        hba="$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -n 1)"
        say "allowing user postgres on 127.0.0.1 without password in $hba"
        $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$(basename "$(dirname "$(dirname "$hba")")")" main reload
    fi
    if [ "$(psql -w -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != "1" ]; then
        say "creating database test"
        psql -w -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
    fi
fi
export SWITCHBOARD_TEST_POSTGRES="$PG_URL"

# --- 3. build, format, lints -------------------------------------------------------------------
say "cargo build --workspace --all-targets"
cargo build --workspace --all-targets
export SWITCHBOARD_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/switchboard"

status=0
say "cargo fmt --all -- --check"
cargo fmt --all -- --check || { status=1; echo "FAILED: cargo fmt --check (run cargo fmt --all)"; }
say "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || { status=1; echo "FAILED: cargo clippy"; }

# --- 4. tests (last, so the runner's summary ends the output) ----------------------------------
threads="${TEST_THREADS:-4}"
if cargo nextest --version >/dev/null 2>&1; then
    say "cargo test --workspace --doc"
    cargo test --workspace --doc || status=1
    say "cargo nextest run --workspace"
    cargo nextest run --workspace --no-fail-fast --test-threads "$threads" || status=1
else
    say "cargo test --workspace (cargo-nextest not installed)"
    cargo test --workspace --no-fail-fast -- --test-threads "$threads" || status=1
fi
exit "$status"
