#!/bin/sh
# git box's benchmarks (bench/README.md): run by 'make bench'.
#   BENCH_RUNS=3 (runs per figure; the median is reported)
#   BENCH_ONLY=filter|hooks (one topic)
# Data is made once under bench/work/ (git-ignored, several hundred MiB);
# remove that folder to start afresh.
set -e
cd "$(dirname "$0")/.."
test -x build/git-box || { echo >&2 "error: build/git-box is not built; run 'make'"; exit 2; }
for topic in filter hooks; do
	if test -z "$BENCH_ONLY" || test "$BENCH_ONLY" = "$topic"; then
		echo "== $topic"
		sh "bench/$topic.sh"
		echo
	fi
done
