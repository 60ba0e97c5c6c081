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
