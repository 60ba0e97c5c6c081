#!/bin/sh
# A commit of one changed file on a box of 100,000 files, with every hook
# git box installs, against the same commit with no hooks at all
# (core.hooksPath=/dev/null). The budget is 50 ms more.
set -e
. bench/lib.sh
files=${BENCH_HOOK_FILES:-100000}
data="$work/hooks-data/records"

if ! test -f "$work/hooks-data/.made-$files"; then
	echo "making $files files in $data"
	rm -rf "$work/hooks-data" &&
	make_files "$data" "$files"
	touch "$work/hooks-data/.made-$files"
fi
rm -rf "$work/hooks" && mkdir -p "$work/hooks"
cd "$work/hooks"
git box init box --from "$data" >/dev/null
cd box
echo "x <- 1" >analysis.R && git add analysis.R && git commit -q -m start
echo "hooks: $(ls .git/hooks | grep -v sample | tr '\n' ' ')"

: >../hooks.ms; : >../plain.ms
for run in $(seq $((RUNS * 3))); do
	echo "y <- $run" >>analysis.R && git add analysis.R
	ms git commit -q -m "with hooks $run" >>../hooks.ms
	echo "z <- $run" >>analysis.R && git add analysis.R
	ms git -c core.hooksPath=/dev/null commit -q -m "without hooks $run" >>../plain.ms
done
hooks=$(median <../hooks.ms) plain=$(median <../plain.ms)
echo "a commit of one changed file on a box of $files files (median of $((RUNS * 3))):"
printf "  %-22s %6d ms\n" "without hooks" "$plain"
printf "  %-22s %6d ms   +%d ms   (budget +50 ms)\n" "with every hook" "$hooks" $((hooks - plain))
