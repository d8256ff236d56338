#!/usr/bin/env bash
# Worker-pool benchmark (#15): one preset run three times into fresh folders in one go —
# a warm-up (fills the feature caches, so both timed runs start warm), then `--jobs 1 --threads C`
# and `--jobs N --threads C/N` — printing both wall times, their ratio, whether the summary rows
# are identical (time, threads and device columns aside), and the workers' own figure for
# deciding and claiming a stage.
#   bash scripts/bench-jobs.sh [PRESET] [N]     (default: synthetic-vs-model, N = 2)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/env.sh"
preset="${1:-synthetic-vs-model}"
jobs="${2:-2}"
cores="$(nproc)"
per=$(( cores / jobs > 0 ? cores / jobs : 1 ))
w2s="$here/target/release/w2s"
[ -x "$w2s" ] || (cd "$here" && cargo build --release -p w2s)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }

echo "warm-up: $preset into a scratch folder (fills the caches)" >&2
seconds "$w2s" -q run "$preset" --out "$tmp/warm" --jobs "$jobs" >/dev/null
one=$(seconds "$w2s" -q --threads "$cores" run "$preset" --out "$tmp/one")
many=$(seconds "$w2s" -q --threads "$per" run "$preset" --out "$tmp/many" --jobs "$jobs")
same=$(python3 - "$tmp/one/summary.csv" "$tmp/many/summary.csv" <<'EOF' 2>/dev/null || echo "not checked (no python3)"
import csv, sys
def rows(p):
    out = []
    for r in csv.DictReader(open(p)):
        for k in ("seconds", "threads", "device"):
            r.pop(k, None)
        out.append(r)
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
print("identical" if a == b else f"DIFFERENT ({sum(x != y for x, y in zip(a, b))} of {len(a)} rows)")
EOF
)
stages=$(wc -l < "$tmp/many/logs/stages.log")
overhead=$(grep -ho "took [0-9.]* ms per stage" "$tmp/many/logs/"worker-*.log | awk '{s += $2; n++} END {if (n) printf "%.1f", s / n; else print "?"}')
printf 'preset                      %s (%s stages)\n' "$preset" "$stages"
printf 'machine                     %s cores\n' "$cores"
printf -- '--jobs 1 --threads %-3s      %.1f s\n' "$cores" "$one"
printf -- '--jobs %s --threads %-3s      %.1f s\n' "$jobs" "$per" "$many"
printf 'speed-up                    %.2fx\n' "$(echo "$one / $many" | bc -l)"
printf 'summary rows                %s\n' "$same"
printf 'deciding + claiming         %s ms per stage (workers mean; includes rewriting the summary)\n' "$overhead"
