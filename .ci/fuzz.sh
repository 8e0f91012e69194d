#!/usr/bin/env bash
# Runs every Go fuzz target briefly: a smoke test that the targets still
# work and find nothing quickly. Longer fuzzing is a manual job.
set -euo pipefail
time_per_target=${FUZZTIME:-10s}
grep -rl --include='*_test.go' '^func Fuzz' backend | while read -r file; do
  pkg="./$(dirname "$file")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
    echo "fuzz: $pkg $target ($time_per_target)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time_per_target" "$pkg"
  done
done
