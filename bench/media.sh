#!/usr/bin/env bash
# Micro benchmark of the media engine's hot paths (relay, G.711, G.722, mixer, playback).
# Prints a Markdown table; copy it into docs/benchmarks.md with the machine and date.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -p media --example media_bench
