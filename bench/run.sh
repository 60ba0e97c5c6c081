#!/bin/sh
# Run git box's benchmarks (bench/README.md); 'make bench' runs them all.
#   sh bench/run.sh              # every topic
#   sh bench/run.sh hash filter  # the topics named (hash filter hooks verify export)
#   BENCH_RUNS=5 sh bench/run.sh # more runs per figure where a topic takes the median
# Data and scratch repositories go under bench/work/ (git-ignored, a few
# GiB); remove that folder to start afresh. Each topic checks the tools it
# compares against and says what is missing.
set -e
cd "$(dirname "$0")/.."
test -x build/git-box || { echo >&2 "error: build/git-box is not built; run 'make'"; exit 2; }
topics="hash filter hooks verify export"
test $# -gt 0 && topics="$*"
test -n "$BENCH_ONLY" && topics=$BENCH_ONLY
for topic in $topics
do
	test -f "bench/$topic.sh" || { echo >&2 "error: no benchmark 'bench/$topic.sh'"; exit 2; }
	echo "== bench/$topic.sh"
	sh "bench/$topic.sh"
	echo
done
