#!/bin/sh

test_description='git box verify binds a signature to the time the evidence proves

A signature may not be dated before the payload it signs nor after the
time of the check (five minutes of skew); its key is judged at the
genTime of a timestamp that proves the payload, else at the time of the
check, and must then be valid, unexpired and unrevoked. Only SHA-256,
SHA-384 and SHA-512 are accepted, and a subkey given as a trusted signer
is named with its primary. Keys and signatures are made with stock gpg,
past and future ones with --faked-system-time.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
NOW=$(date +%s)
DAY=86400
BEGIN_SIG='^-----BEGIN PGP SIGNATURE-----$'

# The payload of the seal note in clone $1.
seal_payload () {
	git -C "$1" notes --ref=box show main | sed "/$BEGIN_SIG/,\$d"
}

# Append the armored signature in FILE to the seal note of clone DIR, as
# someone with write access and no hooks: add_sig DIR FILE
add_sig () {
	git -C "$1" notes --ref=box show main >"$1.note" &&
	cat "$2" >>"$1.note" &&
	git -C "$1" notes --ref=box add -f -F "$SHARNESS_TRASH_DIRECTORY/$1.note" main
}

# Sign the seal payload of clone DIR with KEY in gpg home HOME at TIME (epoch):
# sign_at DIR HOME KEY TIME OUT [GPG OPTIONS...]
sign_at () {
	sa_dir=$1 sa_home=$2 sa_key=$3 sa_time=$4 sa_out=$5 &&
	shift 5 &&
	seal_payload "$sa_dir" >"$sa_dir.payload" &&
	GNUPGHOME=$sa_home gpg --batch --yes --quiet --faked-system-time "$sa_time" --pinentry-mode loopback \
		--passphrase "" --digest-algo SHA256 "$@" -u "$sa_key" --armor --detach-sign \
		-o "$sa_out" "$sa_dir.payload" 2>/dev/null
}

# verify clone DIR trusting signer FPR from keyring FILE: v DIR FPR FILE [OPTION...]
v () {
	v_dir=$1 v_fpr=$2 v_keys=$3 &&
	shift 3 &&
	git -C "$v_dir" box verify --trust-signer "$v_fpr" --keyring "$SHARNESS_TRASH_DIRECTORY/$v_keys" "$@"
}

# A sealed box whose policy signs nothing (the signatures are added by the
# tests), made at time WHEN, stamped or not: unsigned_box DIR WHEN STAMP
unsigned_box () {
	ub_dir=$1 ub_when=$2 ub_stamp=$3 &&
	box_policy "$ub_dir.yaml" none 0 &&
	if test "$ub_stamp" = seal
	then
		echo "timestamp: {when: seal, tsa: [\"$(cat tsa.url)\"], ca: .box/tsa-ca.pem}" >>"$ub_dir.yaml" &&
		ub_ca="--tsa-ca $TSA_FIXTURES/ca.pem"
	else
		ub_ca=
	fi &&
	box_sample_data "$ub_dir.src" &&
	(
		GIT_COMMITTER_DATE="$ub_when +0000" && GIT_AUTHOR_DATE="$ub_when +0000" &&
		export GIT_COMMITTER_DATE GIT_AUTHOR_DATE &&
		git box init "$ub_dir" --policy "$ub_dir.yaml" $ub_ca \
			--from "$ub_dir.src/data.csv" --from "$ub_dir.src/sub" >/dev/null &&
		cd "$ub_dir" &&
		box_commit analysis analysis.R &&
		git box seal -m final >/dev/null
	)
}

test_expect_success 'setup: a key made 400 days ago that expired 35 days ago, and the auditor.s keyrings' '
	tsa_start tsa &&
	box_gpg_import alice bob &&
	gpg --batch --export --armor $ALICE >alice.asc &&
	mkdir -p dave && chmod 700 dave &&
	box_gpg_homes="$box_gpg_homes $PWD/dave" &&
	cleanup "GNUPGHOME=\"$PWD/dave\" gpgconf --kill gpg-agent 2>/dev/null; :" &&
	GNUPGHOME=$PWD/dave gpg --batch --quiet --faked-system-time $((NOW - 400 * DAY)) \
		--pinentry-mode loopback --passphrase "" \
		--quick-gen-key "Dave Departed <dave@example.org>" ed25519 sign 365d 2>/dev/null &&
	GNUPGHOME=$PWD/dave gpg --with-colons --list-keys dave@example.org |
		awk -F: "\$1 == \"fpr\" { print \$10; exit }" >dave.fpr &&
	test $(wc -c <dave.fpr) = 41 &&
	GNUPGHOME=$PWD/dave gpg --batch --export --armor dave@example.org >dave.asc &&
	GNUPGHOME=$PWD/dave gpg --with-colons --list-keys dave@example.org | grep "^pub:e:"
'

test_expect_success 'setup: boxes made 320 days ago, one stamped now' '
	unsigned_box old $((NOW - 320 * DAY)) none &&
	unsigned_box oldstamped $((NOW - 320 * DAY)) seal &&
	git -C oldstamped for-each-ref refs/tags/box/ >tags &&
	test -s tags
'

test_expect_success 'setup: the expired key signs today, its signature dated 300 days back' '
	sign_at old dave "$(cat dave.fpr)" $((NOW - 300 * DAY)) dave-old.asc &&
	gpg --batch --list-packets dave-old.asc >packets &&
	grep "created $((NOW - 300 * DAY))" packets &&
	add_sig old dave-old.asc &&
	sign_at oldstamped dave "$(cat dave.fpr)" $((NOW - 300 * DAY)) dave-stamped.asc &&
	add_sig oldstamped dave-stamped.asc
'

test_expect_success 'a backdated signature by a key that has since expired fails: nothing proves its date' '
	test_expect_code 1 v old "$(cat dave.fpr)" dave.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Dave Departed <dave@example.org> $(cat dave.fpr) as (no role), 20[-0-9T:]*Z: BAD: the key $(cat dave.fpr) expired on 20[-0-9T:]*Z, before the time of this check (no timestamp proves an earlier one)$" out &&
	grep "^FAIL quorum: seal " out &&
	grep "^FAILED: " out
'

test_expect_success 'the same with the seal stamped now: the key is judged at the genTime, and fails' '
	test_expect_code 1 v oldstamped "$(cat dave.fpr)" dave.asc --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^ok   timestamp: seal " out &&
	grep "^FAIL signature: seal [0-9a-f]*: Dave Departed .*: BAD: the key $(cat dave.fpr) expired on 20[-0-9T:]*Z, before the timestamp.s genTime 20[-0-9T:]*Z$" out
'

test_expect_success 'stock gpg calls the signature good: git box does not take its word on expiry' '
	seal_payload old >old.payload &&
	rm -rf stockhome && mkdir stockhome && chmod 700 stockhome &&
	GNUPGHOME=$PWD/stockhome gpg --batch --quiet --import dave.asc 2>/dev/null &&
	GNUPGHOME=$PWD/stockhome gpg --batch --verify dave-old.asc old.payload 2>gpg.out &&
	grep "Good signature" gpg.out
'

test_expect_success 'setup: a box made now, and an auditor keyring for alice' '
	unsigned_box new $NOW none &&
	unsigned_box newstamped $NOW seal
'

test_expect_success 'a signature dated before the payload it signs fails' '
	git clone -q new early && git -C early fetch -q origin refs/notes/box:refs/notes/box &&
	sign_at early "$GNUPGHOME" $ALICE $((NOW - DAY)) early.asc &&
	add_sig early early.asc &&
	test_expect_code 1 v early $ALICE alice.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: dated 20[-0-9T:]*Z, before the payload it signs was made (20[-0-9T:]*Z)$" out
'

test_expect_success 'a signature dated a minute before the payload is within the skew' '
	git clone -q new skew && git -C skew fetch -q origin refs/notes/box:refs/notes/box &&
	sign_at skew "$GNUPGHOME" $ALICE $((NOW - 60)) skew.asc &&
	add_sig skew skew.asc &&
	v skew $ALICE alice.asc >out &&
	grep "^ok   signature: seal [0-9a-f]*: Alice .*: good$" out
'

test_expect_success 'a signature dated two days in the future fails, stamped or not' '
	git clone -q new future && git -C future fetch -q origin refs/notes/box:refs/notes/box &&
	sign_at future "$GNUPGHOME" $ALICE $((NOW + 2 * DAY)) future.asc &&
	add_sig future future.asc &&
	test_expect_code 1 v future $ALICE alice.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: dated 20[-0-9T:]*Z, later than the time of this check$" out &&
	git clone -q newstamped futurestamped &&
	git -C futurestamped fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	sign_at futurestamped "$GNUPGHOME" $ALICE $((NOW + 2 * DAY)) future2.asc &&
	add_sig futurestamped future2.asc &&
	test_expect_code 1 v futurestamped $ALICE alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: dated 20[-0-9T:]*Z, later than the time of this check$" out
'

test_expect_success 'a signature whose own expiry passed before the bound fails' '
	unsigned_box sigexp $((NOW - 20 * DAY)) none &&
	sign_at sigexp "$GNUPGHOME" $ALICE $((NOW - 10 * DAY)) sigexp.asc --default-sig-expire 1d &&
	gpg --batch --list-packets sigexp.asc >packets &&
	grep "sig expires" packets &&
	add_sig sigexp sigexp.asc &&
	test_expect_code 1 v sigexp $ALICE alice.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: the signature expired on 20[-0-9T:]*Z$" out
'

# ---- keys that expire after they signed ---------------------------------------------

test_expect_success 'setup: alice signs a stamped and an unstamped seal, then her key expires' '
	box_gpg_home aging alice &&
	git clone -q newstamped agingstamped &&
	git -C agingstamped fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git clone -q new agingplain &&
	git -C agingplain fetch -q origin refs/notes/box:refs/notes/box &&
	sign_at agingstamped "$PWD/aging" $ALICE $NOW aging1.asc &&
	add_sig agingstamped aging1.asc &&
	sign_at agingplain "$PWD/aging" $ALICE $NOW aging2.asc &&
	add_sig agingplain aging2.asc &&
	(GNUPGHOME=$PWD/aging && box_gpg_expire $ALICE) &&
	GNUPGHOME=$PWD/aging gpg --batch --export --armor $ALICE >alice-expired.asc
'

test_expect_success 'a key that expired after the seal.s genTime still vouches for a signature before it' '
	v agingstamped $ALICE alice-expired.asc --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^ok   signature: seal [0-9a-f]*: Alice .*: good$" out &&
	grep "^verified: " out
'

test_expect_success 'without a timestamp the same key is judged now, and fails' '
	test_expect_code 1 v agingplain $ALICE alice-expired.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: the key $ALICE expired on 20[-0-9T:]*Z, before the time of this check (no timestamp proves an earlier one)$" out
'

test_expect_success 'a key revoked at any time fails, stamped or not' '
	box_gpg_home revoked alice &&
	(GNUPGHOME=$PWD/revoked && box_gpg_revoke $ALICE) &&
	GNUPGHOME=$PWD/revoked gpg --batch --export --armor $ALICE >alice-revoked.asc &&
	test_expect_code 1 v agingstamped $ALICE alice-revoked.asc --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: .*revoked" out &&
	test_expect_code 1 v agingplain $ALICE alice-revoked.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: .*revoked" out
'

# ---- a timestamp older than a signature -------------------------------------------------

# Stamp the seal of clone DIR as a TSA would have at time GEN (epoch): the
# fixture TSA's own token for the payload, its genTime set to GEN and signed
# again with the fixture TSA key by stock openssl cms, kept as box/seal-1.
stamp_at () {
	sa_dir=$1 sa_gen=$2 &&
	seal_payload "$sa_dir" >"$sa_dir.p" &&
	openssl ts -query -data "$sa_dir.p" -sha256 -cert -out "$sa_dir.tsq" 2>/dev/null &&
	openssl ts -reply -config good.cnf -queryfile "$sa_dir.tsq" -token_out -out "$sa_dir.tok" 2>/dev/null &&
	openssl cms -verify -noverify -binary -inform DER -in "$sa_dir.tok" -out "$sa_dir.tst" 2>/dev/null &&
	gen=$(date -u -d "@$sa_gen" +%Y%m%d%H%M%SZ) &&
	python3 - "$sa_dir.tst" "$gen" <<-\EOF &&
	import re, sys
	path, gen = sys.argv[1], sys.argv[2].encode()
	der = open(path, "rb").read()
	new, n = re.subn(rb"\x18\x0f\d{14}Z", b"\x18\x0f" + gen, der, count=1)
	assert n == 1, "no genTime"
	open(path, "wb").write(new)
	EOF
	openssl cms -sign -binary -nodetach -econtent_type id-smime-ct-TSTInfo -md sha256 -nosmimecap \
		-cades -signer "$TSA_FIXTURES/tsa.pem" -inkey "$TSA_FIXTURES/tsa.key" \
		-in "$sa_dir.tst" -outform DER -out "$sa_dir.tok2" &&
	python3 - "$sa_dir.tok2" "$sa_dir.tsr" <<-\EOF &&
	import sys
	def seq(body):
	    n = len(body)
	    if n < 0x80:
	        head = bytes([n])
	    else:
	        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
	        head = bytes([0x80 | len(raw)]) + raw
	    return b"\x30" + head + body
	token = open(sys.argv[1], "rb").read()
	open(sys.argv[2], "wb").write(seq(seq(b"\x02\x01\x00") + token))
	EOF
	{
		printf "RFC 3161 timestamp of the seal event\n\nEvent: seal\n" &&
		printf "Payload-SHA256: %s\n" "$(sha256sum <"$sa_dir.p" | cut -d" " -f1)" &&
		printf "TSA: %s\n" "$(cat tsa.url)" &&
		printf "Gen-Time: %s\n" "$(date -u -d "@$sa_gen" +%Y-%m-%dT%H:%M:%SZ)" &&
		echo "-----BEGIN RFC3161 TIMESTAMP RESPONSE-----" &&
		openssl base64 -in "$sa_dir.tsr" &&
		echo "-----END RFC3161 TIMESTAMP RESPONSE-----"
	} >"$sa_dir.msg" &&
	box_nohooks -C "$sa_dir" tag -a -F "$SHARNESS_TRASH_DIRECTORY/$sa_dir.msg" box/seal-1 main
}

test_expect_success 'setup: a seal made two days ago, stamped a day ago, and a key that signs before and after' '
	tsa_openssl_config good.cnf "$TSA_FIXTURES/tsa.key" "$TSA_FIXTURES/tsa.pem" &&
	unsigned_box then $((NOW - 2 * DAY)) none &&
	stamp_at then $((NOW - DAY)) &&
	openssl ts -verify -data then.p -in then.tsr -CAfile "$TSA_FIXTURES/ca.pem" >ts.out 2>&1 &&
	grep "^Verification: OK$" ts.out &&
	box_gpg_home late alice &&
	sign_at then "$PWD/late" $ALICE $((NOW - DAY - 3600)) before.asc &&
	sign_at then "$PWD/late" $ALICE $NOW after.asc &&
	(GNUPGHOME=$PWD/late && box_gpg_expire $ALICE) &&
	GNUPGHOME=$PWD/late gpg --batch --export --armor $ALICE >alice-late.asc &&
	git clone -q then thenbefore && git -C thenbefore fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git clone -q then thenafter && git -C thenafter fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	add_sig thenbefore before.asc &&
	add_sig thenafter after.asc
'

test_expect_success 'a signature dated before the genTime is judged at it: the key was valid then' '
	v thenbefore $ALICE alice-late.asc --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^ok   timestamp: seal [0-9a-f]*: .box/seal-1.: genTime $(date -u -d @$((NOW - DAY)) +%Y-%m-%dT%H:%M:%SZ), signed by CN=git box test TSA" out &&
	grep "^ok   signature: seal [0-9a-f]*: Alice .*: good$" out
'

test_expect_success 'a signature dated after the genTime is judged now: its key has expired since' '
	test_expect_code 1 v thenafter $ALICE alice-late.asc --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^ok   timestamp: seal " out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: the key $ALICE expired on 20[-0-9T:]*Z, before the time of this check (no timestamp proves an earlier one)$" out
'

test_expect_success 'a co-signature after the genTime by a key valid now is good' '
	git clone -q then cosign && git -C cosign fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git -C cosign config user.signingKey $BOB &&
	(cd cosign && git box sign >/dev/null) &&
	gpg --batch --export --armor $BOB >bob.asc &&
	v cosign $BOB bob.asc --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^ok   signature: seal [0-9a-f]*: Bob .*: good$" out &&
	grep "^verified: " out
'

# ---- hash algorithms and keys -------------------------------------------------------------

test_expect_success 'signatures made with SHA-224 and SHA-1 fail; SHA-384 and SHA-512 are good' '
	for algo in SHA224 SHA1 SHA384 SHA512
	do
		rm -rf h$algo &&
		git clone -q new h$algo && git -C h$algo fetch -q origin refs/notes/box:refs/notes/box &&
		seal_payload h$algo >h$algo.payload &&
		gpg --batch --yes --quiet --digest-algo $algo -u $ALICE --armor --detach-sign \
			-o h$algo.asc h$algo.payload 2>/dev/null &&
		gpg --batch --list-packets h$algo.asc >packets &&
		add_sig h$algo h$algo.asc || return 1
	done &&
	test_expect_code 1 v hSHA224 $ALICE alice.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: made with the hash SHA224; only SHA256, SHA384 and SHA512 are accepted$" out &&
	test_expect_code 1 v hSHA1 $ALICE alice.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Alice .*: BAD: made with the hash SHA1; only SHA256, SHA384 and SHA512 are accepted$" out &&
	v hSHA384 $ALICE alice.asc >out &&
	grep "^ok   signature: seal [0-9a-f]*: Alice .*: good$" out &&
	v hSHA512 $ALICE alice.asc >out &&
	grep "^ok   signature: seal [0-9a-f]*: Alice .*: good$" out
'

test_expect_success 'git box sign refuses to make a SHA-224 signature' '
	git clone -q new weak && git -C weak fetch -q origin refs/notes/box:refs/notes/box &&
	box_gpg_home weakhome alice &&
	echo "personal-digest-preferences SHA224" >weakhome/gpg.conf &&
	echo "digest-algo SHA224" >>weakhome/gpg.conf &&
	git -C weak config user.signingKey $ALICE &&
	before=$(git -C weak rev-parse refs/notes/box) &&
	(cd weak && GNUPGHOME=$PWD/../weakhome test_expect_code 2 git box sign 2>../err) &&
	grep "gpg signed with the weak hash SHA224" err &&
	test "$(git -C weak rev-parse refs/notes/box)" = "$before"
'

test_expect_success 'a signature by a 1024-bit RSA key fails' '
	mkdir -p short && chmod 700 short &&
	box_gpg_homes="$box_gpg_homes $PWD/short" &&
	cleanup "GNUPGHOME=\"$PWD/short\" gpgconf --kill gpg-agent 2>/dev/null; :" &&
	GNUPGHOME=$PWD/short gpg --batch --quiet --pinentry-mode loopback --passphrase "" \
		--quick-gen-key "Shorty <short@example.org>" rsa1024 sign 1y 2>/dev/null &&
	GNUPGHOME=$PWD/short gpg --with-colons --list-keys short@example.org |
		awk -F: "\$1 == \"fpr\" { print \$10; exit }" >short.fpr &&
	GNUPGHOME=$PWD/short gpg --batch --export --armor short@example.org >short.asc &&
	git clone -q new shortsig && git -C shortsig fetch -q origin refs/notes/box:refs/notes/box &&
	sign_at shortsig "$PWD/short" "$(cat short.fpr)" "$(date +%s)" short-sig.asc &&
	add_sig shortsig short-sig.asc &&
	test_expect_code 1 v shortsig "$(cat short.fpr)" short.asc >out &&
	grep "^FAIL signature: seal [0-9a-f]*: Shorty .*: BAD: the key $(cat short.fpr) is shorter than 2048 bits$" out
'

test_expect_success 'setup: a signing subkey for alice' '
	box_gpg_home subkeys alice &&
	GNUPGHOME=$PWD/subkeys gpg --batch --quiet --pinentry-mode loopback --passphrase "" \
		--quick-add-key $ALICE ed25519 sign 2>/dev/null &&
	GNUPGHOME=$PWD/subkeys gpg --with-colons --list-keys $ALICE | grep "^fpr:" | sed -n 2p |
		cut -d: -f10 >subkey &&
	test $(wc -c <subkey) = 41 &&
	GNUPGHOME=$PWD/subkeys gpg --batch --export --armor $ALICE >alice-sub.asc
'

test_expect_success 'a subkey given to --trust-signer is named as such, with its primary (exit 2)' '
	test_expect_code 2 v new "$(cat subkey)" alice-sub.asc >out 2>err &&
	test_must_be_empty out &&
	grep "^error: --trust-signer .$(cat subkey). is a subkey of the key $ALICE (Alice Analyst (git box test key) <alice@example.org>): trust is given to primary keys$" err &&
	grep "^hint: trust the primary key: --trust-signer $ALICE$" err
'

test_expect_success 'the same from the user.s keyring, without --keyring' '
	(GNUPGHOME=$PWD/subkeys && export GNUPGHOME &&
	 test_expect_code 2 git -C new box verify --trust-signer "$(cat subkey)" >out 2>err) &&
	grep "^error: --trust-signer .$(cat subkey). is a subkey of the key $ALICE" err
'

test_expect_success 'a signature made by the subkey counts for its primary' '
	git clone -q new bysub && git -C bysub fetch -q origin refs/notes/box:refs/notes/box &&
	seal_payload bysub >bysub.payload &&
	GNUPGHOME=$PWD/subkeys gpg --batch --yes --quiet --digest-algo SHA256 -u "$(cat subkey)!" \
		--armor --detach-sign -o bysub.asc bysub.payload &&
	add_sig bysub bysub.asc &&
	v bysub $ALICE alice-sub.asc >out &&
	grep "^ok   signature: seal [0-9a-f]*: Alice .* $ALICE as (no role), .*: good$" out
'

test_done
