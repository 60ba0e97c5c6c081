# Shared setup for git box's tests; sourced after test_description is set.
#
# Gives every test script a private HOME and GNUPGHOME, no system or
# global git configuration, fixed names and dates, and the freshly built
# git-box first on PATH.

BOX_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
BOX_BUILD_DIR="${BOX_BUILD_DIR:-$BOX_SOURCE_DIR/build}"
BOX_TEST_DIR="$BOX_SOURCE_DIR/t"
BOX_FIXTURES="$BOX_TEST_DIR/fixtures"
BOX_VECTORS="$BOX_SOURCE_DIR/../shared/vectors"
export BOX_SOURCE_DIR BOX_BUILD_DIR BOX_TEST_DIR BOX_FIXTURES BOX_VECTORS

if ! test -x "$BOX_BUILD_DIR/git-box"; then
	echo >&2 "error: '$BOX_BUILD_DIR/git-box' is not built; run 'make' first"
	exit 1
fi

# Sanitizer builds: fail on the first report, and know libgit2's own leak.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$BOX_SOURCE_DIR/t/lsan.supp:print_suppressions=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS

PATH="$BOX_BUILD_DIR:$PATH"
MANPATH="$BOX_BUILD_DIR/man:"
export PATH MANPATH

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CEILING_DIRECTORIES \
	GIT_CONFIG_PARAMETERS GIT_TEMPLATE_DIR GIT_EXEC_PATH
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME='A U Thor'
GIT_AUTHOR_EMAIL='author@example.com'
GIT_COMMITTER_NAME='C O Mitter'
GIT_COMMITTER_EMAIL='committer@example.com'
GIT_AUTHOR_DATE='1700000000 +0000'
GIT_COMMITTER_DATE='1700000000 +0000'
TZ=UTC
LC_ALL=C
LANG=C
export GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME \
	GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE TZ LC_ALL LANG

. /usr/share/sharness/sharness.sh

# Never let a test find the git box source repository around the trash folder.
GIT_CEILING_DIRECTORIES=$(dirname "$SHARNESS_TRASH_DIRECTORY")
export GIT_CEILING_DIRECTORIES

# sharness sets HOME to the trash directory; give gpg its own corner of it.
GNUPGHOME="$HOME/.gnupg"
export GNUPGHOME
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
git config --global init.defaultBranch main
git config --global user.name 'A U Thor'
git config --global user.email 'author@example.com'

# Root ignores file modes: tests that need a refused write say so.
if test "$(id -u)" != 0; then
	test_set_prereq NOT_ROOT
fi
# Under 'make test-valgrind' git-box runs inside valgrind, which needs a
# usable TMPDIR of its own.
if test -n "$BOX_VALGRIND"; then
	test_set_prereq VALGRIND
fi
if command -v strace >/dev/null 2>&1; then
	test_set_prereq STRACE
fi
if command -v man >/dev/null 2>&1 && test -d "$BOX_BUILD_DIR/man"; then
	test_set_prereq MAN
fi

# Make a folder of sample data: box_sample_data DIR
box_sample_data () {
	mkdir -p "$1/sub" &&
	printf 'id,value\n1,10\n2,20\n' >"$1/data.csv" &&
	printf 'patient,age\nA,42\n' >"$1/sub/patients.csv"
}

# Initialize a box in DIR over sample data with the given extra options.
box_init () {
	dir=$1 && shift &&
	box_sample_data "$dir.src" &&
	git box init "$dir" --name "$(basename "$dir")" --from "$dir.src/data.csv" --from "$dir.src/sub" "$@"
}

# Octal mode of a file, as stat prints it ("444").
box_mode () {
	stat -c %a "$1"
}

# Like git's test_commit: box_commit MESSAGE [FILE [CONTENT]]
box_commit () {
	file=${2:-"$1.t"} &&
	mkdir -p "$(dirname "$file")" &&
	printf '%s\n' "${3:-$1}" >"$file" &&
	git add -- "$file" &&
	git commit -q -m "$1"
}

# git's t/ helpers that sharness lacks.
test_path_is_file () {
	test -f "$1" || { echo "file '$1' does not exist"; false; }
}
test_path_is_dir () {
	test -d "$1" || { echo "folder '$1' does not exist"; false; }
}
test_path_is_missing () {
	! test -e "$1" && ! test -L "$1" || { echo "path '$1' exists"; false; }
}

# Import test keys (alice, bob, carol) into GNUPGHOME, and stop the
# gpg-agent that gpg starts for that home when the script ends.
box_gpg_import () {
	for who in "$@"
	do
		gpg --batch --quiet --import "$BOX_FIXTURES/gpg/$who.sec.asc" 2>/dev/null || return 1
	done
	case " $box_gpg_homes " in
	*" $GNUPGHOME "*)
		;;
	*)
		box_gpg_homes="$box_gpg_homes $GNUPGHOME"
		cleanup "GNUPGHOME='$GNUPGHOME' gpgconf --kill gpg-agent 2>/dev/null; :"
		;;
	esac
}

# A keyring of its own in DIR with the given test keys: box_gpg_home DIR NAME...
box_gpg_home () {
	dir=$1 && shift &&
	mkdir -p "$dir" && chmod 700 "$dir" &&
	(GNUPGHOME=$dir && box_gpg_import "$@") &&
	box_gpg_homes="$box_gpg_homes $dir" &&
	cleanup "GNUPGHOME='$dir' gpgconf --kill gpg-agent 2>/dev/null; :"
}

# Let a key in GNUPGHOME expire now: box_gpg_expire FPR
box_gpg_expire () {
	gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-set-expire "$1" seconds=1 2>/dev/null &&
	sleep 2
}

# Revoke a key in GNUPGHOME with stock gpg: box_gpg_revoke FPR
box_gpg_revoke () {
	printf 'revkey\ny\n0\n\ny\nsave\n' |
	gpg --batch --yes --command-fd 0 --pinentry-mode loopback --passphrase '' \
		--edit-key "$1" >/dev/null 2>&1 &&
	gpg --list-keys "$1" | grep -q "revoked"
}

# The full fingerprint of a test key: box_fpr alice
box_fpr () {
	sed -n "s/^$1 //p" "$BOX_FIXTURES/gpg/fingerprints"
}

# Write a policy: box_policy FILE WHEN QUORUM [FPR...]
# signing.when is WHEN with the given signers; no capture command runs, so
# that manifests are quick to write (tests of capture write their own).
box_policy () {
	file=$1 when=$2 quorum=$3 &&
	shift 3 &&
	{
		echo "version: 1" &&
		echo "name: study" &&
		echo "branch: main" &&
		echo "inputs: [input/]" &&
		echo "outputs: [output/]" &&
		echo "signing:" &&
		echo "  when: $when" &&
		printf '  signers: [' &&
		sep= &&
		for fpr in "$@"
		do
			printf '%s%s' "$sep" "$fpr" && sep=', '
		done &&
		echo ']' &&
		echo "  quorum: $quorum" &&
		echo "environment:" &&
		echo "  capture: []"
	} >"$file"
}

# A box over the sample data with a policy file: box_init_policy DIR POLICY
box_init_policy () {
	box_sample_data "$1.src" &&
	git box init "$1" --policy "$2" --from "$1.src/data.csv" --from "$1.src/sub" >/dev/null
}

# The refs, HEAD, the index and the work tree (names, modes, link targets
# and content) of the repository in the current folder, to show that a
# refused command lost nothing: box_snapshot >before; ...; box_snapshot >after
box_snapshot () {
	git for-each-ref --format='%(objectname) %(refname)' &&
	git symbolic-ref -q HEAD; git rev-parse -q --verify HEAD &&
	git ls-files -s &&
	find . -path ./.git -prune -o -printf '%M %p -> %l\n' | sort &&
	find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 -r sha1sum
}

# Run git with no hooks at all, as someone who bypasses the box's hooks
# does: to build the tampered states that later layers must catch.
box_nohooks () {
	git -c core.hooksPath=/dev/null "$@"
}

# box_slow_gpg DIR: DIR/home/.gitconfig names DIR/gpg as gpg.program, a
# gpg that touches DIR/started and waits 2 s before running the real one,
# so that a test can signal git box in the middle of its signature
# checks (run git box with HOME=DIR/home; libgit2 ignores git -c).
box_slow_gpg () {
	mkdir -p "$1/home" &&
	slow_dir=$(cd "$1" && pwd) &&
	printf '#!/bin/sh\ntouch "%s/started"\nsleep 2\nexec "%s" "$@"\n' \
		"$slow_dir" "$(command -v gpg)" >"$1/gpg" &&
	chmod +x "$1/gpg" &&
	git config -f "$1/home/.gitconfig" gpg.program "$slow_dir/gpg"
}

# box_wait_for FILE: wait up to 10 s for FILE to appear; fail if it does not.
box_wait_for () {
	wait_n=0 &&
	while ! test -e "$1" && test $wait_n -lt 100
	do
		sleep 0.1 && wait_n=$((wait_n + 1))
	done &&
	test -e "$1"
}
