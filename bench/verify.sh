#!/bin/sh
# git box verify on long histories and on many files: its time should grow
# with events plus changed paths (not with commits times files), and its
# memory with the largest manifest (not with the data or the history).
#
#   history: a box of 100 files whose history has C commits and C/100
#            checkpoints (C = 2,500, 5,000, 10,000 by default)
#   files:   a box of F files (1,000, 5,000, 10,000) with init, one
#            checkpoint and a seal
#
# Each figure is the median of BENCH_RUNS runs; peak RSS from /usr/bin/time -v.
set -e
. bench/lib.sh
history_sizes=${BENCH_VERIFY_COMMITS:-"2500 5000 10000"}
file_sizes=${BENCH_VERIFY_FILES:-"1000 5000 10000"}
test -x /usr/bin/time || { echo >&2 "bench: /usr/bin/time (GNU time) is needed for peak RSS"; exit 2; }

root="$work/verify"
rm -rf "$root" && mkdir -p "$root"

policy () {
	cat >"$1" <<-EOF
	version: 1
	name: bench
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none, signers: [], quorum: 0}
	environment: {capture: []}
	EOF
}

# commits N FILE: N commits on main, each changing FILE, through git fast-import (fast, no hooks)
commits () {
	perl -e '
		my ($n, $file, $parent, $t) = @ARGV;
		for my $i (1 .. $n) {
			my $data = "x <- $i\n";
			printf "commit refs/heads/main\ncommitter Bench <bench\@example.org> %d +0000\n", $t + $i;
			printf "data %d\nwork %d\n", length("work $i\n"), $i;
			print "from $parent\n" if $i == 1;
			printf "M 100644 inline %s\ndata %d\n%s", $file, length($data), $data;
		}' "$1" "$2" "$(git rev-parse HEAD)" "$(git log -1 --format=%ct)" |
	git fast-import --quiet
	git reset -q --hard main
}

# measure LABEL DIR: median time and the peak RSS of `git box verify` in DIR
measure () {
	: >"$root/ms"
	for run in $(seq "$RUNS"); do
		ms git -C "$2" box verify --self-check >>"$root/ms"
	done
	/usr/bin/time -v git -C "$2" box verify --self-check >"$root/out" 2>"$root/time" || {
		echo >&2 "bench: verify failed in $2"; cat >&2 "$root/out"; exit 1; }
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$root/time")
	printf "  %-34s %7d ms  %7d KiB peak RSS   %s\n" "$1" "$(median <"$root/ms")" "$rss" \
		"$(tail -n 1 "$root/out" | sed 's/.*: \([0-9]* checks\).*/\1/')"
}

echo "verify of a 100-file box, one checkpoint every 100 commits:"
make_files "$root/small" 100
policy "$root/policy.yaml"
for c in $history_sizes; do
	dir="$root/history-$c"
	git box init "$dir" --policy "$root/policy.yaml" --from "$root/small" >/dev/null
	(
		cd "$dir"
		git -c core.hooksPath=/dev/null commit -q --allow-empty -m start
		i=0
		while test $i -lt $((c / 100)); do
			commits 100 analysis.R
			git box checkpoint >/dev/null
			i=$((i + 1))
		done
	)
	measure "$c commits, $((c / 100 + 1)) events" "$dir"
done

echo "verify of a box of F files, with init, a checkpoint (one file changed) and a seal:"
for f in $file_sizes; do
	dir="$root/files-$f"
	make_files "$root/data-$f" "$f"
	git box init "$dir" --policy "$root/policy.yaml" --from "$root/data-$f" >/dev/null
	(
		cd "$dir"
		echo "x <- 1" >analysis.R && git add analysis.R && git commit -q -m work
		git box checkpoint >/dev/null
		mkdir -p output && echo 42 >output/result.txt && git add output && git commit -q -m result
		git box seal -m final >/dev/null
	)
	measure "$f files, 3 events" "$dir"
done

# ---- an audit bundle ------------------------------------------------------
# git box verify BUNDLE.tar on the bundle of a sealed box: one 1 GiB input
# (random bytes) and 10,000 input files (~300 MiB of base64 text), against
# its stock peer: tar -xf of the bundle plus sha256sum -c of its manifests
# (the bag's check alone, by hand). git-box's own peak RSS is sampled from
# /proc (VmHWM); /usr/bin/time's figure is the largest of git-box and its
# git children (bundle verify, fetch, index-pack, cat-file). Memory must
# not grow with the data: the bag streams, box/repo.bundle is copied to a
# temporary file, never held.
#   BENCH_VERIFY_BUNDLE=0 skips it; BENCH_SCALE=10 uses a tenth of the data;
#   BENCH_BUNDLE_SETS="many" runs one of the two sets (big, many).
test "${BENCH_VERIFY_BUNDLE:-1}" = 1 || exit 0
scale=${BENCH_SCALE:-1}
. "$top/bench/data.sh"
sets=${BENCH_BUNDLE_SETS:-"big many"}
# the script packs each box itself: no background gc racing it
git config --global gc.auto 0
echo "verify of an audit bundle (git box export of a sealed box), against tar -xf + sha256sum -c:"

bundle_one () {
	label=$1 src=$2 dir="$root/bundle-$1"
	git box init "$dir" --policy "$root/policy.yaml" --from "$src" >/dev/null
	(cd "$dir" && mkdir -p output && echo 42 >output/result.txt && git add output &&
	 git commit -q -m result && git box seal -m final >/dev/null && git gc -q &&
	 git box export -o "$root/bundle.tar" >/dev/null)
	rm -rf "$dir"
	: >"$root/ms"
	: >"$root/peer"
	for run in $(seq "$RUNS"); do
		ms git box verify --self-check "$root/bundle.tar" >>"$root/ms"
		rm -rf "$root/x" && mkdir "$root/x"
		ms sh -c "tar -C '$root/x' -xf '$root/bundle.tar' && cd '$root/x'/* &&
			sha256sum -c --quiet manifest-sha256.txt && sha256sum -c --quiet tagmanifest-sha256.txt" >>"$root/peer"
	done
	rm -rf "$root/x"
	/usr/bin/time -v git box verify --self-check "$root/bundle.tar" >"$root/out" 2>"$root/time" || {
		echo >&2 "bench: verify of the bundle failed"; cat >&2 "$root/out"; exit 1; }
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$root/time")
	own=$(hwm git-box verify --self-check "$root/bundle.tar")
	t=$(median <"$root/ms") p=$(median <"$root/peer")
	printf "  %-22s %5d MiB bundle  verify %7d ms  tar+sha256sum %7d ms  (%sx)  git-box %d KiB, with children %d KiB peak RSS  %s\n" \
		"$label" $(( $(stat -c %s "$root/bundle.tar") / 1048576 )) "$t" "$p" "$(ratio "$t" "$p")" \
		"$own" "$rss" "$(tail -n 1 "$root/out" | sed 's/^\([a-zA-Z]*\):.*: \([0-9]* checks\).*/\1, \2/')"
	rm -f "$root/bundle.tar"
}

case " $sets " in *" big "*)
	make_big "$root"
	bundle_one "1 input of $((1024 / scale)) MiB" "$root/big.src/big.bin"
	rm -rf "$root/big.src"
esac
case " $sets " in *" many "*)
	make_many "$root"
	bundle_one "$((10000 / scale)) inputs, $((300 / scale)) MiB" "$root/many.src/data"
	rm -rf "$root/many.src"
esac
