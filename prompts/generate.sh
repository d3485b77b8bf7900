#!/usr/bin/env bash
# Regenerates every Switchboard prompt from prompts/prompts.tsv, and the music on hold.
#
# Usage: prompts/generate.sh [--missing-only | --check]
#   (no option)     synthesise every file in the list and the music on hold, overwriting them
#   --missing-only  only synthesise files that do not exist yet (keeps professional recordings)
#   --check         synthesise nothing; verify that every listed file exists and is valid
#
# Speech: flite (English) or espeak-ng (Mandarin, voice cmn-latn-pinyin), then sox:
# 8 kHz mono 16-bit signed PCM WAV, highpass 300 Hz / lowpass 3400 Hz, leading and trailing
# silence trimmed (5 ms / 10 ms fades, so the cut does not click), level set to SPEECH_RMS_DB
# dBFS RMS with peaks at most SPEECH_PEAK_MAX_DB dBFS (a look-ahead limiter where needed).
# Music on hold: soft chords synthesised with sox, a seamless loop at MOH_RMS_DB dBFS RMS.
# Output is byte-for-byte reproducible (sox -R), so running the script twice changes nothing.
# It installs nothing: missing tools are reported with the Debian packages that provide them.
set -euo pipefail
export LC_ALL=C.UTF-8

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
LIST="$HERE/prompts.tsv"

RATE=8000                 # output sample rate (Hz)
SPEECH_RMS_DB=-20         # target RMS level of every speech segment (dBFS)
SPEECH_PEAK_MAX_DB=-1     # no speech sample above this peak level (dBFS)
ESPEAK_SPEED=150          # espeak-ng words per minute (its default of 175 is hurried on a phone)
SEGMENT_PAUSE=0.4         # seconds of silence between rows joined into one file
MOH_RMS_DB=-24            # music on hold level (dBFS RMS), clearly below the speech level
MOH_FILE="$HERE/moh/default/soft_chords.wav"
# Formats accepted by --check / --missing-only for recordings placed by hand (the server
# converts these once to 8 kHz mono on load).
ACCEPTED_RATES="8000 16000 22050 44100 48000"
# Verification limits.
MIN_RMS_DB=-35            # quieter than this counts as near-silent
MAX_PEAK_DB=-0.5          # louder than this counts as (nearly) clipped

mode=all
case "${1:-}" in
  "") ;;
  --missing-only) mode=missing ;;
  --check) mode=check ;;
  -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "generate.sh: unknown option '$1' (expected --missing-only, --check or nothing)" >&2; exit 2 ;;
esac

die() { echo "generate.sh: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------
missing_pkgs=()
need() { # need TOOL PACKAGE
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "generate.sh: tool '$1' not found (Debian package: $2)" >&2
    case " ${missing_pkgs[*]-} " in *" $2 "*) ;; *) missing_pkgs+=("$2") ;; esac
  fi
}
need sox sox
need soxi sox
need awk gawk
if [[ $mode != check ]]; then
  need flite flite
  need espeak-ng espeak-ng
fi
if ((${#missing_pkgs[@]})); then
  die "install the missing tools with: apt-get install -y ${missing_pkgs[*]}"
fi
[[ -r $LIST ]] || die "prompt list not found: expected $LIST"

WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT

# --- helpers -----------------------------------------------------------------------------
# stat_db FILE FIELD: prints a value of `sox FILE -n stats` ("Pk lev dB", "RMS lev dB").
stat_db() {
  sox "$1" -n stats 2>&1 | awk -v f="$2" 'index($0, f) == 1 && !done { print $NF; done = 1 }'
}

# set_level IN OUT TARGET_RMS_DB PEAK_MAX_DB: gain so that the RMS level is TARGET_RMS_DB;
# if that would push peaks above PEAK_MAX_DB, a look-ahead limiter holds them down.
set_level() {
  local in=$1 out=$2 target=$3 ceiling=$4 rms pk gain over
  rms=$(stat_db "$in" "RMS lev dB")
  pk=$(stat_db "$in" "Pk lev dB")
  gain=$(awk -v t="$target" -v r="$rms" 'BEGIN { printf "%.2f", t - r }')
  over=$(awk -v p="$pk" -v g="$gain" -v c="$ceiling" 'BEGIN { print (p + g > c) ? 1 : 0 }')
  if ((over)); then
    # Bring the peak to the ceiling first, then raise everything below a knee 3 dB under the
    # ceiling by the remaining gain while the loudest part is compressed into the last 3 dB.
    local pre rest knee_in
    pre=$(awk -v c="$ceiling" -v p="$pk" 'BEGIN { printf "%.2f", c - p }')
    rest=$(awk -v g="$gain" -v p="$pre" 'BEGIN { printf "%.2f", g - p }')
    knee_in=$(awk -v c="$ceiling" -v r="$rest" 'BEGIN { printf "%.2f", c - 3 - r }')
    sox -R "$in" "$WORK/lim.wav" gain "$pre" \
      compand 0.002,0.08 "-90,$(awk -v r="$rest" 'BEGIN { printf "%.2f", -90 + r }'),$knee_in,$(awk -v c="$ceiling" 'BEGIN { printf "%.2f", c - 3 }'),$ceiling,$ceiling" 0 -90 0.002
    # The compander's short attack can still let a transient through; cap it exactly.
    pk=$(stat_db "$WORK/lim.wav" "Pk lev dB")
    if awk -v p="$pk" -v c="$ceiling" 'BEGIN { exit !(p > c) }'; then
      sox -R "$WORK/lim.wav" "$out" gain -n "$ceiling"
    else
      cp "$WORK/lim.wav" "$out"
    fi
  else
    sox -R "$in" "$out" gain "$gain"
  fi
}

# mandarin_check VOICE TEXT: fails unless espeak-ng reads TEXT entirely with a Mandarin voice.
mandarin_check() {
  local phon
  phon=$(espeak-ng -v "$1" -q -x "$2")
  if [[ $phon == *"("* ]]; then
    die "espeak-ng voice '$1' switched language for '$2' (expected pure Mandarin phonemes, got: $phon)"
  fi
  if ! grep -Eq "[0-9]{2}" <<<"$phon"; then
    die "espeak-ng voice '$1' produced no Mandarin tones for '$2' (got: $phon)"
  fi
}

# synth_segment VOICE TEXT OUT: one spoken row as 8 kHz mono 16-bit, trimmed and levelled.
synth_segment() {
  local voice=$1 text=$2 out=$3 engine name
  engine=${voice%%:*}
  name=${voice#*:}
  case $engine in
    flite)
      [[ " $(flite -lv) " == *" $name "* ]] || die "flite has no voice '$name' (flite -lv lists the voices)"
      flite -voice "$name" -t "$text" -o "$WORK/raw.wav"
      ;;
    espeak-ng)
      [[ $'\n'"$(espeak-ng --voices | awk '{ print $2 }')"$'\n' == *$'\n'"$name"$'\n'* ]] ||
        die "espeak-ng has no voice '$name' (espeak-ng --voices lists them)"
      if [[ $name == cmn* ]]; then mandarin_check "$name" "$text"; fi
      espeak-ng -v "$name" -s "$ESPEAK_SPEED" -w "$WORK/raw.wav" --stdin <<<"$text"
      ;;
    *) die "unknown engine '$engine' in voice '$voice' (expected flite:VOICE or espeak-ng:VOICE)" ;;
  esac
  sox -R "$WORK/raw.wav" -r "$RATE" -c 1 -b 16 -e signed-integer "$WORK/trim.wav" \
    gain -6 highpass 300 lowpass 3400 rate -v "$RATE" norm -3 \
    silence 1 0.02 -45d reverse silence 1 0.02 -45d reverse
  [[ $(soxi -s "$WORK/trim.wav") -gt 0 ]] || die "synthesis of '$text' with $voice gave only silence"
  sox -R "$WORK/trim.wav" "$WORK/faded.wav" fade t 0.005 -0 0.010
  set_level "$WORK/faded.wav" "$out" "$SPEECH_RMS_DB" "$SPEECH_PEAK_MAX_DB"
}

# verify FILE: 8 kHz mono 16-bit signed PCM WAV, not near-silent, not clipped.
verify() {
  local f=$1 rel=${1#"$HERE"/} rate ch bits enc rms pk
  [[ -s $f ]] || { echo "MISSING  $rel" >&2; return 1; }
  rate=$(soxi -r "$f"); ch=$(soxi -c "$f"); bits=$(soxi -b "$f"); enc=$(soxi -e "$f")
  if [[ $mode == all ]]; then
    # Everything this script just wrote must be in the server's native format.
    if [[ $rate != "$RATE" || $ch != 1 || $bits != 16 || $enc != "Signed Integer PCM" ]]; then
      echo "FORMAT   $rel: expected $RATE Hz mono 16-bit Signed Integer PCM, got $rate Hz, $ch ch, $bits-bit $enc" >&2
      return 1
    fi
  elif [[ ! " $ACCEPTED_RATES " == *" $rate "* || $ch -gt 2 || $bits != 16 || $enc != "Signed Integer PCM" ]]; then
    # Recordings dropped in by hand may use any format the server converts on load.
    echo "FORMAT   $rel: expected 16-bit Signed Integer PCM, mono or stereo, at one of $ACCEPTED_RATES Hz; got $rate Hz, $ch ch, $bits-bit $enc" >&2
    return 1
  fi
  rms=$(stat_db "$f" "RMS lev dB"); pk=$(stat_db "$f" "Pk lev dB")
  if awk -v r="$rms" -v m="$MIN_RMS_DB" 'BEGIN { exit !(r < m) }'; then
    echo "QUIET    $rel: RMS $rms dBFS, expected at least $MIN_RMS_DB dBFS" >&2; return 1
  fi
  if awk -v p="$pk" -v m="$MAX_PEAK_DB" 'BEGIN { exit !(p > m) }'; then
    echo "CLIPPED  $rel: peak $pk dBFS, expected at most $MAX_PEAK_DB dBFS" >&2; return 1
  fi
  printf '%-34s %6.2f s  RMS %6.1f dBFS  peak %5.1f dBFS\n' "$rel" "$(soxi -D "$f")" "$rms" "$pk"
}

# --- music on hold -----------------------------------------------------------------------
# Four chords (Cmaj7, Am7, Fmaj7, G6), 6 s each, as soft pads that cross-fade into each
# other, with a quiet bell-like arpeggio on top. The tail of the last chord is folded onto
# the start, so the 24 s file loops without a gap or a click.
make_moh() {
  local out=$1 i n t start
  local -a chords=(
    "261.63 329.63 392.00 493.88"
    "220.00 261.63 329.63 392.00"
    "349.23 440.00 523.25 659.25"
    "392.00 493.88 587.33 659.25"
  )
  local chord_len=6 fade=1.5 total=24
  local -a parts=()
  for i in "${!chords[@]}"; do
    read -r -a n <<<"${chords[$i]}"
    start=$((i * chord_len))
    # Pad: each note plus a quieter copy detuned by 0.4 Hz, for a slow shimmer, not a dead sine.
    sox -R -r "$RATE" -c 8 -n -c 1 -b 16 -e signed-integer "$WORK/pad$i.wav" \
      synth "$(awk -v l="$chord_len" -v f="$fade" 'BEGIN { print l + f }')" \
      sine "${n[0]}" sine "$(awk -v x="${n[0]}" 'BEGIN { print x + 0.4 }')" \
      sine "${n[1]}" sine "$(awk -v x="${n[1]}" 'BEGIN { print x + 0.4 }')" \
      sine "${n[2]}" sine "$(awk -v x="${n[2]}" 'BEGIN { print x + 0.4 }')" \
      sine "${n[3]}" sine "$(awk -v x="${n[3]}" 'BEGIN { print x + 0.4 }')" \
      remix 1v0.18,2v0.06,3v0.18,4v0.06,5v0.18,6v0.06,7v0.18,8v0.06 \
      fade h "$fade" -0 "$fade" pad "$start"
    parts+=("$WORK/pad$i.wav")
    # Arpeggio: eight soft notes per chord (up and down the chord, one octave higher).
    local -a seq=("${n[0]}" "${n[1]}" "${n[2]}" "${n[3]}" "${n[2]}" "${n[1]}" "${n[2]}" "${n[3]}")
    for t in "${!seq[@]}"; do
      sox -R -r "$RATE" -c 1 -n -b 16 -e signed-integer "$WORK/arp$i-$t.wav" \
        synth 1.4 sine "$(awk -v x="${seq[$t]}" 'BEGIN { print x * 2 }')" \
        fade q 0.02 -0 1.35 vol 0.25 pad "$(awk -v s="$start" -v k="$t" 'BEGIN { print s + k * 0.75 }')"
      parts+=("$WORK/arp$i-$t.wav")
    done
  done
  # Mix everything (each part at full weight, no automatic 1/n scaling) at a low level.
  local -a mixargs=()
  for t in "${parts[@]}"; do mixargs+=(-v 0.25 "$t"); done
  sox -R -m "${mixargs[@]}" -b 16 "$WORK/moh_long.wav"
  # Fold the tail that runs past the loop length back onto the beginning.
  sox -R "$WORK/moh_long.wav" "$WORK/moh_head.wav" trim 0 "$total"
  sox -R "$WORK/moh_long.wav" "$WORK/moh_tail.wav" trim "$total"
  sox -R -m -v 1 "$WORK/moh_head.wav" -v 1 "$WORK/moh_tail.wav" "$WORK/moh_loop.wav"
  mkdir -p "$(dirname "$out")"
  sox -R "$WORK/moh_loop.wav" "$WORK/moh_gain.wav" gain -n -6
  local rms gain
  rms=$(stat_db "$WORK/moh_gain.wav" "RMS lev dB")
  gain=$(awk -v t="$MOH_RMS_DB" -v r="$rms" 'BEGIN { printf "%.2f", t - r }')
  sox -R "$WORK/moh_gain.wav" -r "$RATE" -c 1 -b 16 -e signed-integer "$out" gain "$gain"
}

# --- read the list -----------------------------------------------------------------------
declare -a keys=()
declare -A segs=()
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  [[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
  IFS=$'\t' read -r dir name voice text extra <<<"$line" || true
  [[ $dir == dir && $name == name ]] && continue # header row
  if [[ -z ${dir:-} || -z ${name:-} || -z ${voice:-} || -z ${text:-} || -n ${extra:-} ]]; then
    die "$LIST:$lineno: expected 4 TAB-separated fields (dir, name, voice, text), got: $line"
  fi
  [[ $dir =~ ^[a-z0-9_-]+$ && $name =~ ^[a-z0-9_]+$ ]] ||
    die "$LIST:$lineno: dir and name must be lower-case letters, digits and '_' (got '$dir/$name')"
  key="$dir/$name"
  if [[ -z ${segs[$key]+set} ]]; then
    keys+=("$key")
    segs[$key]=""
  fi
  segs[$key]+="$voice"$'\t'"$text"$'\n'
done <"$LIST"
((${#keys[@]})) || die "$LIST lists no prompts"

# --- generate ----------------------------------------------------------------------------
if [[ $mode != check ]]; then
  sox -R -n -r "$RATE" -c 1 -b 16 -e signed-integer "$WORK/pause.wav" trim 0 "$SEGMENT_PAUSE"
  for key in "${keys[@]}"; do
    out="$HERE/$key.wav"
    if [[ $mode == missing && -e $out ]]; then continue; fi
    mkdir -p "$(dirname "$out")"
    declare -a pieces=()
    i=0
    while IFS=$'\t' read -r -u 3 voice text; do
      [[ -n $voice ]] || continue
      if ((i > 0)); then pieces+=("$WORK/pause.wav"); fi
      synth_segment "$voice" "$text" "$WORK/seg$i.wav"
      pieces+=("$WORK/seg$i.wav")
      i=$((i + 1))
    done 3<<<"${segs[$key]}"
    if ((${#pieces[@]} == 1)); then
      cp "${pieces[0]}" "$WORK/out.wav"
    else
      sox -R "${pieces[@]}" "$WORK/out.wav"
    fi
    mv -f "$WORK/out.wav" "$out"
    echo "generated $key.wav"
  done
  if [[ $mode == all || ! -e $MOH_FILE ]]; then
    make_moh "$MOH_FILE"
    echo "generated ${MOH_FILE#"$HERE"/}"
  fi
fi

# --- verify ------------------------------------------------------------------------------
failures=0
for key in "${keys[@]}"; do
  verify "$HERE/$key.wav" || failures=$((failures + 1))
done
shopt -s nullglob
moh=("$HERE"/moh/*/*.wav)
((${#moh[@]})) || { echo "MISSING  moh/<class>/*.wav (no music on hold)" >&2; failures=$((failures + 1)); }
for f in "${moh[@]}"; do
  verify "$f" || failures=$((failures + 1))
done
((failures == 0)) || die "$failures file(s) failed verification"
echo "all ${#keys[@]} prompts and ${#moh[@]} music-on-hold file(s) verified"
