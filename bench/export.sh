#!/bin/sh
# git box export, against its peer: 'tar -cf' of the same tree plus
# 'sha256sum' of its files (what a BagIt bag of it costs with stock tools).
#
# Two data sets: one 1 GiB input file (random bytes), and 10,000 input
# files of ~300 MiB in all (base64 text). Each is made a sealed box once
# (no signature, no timestamp, no capture command), then packed with
# 'git gc', as a box is once pushed or cloned. Every figure is the median
# of BENCH_RUNS runs (default 3) with a warm page cache.
#
#   sh bench/export.sh                 # the full run (a few minutes, ~6 GiB of disk)
#   BENCH_SCALE=10 sh bench/export.sh  # a tenth of the data, to try the script
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
scale=${BENCH_SCALE:-1}
work="$top/bench/work/export"
test "$scale" = 1 || work="$work-scale$scale"
runs=${BENCH_RUNS:-3}
. "$top/bench/data.sh"

missing=
for tool in git tar sha256sum base64 split /usr/bin/time
do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if test -n "$missing"
then
	echo >&2 "error: missing:$missing (apt-get install git tar coreutils time)"
	exit 2
fi
if ! test -x "$top/build/git-box"
then
	echo >&2 "error: build git box first: make"
	exit 2
fi

bench_home
# No background gc while a box is made: the script packs each box itself.
git config --global gc.auto 0

# seconds CMD: wall-clock seconds of a shell command line, with 2 decimals.
seconds () {
	start=$(date +%s%N)
	sh -c "$1" >/dev/null 2>"$work/cmd.err" || {
		echo >&2 "error: '$1' failed:"; cat >&2 "$work/cmd.err"; exit 1; }
	end=$(date +%s%N)
	awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }'
}

# median_of CMD: the median of $runs runs of seconds CMD.
median_of () {
	i=0
	while test $i -lt $runs
	do
		seconds "$1"
		echo
		i=$((i + 1))
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# A sealed box over SRC, made once and packed.
make_box () {
	name=$1 src=$2
	test -d "$work/$name" && return
	echo "making the sealed box $name"
	git box init "$work/$name" --policy "$work/policy.yaml" --from "$src" >/dev/null
	(cd "$work/$name" && mkdir -p output && echo "result" >output/result.csv &&
	 git add output && git commit -q -m "analysis" && git box seal -m final >/dev/null &&
	 git gc -q)
}

bench_one () {
	name=$1 label=$2
	box="$work/$name"
	files=$(git -C "$box" ls-tree -r HEAD | wc -l)
	mib=$(git -C "$box" ls-tree -r -l HEAD | awk '{ s += $4 } END { printf "%.0f", s / 1048576 }')

	# The peer: a tar of the work tree and the SHA-256 of each file, as a bag needs.
	peer_tar="tar -C '$box' --exclude=.git -cf '$work/peer.tar' ."
	peer_sum="cd '$box' && find . -path ./.git -prune -o -type f -print0 | xargs -0 sha256sum >'$work/peer.sums'"
	# git box flushes the archive to disk before it renames it into place; tar does not.
	peer_sync="tar -C '$box' --exclude=.git -cf '$work/peer.tar' . && sync '$work/peer.tar'"
	ours="git -C '$box' box export -o '$work/ours.tar'"
	ours_gz="git -C '$box' box export -o '$work/ours.tar.gz'"
	ours_zst="git -C '$box' box export -o '$work/ours.tar.zst'"

	sh -c "$peer_tar" && sh -c "$ours" >/dev/null   # warm the page cache
	t_tar=$(median_of "$peer_tar")
	t_sum=$(median_of "$peer_sum")
	t_sync=$(median_of "$peer_sync")
	t_ours=$(median_of "$ours")
	t_zst=$(median_of "$ours_zst")
	t_gz=$(seconds "$ours_gz")
	/usr/bin/time -f "%M" -o "$work/time.out" sh -c "$ours" >/dev/null 2>&1
	rss=$(cat "$work/time.out")
	own=$(hwm git-box -C "$box" export -o "$work/ours.tar")
	tar_mib=$(( $(stat -c %s "$work/peer.tar") / 1048576 ))
	ours_mib=$(( $(stat -c %s "$work/ours.tar") / 1048576 ))
	bundle_mib=$(tar -tvf "$work/ours.tar" | awk '/box\/repo.bundle$/ { printf "%d", $3 / 1048576 }')
	rm -f "$work/peer.tar" "$work/ours.tar" "$work/ours.tar.gz" "$work/ours.tar.zst"

	awk -v label="$label" -v files="$files" -v mib="$mib" -v tt="$t_tar" -v ts="$t_sum" -v tsync="$t_sync" \
	    -v ours="$t_ours" -v zst="$t_zst" -v gz="$t_gz" -v rss="$rss" -v own="$own" \
	    -v tmib="$tar_mib" -v omib="$ours_mib" -v bmib="$bundle_mib" 'BEGIN {
		printf "%-16s %6d files %6d MiB\n", label, files, mib
		printf "  tar -cf            %7.2f s  (%d MiB)\n", tt, tmib
		printf "  sha256sum          %7.2f s\n", ts
		printf "  tar + sha256sum    %7.2f s\n", tt + ts
		printf "  tar -cf + sync     %7.2f s  (the tar flushed to disk, as git box does)\n", tsync
		printf "  git box export     %7.2f s  (%d MiB, of which repo.bundle %d MiB)  export/peer %.2fx\n",
			ours, omib, bmib, ours / (tt + ts)
		printf "                                export/(tar + sync + sha256sum) %.2fx\n", ours / (tsync + ts)
		printf "  export .tar.zst    %7.2f s  export .tar.gz %.2f s (one run)\n", zst, gz
		printf "  memory             git-box %d MiB; largest with its git children %d MiB\n",
			own / 1024, rss / 1024
	}' | tee -a "$work/results.txt"
}

: >"$work/results.txt"
echo "git box $(git box --version | sed -n 's/^git box version //p'), $(nproc) cores, $(git --version), $runs runs" |
	tee -a "$work/results.txt"
make_big
make_box big-box "$work/big.src/big.bin"
bench_one big-box "one big input"
make_many
make_box many-box "$work/many.src/data"
bench_one many-box "many inputs"
