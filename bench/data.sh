# Shared by bench/hash.sh, export.sh and verify.sh: the two data sets they
# measure on, and a probe of git-box's own peak memory. Sourced once
# `top`, `work` and `scale` (BENCH_SCALE, default 1) are set.

# bench_home: a private HOME and git identity under $work, git box first
# on PATH, and $work/policy.yaml, the unsigned policy of every box made.
bench_home () {
	mkdir -p "$work"
	# The boxes live inside the git box sources: never let git find that repository.
	export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 LC_ALL=C PATH="$top/build:$PATH" \
		GIT_CEILING_DIRECTORIES="$top/bench/work"
	mkdir -p "$HOME"
	git config --global user.name "Bench Mark"
	git config --global user.email bench@example.org
	git config --global init.defaultBranch main
	cat >"$work/policy.yaml" <<-'EOP'
	version: 1
	name: bench
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing:
	  when: none
	environment:
	  capture: []
	EOP
}

# make_big [DIR]: DIR/big.src/big.bin, one input of 1 GiB / scale of random
# bytes (DIR defaults to $work); made once.
make_big () {
	big_dir=${1:-$work}/big.src
	test -f "$big_dir/big.bin" && return
	mkdir -p "$big_dir"
	echo "making one input of $((1024 / scale)) MiB"
	head -c $((1024 / scale))M /dev/urandom >"$big_dir/big.bin"
}

# make_many [DIR]: DIR/many.src/data/, 10,000 / scale input files of
# 300 MiB / scale in all (DIR defaults to $work); made once. base64 text
# compresses about as well as numeric data files do.
make_many () {
	many_dir=${1:-$work}/many.src
	test -d "$many_dir/data" && return
	mkdir -p "$many_dir/data"
	echo "making $((10000 / scale)) input files, $((300 / scale)) MiB in all"
	head -c $((225 / scale))M /dev/urandom | base64 -w 76 >"$many_dir/all"
	(cd "$many_dir/data" && split -n $((10000 / scale)) -a 5 -d ../all f)
	rm "$many_dir/all"
}

# hwm CMD...: the high-water mark of resident memory (KiB) of CMD itself,
# without its children (VmHWM, sampled from /proc); fails if CMD does.
hwm () {
	"$@" >/dev/null 2>&1 &
	pid=$! high=0
	while kill -0 $pid 2>/dev/null
	do
		v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' /proc/$pid/status 2>/dev/null)
		test -n "$v" && high=$v
		sleep 0.02
	done
	wait $pid || { echo >&2 "bench: '$*' failed"; return 1; }
	echo $high
}
