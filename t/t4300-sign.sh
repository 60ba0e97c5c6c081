#!/bin/sh

test_description='git box sign: co-signing an event without touching its payload; the quorum'

. ./lib-box.sh

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
CAROL=$(box_fpr carol)

note_of () {
	git -C "$1" notes --ref=box show "${2:-main}"
}

test_expect_success 'setup: alice seals a box that needs alice and bob; bob has a clone' '
	box_gpg_import alice bob carol &&
	box_policy policy.yaml seal 2 $ALICE $BOB &&
	box_init_policy box policy.yaml &&
	git -C box config user.signingKey $ALICE &&
	(cd box && box_commit "analysis" analysis.R && git box seal -m "final" >/dev/null) &&
	git clone -q box bob &&
	git -C bob fetch -q origin refs/notes/box:refs/notes/box &&
	git -C bob config user.signingKey $BOB &&
	note_of box >sealed
'

test_expect_success 'bob signs the seal in his clone' '
	(cd bob && git box sign >../out) &&
	grep "^Signed seal $(git -C box rev-parse main)$" out &&
	grep "^  signer    Bob Analyst .* $BOB as reviewer, \"co-sign: reviewed\"$" out &&
	grep "^  quorum    2 of 2: the seal is complete$" out
'

test_expect_success 'co-signing appends a signature and never changes the payload' '
	note_of bob >cosigned &&
	sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" sealed >payload-before &&
	sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" cosigned >payload-after &&
	test_cmp payload-before payload-after &&
	head -c $(wc -c <sealed) cosigned >prefix &&
	test_cmp sealed prefix &&
	test $(grep -c "^-----BEGIN PGP SIGNATURE-----$" cosigned) = 2
'

test_expect_success 'stock gpg checks both signatures' '
	sed -n "/^-----BEGIN PGP SIGNATURE-----$/,\$p" cosigned >both.asc &&
	gpg --verify-options show-notations --verify both.asc payload-after 2>gpg.out &&
	test $(grep -c "Good signature" gpg.out) = 2 &&
	grep "Good signature from \"Alice Analyst" gpg.out &&
	grep "Good signature from \"Bob Analyst" gpg.out &&
	grep "role@git-box=reviewer" gpg.out
'

test_expect_success 'a second signature by the same key exits 1 and writes nothing' '
	before=$(git -C bob rev-parse refs/notes/box) &&
	(cd bob && test_expect_code 1 git box sign 2>../err) &&
	grep "error: already signed by $BOB (Bob Analyst" err &&
	test "$(git -C bob rev-parse refs/notes/box)" = "$before"
'

test_expect_success 'bob pushes the signed notes back; the box sees the quorum' '
	git -C bob push -q origin refs/notes/box &&
	(cd box && git box status >../status && git box log >../log) &&
	grep "^state     COMPLETED$" status &&
	! grep "^quorum.*missing" status &&
	grep "^    quorum     2 of 2$" log
'

test_expect_success 'a key not in the signer list exits 1 and writes nothing' '
	git clone -q box carol &&
	git -C carol fetch -q origin refs/notes/box:refs/notes/box &&
	git -C carol config user.signingKey $CAROL &&
	before=$(git -C carol rev-parse refs/notes/box) &&
	(cd carol && test_expect_code 1 git box sign 2>../err) &&
	grep "error: the signing key $CAROL (Carol .*) is not in the policy.s signer list" err &&
	test "$(git -C carol rev-parse refs/notes/box)" = "$before"
'

test_expect_success 'setup: a box alice has not sealed yet, and keyrings to spoil' '
	box_init_policy open policy.yaml &&
	git -C open config user.signingKey $BOB &&
	(cd open && box_commit "w" w.R && git config user.signingKey $ALICE && git box checkpoint >/dev/null &&
	 git config user.signingKey $BOB) &&
	box_gpg_home expired bob &&
	(GNUPGHOME=$PWD/expired && box_gpg_expire $BOB) &&
	box_gpg_home revoked bob &&
	(GNUPGHOME=$PWD/revoked && box_gpg_revoke $BOB) &&
	box_gpg_home no-agent bob &&
	GNUPGHOME=$PWD/no-agent gpgconf --kill gpg-agent &&
	echo no-autostart >no-agent/gpg.conf &&
	mkdir -m 700 empty-home
'

for case in "expired:has expired" "revoked:is revoked" "no-agent:no gpg-agent" "empty-home:no secret key for"
do
	home=${case%%:*}
	message=${case#*:}
	test_expect_success "sign with the key in '$home' exits 2 and writes nothing" "
		before=\$(git -C open rev-parse refs/notes/box) &&
		(cd open && GNUPGHOME=\$PWD/../$home test_expect_code 2 git box sign 2>../err) &&
		grep 'error: .*$message' err &&
		test \"\$(git -C open rev-parse refs/notes/box)\" = \"\$before\"
	"
done

test_expect_success 'sign REV signs that event, with its role and reason' '
	(cd open && git box sign --role approver --reason "checked against the protocol" HEAD >../out &&
	 git box show --payload >../p && git box show --signatures >../s.asc) &&
	grep "^Signed checkpoint $(git -C open rev-parse HEAD)$" out &&
	gpg --verify-options show-notations --verify s.asc p 2>gpg.out &&
	grep "role@git-box=approver" gpg.out &&
	grep "reason@git-box=checked against the protocol" gpg.out
'

test_expect_success 'sign of a commit without a manifest exits 1' '
	(cd open && box_commit "w2" w2.R && test_expect_code 1 git box sign HEAD 2>../err) &&
	grep "has no manifest; .git box checkpoint HEAD. writes one" err
'

test_expect_success 'sign of a commit off the box branch exits 1' '
	(cd open && git switch -q -c side && box_commit "s" s.R && git switch -q main &&
	 test_expect_code 1 git box sign side 2>../err) &&
	grep "is not on the first-parent history of the box branch" err
'

test_expect_success 'a manifest whose file entries are not valid is not signed' '
	box_policy free2.yaml none 0 &&
	box_init_policy bad free2.yaml &&
	(cd bad && git config user.signingKey $ALICE && box_commit "w" w.R &&
	 git box checkpoint >/dev/null &&
	 git box show --payload >../bad.json &&
	 sed "s/\"sha256\": \"\([0-9a-f]\)/\"sha256\": \"X/" ../bad.json >../worse.json &&
	 ! test_cmp ../bad.json ../worse.json &&
	 box_nohooks notes --ref=box add -f -C $(git hash-object -w ../worse.json) HEAD 2>/dev/null) &&
	before=$(git -C bad rev-parse refs/notes/box) &&
	(cd bad && test_expect_code 1 git box sign 2>../err) &&
	grep "error: the note on $(git -C bad rev-parse HEAD) is not a manifest: .* is not a SHA-256" err &&
	test "$(git -C bad rev-parse refs/notes/box)" = "$before"
'

test_expect_success 'setup: a signing subkey for alice, in a keyring of its own' '
	box_gpg_home subkeys alice bob &&
	GNUPGHOME=$PWD/subkeys gpg --batch --quiet --pinentry-mode loopback --passphrase "" \
		--quick-add-key $ALICE ed25519 sign 2>/dev/null &&
	GNUPGHOME=$PWD/subkeys gpg --with-colons --list-keys $ALICE | grep "^fpr:" | sed -n 2p |
		cut -d: -f10 >subkey &&
	test $(wc -c <subkey) = 41
'

test_expect_success 'alice signing again with her subkey is the same signer: refused' '
	box_init_policy sub policy.yaml &&
	(cd sub && git config user.signingKey $ALICE && box_commit "w" w.R &&
	 git box seal >/dev/null) &&
	before=$(git -C sub rev-parse refs/notes/box) &&
	(cd sub && git config user.signingKey "$(cat ../subkey)!" &&
	 GNUPGHOME=$PWD/../subkeys test_expect_code 1 git box sign 2>../err) &&
	grep "error: already signed by $ALICE" err &&
	test "$(git -C sub rev-parse refs/notes/box)" = "$before"
'

test_expect_success 'two signatures by two keys of one primary key count once in the quorum' '
	(cd sub && git box show --payload >../sub.json) &&
	GNUPGHOME=$PWD/subkeys gpg --batch --quiet -u "$(cat subkey)!" --armor --detach-sign \
		-o sub.asc sub.json &&
	(cd sub && note=$(git notes --ref=box show main | cat - ../sub.asc | git hash-object -w --stdin) &&
	 box_nohooks notes --ref=box add -f -C $note main 2>/dev/null &&
	 GNUPGHOME=$PWD/../subkeys git box status >../status &&
	 GNUPGHOME=$PWD/../subkeys git box log >../log) &&
	test $(git -C sub notes --ref=box show main | grep -c "^-----BEGIN PGP SIGNATURE-----$") = 2 &&
	grep "^quorum    1 of 2 signatures; missing: $BOB" status &&
	test $(grep -c "signed     Alice Analyst .* $ALICE as" log) = 2
'

test_expect_success 'a signature whose key expired since counts only when a timestamp proves its date' '
	box_gpg_home later alice bob &&
	box_init_policy aging policy.yaml &&
	(cd aging && git config user.signingKey $ALICE && box_commit "w" w.R &&
	 GNUPGHOME=$PWD/../later git box seal >/dev/null &&
	 GNUPGHOME=$PWD/../later git box log >../log) &&
	grep "signed     Alice Analyst .*: good" log &&
	(GNUPGHOME=$PWD/later && box_gpg_expire $ALICE) &&
	(cd aging && GNUPGHOME=$PWD/../later test_expect_code 1 git box log >../log) &&
	grep "signed     Alice Analyst .*: BAD: the key $ALICE expired on 20[-0-9T:]*Z, before the time of this check (no timestamp proves an earlier one)$" log
'

test_expect_success 'a signature by a key revoked since is reported BAD' '
	(GNUPGHOME=$PWD/later && box_gpg_revoke $ALICE) &&
	(cd aging && GNUPGHOME=$PWD/../later test_expect_code 1 git box log >../log) &&
	grep "signed     Alice Analyst .*: BAD: the key $ALICE is revoked" log
'

test_expect_success 'a policy without signers lets any key co-sign an unsigned event' '
	box_policy free.yaml none 0 &&
	box_init_policy free free.yaml &&
	(cd free && git config user.signingKey $CAROL && box_commit "w" w.R &&
	 git box checkpoint >/dev/null && git box sign >../out) &&
	grep "^  signer    Carol .* $CAROL as reviewer" out
'

test_expect_success 'sign --json reports the signer and the count' '
	(cd free && git config user.signingKey $ALICE && git box sign --json >../out.json) &&
	grep "\"fingerprint\": \"$ALICE\"" out.json &&
	grep "\"event\": \"checkpoint\"" out.json &&
	grep "\"signatures\": 2" out.json
'

test_done
