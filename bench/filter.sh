#!/bin/sh
# git add of 10,000 input files (300 MiB) with the box filter on, against
# plain git add of the same files, and against git-lfs's filter on them.
#
# The box filter only ever passes content it knows: an input's frozen
# content, or a blob the repository holds. So the comparison is git add
# of files git must read again because their stat data changed (after a
# checkout, or the chmod of post-checkout), with their objects stored:
# git reads and hashes every file; with a filter it also pipes each one
# through the filter and back. First adds, where git also compresses and
# writes every object, are timed too, for plain git and git-lfs.
set -e
. bench/lib.sh
files=${BENCH_FILES:-10000}
size=${BENCH_FILE_SIZE:-30720}
data="$work/filter-data/study"

if ! test -f "$work/filter-data/.made-$files-$size"; then
	echo "making $files files of $size bytes in $data"
	rm -rf "$work/filter-data" && mkdir -p "$data"
	openssl rand $((files * size)) | split -b "$size" -a 5 -d - "$data/f"
	touch "$work/filter-data/.made-$files-$size"
fi
rm -rf "$work/filter" && mkdir -p "$work/filter"
cd "$work/filter"

# plain git: the files at input/study/, committed once
mkdir -p plain/input && cp -r "$data" plain/input/ && git -C plain init -q &&
first_plain=$(cd plain && ms git add input) && git -C plain commit -q -m data

# git box: the same files as the box's inputs, the work started
git box init box --from "$data" >/dev/null
(cd box && echo "x <- 1" >a.R && git add a.R && git commit -q -m start)

# a do-nothing process filter: git box filter-process where there is no
# box passes every file through untouched, so this is what the protocol
# itself costs
mkdir -p passthrough/input && cp -r "$data" passthrough/input/ && git -C passthrough init -q &&
(cd passthrough && echo "/input/** filter=box -text" >.gitattributes &&
	git config filter.box.process "git box filter-process" &&
	git config filter.box.required true && git add .gitattributes) &&
first_pass=$(cd passthrough && ms git add input) && git -C passthrough commit -q -m data

# git-lfs: the same files tracked by its filter, committed once
mkdir -p lfs/input && cp -r "$data" lfs/input/ && git -C lfs init -q &&
(cd lfs && git lfs install --local >/dev/null && git lfs track "input/**" >/dev/null &&
	git add .gitattributes) &&
first_lfs=$(cd lfs && ms git add input) && git -C lfs commit -q -m data

readd () {
	(
		cd "$1" &&
		find input -type f -exec touch {} + &&
		ms git add input
	)
}

: >plain.ms; : >pass.ms; : >box.ms; : >lfs.ms
for run in $(seq "$RUNS"); do
	warm "$data"
	readd plain >>plain.ms
	readd passthrough >>pass.ms
	readd box >>box.ms
	readd lfs >>lfs.ms
done
plain=$(median <plain.ms) pass=$(median <pass.ms) box=$(median <box.ms) lfs=$(median <lfs.ms)
git -C box diff --cached --quiet || { echo >&2 "bench: the box's index changed"; exit 1; }

echo "git add of $files files, $((files * size / 1048576)) MiB, whose stat data changed (median of $RUNS):"
printf "  %-26s %6d ms   1.00x\n" "plain git" "$plain"
printf "  %-26s %6d ms   %sx\n" "do-nothing process filter" "$pass" "$(ratio "$pass" "$plain")"
printf "  %-26s %6d ms   %sx   (%sx the do-nothing filter)\n" "git box filter" "$box" \
	"$(ratio "$box" "$plain")" "$(ratio "$box" "$pass")"
printf "  %-26s %6d ms   %sx\n" "git-lfs filter" "$lfs" "$(ratio "$lfs" "$plain")"
echo "first git add of the same files, objects written (one run):"
printf "  %-26s %6d ms   1.00x\n" "plain git" "$first_plain"
printf "  %-26s %6d ms   %sx\n" "do-nothing process filter" "$first_pass" "$(ratio "$first_pass" "$first_plain")"
printf "  %-26s %6d ms   %sx\n" "git-lfs filter" "$first_lfs" "$(ratio "$first_lfs" "$first_plain")"
