#!/bin/sh
# Run git box's benchmarks: every bench/*.sh but this one, or those named.
#   sh bench/run.sh            # all of them (make bench)
#   sh bench/run.sh hash       # bench/hash.sh only
# Data and scratch repositories go under bench/work/ (git-ignored). Each
# script checks the tools it compares against and says what is missing.
# The figures and the commands behind them are in bench/README.md.
set -e
here=$(cd "$(dirname "$0")" && pwd)
if test $# -eq 0
then
	set -- $(cd "$here" && ls [a-z]*.sh | sed -e '/^run\.sh$/d' -e 's/\.sh$//')
fi
for name in "$@"
do
	test -f "$here/$name.sh" || { echo >&2 "error: no benchmark 'bench/$name.sh'"; exit 2; }
	echo "== bench/$name.sh"
	sh "$here/$name.sh"
done
