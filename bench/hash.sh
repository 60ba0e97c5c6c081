#!/bin/sh
# The hashing engine, measured through 'git box seal':
#
#   - against the limit, 'git cat-file --batch' feeding 'openssl dgst -sha256'
#     over the same blobs (reading git's objects and hashing them);
#   - against 'in-toto-run' recording the same files as materials and products;
#   - a re-seal of unchanged data (every blob already in the hash cache).
#
# Two data sets: one 1 GiB input file, and 10,000 input files of ~300 MiB
# in all. Each seal runs in a fresh bare mirror of a box made once (objects
# hard-linked), cold (no hash cache) or warm (the cache the box's init
# wrote). The policy captures no command, so that hashing is what is timed.
#
#   sh bench/hash.sh                 # the full run (a few minutes, ~3 GiB of disk)
#   BENCH_SCALE=10 sh bench/hash.sh  # a tenth of the data, to try the script
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
work="$top/bench/work/hash"
scale=${BENCH_SCALE:-1}
. "$top/bench/data.sh"

missing=
for tool in git openssl base64 split /usr/bin/time
do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if test -n "$missing"
then
	echo >&2 "error: missing:$missing (apt-get install git openssl coreutils time)"
	exit 2
fi
if ! test -x "$top/build/git-box"
then
	echo >&2 "error: build git box first: make"
	exit 2
fi
have_intoto=yes
if ! command -v in-toto-run >/dev/null 2>&1
then
	have_intoto=
	echo >&2 "warning: in-toto-run is missing; as root: apt-get install in-toto (skipping that peer)"
fi

bench_home

# measure LABEL COMMAND...: run it, print "LABEL seconds max-RSS-KiB".
measure () {
	label=$1 && shift
	/usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >"$work/cmd.out" 2>"$work/cmd.err" || {
		echo >&2 "error: '$*' failed:"; cat >&2 "$work/cmd.err"; exit 1; }
	read -r secs kib <"$work/time.out"
	echo "$label $secs $kib"
}

# The limit: every blob of the box's tip through one cat-file into one openssl.
limit='git -C "$1" cat-file --batch <"$2" | openssl dgst -sha256 >/dev/null'

# A box over SRC, made once: init hashes everything and writes the cache.
make_box () {
	name=$1 src=$2
	test -d "$work/$name" && return
	echo "making the box $name (git add of the data, then its init manifest)"
	git box init "$work/$name" --policy "$work/policy.yaml" --from "$src" >/dev/null
	(cd "$work/$name" && mkdir -p output && echo "result" >output/result.csv &&
	 git add output && git commit -q -m "analysis")
}

# A fresh bare mirror of a box, objects hard-linked; WARM keeps its hash cache.
mirror () {
	rm -rf "$work/$2"
	git clone -q --mirror "$work/$1" "$work/$2"
	if test "$3" = warm
	then
		mkdir -p "$work/$2/box"
		cp "$work/$1/.git/box/sha256-cache" "$work/$2/box/"
	fi
}

best () {
	# best LINE LINE: the faster of two measurements
	if awk -v a="$(echo "$1" | cut -d' ' -f2)" -v b="$(echo "$2" | cut -d' ' -f2)" 'BEGIN { exit !(a <= b) }'
	then echo "$1"; else echo "$2"; fi
}

bench_one () {
	name=$1 label=$2
	box="$work/$name"
	files=$(git -C "$box" ls-tree -r HEAD | wc -l)
	mib=$(git -C "$box" ls-tree -r -l HEAD | awk '{ s += $4 } END { printf "%.0f", s / 1048576 }')

	git -C "$box" ls-tree -r HEAD | awk '{ print $3 }' >"$work/oids"
	sh -c "$limit" - "$box" "$work/oids"   # once to warm the page cache, as every run after it is
	r1=$(measure ref sh -c "$limit" - "$box" "$work/oids")
	r2=$(measure ref sh -c "$limit" - "$box" "$work/oids")
	ref=$(best "$r1" "$r2")

	mirror "$name" cold1 cold && s1=$(measure seal git -C "$work/cold1" box seal)
	mirror "$name" cold2 cold && s2=$(measure seal git -C "$work/cold2" box seal)
	seal=$(best "$s1" "$s2")

	mirror "$name" cold3 cold && own=$(hwm git-box -C "$work/cold3" seal)

	mirror "$name" warm1 warm && w1=$(measure warm git -C "$work/warm1" box seal)
	mirror "$name" warm2 warm && w2=$(measure warm git -C "$work/warm2" box seal)
	warm=$(best "$w1" "$w2")

	intoto="- -"
	if test -n "$have_intoto"
	then
		test -f "$work/intoto-key" || in-toto-keygen "$work/intoto-key" >/dev/null
		rm -rf "$work/links" && mkdir -p "$work/links"
		intoto=$(cd "$box" && measure intoto in-toto-run -n seal -k "$work/intoto-key" \
			-m . -p . --exclude .git -d "$work/links" -x)
		intoto=${intoto#intoto }
	fi
	rm -rf "$work/cold1" "$work/cold2" "$work/cold3" "$work/warm1" "$work/warm2"

	set -- ${ref#ref } ${seal#seal } ${warm#warm } $intoto
	awk -v label="$label" -v files="$files" -v mib="$mib" -v ref="$1" -v seal="$3" -v rss="$4" \
	    -v own="$own" -v warm="$5" -v intoto="$7" 'BEGIN {
		printf "%-16s %6d files %6d MiB\n", label, files, mib
		printf "  cat-file|openssl   %7.2f s  %7.0f MiB/s\n", ref, mib / ref
		printf "  git box seal       %7.2f s  %7.0f MiB/s  seal/limit %.2fx\n",
			seal, mib / seal, seal / ref
		printf "  memory             git-box %d MiB; with its git cat-file children %d MiB\n",
			own / 1024, rss / 1024
		printf "  re-seal, unchanged %7.2f s  re-seal/seal %.1f%%\n", warm, 100 * warm / seal
		if (intoto != "-")
			printf "  in-toto-run        %7.2f s  in-toto/seal %.1fx\n", intoto, intoto / seal
	}' | tee -a "$work/results.txt"
}

: >"$work/results.txt"
echo "git box $(git box --version | sed -n 's/^git box version //p'), $(nproc) cores, $(git --version)" |
	tee -a "$work/results.txt"
make_big
make_box big-box "$work/big.src/big.bin"
bench_one big-box "one big input"
make_many
make_box many-box "$work/many.src/data"
bench_one many-box "many inputs"
