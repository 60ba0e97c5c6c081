#!/bin/sh
# An auditor's CI job: clone a box, fetch its evidence, and verify it
# against trust roots the auditor keeps, never the repository's own.
# The roots are the floor (git-box-verify(1)): a sealed box must carry a
# good signature by one of BOX_SIGNERS and, given BOX_TSA_CA, a valid
# timestamp, whatever its own policy asks.
#
#   verify-box.sh <url> [<rev>]
#
# Settings (environment), all but BOX_SIGNERS optional:
#   BOX_SIGNERS      the full fingerprints to trust, separated by spaces
#   BOX_KEYRING      the signers' public keys (armored or binary); default
#                    signers.asc next to this script's caller
#   BOX_TSA_CA       the TSA trust anchors (PEM); then the seal must be
#                    timestamped. When unset, the timestamps the box's
#                    policy wants are checked against the box's own
#                    anchors, and the report warns that it vouched for
#                    itself
#   BOX_ALLOW_UNSIGNED=1   accept a seal with no signature by BOX_SIGNERS
#                    when its policy signs nothing (a warning in the report)
#   BOX_ALLOW_UNSTAMPED=1  accept a seal with no timestamp when its policy
#                    wants none (a warning in the report)
#   BOX_EXPECT_SEAL  the SHA-256 of the seal's payload, as handed over
#   BOX_REPORT       where to write the JSON report (default verify.json)
#   BOX_WORKDIR      where to clone (default: a new temporary folder)
#
# Exit: 0 verified, 1 verification failed, 2 could not run; the report is
# written in every case where verify ran. "verified" is said only when
# verify exited 0 and its report's verdict is "verified".
set -eu

if test $# -lt 1 || test $# -gt 2 || test "$1" = -h; then
	echo >&2 "usage: verify-box.sh <url> [<rev>]"
	exit 2
fi
url=$1
rev=${2:-}
# The URL as messages show it: CI URLs carry a token ("https://user:token@host/").
shown=$(printf '%s\n' "$url" | sed 's|^\([A-Za-z][A-Za-z0-9+.-]*://\)[^/@]*@|\1|')
: "${BOX_SIGNERS:?set BOX_SIGNERS to the full fingerprints you trust}"
keyring=${BOX_KEYRING:-signers.asc}
report=${BOX_REPORT:-verify.json}
case $report in /*) ;; *) report="$PWD/$report" ;; esac
case $keyring in /*) ;; *) keyring="$PWD/$keyring" ;; esac
tsa_ca=${BOX_TSA_CA:-}
case $tsa_ca in ''|/*) ;; *) tsa_ca="$PWD/$tsa_ca" ;; esac

test -r "$keyring" || { echo >&2 "error: cannot read the keyring '$keyring' (BOX_KEYRING)"; exit 2; }
command -v git-box >/dev/null || { echo >&2 "error: git-box is not on PATH"; exit 2; }

work=${BOX_WORKDIR:-}
if test -z "$work"; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/verify-box.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi

# A bare mirror: no work tree, no checkout, so nothing of the repository
# (attributes, filters, hooks) runs on this machine.
# Glob refspecs: a host without notes is for verify to report, with its hint.
GIT_TERMINAL_PROMPT=0 git clone -q --bare --no-local "$url" "$work/box.git" ||
	{ echo >&2 "error: cannot clone $shown"; exit 2; }
git -C "$work/box.git" fetch -q origin \
	'refs/notes/*:refs/notes/*' 'refs/tags/box/*:refs/tags/box/*' ||
	{ echo >&2 "error: cannot fetch the notes and box/* tags of $shown"; exit 2; }

set -- --json --keyring "$keyring"
for fpr in $BOX_SIGNERS; do
	set -- "$@" --trust-signer "$fpr"
done
test -z "$tsa_ca" || set -- "$@" --tsa-ca "$tsa_ca"
test "${BOX_ALLOW_UNSIGNED:-}" != 1 || set -- "$@" --allow-unsigned
test "${BOX_ALLOW_UNSTAMPED:-}" != 1 || set -- "$@" --allow-unstamped
test -z "${BOX_EXPECT_SEAL:-}" || set -- "$@" --expect-seal "$BOX_EXPECT_SEAL"
test -z "$rev" || set -- "$@" "$rev"

status=0
git -C "$work/box.git" box verify "$@" >"$report" || status=$?
if test $status = 0 && ! grep -q '^  "verdict": "verified",\{0,1\}$' "$report"; then
	echo >&2 "error: verify exited 0, but its report does not say verified (report in $report)"
	exit 1
fi
case $status in
0) echo "verified: $shown (report in $report)" ;;
1) echo >&2 "FAILED: $shown does not verify (report in $report)" ;;
*) echo >&2 "error: could not verify $shown (exit $status)" ;;
esac
exit $status
