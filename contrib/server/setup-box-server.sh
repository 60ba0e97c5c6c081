#!/bin/sh
# Set up bare repositories on a git server so that no push can break the
# rules of the boxes they hold, whatever the clients did (gitbox-hooks(5)).
#
#   setup-box-server.sh [--create] <repository.git>...
#
# For each repository: make it with 'git init --bare' when --create is
# given and it does not exist; install the pre-receive hook that runs
# 'git box hook pre-receive' (an older one of ours is replaced, anyone
# else's is left alone and reported); check the objects of every push
# (receive.fsckObjects) and keep a log of every ref update
# (core.logAllRefUpdates), the audit trail of who moved what.
#
# git box must be on the PATH of the user that runs git receive-pack
# (the ssh or http user): without it the hook refuses every push.
set -e
here=$(cd "$(dirname "$0")" && pwd)
shim="$here/pre-receive"
marker='# git-box hook shim v'

usage () {
	echo "usage: $0 [--create] <repository.git>..." >&2
	exit 2
}

create=
case "$1" in
--create) create=yes; shift ;;
-h|--help) echo "usage: $0 [--create] <repository.git>..."; exit 0 ;;
-*) echo "error: unknown option '$1'" >&2; usage ;;
esac
test $# -gt 0 || usage
test -f "$shim" || { echo "error: '$shim' is missing" >&2; exit 2; }

if ! command -v git-box >/dev/null 2>&1; then
	echo "warning: 'git-box' is not on PATH here; the hook refuses every push where git box cannot be found" >&2
fi

status=0
for repo in "$@"; do
	if test ! -e "$repo" && test -n "$create"; then
		git init -q --bare "$repo"
		echo "created '$repo'"
	fi
	if test "$(git -C "$repo" rev-parse --is-bare-repository 2>/dev/null)" != true; then
		echo "error: '$repo' is not a bare repository" >&2
		echo "hint: a server holds bare repositories; make one with '$0 --create $repo'" >&2
		status=2
		continue
	fi
	# where git runs hooks from: core.hooksPath (relative to the
	# repository, where receive-pack runs them), else its hooks/
	hooks=$(git -C "$repo" config core.hooksPath || echo hooks)
	case "$hooks" in /*) ;; *) hooks="$repo/$hooks" ;; esac
	hook="$hooks/pre-receive"
	if test -e "$hook" && ! grep -q "$marker" "$hook"; then
		echo "error: '$hook' is not git box's; it was left as it is" >&2
		echo "hint: call 'git box hook pre-receive' from it, with its standard input, to guard this repository" >&2
		status=2
		continue
	fi
	mkdir -p "$hooks"
	if ! cmp -s "$shim" "$hook"; then
		cp "$shim" "$hook.tmp$$"
		chmod 0755 "$hook.tmp$$"
		mv -f "$hook.tmp$$" "$hook"
		echo "installed '$hook'"
	fi
	git -C "$repo" config receive.fsckObjects true
	git -C "$repo" config core.logAllRefUpdates true
	echo "'$repo' is guarded: every push is judged by git box"
done
exit $status
