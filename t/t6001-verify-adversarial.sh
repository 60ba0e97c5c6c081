#!/bin/sh

test_description='git box verify catches every tampering a host or an analyst with hooks off can do'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
CAROL=$(box_fpr carol)
BEGIN_SIG='^-----BEGIN PGP SIGNATURE-----$'

# A clone of the sealed box (or of $2) with its notes and tags, as a host serves it.
fresh () {
	git clone -q "${2:-box}" "$1" &&
	git -C "$1" fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*"
}

# verify in clone $1 with the auditor's roots; more options after it.
v () {
	v_dir=$1 && shift &&
	git -C "$v_dir" box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$SHARNESS_TRASH_DIRECTORY/signers.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" "$@"
}

# A self-check in clone $1: the open box signs and stamps nothing, and
# its tests are about the history agreeing with itself.
self_check () {
	sc_dir=$1 && shift &&
	git -C "$sc_dir" box verify --self-check "$@"
}

# The payload of the note on REV (in the current folder).
payload_of () {
	git notes --ref=box show "$1" | sed "/$BEGIN_SIG/,\$d"
}

# The Nth armored signature of the note on REV: sig_block REV N
sig_block () {
	git notes --ref=box show "$1" |
	awk -v n="$2" '/^-----BEGIN PGP SIGNATURE-----$/ { k++ } k == n { print } /^-----END PGP SIGNATURE-----$/ && k == n { exit }'
}

# Replace the note on REV with FILE, as someone with write access and no hooks.
put_note () {
	git notes --ref=box add -f -F "$2" "$1"
}

test_expect_success 'setup: a sealed box (alice and bob, quorum 2, stamped seal) and an open one' '
	tsa_start tsa &&
	box_gpg_import alice bob carol &&
	box_init_stamped box 2 $ALICE $BOB &&
	(
		cd box &&
		box_commit analysis analysis.R &&
		git box checkpoint -m "interim" >/dev/null &&
		mkdir -p output &&
		box_commit result output/result.txt "42" &&
		git box seal -m final >/dev/null &&
		git config user.signingKey $BOB &&
		git box sign >/dev/null
	) &&
	gpg --batch --export --armor $ALICE $BOB >signers.asc &&
	cat >open.yaml <<-EOF &&
	version: 1
	name: open
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none, signers: [], quorum: 0}
	rules: {forbid_paths: ["**/*.key"]}
	environment: {capture: []}
	EOF
	box_init_policy open open.yaml &&
	(cd open && box_commit analysis analysis.R && git box checkpoint >/dev/null) &&
	fresh base &&
	v base >out &&
	grep "^verified: .*COMPLETED" out &&
	fresh openbase open &&
	self_check openbase >out &&
	grep "^consistent (self-check): .*IN_PROGRESS" out
'

test_expect_success 'an input edited through a rewritten history, notes copied over, fails' '
	fresh rewrite &&
	(
		cd rewrite &&
		git rev-list --reverse main >old &&
		FILTER_BRANCH_SQUELCH_WARNING=1 git filter-branch -f --tree-filter \
			"chmod -R u+w input; printf \"id,value\n1,11\n2,20\n\" >input/data.csv" main >/dev/null 2>&1 &&
		git rev-list --reverse main >new &&
		paste -d" " old new | while read o n
		do
			git notes --ref=box copy -f "$o" "$n" 2>/dev/null || :
		done
	) &&
	test_expect_code 1 v rewrite >out &&
	grep "^FAIL chain: .*: the manifest is about commit [0-9a-f]*, not this one$" out &&
	grep "^FAIL chain: .*: the manifest belongs to box [0-9a-f]*, not to this box$" out &&
	grep "^FAIL payload: init [0-9a-f]*: .input/data.csv.: the manifest says sha256 [0-9a-f]*, the commit.s blob hashes to [0-9a-f]*" out &&
	grep "^FAILED: " out
'

test_expect_success 'a result edited in the sealed commit, the seal note moved along, fails' '
	fresh amend &&
	(
		cd amend &&
		seal=$(git rev-parse main) &&
		echo 43 >output/result.txt &&
		box_nohooks commit -q -a --amend --no-edit &&
		git notes --ref=box copy $seal main
	) &&
	test_expect_code 1 v amend >out &&
	grep "^FAIL payload: seal [0-9a-f]*: .output/result.txt.: the manifest says sha256" out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1. points at a commit that is not an event of the box$" out
'

test_expect_success 'an edited payload breaks every signature and the timestamp' '
	fresh edited &&
	(
		cd edited &&
		git notes --ref=box show main >orig &&
		sed "s/\"message\": \"final\"/\"message\": \"FINAL\"/" orig >note &&
		! cmp -s orig note &&
		put_note main note
	) &&
	test_expect_code 1 v edited >out &&
	test $(grep -c "^FAIL signature: seal [0-9a-f]*: .*: BAD: BAD signature: the payload is not what was signed$" out) = 2 &&
	grep "^FAIL quorum: seal [0-9a-f]*: 0 distinct trusted signers of the 2" out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1. names payload sha256 [0-9a-f]*, but the manifest on this commit has" out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: the policy wants the seal event timestamped, but no valid timestamp tag stamps it$" out
'

test_expect_success 'a note moved to another commit fails the chain' '
	fresh moved &&
	(
		cd moved &&
		git notes --ref=box copy main~2 main~1 &&
		git notes --ref=box remove main~2 2>/dev/null
	) &&
	test_expect_code 1 v moved >out &&
	grep "^FAIL chain: $(git -C box rev-parse --short=12 main~1): the manifest is about commit $(git -C box rev-parse --short=12 main~2), not this one$" out
'

test_expect_success 'a note that holds two payloads is not a manifest' '
	fresh twice &&
	(
		cd twice &&
		payload_of main >p &&
		{ cat p p && git notes --ref=box show main | sed -n "/$BEGIN_SIG/,\$p"; } >note &&
		put_note main note
	) &&
	test_expect_code 1 v twice >out &&
	grep "^FAIL chain: [0-9a-f]*: not a manifest: " out &&
	grep "^FAIL payload: [0-9a-f]*: not a manifest: " out
'

test_expect_success 'a second payload hidden after the signatures is refused' '
	fresh hidden &&
	(
		cd hidden &&
		{ git notes --ref=box show main && payload_of main~2; } >note &&
		put_note main note
	) &&
	test_expect_code 1 v hidden >out &&
	grep "^FAIL signature: seal [0-9a-f]*: the signatures cannot be read: " out
'

test_expect_success 'a missing event note breaks the chain (a gap)' '
	fresh gap &&
	git -C gap notes --ref=box remove main~2 2>/dev/null &&
	test_expect_code 1 v gap >out &&
	grep "^FAIL chain: [0-9a-f]*: the chain is broken: .previous. does not match the payload of the event before it" out
'

test_expect_success 'a commit after the seal fails' '
	fresh after &&
	(cd after && box_commit more more.R) &&
	test_expect_code 1 v after >out &&
	grep "^FAIL chain: [0-9a-f]*: the box was sealed here, yet history goes on after it$" out &&
	grep "^FAIL seal: seal [0-9a-f]*: the box branch refs/heads/main does not end at the seal" out
'

test_expect_success 'a seal commit whose note was deleted fails the lifecycle' '
	fresh nosealnote &&
	git -C nosealnote notes --ref=box remove main 2>/dev/null &&
	test_expect_code 1 v nosealnote >out &&
	grep "^FAIL lifecycle: seal [0-9a-f]*: the commit says it is the box.s seal, but refs/notes/box has no manifest on it$" out
'

test_expect_success 'an input changed after the freeze fails, naming the path' '
	fresh input open &&
	(cd input && chmod -R u+w input && echo "3,30" >>input/data.csv && box_nohooks commit -q -a -m "more data") &&
	test_expect_code 1 self_check input >out &&
	grep "^FAIL frozen: [0-9a-f]*: .input/data.csv.: read-only input: modified after the inputs were frozen$" out
'

test_expect_success 'the policy changed after the freeze fails' '
	fresh policy open &&
	(cd policy && chmod u+w .box .box/policy.yaml && sed -i "s/forbid_paths.*/forbid_paths: []}/" .box/policy.yaml &&
	 box_nohooks commit -q -a -m "relax") &&
	test_expect_code 1 self_check policy >out &&
	grep "^FAIL frozen: [0-9a-f]*: .\.box/policy\.yaml.: read-only policy: modified after the inputs were frozen$" out
'

test_expect_success 'a policy broken after the freeze fails as a change, not as could-not-run' '
	fresh brokenpolicy open &&
	(cd brokenpolicy && chmod u+w .box .box/policy.yaml && echo "bogus: [" >>.box/policy.yaml &&
	 box_nohooks commit -q -a -m "break the policy") &&
	test_expect_code 1 self_check brokenpolicy >out 2>err &&
	test_must_be_empty err &&
	grep "^FAIL frozen: [0-9a-f]*: .\.box/policy\.yaml.: read-only policy: modified after the inputs were frozen$" out &&
	grep "^FAILED (self-check): " out
'

test_expect_success 'a commit that breaks a policy rule is a warning, not a failure' '
	fresh rule open &&
	(cd rule && box_commit secret secret.key && box_nohooks commit -q --allow-empty -m x) &&
	self_check rule >out &&
	grep "^warn rules: [0-9a-f]*: .secret.key.: forbid_paths: " out
'

test_expect_success 'a good signature by a key outside the trust roots is reported, never counted' '
	fresh carol &&
	(
		cd carol &&
		payload_of main >p &&
		gpg --batch --yes --digest-algo SHA256 -u $CAROL --armor --detach-sign -o carol.asc p &&
		{ git notes --ref=box show main && cat carol.asc; } >note &&
		put_note main note
	) &&
	gpg --batch --export --armor $ALICE $BOB $CAROL >all.asc &&
	git -C carol box verify --trust-signer $ALICE --trust-signer $BOB --keyring "$PWD/all.asc" \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^warn signature: seal [0-9a-f]*: Carol .* $CAROL as (no role), .*: good, but the key is not among the trust roots: not counted$" out &&
	grep "^ok   quorum: seal [0-9a-f]*: 2 distinct trusted signers of the 2" out &&
	v carol >out &&
	grep "^warn signature: seal [0-9a-f]*: by an unknown key [0-9A-F]*, not among the trust roots: not counted$" out
'

test_expect_success 'an untrusted signature does not make up a quorum' '
	fresh short &&
	(
		cd short &&
		payload_of main >p &&
		sig_block main 1 >alice.asc &&
		gpg --batch --yes --digest-algo SHA256 -u $CAROL --armor --detach-sign -o carol.asc p &&
		cat p alice.asc carol.asc >note &&
		put_note main note
	) &&
	gpg --batch --export --armor $ALICE $BOB $CAROL >all.asc &&
	test_expect_code 1 git -C short box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$PWD/all.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^FAIL quorum: seal [0-9a-f]*: 1 distinct trusted signer of the 2 the policy requires; not signed by: $BOB$" out
'

test_expect_success 'a key that expired before it signed fails; one that expired after is fine' '
	box_gpg_home exp alice &&
	GNUPGHOME=$PWD/exp gpg --batch --quiet --faked-system-time $((1795361424 + 3600)) \
		--pinentry-mode loopback --passphrase "" --quick-set-expire $ALICE 1d 2>/dev/null &&
	{ GNUPGHOME=$PWD/exp gpg --batch --export --armor $ALICE && gpg --batch --export --armor $BOB; } >expired.asc &&
	test_expect_code 1 git -C base box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$PWD/expired.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: made after the key $ALICE expired$" out &&
	box_gpg_home later alice &&
	(GNUPGHOME=$PWD/later && box_gpg_expire $ALICE) &&
	{ GNUPGHOME=$PWD/later gpg --batch --export --armor $ALICE && gpg --batch --export --armor $BOB; } >later.asc &&
	git -C base box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$PWD/later.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^verified: " out
'

test_expect_success 'a revoked key fails' '
	box_gpg_home rev alice &&
	(GNUPGHOME=$PWD/rev && box_gpg_revoke $ALICE) &&
	{ GNUPGHOME=$PWD/rev gpg --batch --export --armor $ALICE && gpg --batch --export --armor $BOB; } >revoked.asc &&
	test_expect_code 1 git -C base box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$PWD/revoked.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: .*revoked" out
'

test_expect_success 'a signature made with SHA-1 fails' '
	fresh sha1 &&
	(
		cd sha1 &&
		payload_of main >p &&
		gpg --batch --yes --digest-algo SHA1 -u $ALICE --armor --detach-sign -o weak.asc p &&
		sig_block main 2 >bob.asc &&
		cat p weak.asc bob.asc >note &&
		put_note main note
	) &&
	test_expect_code 1 v sha1 >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: made with the hash SHA1; only SHA256, SHA384 and SHA512 are accepted$" out
'

# Rewrite tag box/seal-1's message with sed expression $2 in clone $1.
retag () {
	git -C "$1" cat-file tag box/seal-1 | sed "1,/^\$/d" | sed "$2" >"$1.msg" &&
	git -C "$1" tag -f -a -F "$SHARNESS_TRASH_DIRECTORY/$1.msg" box/seal-1 "${3:-box/seal-1^{commit\}}" >/dev/null
}

test_expect_success 'a timestamp tag whose message was edited fails' '
	fresh tagedit &&
	retag tagedit "s/^Gen-Time: 20/Gen-Time: 19/" &&
	test_expect_code 1 v tagedit >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1. says Gen-Time 19.*, but its token says 20" out
'

test_expect_success 'a timestamp tag moved to another commit fails' '
	fresh tagmoved &&
	retag tagmoved "" main~2 &&
	test_expect_code 1 v tagmoved >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1. stamps the seal event, but the manifest on this commit records checkpoint$" out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: the policy wants the seal event timestamped, but no valid timestamp tag stamps it$" out
'

test_expect_success 'a timestamp tag under another name fails' '
	fresh tagname &&
	(
		cd tagname &&
		git cat-file tag box/seal-1 | sed "1,/^\$/d" >msg &&
		git tag -a -F msg box/checkpoint-1 main &&
		git tag -d box/seal-1 >/dev/null &&
		git tag box/seal-2 main
	) &&
	test_expect_code 1 v tagname >out &&
	grep "^FAIL timestamp: checkpoint [0-9a-f]*: .box/checkpoint-1. is named for the checkpoint event, but says it stamps the seal event$" out &&
	grep "^FAIL timestamp: seal: .box/seal-2. is not an annotated tag$" out
'

test_expect_success 'a timestamp from a TSA the auditor does not trust fails' '
	"$BOX_SOURCE_DIR/contrib/tsa-server/make-test-ca.sh" other "other test" >/dev/null 2>&1 &&
	test_expect_code 1 git -C base box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$PWD/signers.asc" --tsa-ca "$PWD/other/ca.pem" >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1.: chain: " out
'

test_expect_success 'a missing timestamp the policy wants fails, saying how to fetch it' '
	fresh notag &&
	git -C notag tag -d box/seal-1 >/dev/null &&
	test_expect_code 1 v notag >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: the policy wants the seal event timestamped, but no valid timestamp tag stamps it (no box/ tags here: fetch them: git fetch origin refs/notes/box:refs/notes/box .refs/tags/box/\*:refs/tags/box/\*.)$" out
'

test_expect_success 'setup: an open box with a commit that changes an input' '
	fresh sneaky open &&
	(
		cd sneaky &&
		box_commit work work.R &&
		chmod -R u+w input && echo "3,30" >>input/data.csv &&
		box_nohooks commit -q -a -m "more data" &&
		box_commit later later.R
	)
'

test_expect_success 'a replace ref that hides the change does not fool verify' '
	fresh replaced sneaky &&
	(
		cd replaced &&
		bad=$(git rev-parse main~1) &&
		clean=$(git commit-tree -p main~2 -m "more data" main~2^{tree}) &&
		git replace $bad $clean &&
		git diff --stat main~2 main~1 >diff &&
		! grep input diff
	) &&
	test_expect_code 1 self_check replaced >out &&
	grep "^warn repository: 1 replace ref (refs/replace/) ignored: verify reads the objects as stored$" out &&
	grep "^FAIL frozen: [0-9a-f]*: .input/data.csv.: read-only input" out
'

test_expect_success 'a replace ref over an input blob does not change what verify hashes' '
	fresh blobrep &&
	(
		cd blobrep &&
		other=$(echo "forged" | git hash-object -w --stdin) &&
		git replace $(git rev-parse main:input/data.csv) $other &&
		git show main:input/data.csv >shown &&
		grep forged shown
	) &&
	v blobrep >out &&
	grep "^warn repository: 1 replace ref" out &&
	grep "^verified: " out
'

test_expect_success 'grafts that hide the change do not fool verify' '
	fresh grafted sneaky &&
	(
		cd grafted &&
		echo "$(git rev-parse main) $(git rev-parse main~2)" >.git/info/grafts &&
		git log --format=%s main >log 2>/dev/null &&
		! grep "more data" log
	) &&
	test_expect_code 1 self_check grafted >out &&
	grep "^warn repository: info/grafts ignored" out &&
	grep "^FAIL frozen: [0-9a-f]*: .input/data.csv.: read-only input" out
'

test_expect_success 'a shallow clone is refused with exit 2' '
	git clone -q --depth 1 "file://$PWD/box" shallow &&
	git -C shallow fetch -q origin refs/notes/box:refs/notes/box &&
	test_expect_code 2 v shallow 2>err &&
	grep "^error: a shallow clone cannot be verified" err &&
	grep "^hint: fetch the whole history first: git fetch --unshallow$" err
'

test_expect_success 'a clone that borrows objects is refused with exit 2' '
	git clone -q --shared box shared &&
	test_expect_code 2 v shared 2>err &&
	grep "^error: the repository borrows objects" err &&
	GIT_ALTERNATE_OBJECT_DIRECTORIES=$PWD/box/.git/objects test_expect_code 2 v base 2>err &&
	grep "^error: GIT_ALTERNATE_OBJECT_DIRECTORIES is set" err
'

test_expect_success 'without refs/notes/box verify exits 2 and says how to fetch it' '
	git clone -q box nonotes &&
	test_expect_code 2 v nonotes >out 2>err &&
	test_must_be_empty out &&
	grep "^error: no manifests: there is no refs/notes/box in this repository$" err &&
	grep "^hint: fetch them: git fetch origin refs/notes/box:refs/notes/box .refs/tags/box/\*:refs/tags/box/\*.$" err
'

test_expect_success 'a history rewritten under its notes fails: none of them is on it' '
	fresh rewritten &&
	(
		cd rewritten &&
		git -c core.hooksPath=/dev/null filter-branch -f --tree-filter \
			"chmod u+w input/data.csv; echo forged >>input/data.csv" -- main >/dev/null 2>&1
	) &&
	test "$(git -C rewritten rev-parse main)" != "$(git -C box rev-parse main)" &&
	test_expect_code 1 v rewritten >out 2>err &&
	test_must_be_empty err &&
	grep "^FAIL chain: [0-9a-f]\{12\}: none of the [0-9]* notes of refs/notes/box is on the box.s history up to [0-9a-f]\{12\}: the history was rewritten" out &&
	grep "^FAILED: " out &&
	test_expect_code 1 v rewritten --json >out.json &&
	grep "\"verdict\": \"failed\"" out.json &&
	grep "\"state\": null" out.json
'

test_expect_success 'a seal taken away by the host: a warning without --expect-seal, a failure with it' '
	seal=$(git -C box notes --ref=box show main | sed "/$BEGIN_SIG/,\$d" | sha256sum | cut -d" " -f1) &&
	fresh unsealed &&
	(
		cd unsealed &&
		git notes --ref=box remove main 2>/dev/null &&
		git tag -d box/seal-1 >/dev/null &&
		git reset -q --hard main~1
	) &&
	v unsealed >out &&
	grep "^warn seal: the box is not sealed; a host that took a seal away" out &&
	grep "^verified: .*IN_PROGRESS" out &&
	test_expect_code 1 v unsealed --expect-seal $seal >out &&
	grep "^FAIL seal: a seal with payload sha256 $seal was expected, but the box has no seal$" out
'

test_expect_success '--expect-seal with another hash fails; a malformed one exits 2' '
	test_expect_code 1 v base --expect-seal $(echo other | sha256sum | cut -d" " -f1) >out &&
	grep "^FAIL seal: seal [0-9a-f]*: the seal.s payload has sha256 [0-9a-f]*, not the [0-9a-f]* expected$" out &&
	test_expect_code 2 v base --expect-seal 1234 2>err &&
	grep "^error: --expect-seal .1234. is not a SHA-256" err
'

test_expect_success '--trust-signer needs a full fingerprint' '
	test_expect_code 2 git -C base box verify --trust-signer 38558CE55AAEAA26 2>err &&
	grep "^error: --trust-signer .38558CE55AAEAA26. is not a full primary key fingerprint" err
'

test_expect_success 'the JSON report of a failed verify names each failure' '
	test_expect_code 1 v amend --json >report.json &&
	jq -e ".verdict == \"failed\" and .failures > 0" report.json &&
	jq -e "[.checks[] | select(.status == \"fail\")] | length == $(jq .failures report.json)" report.json &&
	jq -e ".checks[] | select(.check == \"payload\" and .status == \"fail\" and .path == \"output/result.txt\") | .event == \"seal\" and (.commit | length) == 40" report.json
'

test_expect_success '--quiet prints the failures and the summary only' '
	test_expect_code 1 v amend --quiet >out &&
	! grep -v "^FAIL \|^FAILED: " out &&
	grep "^FAILED: " out
'

test_expect_success 'a timestamp whose genTime precedes its commit beyond the skew fails' '
	cat >late.yaml <<-EOF &&
	version: 1
	name: late
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none, signers: [], quorum: 0}
	timestamp: {when: seal, tsa: ["$(cat tsa.url)"], ca: .box/tsa-ca.pem}
	environment: {capture: []}
	EOF
	box_sample_data late.src &&
	git box init late --policy late.yaml --tsa-ca "$TSA_FIXTURES/ca.pem" \
		--from late.src/data.csv --from late.src/sub >/dev/null &&
	(
		cd late &&
		box_commit analysis analysis.R &&
		# the seal commit claims to be a day from now: no TSA can have stamped it yet
		GIT_COMMITTER_DATE="$(($(date +%s) + 86400)) +0000" &&
		export GIT_COMMITTER_DATE &&
		test_might_fail git box seal -m final >/dev/null 2>&1 &&
		test "$(git log -1 --format="%(trailers:key=Box-Event,valueonly)")" = seal &&
		tsa_no_tags &&
		payload_of main >p &&
		openssl ts -query -data p -sha256 -cert -out req.tsq 2>/dev/null &&
		curl -s -H "Content-Type: application/timestamp-query" --data-binary @req.tsq \
			-o resp.tsr "$(cat ../tsa.url)" &&
		gen=$(openssl ts -reply -in resp.tsr -text 2>/dev/null | sed -n "s/^Time stamp: //p") &&
		{
			printf "RFC 3161 timestamp of the seal event\n\nEvent: seal\n" &&
			printf "Payload-SHA256: %s\n" "$(sha256sum <p | cut -d" " -f1)" &&
			printf "TSA: %s\n" "$(cat ../tsa.url)" &&
			printf "Gen-Time: %s\n" "$(date -u -d "$gen" +%Y-%m-%dT%H:%M:%SZ)" &&
			echo "-----BEGIN RFC3161 TIMESTAMP RESPONSE-----" &&
			openssl base64 -in resp.tsr &&
			echo "-----END RFC3161 TIMESTAMP RESPONSE-----"
		} >msg &&
		box_nohooks tag -a -F msg box/seal-1 main
	) &&
	test_expect_code 1 git -C late box verify --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1.: time: " out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: the policy wants the seal event timestamped" out
'

test_done
