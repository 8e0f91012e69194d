#!/usr/bin/env bash
# Runs every Go fuzz target briefly: a smoke test that the targets still
# work and find nothing quickly. Longer fuzzing is a manual job
# (FUZZTIME=10m bash .ci/fuzz.sh).
#
# The budget is a count of executions, not a duration: Go 1.26's fuzz
# coordinator races its own -fuzztime deadline and, on a loaded machine, can
# fail a target with a bare "context deadline exceeded" and no failing input
# (go.dev/issue/75804, fixed in Go 1.27). A count has no deadline to race, so
# a failure here is always a real finding with its input written to
# testdata/fuzz/.
set -euo pipefail
budget=${FUZZTIME:-30000x}
grep -rl --include='*_test.go' '^func Fuzz' backend | while read -r file; do
  pkg="./$(dirname "$file")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
    echo "fuzz: $pkg $target ($budget)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" "$pkg"
  done
done
