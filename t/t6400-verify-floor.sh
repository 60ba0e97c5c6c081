#!/bin/sh

test_description='git box verify: the auditor sets the floor

With no trust roots verify cannot run unless --self-check asks for the
box to be checked against its own. Given trusted signers, a seal needs a
good signature by one of them whatever its policy asks; given TSA
anchors, a valid timestamp; --allow-unsigned and --allow-unstamped
accept such a box and say so. The roots come from the options or from
the auditor'"'"'s own git configuration, never from the repository'"'"'s.
The same holds for an audit bundle and for contrib/ci/verify-box.sh.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
CI="$BOX_SOURCE_DIR/contrib/ci/verify-box.sh"

# verify in DIR with the auditor's roots for alice's boxes: v DIR [OPTION...]
v () {
	v_dir=$1 && shift &&
	git -C "$v_dir" box verify --keyring "$SHARNESS_TRASH_DIRECTORY/alice.asc" --trust-signer $ALICE \
		--tsa-ca "$TSA_FIXTURES/ca.pem" "$@"
}

# No timestamp tag in clone $1.
tsa_no_tags_in () {
	git -C "$1" for-each-ref refs/tags/box/ >tags &&
	test_must_be_empty tags
}

# A policy over the sample data: policy_file FILE SIGNING QUORUM STAMP [FPR...]
policy_file () {
	pf_file=$1 pf_when=$2 pf_quorum=$3 pf_stamp=$4 &&
	shift 4 &&
	box_policy "$pf_file" "$pf_when" "$pf_quorum" "$@" &&
	if test "$pf_stamp" = seal
	then
		echo "timestamp: {when: seal, tsa: [\"$(cat tsa.url)\"], ca: .box/tsa-ca.pem}" >>"$pf_file"
	fi
}

# A sealed box: sealed_box DIR SIGNING QUORUM STAMP [FPR...]
sealed_box () {
	sb_dir=$1 &&
	shift &&
	policy_file "$sb_dir.yaml" "$@" &&
	box_sample_data "$sb_dir.src" &&
	if grep -q "^timestamp:" "$sb_dir.yaml"
	then
		sb_ca="--tsa-ca $TSA_FIXTURES/ca.pem"
	else
		sb_ca=
	fi &&
	git box init "$sb_dir" --policy "$sb_dir.yaml" $sb_ca \
		--from "$sb_dir.src/data.csv" --from "$sb_dir.src/sub" >/dev/null &&
	git -C "$sb_dir" config user.signingKey $ALICE &&
	(cd "$sb_dir" && box_commit analysis analysis.R && git box seal -m final >/dev/null)
}

test_expect_success 'setup: boxes that sign and stamp their seal, or not, and the auditor.s files' '
	tsa_start tsa &&
	box_gpg_import alice bob &&
	gpg --batch --export --armor $ALICE >alice.asc &&
	gpg --batch --export --armor $ALICE $BOB >both.asc &&
	sealed_box full seal 1 seal $ALICE &&
	sealed_box unsigned none 0 seal &&
	sealed_box unstamped seal 1 none $ALICE &&
	sealed_box bare none 0 none &&
	git -C full for-each-ref refs/tags/box/ >tags &&
	test $(wc -l <tags) = 1 &&
	git -C unstamped for-each-ref refs/tags/box/ >tags &&
	test_must_be_empty tags &&
	git -C bare notes --ref=box show main >note &&
	! grep "BEGIN PGP SIGNATURE" note
'

test_expect_success 'a box that signs and stamps its seal verifies against the roots' '
	v full >out &&
	grep "^ok   quorum: seal [0-9a-f]*: 1 distinct trusted signer of the 1 the policy requires$" out &&
	grep "^verified: box [0-9a-f]* (study), COMPLETED at " out
'

test_expect_success 'with no trust roots verify exits 2, says why and what to do, and prints no report' '
	(cd full && box_snapshot >../before) &&
	test_expect_code 2 git -C full box verify >out 2>err &&
	test_must_be_empty out &&
	grep "^error: no trust roots: verify must be told whom to believe$" err &&
	grep "^hint: give the roots you trust: --trust-signer FPR --keyring FILE --tsa-ca FILE (or box.verify.trustSigner, box.verify.keyring and box.verify.tsaCa in your git configuration); --self-check checks only that the box agrees with itself$" err &&
	test_expect_code 2 git -C full box verify --json >out 2>err &&
	test_must_be_empty out &&
	grep "^error: no trust roots" err &&
	(cd full && box_snapshot >../after) &&
	test_cmp before after
'

test_expect_success 'pins and allowances are not roots: still exit 2' '
	seal=$(git -C full notes --ref=box show main | sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" | sha256sum | cut -d" " -f1) &&
	test_expect_code 2 git -C full box verify --expect-seal $seal 2>err &&
	grep "^error: no trust roots" err &&
	test_expect_code 2 git -C full box verify --allow-unsigned --allow-unstamped 2>err &&
	grep "^error: no trust roots" err
'

test_expect_success '--self-check checks the box against its own roots and says consistent, not verified' '
	git -C full box verify --self-check >out 2>err &&
	test_must_be_empty err &&
	grep "^ok   trust: [0-9a-f]*: self-check: the signers of the box.s own policy at init ($ALICE), their keys from your keyring$" out &&
	grep "^ok   timestamp: seal " out &&
	grep "^consistent (self-check): box [0-9a-f]* (study), COMPLETED at [0-9a-f]*: [0-9]* checks, 0 failed, 0 warnings$" out &&
	git -C full box verify --self-check --json >report.json &&
	jq -e ".verdict == \"consistent\" and .trust.source == \"repository\" and .failures == 0" report.json
'

test_expect_success '--self-check of a box that signs and stamps nothing is consistent, the floor not applied' '
	git -C bare box verify --self-check >out &&
	! grep "^FAIL\|^warn" out &&
	grep "^consistent (self-check): " out
'

test_expect_success '--self-check still fails what does not hold' '
	git clone -q bare bare-edited &&
	git -C bare-edited fetch -q origin refs/notes/box:refs/notes/box &&
	(cd bare-edited && echo 43 >analysis.R && box_nohooks commit -q -a --amend --no-edit &&
	 git notes --ref=box copy $(git -C ../bare rev-parse main) main) &&
	test_expect_code 1 git -C bare-edited box verify --self-check >out &&
	grep "^FAIL payload: seal [0-9a-f]*: .analysis.R.: the manifest says sha256" out &&
	grep "^FAILED (self-check): " out
'

test_expect_success '--self-check with any root is a usage error (exit 2)' '
	for root in "--trust-signer $ALICE" "--keyring alice.asc" "--tsa-ca $TSA_FIXTURES/ca.pem"
	do
		test_expect_code 2 git -C full box verify --self-check $root >out 2>err &&
		test_must_be_empty out &&
		grep "^error: --self-check takes no trust roots: it checks the box against its own$" err || return 1
	done
'

test_expect_success 'given trusted signers, a seal with no signature fails even though its policy signs nothing' '
	test_expect_code 1 v unsigned >out &&
	grep "^FAIL quorum: seal [0-9a-f]*: no good signature by a trusted signer: you gave trusted signers, so the seal must be signed by one (the policy signs nothing); --allow-unsigned accepts an unsigned box$" out &&
	grep "^ok   timestamp: seal " out &&
	grep "^FAILED: " out
'

test_expect_success 'given a keyring alone, the same' '
	test_expect_code 1 git -C unsigned box verify --keyring "$PWD/alice.asc" >out &&
	grep "^FAIL quorum: seal [0-9a-f]*: no good signature by a trusted signer" out
'

test_expect_success '--allow-unsigned accepts it, and the report says so' '
	v unsigned --allow-unsigned >out &&
	grep "^warn quorum: seal [0-9a-f]*: no good signature by a trusted signer: the seal is unsigned, accepted as you allowed (--allow-unsigned)$" out &&
	grep "^verified: .*, 0 failed, 1 warning$" out &&
	v unsigned --allow-unsigned --json >report.json &&
	jq -e "[.checks[] | select(.check == \"quorum\" and .status == \"warn\")] | length == 1" report.json &&
	jq -e ".verdict == \"verified\" and .warnings == 1" report.json
'

test_expect_success 'a seal signed only by a key the auditor does not trust fails the floor too' '
	git clone -q unsigned cosigned &&
	git -C cosigned fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git -C cosigned config user.signingKey $BOB &&
	(cd cosigned && git box sign >/dev/null) &&
	test_expect_code 1 git -C cosigned box verify --keyring "$PWD/both.asc" --trust-signer $ALICE \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^warn signature: seal [0-9a-f]*: Bob .*: good, but the key is not among the trust roots: not counted$" out &&
	grep "^FAIL quorum: seal [0-9a-f]*: no good signature by a trusted signer" out
'

test_expect_success 'a good signature by a trusted signer meets the floor of a policy that signs nothing' '
	git -C cosigned box verify --keyring "$PWD/both.asc" --trust-signer $BOB --tsa-ca "$TSA_FIXTURES/ca.pem" >out &&
	grep "^ok   quorum: seal [0-9a-f]*: 1 distinct trusted signer; the policy requires none, your trusted signers at least one$" out &&
	grep "^verified: " out
'

test_expect_success 'a forger strips the signatures from a seal note: the floor and the policy both fail it' '
	git clone -q full stripped &&
	git -C stripped fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	(cd stripped && git notes --ref=box show main | sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" >p &&
	 git notes --ref=box add -f -F p main) &&
	test_expect_code 1 v stripped --allow-unsigned >out &&
	grep "^FAIL quorum: seal [0-9a-f]*: 0 distinct trusted signers of the 1 the policy requires" out
'

test_expect_success 'given TSA anchors, a seal with no timestamp fails even though its policy stamps nothing' '
	test_expect_code 1 v unstamped >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: no valid timestamp tag stamps the seal: you gave TSA trust anchors, so the seal must be timestamped (the policy wants no timestamp); --allow-unstamped accepts an unstamped box (no box/ tags here: fetch them: " out &&
	grep "^ok   quorum: seal " out &&
	grep "^FAILED: " out
'

test_expect_success '--allow-unstamped accepts it, and the report says so' '
	v unstamped --allow-unstamped >out &&
	grep "^warn timestamp: seal [0-9a-f]*: no valid timestamp tag stamps the seal: accepted as you allowed (--allow-unstamped)$" out &&
	grep "^verified: .*, 0 failed, 1 warning$" out
'

test_expect_success 'a timestamp tag that does not check does not meet the floor' '
	git clone -q unstamped badstamp &&
	git -C badstamp fetch -q origin refs/notes/box:refs/notes/box &&
	tsa_no_tags_in badstamp &&
	git -C full cat-file tag box/seal-1 | sed "1,/^\$/d" >seal-msg &&
	box_nohooks -C badstamp tag -a -F ../seal-msg box/seal-1 main &&
	test_expect_code 1 v badstamp >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1. names payload sha256" out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: no valid timestamp tag stamps the seal: you gave TSA trust anchors" out
'

test_expect_success 'without TSA anchors, the stamp floor is not applied' '
	git -C unstamped box verify --keyring "$PWD/alice.asc" --trust-signer $ALICE >out &&
	! grep "^FAIL" out &&
	grep "^verified: " out
'

test_expect_success 'a box that signs and stamps nothing fails both floors, and passes with both allowances' '
	test_expect_code 1 v bare >out &&
	test $(grep -c "^FAIL " out) = 2 &&
	grep "^FAIL quorum: seal " out &&
	grep "^FAIL timestamp: seal " out &&
	v bare --allow-unsigned --allow-unstamped >out &&
	grep "^warn quorum: seal .*(--allow-unsigned)$" out &&
	grep "^warn timestamp: seal .*(--allow-unstamped)$" out &&
	grep "^verified: .*, 0 failed, 2 warnings$" out
'

test_expect_success 'an allowance never waives what the box.s own policy wants' '
	git clone -q full nostamp &&
	git -C nostamp fetch -q origin refs/notes/box:refs/notes/box &&
	git -C nostamp tag -d box/seal-1 >/dev/null &&
	test_expect_code 1 v nostamp --allow-unstamped >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: the policy wants the seal event timestamped, but no valid timestamp tag stamps it" out
'

test_expect_success 'a box not yet sealed is not held to the floor; --expect-seal pins the seal' '
	policy_file open.yaml none 0 none &&
	box_init_policy open open.yaml &&
	(cd open && box_commit work work.R) &&
	v open >out &&
	grep "^warn seal: the box is not sealed" out &&
	! grep "^FAIL\|^.... quorum\|no valid timestamp" out &&
	grep "^verified: box [0-9a-f]* (study), IN_PROGRESS " out &&
	test_expect_code 1 v open \
		--expect-seal 0000000000000000000000000000000000000000000000000000000000000000 >out &&
	grep "^FAIL seal: a seal with payload sha256 0* was expected, but the box has no seal$" out
'

# ---- roots from the auditor's git configuration ------------------------------------

test_expect_success 'roots from the auditor.s global git configuration' '
	mkdir -p auditor &&
	git config -f auditor/.gitconfig box.verify.keyring "$PWD/alice.asc" &&
	git config -f auditor/.gitconfig box.verify.trustSigner $ALICE &&
	git config -f auditor/.gitconfig box.verify.tsaCa "$TSA_FIXTURES/ca.pem" &&
	HOME=$PWD/auditor git -C full box verify >out 2>err &&
	test_must_be_empty err &&
	grep "^ok   trust: signers trusted as given (box.verify.trustSigner, box.verify.keyring): $ALICE$" out &&
	grep "^ok   trust: TSA trust anchors as given (box.verify.tsaCa)$" out &&
	grep "^verified: " out
'

test_expect_success 'the floor holds with configured roots as with options' '
	HOME=$PWD/auditor test_expect_code 1 git -C bare box verify >out &&
	grep "^FAIL quorum: seal " out &&
	grep "^FAIL timestamp: seal " out &&
	HOME=$PWD/auditor git -C bare box verify --allow-unsigned --allow-unstamped >out &&
	grep "^verified: .*, 2 warnings$" out
'

test_expect_success 'roots from the XDG configuration file, and a path with ~' '
	mkdir -p xdg/git xdghome &&
	cp alice.asc xdghome/alice.asc &&
	git config -f xdg/git/config box.verify.keyring "~/alice.asc" &&
	git config -f xdg/git/config box.verify.tsaCa "$TSA_FIXTURES/ca.pem" &&
	HOME=$PWD/xdghome XDG_CONFIG_HOME=$PWD/xdg git -C full box verify >out &&
	grep "^ok   trust: signers trusted as given (box.verify.keyring): $ALICE$" out &&
	grep "^verified: " out
'

test_expect_success 'box.verify.trustSigner takes many values: each is trusted' '
	sealed_box two seal 2 seal $ALICE $BOB &&
	git clone -q two two-cosign &&
	git -C two-cosign fetch -q origin refs/notes/box:refs/notes/box &&
	git -C two-cosign config user.signingKey $BOB &&
	(cd two-cosign && git box sign >/dev/null && git push -q origin refs/notes/box) &&
	mkdir -p auditor2 &&
	git config -f auditor2/.gitconfig box.verify.keyring "$PWD/both.asc" &&
	git config -f auditor2/.gitconfig --add box.verify.trustSigner $ALICE &&
	git config -f auditor2/.gitconfig --add box.verify.trustSigner $BOB &&
	git config -f auditor2/.gitconfig box.verify.tsaCa "$TSA_FIXTURES/ca.pem" &&
	HOME=$PWD/auditor2 git -C two box verify >out &&
	grep "^ok   trust: signers trusted as given (box.verify.trustSigner, box.verify.keyring): $ALICE, $BOB$" out &&
	grep "^ok   quorum: seal [0-9a-f]*: 2 distinct trusted signers of the 2" out
'

test_expect_success 'an option replaces every configured value of its key' '
	git config -f auditor2/.gitconfig --unset-all box.verify.trustSigner &&
	git config -f auditor2/.gitconfig box.verify.trustSigner $BOB &&
	HOME=$PWD/auditor2 git -C full box verify --trust-signer $ALICE >out &&
	grep "^ok   trust: signers trusted as given (--trust-signer, box.verify.keyring): $ALICE$" out &&
	grep "^verified: " out &&
	HOME=$PWD/auditor2 test_expect_code 1 git -C full box verify >out &&
	grep "^FAIL quorum: seal [0-9a-f]*: 0 distinct trusted signers of the 1 the policy requires; not signed by: $BOB$" out
'

test_expect_success 'the repository.s own configuration is never read for roots' '
	git clone -q full handed &&
	git -C handed fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git -C handed config box.verify.keyring "$PWD/both.asc" &&
	git -C handed config box.verify.trustSigner $BOB &&
	git -C handed config box.verify.tsaCa "$TSA_FIXTURES/ca.pem" &&
	test_expect_code 2 git -C handed box verify >out 2>err &&
	grep "^error: no trust roots" err &&
	HOME=$PWD/auditor git -C handed box verify >out &&
	grep "^ok   trust: signers trusted as given (box.verify.trustSigner, box.verify.keyring): $ALICE$" out &&
	! grep "$BOB" out
'

test_expect_success '--self-check ignores the configured roots' '
	HOME=$PWD/auditor git -C full box verify --self-check >out 2>err &&
	test_must_be_empty err &&
	grep "^consistent (self-check): " out
'

test_expect_success 'a configured root that is wrong is named by its key (exit 2)' '
	mkdir -p badcfg &&
	git config -f badcfg/.gitconfig box.verify.trustSigner 38558CE55AAEAA26 &&
	HOME=$PWD/badcfg test_expect_code 2 git -C full box verify >out 2>err &&
	test_must_be_empty out &&
	grep "^error: box.verify.trustSigner .38558CE55AAEAA26. is not a full primary key fingerprint" err &&
	git config -f badcfg/.gitconfig --unset box.verify.trustSigner &&
	git config -f badcfg/.gitconfig box.verify.keyring "$PWD/no-such.asc" &&
	HOME=$PWD/badcfg test_expect_code 2 git -C full box verify >out 2>err &&
	grep "^error: box.verify.keyring .*no-such.asc." err &&
	git config -f badcfg/.gitconfig --unset box.verify.keyring &&
	git config -f badcfg/.gitconfig box.verify.tsaCa "$PWD/no-such.pem" &&
	HOME=$PWD/badcfg test_expect_code 2 git -C full box verify >out 2>err &&
	grep "^error: box.verify.tsaCa .*no-such.pem." err
'

# ---- the bundle path -----------------------------------------------------------------

test_expect_success 'setup: the bundles of the boxes' '
	(cd full && git box export -o ../full.tar >/dev/null) &&
	(cd bare && git box export -o ../bare.tar >/dev/null) &&
	tar -xOf bare.tar --wildcards "*/box/verify.json" >bare-verify.json &&
	jq -e ".verdict == \"consistent\" and .trust.source == \"repository\"" bare-verify.json
'

test_expect_success 'a bundle with no trust roots: exit 2 before the archive is read' '
	mkdir -p bundletmp &&
	TMPDIR=$PWD/bundletmp test_expect_code 2 git box verify full.tar >out 2>err &&
	test_must_be_empty out &&
	grep "^error: no trust roots: verify must be told whom to believe$" err &&
	ls -A bundletmp >left &&
	test_must_be_empty left
'

test_expect_success 'the bundle of a box that signs and stamps nothing fails the floor, and passes allowed' '
	test_expect_code 1 v . bare.tar >out &&
	grep "^ok   bag: " out &&
	grep "^FAIL quorum: seal " out &&
	grep "^FAIL timestamp: seal " out &&
	v . --allow-unsigned --allow-unstamped bare.tar >out &&
	grep "^ok   data: " out &&
	grep "^verified: .*, 2 warnings$" out
'

test_expect_success 'a bundle verifies with configured roots, and self-checks without' '
	HOME=$PWD/auditor git box verify full.tar >out &&
	grep "^ok   trust: signers trusted as given (box.verify.trustSigner, box.verify.keyring)" out &&
	grep "^verified: " out &&
	git box verify --self-check full.tar >out &&
	grep "^consistent (self-check): " out
'

# ---- the CI job ---------------------------------------------------------------------

test_expect_success 'setup: the hosts of the boxes' '
	for b in full bare unstamped
	do
		git clone -q --bare $b $b.git &&
		git -C $b push -q ../$b.git refs/notes/box "refs/tags/box/*:refs/tags/box/*" || return 1
	done
'

test_expect_success 'the CI job fails a box that signs and stamps nothing, and says what it found' '
	test_expect_code 1 env BOX_SIGNERS=$ALICE BOX_KEYRING=alice.asc BOX_TSA_CA="$TSA_FIXTURES/ca.pem" \
		BOX_REPORT=report.json sh "$CI" "file://$PWD/bare.git" >out 2>err &&
	grep "^FAILED: file://.*/bare.git does not verify" err &&
	! grep "^verified" out &&
	jq -e ".verdict == \"failed\" and .failures == 2" report.json
'

test_expect_success 'BOX_ALLOW_UNSIGNED and BOX_ALLOW_UNSTAMPED accept it, with the warnings in the report' '
	BOX_SIGNERS=$ALICE BOX_KEYRING=alice.asc BOX_TSA_CA="$TSA_FIXTURES/ca.pem" \
		BOX_ALLOW_UNSIGNED=1 BOX_ALLOW_UNSTAMPED=1 BOX_REPORT=report.json \
		sh "$CI" "file://$PWD/bare.git" >out 2>err &&
	grep "^verified: file://.*/bare.git " out &&
	jq -e ".verdict == \"verified\" and .warnings == 2" report.json
'

test_expect_success 'the CI job fails an unstamped box given BOX_TSA_CA, and passes it without' '
	test_expect_code 1 env BOX_SIGNERS=$ALICE BOX_KEYRING=alice.asc BOX_TSA_CA="$TSA_FIXTURES/ca.pem" \
		BOX_REPORT=report.json sh "$CI" "file://$PWD/unstamped.git" >out 2>err &&
	grep "^FAILED: " err &&
	BOX_SIGNERS=$ALICE BOX_KEYRING=alice.asc BOX_REPORT=report.json \
		sh "$CI" "file://$PWD/unstamped.git" >out 2>err &&
	grep "^verified: " out
'

test_expect_success 'the CI job says verified only when the report does' '
	mkdir -p fakebin &&
	real=$(command -v git) &&
	cat >fakebin/git <<-EOF &&
	#!/bin/sh
	case "\$*" in
	*" box verify "*) echo "{\"verdict\": \"consistent\"}"; exit 0 ;;
	esac
	exec "$real" "\$@"
	EOF
	chmod +x fakebin/git &&
	test_expect_code 1 env PATH="$PWD/fakebin:$PATH" BOX_SIGNERS=$ALICE BOX_KEYRING=alice.asc \
		BOX_REPORT=report.json sh "$CI" "file://$PWD/full.git" >out 2>err &&
	! grep "^verified" out &&
	grep "^error: verify exited 0, but its report does not say verified" err
'

test_done
