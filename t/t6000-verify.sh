#!/bin/sh

test_description='git box verify: a sealed, signed and stamped box checks out in a clone without git box installed'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)

# Run verify in the auditor's clone with the auditor's trust roots.
audit () {
	git -C audit box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$PWD/signers.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" "$@"
}

test_expect_success 'setup: a box that needs alice and bob on the seal, and a stamped seal' '
	tsa_start tsa &&
	box_gpg_import alice bob &&
	box_init_stamped box 2 $ALICE $BOB &&
	(
		cd box &&
		box_commit analysis analysis.R &&
		git box checkpoint -m "interim" >/dev/null &&
		mkdir -p output &&
		box_commit result output/result.txt "42" &&
		git box seal -m final >/dev/null
	) &&
	git clone -q box cosign &&
	git -C cosign fetch -q origin refs/notes/box:refs/notes/box &&
	git -C cosign config user.signingKey $BOB &&
	(cd cosign && git box sign >/dev/null) &&
	git -C cosign push -q origin refs/notes/box:refs/notes/box &&
	gpg --batch --export --armor $ALICE $BOB >signers.asc
'

test_expect_success 'setup: the auditor clones and fetches the notes and tags; no git box there' '
	git clone -q box audit &&
	git -C audit fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	test_path_is_missing audit/.git/hooks/pre-commit &&
	test_must_fail git -C audit config filter.box.process &&
	git -C audit for-each-ref --format="%(refname)" refs/tags/box/ >tags &&
	echo refs/tags/box/seal-1 >expect &&
	test_cmp expect tags
'

test_expect_success 'verify with the auditor roots exits 0 and says verified, COMPLETED' '
	audit >out 2>err &&
	test_must_be_empty err &&
	tail -n 1 out >summary &&
	grep "^verified: box [0-9a-f]\{12\} (study), COMPLETED at $(git -C box rev-parse --short=12 main): [0-9]* checks, 0 failed, 0 warnings$" summary &&
	! grep "^FAIL\|^warn" out
'

test_expect_success 'verify prints one line per check, each ok, git style' '
	grep "^ok   repository: a complete history" out &&
	grep "^ok   trust: signers trusted as given (--trust-signer, --keyring): $ALICE, $BOB$" out &&
	grep "^ok   trust: TSA trust anchors as given (--tsa-ca)$" out &&
	grep "^ok   chain: 3 events from init on [0-9a-f]* to seal on [0-9a-f]*, each naming" out &&
	grep "^ok   lifecycle: init, then imports, then the work, in order" out &&
	grep "^ok   frozen: [0-9a-f]*: no commit after the freeze changes an input or the policy (3 commits judged)$" out &&
	grep "^ok   rules: " out &&
	test $(grep -c "^ok   payload: " out) = 3 &&
	grep "^ok   payload: init [0-9a-f]*: 5 files (2 inputs, 0 outputs, 3 code) and the policy hash as the manifest says (5 blobs read)$" out &&
	grep "^ok   payload: seal [0-9a-f]*: 7 files (2 inputs, 1 output, 4 code) .* (1 blob read)$" out &&
	grep "^ok   signature: checkpoint [0-9a-f]*: Alice Analyst .* $ALICE as author, .*: good$" out &&
	grep "^ok   signature: seal [0-9a-f]*: Bob Analyst .* $BOB as reviewer, .*: good$" out &&
	grep "^ok   quorum: seal [0-9a-f]*: 2 distinct trusted signers of the 2 the policy requires$" out &&
	grep "^ok   timestamp: seal [0-9a-f]*: .box/seal-1.: genTime [0-9TZ:-]*, signed by CN=git box test TSA, O=git box tests, over this payload, chained to a trusted TSA$" out &&
	grep "^ok   seal: seal [0-9a-f]*: sealed (payload sha256 [0-9a-f]\{64\}); nothing follows it on refs/heads/main$" out
'

test_expect_success 'verify --quiet prints only the summary when all holds' '
	audit --quiet >out &&
	test $(wc -l <out) = 1 &&
	grep "^verified: " out
'

test_expect_success 'given TSA anchors only, verify says the repository vouched for its signers' '
	git -C audit box verify --tsa-ca "$TSA_FIXTURES/ca.pem" >out 2>err &&
	grep "^warn trust: [0-9a-f]*: no trusted signers given: the repository vouched for itself (the signers of its policy at init: $ALICE, $BOB; their keys from your keyring)" out &&
	grep "^verified: .*, 0 failed, 1 warning$" out
'

test_expect_success 'given signers only, verify says the repository vouched for its TSA anchors' '
	git -C audit box verify --trust-signer $ALICE --trust-signer $BOB --keyring "$PWD/signers.asc" >out 2>err &&
	grep "^warn trust: [0-9a-f]*: .\.box/tsa-ca\.pem.: no TSA trust anchors given: the repository vouched for itself" out &&
	grep "^verified: .*, 0 failed, 1 warning$" out
'

test_expect_success 'a self-check uses the box.s own roots, says so, and never says verified' '
	git -C audit box verify --self-check >out 2>err &&
	test_must_be_empty err &&
	grep "^ok   trust: [0-9a-f]*: self-check: the signers of the box.s own policy at init ($ALICE, $BOB), their keys from your keyring$" out &&
	grep "^ok   trust: [0-9a-f]*: .\.box/tsa-ca\.pem.: self-check: the TSA trust anchors of the box.s own policy" out &&
	grep "^consistent (self-check): box [0-9a-f]* (study), COMPLETED at [0-9a-f]*: [0-9]* checks, 0 failed, 0 warnings$" out &&
	! grep "^verified" out
'

test_expect_success 'in a self-check, a signer whose key is missing fails with a hint' '
	mkdir -p empty-gnupg && chmod 700 empty-gnupg &&
	GNUPGHOME=$PWD/empty-gnupg test_expect_code 1 git -C audit box verify --self-check >out &&
	grep "^warn trust: no public key for the trusted signer $ALICE: import it (gpg --import) or give --keyring FILE$" out &&
	grep "^FAIL signature: seal [0-9a-f]*: by the trusted signer $ALICE, whose public key is missing: import it" out &&
	grep "^FAIL quorum: seal [0-9a-f]*: 0 distinct trusted signers of the 2" out
'

test_expect_success '--expect-seal with the seal payload hash verifies' '
	seal=$(git -C box notes --ref=box show main | sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" | sha256sum | cut -d" " -f1) &&
	audit --expect-seal $seal >out &&
	grep "^ok   seal: seal [0-9a-f]*: the seal is the one expected (--expect-seal)$" out &&
	grep "sealed (payload sha256 $seal)" out
'

test_expect_success 'verify --json holds the documented report' '
	audit --json >report.json &&
	jq -e ".schema == \"git-box/verify/v1\"" report.json &&
	jq -e ".box == \"$(git -C box rev-list --max-parents=0 main)\"" report.json &&
	jq -e ".commit == \"$(git -C box rev-parse main)\" and .state == \"COMPLETED\"" report.json &&
	jq -e ".trust.source == \"given\" and .trust.signers == [\"$ALICE\", \"$BOB\"]" report.json &&
	jq -e ".failures == 0 and .warnings == 0 and .verdict == \"verified\"" report.json &&
	jq -e "[.checks[] | keys] | unique == [[\"check\", \"commit\", \"detail\", \"event\", \"path\", \"status\"]]" report.json &&
	jq -e "[.checks[].status] | unique == [\"ok\"]" report.json &&
	jq -e ".checks[] | select(.check == \"quorum\") | .event == \"seal\"" report.json
'

test_expect_success 'the JSON report is the same bytes on every run (no clock time)' '
	sleep 1 &&
	audit --json >again.json &&
	test_cmp report.json again.json
'

test_expect_success 'verify of an earlier commit: IN_PROGRESS, and the missing seal pin is a warning' '
	checkpoint=$(git -C box rev-parse main~1) &&
	audit $checkpoint >out &&
	grep "^warn seal: the box is not sealed; a host that took a seal away" out &&
	grep "^warn timestamp: seal [0-9a-f]*: .box/seal-1. points outside the history verified: not checked$" out &&
	grep "^verified: box [0-9a-f]* (study), IN_PROGRESS at $(git -C box rev-parse --short=12 $checkpoint): " out
'

test_expect_success 'verify works in a bare clone' '
	git clone -q --bare box bare.git &&
	git -C bare.git fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git -C bare.git box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$PWD/signers.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^verified: .* COMPLETED" out
'

test_expect_success 'verify writes nothing: no ref, no cache, and its private keyring is gone' '
	mkdir tmp &&
	git -C audit for-each-ref >refs-before &&
	TMPDIR=$PWD/tmp audit >/dev/null &&
	git -C audit for-each-ref >refs-after &&
	test_cmp refs-before refs-after &&
	test_path_is_missing audit/.git/box &&
	ls -A tmp >left &&
	test_must_be_empty left
'

test_expect_success 'stock gpg checks the signatures git box show prints' '
	git -C audit box show --payload main >payload &&
	git -C audit box show --signatures main >sigs.asc &&
	gpg --verify sigs.asc payload 2>gpg.out &&
	test $(grep -c "Good signature" gpg.out) = 2
'

test_expect_success 'stock openssl ts -verify accepts the seal timestamp' '
	(cd audit && tsa_cut box/seal-1 ../seal.tsr ../seal.json) &&
	test_cmp payload seal.json &&
	openssl ts -verify -data seal.json -in seal.tsr -CAfile "$TSA_FIXTURES/ca.pem" >out 2>&1 &&
	grep "^Verification: OK$" out
'

test_expect_success 'a SIGTERM while signatures are checked: the private GnuPG home goes, then verify dies of it' '
	mkdir sigtmp &&
	box_slow_gpg slow &&
	(
		HOME=$PWD/slow/home TMPDIR=$PWD/sigtmp && export HOME TMPDIR &&
		exec git-box -C audit verify --trust-signer $ALICE --keyring "$PWD/signers.asc" >out 2>err
	) &
	pid=$! &&
	box_wait_for slow/started &&
	ls -A sigtmp >during &&
	test -s during &&
	test "$(stat -c %a sigtmp/git-box-verify.*)" = 700 &&
	kill -TERM $pid &&
	test_expect_code 143 wait $pid &&
	ls -A sigtmp >left &&
	test_must_be_empty left
'

# valgrind itself cannot start without a temporary folder
test_expect_success !VALGRIND 'without a usable temporary folder verify exits 2 and says so' '
	test_expect_code 2 env TMPDIR="$PWD/no-such-folder" git -C audit box verify \
		--trust-signer $ALICE --keyring "$PWD/signers.asc" >out 2>err &&
	test_must_be_empty out &&
	grep "^error: cannot make a private GnuPG home: cannot make a temporary folder .*/no-such-folder/git-box-verify\.[A-Za-z0-9]*.: No such file or directory$" err
'

test_expect_success 'verify -h prints the usage; a stray argument exits 2' '
	git box verify -h >out &&
	grep "^usage: git box verify \[--json\] \[--quiet\]" out &&
	test_expect_code 2 git -C audit box verify main extra 2>err &&
	grep "unexpected argument .extra." err
'

test_expect_success 'outside a box verify exits 2' '
	git init -q plain &&
	(cd plain && box_commit one) &&
	test_expect_code 2 git -C plain box verify --self-check 2>err &&
	grep "is not a git box" err
'

test_done
