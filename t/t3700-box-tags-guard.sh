#!/bin/sh

test_description='only timestamp tags of this box enter refs/tags/box/

A box tag can never be moved or deleted, so a junk one would make verify
of a good box fail for ever. The server and reference-transaction accept
under refs/tags/box/ only an annotated tag whose name and message parse
as the timestamp tag of an event of this box, whose payload digest is
the manifest'"'"'s and whose RFC 3161 response holds; its note and commit
may come in the same push, and a clone may fetch it before it merges the
commit. Every forgery is made with stock git by someone with no key; a
refused update changes no ref.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

SETUP="$BOX_SOURCE_DIR/contrib/server/setup-box-server.sh"
ALICE=$(box_fpr alice)

push () {
	git -c core.hooksPath=/dev/null push "$@" 2>"$SHARNESS_TRASH_DIRECTORY/push.err"
	rc=$?
	sed "s/ *\$//" "$SHARNESS_TRASH_DIRECTORY/push.err" >&2
	return $rc
}

server_refs () {
	git -C "$SHARNESS_TRASH_DIRECTORY/server.git" for-each-ref --format="%(objectname) %(refname)"
}

# The message of the timestamp tag TAG, edited by the sed expression EXPR
# (none: as it is): message TAG [EXPR]
message () {
	git cat-file tag "$1" | sed "1,/^\$/d" | sed "${2:-}"
}

# forge NAME COMMIT FILE: an annotated tag NAME on COMMIT with the message
# in FILE, made where no hook runs, then pushed alone: exit 1 expected.
forge () {
	git -c core.hooksPath=/dev/null tag -a -F "$3" "$1" "$2" &&
	test_expect_code 1 push origin "refs/tags/$1" 2>"$SHARNESS_TRASH_DIRECTORY/err.$(echo $1 | tr / _)"
}

test_expect_success 'setup: a stamped box at work on a guarded server, a clone with git box installed' '
	tsa_start tsa &&
	box_gpg_import alice &&
	box_init_stamped box 1 $ALICE &&
	gpg --batch --export --armor $ALICE >signers.asc &&
	"$SETUP" --create server.git >/dev/null &&
	(
		cd box &&
		box_commit analysis analysis.R "mean(x)" &&
		git remote add origin ../server.git &&
		git box install >/dev/null &&
		push -q origin
	) &&
	git clone -q server.git audit &&
	(cd audit && git box install >/dev/null && git fetch -q origin)
'

test_expect_success 'a seal, its note and its tag pushed in one push are accepted' '
	(
		cd box &&
		git box seal -m final >/dev/null &&
		git rev-parse --verify -q refs/tags/box/seal-1 &&
		push -q origin main refs/notes/box refs/tags/box/seal-1
	) &&
	for ref in refs/heads/main refs/notes/box refs/tags/box/seal-1
	do
		test "$(git -C server.git rev-parse $ref)" = "$(git -C box rev-parse $ref)" || return 1
	done
'

test_expect_success 'the tag the server took is one stock openssl ts verifies' '
	git -C server.git notes --ref=box show main | sed "/^-----BEGIN PGP SIGNATURE-----\$/,\$d" >payload &&
	git -C server.git cat-file tag box/seal-1 |
		sed -n "/^-----BEGIN RFC3161/,/^-----END RFC3161/p" | sed "1d;\$d" | base64 -d >seal.tsr &&
	openssl ts -verify -data payload -in seal.tsr -CAfile "$TSA_FIXTURES/ca.pem" >ossl.out 2>&1 &&
	grep "^Verification: OK$" ossl.out
'

test_expect_success 'a clone fetches the tag before it merges the seal' '
	(
		cd audit &&
		git rev-parse main >../audit-main &&
		git fetch -q origin &&
		test "$(git rev-parse main)" = "$(cat ../audit-main)" &&
		test "$(git rev-parse "box/seal-1^{commit}")" = "$(git rev-parse origin/main)"
	)
'

test_expect_success 'a tag of another event, pushed later, is accepted; verify holds' '
	(
		cd box &&
		git box timestamp $(git rev-list --max-parents=0 main) >/dev/null &&
		push -q origin refs/tags/box/init-1
	) &&
	git -C server.git rev-parse --verify -q refs/tags/box/init-1 &&
	git clone -q --bare server.git check.git &&
	git -C check.git fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git -C check.git box verify --keyring ../signers.asc --trust-signer $ALICE \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^ok   timestamp: seal [0-9a-f]*: .box/seal-1.: genTime" out &&
	grep "^ok   timestamp: init [0-9a-f]*: .box/init-1.: genTime" out &&
	grep "^verified: " out
'

test_expect_success 'setup: a clone of the server, with no key and no hooks' '
	git clone -q server.git mallory &&
	git -C mallory fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*"
'

test_expect_success 'a junk annotated tag is refused' '
	server_refs >before &&
	(
		cd mallory &&
		echo timestamp >../junk.msg &&
		forge box/seal-2 main ../junk.msg
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/seal-2. is not a timestamp tag: " err.box_seal-2 &&
	grep "^remote: hint: timestamp tags are never moved or deleted, and only .git box timestamp. makes them" err.box_seal-2
'

test_expect_success 'a lightweight tag is refused' '
	server_refs >before &&
	(
		cd mallory &&
		git -c core.hooksPath=/dev/null tag box/seal-3 main &&
		test_expect_code 1 push origin refs/tags/box/seal-3 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/seal-3. is not an annotated tag\$" err
'

test_expect_success 'a tag whose name is no timestamp tag name is refused' '
	server_refs >before &&
	(
		cd mallory &&
		message box/seal-1 >../good.msg &&
		for name in box/seal box/final-1 box/seal-x box/sub/seal-1
		do
			forge $name main ../good.msg || return 1
		done
	) &&
	server_refs >after &&
	test_cmp before after &&
	for name in box/seal box/final-1 box/seal-x box/sub/seal-1
	do
		grep "^remote: error: timestamp tags: .$name. is not a timestamp tag name (box/<event>-<n>)\$" \
			err.$(echo $name | tr / _) || return 1
	done
'

test_expect_success 'a good message on a commit that is not an event is refused' '
	server_refs >before &&
	(
		cd mallory &&
		forge box/seal-4 main~1 ../good.msg
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/seal-4. stamps commit $(git -C box rev-parse --short=12 main~1), which has no manifest in refs/notes/box\$" err.box_seal-4
'

test_expect_success 'a tag on a commit off the box branch is refused' '
	server_refs >before &&
	(
		cd mallory &&
		git -c core.hooksPath=/dev/null switch -q -c side main~1 &&
		box_commit side side.R s &&
		push -q origin side &&
		forge box/seal-5 side ../good.msg
	) &&
	server_refs >after &&
	grep -v "refs/heads/side" after | test_cmp before - &&
	grep "^remote: error: timestamp tags: .box/seal-5. points at commit $(git -C mallory rev-parse --short=12 side), which is not on the box branch.s first-parent line\$" err.box_seal-5
'

test_expect_success 'a tag that names another payload digest is refused' '
	server_refs >before &&
	(
		cd mallory &&
		message box/seal-1 "s/^Payload-SHA256: .*/Payload-SHA256: $(printf %064d 0)/" >../digest.msg &&
		forge box/seal-6 main ../digest.msg
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/seal-6. names payload sha256 $(printf %064d 0), but the manifest on commit $(git -C box rev-parse --short=12 main) has $(sha256sum payload | cut -d" " -f1)\$" err.box_seal-6
'

test_expect_success 'a tag named for one event that stamps another is refused' '
	server_refs >before &&
	(
		cd mallory &&
		forge box/init-2 main ../good.msg
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/init-2. is named for the init event, but says it stamps the seal event\$" err.box_init-2
'

test_expect_success 'a tag whose token stamps another payload is refused' '
	server_refs >before &&
	(
		cd mallory &&
		{
			message box/seal-1 "/^-----BEGIN RFC3161/,\$d" &&
			message box/init-1 | sed -n "/^-----BEGIN RFC3161/,/^-----END RFC3161/p"
		} >../swapped.msg &&
		forge box/seal-7 main ../swapped.msg
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/seal-7.: its timestamp does not hold: imprint: " err.box_seal-7
'

test_expect_success 'a tag whose token was garbled is refused' '
	server_refs >before &&
	(
		cd mallory &&
		message box/seal-1 "/^-----BEGIN RFC3161/,/^-----END RFC3161/{/^-----/!s/^..../AAAA/}" >../garbled.msg &&
		forge box/seal-8 main ../garbled.msg
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/seal-8." err.box_seal-8
'

test_expect_success 'a tag stamped by a TSA the policy does not name is refused' '
	server_refs >before &&
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout rogue.key -out rogue.pem -subj "/CN=rogue TSA/O=elsewhere" \
		-addext "basicConstraints=critical,CA:false" \
		-addext "keyUsage=critical,digitalSignature" \
		-addext "extendedKeyUsage=critical,timeStamping" 2>/dev/null &&
	tsa_openssl_config rogue.cnf "$PWD/rogue.key" "$PWD/rogue.pem" &&
	openssl ts -query -data payload -sha256 -cert -out rogue.tsq 2>/dev/null &&
	openssl ts -reply -config rogue.cnf -queryfile rogue.tsq -out rogue.tsr 2>/dev/null &&
	gen=$(openssl ts -reply -in rogue.tsr -text 2>/dev/null | sed -n "s/^Time stamp: //p") &&
	{
		printf "RFC 3161 timestamp of the seal event\n\nEvent: seal\n" &&
		printf "Payload-SHA256: %s\n" "$(sha256sum <payload | cut -d" " -f1)" &&
		printf "TSA: http://rogue.invalid/\n" &&
		printf "Gen-Time: %s\n" "$(date -u -d "$gen" +%Y-%m-%dT%H:%M:%SZ)" &&
		echo "-----BEGIN RFC3161 TIMESTAMP RESPONSE-----" &&
		openssl base64 -in rogue.tsr &&
		echo "-----END RFC3161 TIMESTAMP RESPONSE-----"
	} >rogue.msg &&
	(
		cd mallory &&
		forge box/seal-10 main ../rogue.msg
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: timestamp tags: .box/seal-10.: its timestamp does not hold: chain: the signer .CN=rogue TSA, O=elsewhere. does not chain to a trust anchor" err.box_seal-10
'

test_expect_success 'the clone refuses the same junk, made there or fetched from an unguarded copy' '
	git clone -q --bare server.git unguarded.git &&
	git -C mallory push -q ../unguarded.git refs/tags/box/seal-2 refs/tags/box/seal-6 &&
	(
		cd audit &&
		git fetch -q origin &&
		git rev-parse --verify -q refs/tags/box/init-1 &&
		box_snapshot >../before &&
		test_expect_code 128 git tag -a -m timestamp box/seal-9 origin/main 2>../err &&
		test_expect_code 128 git tag box/seal-9 origin/main 2>../err2 &&
		test_must_fail git fetch -q ../unguarded.git "refs/tags/box/*:refs/tags/box/*" 2>../err3 &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: timestamp tags: .box/seal-9. is not a timestamp tag: " err &&
	grep "^error: timestamp tags: .box/seal-9. is not an annotated tag\$" err2 &&
	grep "^error: timestamp tags: .box/seal-2. is not a timestamp tag: " err3
'

test_expect_success 'after every refusal the server still verifies' '
	git -C check.git fetch -q origin "+refs/tags/box/*:refs/tags/box/*" &&
	git -C check.git for-each-ref --format="%(refname)" refs/tags/box >tags &&
	printf "refs/tags/box/init-1\nrefs/tags/box/seal-1\n" >expect &&
	test_cmp expect tags &&
	git -C check.git box verify --keyring ../signers.asc --trust-signer $ALICE \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^verified: " out
'

test_done
