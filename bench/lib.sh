# Shared by the bench scripts: where things are, a clean git setup, timing.
# Sourced with the repository's top as the current folder.
top=$(pwd)
work="$top/bench/work"
RUNS=${BENCH_RUNS:-3}
PATH="$top/build:$PATH"
export PATH
mkdir -p "$work/home"
HOME="$work/home"
GIT_CONFIG_NOSYSTEM=1
# the repositories made here are not inside git box's own
GIT_CEILING_DIRECTORIES=$work
export HOME GIT_CONFIG_NOSYSTEM GIT_CEILING_DIRECTORIES
git config --global user.name "Bench Analyst"
git config --global user.email "bench@example.org"
git config --global init.defaultBranch main

# ms CMD...: run CMD, print the milliseconds it took (fail if it does).
ms () {
	start=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo >&2 "bench: '$*' failed"; return 1; }
	end=$(date +%s%N)
	echo $(( (end - start) / 1000000 ))
}

# median: the median of the numbers on standard input, one a line.
median () {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ratio A B: A / B with two decimals.
ratio () {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

# Read every file under a folder once, so that every run starts warm.
warm () {
	find "$1" -type f -exec cat {} + >/dev/null
}

# make_files DIR N: N small csv files in 100 folders
make_files () {
	mkdir -p "$1"
	perl -e '
		my ($dir, $n) = @ARGV;
		for my $i (0 .. $n - 1) {
			my $sub = sprintf("%s/%03d", $dir, $i % 100);
			mkdir $sub unless -d $sub;
			open(my $f, ">", sprintf("%s/r%06d.csv", $sub, $i)) or die "$!";
			print $f "id,value\n$i,", $i * 7 % 1000, "\n";
		}' "$1" "$2"
}
