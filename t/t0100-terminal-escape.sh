#!/bin/sh

test_description='text from a repository, a bundle, a key or a token never reaches a terminal raw

Paths, messages, tag fields, note fields, key uids, TSA names and
bag-info fields are shown with their control characters, C1 controls,
bidirectional and invisible characters and bytes that are not UTF-8
escaped, in every text output, stdout and stderr; the JSON outputs keep
them exact; the box name may not hold them at all.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)

# script(1) gives a command a terminal.
if command -v script >/dev/null 2>&1; then
	test_set_prereq SCRIPT
fi

# What a forger writes into a string, and how git box shows each.
ESC=$(printf '\033')
CR=$(printf '\r')
LF='
'
ERASE="$ESC[2K$ESC[1A"           # erase the line, move up one
ERASE_SHOWN='\x1b[2K\x1b[1A'
CSI=$(printf '\302\233')         # U+009B, the C1 control sequence introducer
CSI_SHOWN='\u{009B}'
NEL=$(printf '\302\205')         # U+0085, the C1 next line
RLO=$(printf '\342\200\256')     # U+202E RIGHT-TO-LEFT OVERRIDE
RLO_SHOWN='\u{202E}'
LRI=$(printf '\342\201\246')     # U+2066 LEFT-TO-RIGHT ISOLATE
LRI_SHOWN='\u{2066}'
ZWSP=$(printf '\342\200\213')    # U+200B ZERO WIDTH SPACE
ZWSP_SHOWN='\u{200B}'
BOM=$(printf '\357\273\277')     # U+FEFF ZERO WIDTH NO-BREAK SPACE
NOT_UTF8=$(printf '\377')

# Names a bag may hold (no C0 or C1 control but TAB, LF and CR).
BIDI_NAME="r${RLO}lsx.${LRI}csv${ZWSP}"
BIDI_NAME_SHOWN="r${RLO_SHOWN}lsx.${LRI_SHOWN}csv${ZWSP_SHOWN}"
LF_NAME="two${LF}lines${CR}.csv"
LF_NAME_SHOWN='two\nlines\x0d.csv'
# A name with everything, for what is never committed to the box.
ESC_NAME="e${ERASE}${CSI}${RLO}.csv"
ESC_NAME_SHOWN="e${ERASE_SHOWN}${CSI_SHOWN}${RLO_SHOWN}.csv"

# A line that would erase the one above and draw a verdict of its own.
FAKE="${ERASE}ok   seal: all good$ESC[0m${CSI}1A${RLO}"
FAKE_SHOWN="${ERASE_SHOWN}ok   seal: all good\\x1b[0m${CSI_SHOWN}1A${RLO_SHOWN}"

MALLORY_UID="Mallory ${ERASE}${RLO}Analyst${CSI} <mallory@example.org>"
MALLORY_UID_SHOWN="Mallory ${ERASE_SHOWN}${RLO_SHOWN}Analyst${CSI_SHOWN} <mallory@example.org>"
TSA_CN="TSA ${RLO}evil${CSI} ${ESC}[2K"
# (OpenSSL shows the ASCII controls of a certificate's name as \XX itself)
TSA_CN_SHOWN="TSA ${RLO_SHOWN}evil${CSI_SHOWN} \\1B[2K"

# check_raw FILE...: fails, naming the byte, when a file holds anything
# a terminal acts on or that hides or reorders text: a C0 control but
# LF, DEL, a C1 control, a bidirectional or invisible character, or
# bytes that are not UTF-8.
check_raw () {
	perl -MEncode -e '
		my $bad = 0;
		for my $f (@ARGV) {
			open(my $h, "<:raw", $f) or die "$f: $!";
			my $s = do { local $/; <$h> };
			while ($s =~ /([\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa0-\xaf]|\xef\xbb\xbf)/g) {
				printf "%s: byte %d: %s\n", $f, $-[0], unpack("H*", $1);
				$bad = 1;
			}
			eval { Encode::decode("UTF-8", $s, Encode::FB_CROAK); 1 } or do {
				print "$f: not UTF-8\n";
				$bad = 1;
			};
		}
		exit $bad;
	' "$@"
}

# The JSON output FILE is valid JSON in printable ASCII.
check_json () {
	jq -e . "$1" >/dev/null &&
	! LC_ALL=C grep -q "[^ -~]" "$1"
}

# Set a payload's name and message to $NAME and $MESSAGE, in canonical form.
REWRITE_PAYLOAD='
import json, os, re, sys
d = json.load(sys.stdin)
d["name"], d["message"] = os.environ["NAME"], os.environ["MESSAGE"]
text = json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False)
sys.stdout.write(re.sub(r"\\u00[0-9a-f]{2}", lambda m: m.group(0).upper().replace("\\U", "\\u"), text) + "\n")
'

# verify in clone $1 with the auditor's roots; more options after it.
audit () {
	audit_dir=$1 && shift &&
	git -C "$audit_dir" box verify --trust-signer $ALICE --trust-signer $MALLORY \
		--keyring "$SHARNESS_TRASH_DIRECTORY/signers.asc" \
		--tsa-ca "$SHARNESS_TRASH_DIRECTORY/evil-ca/ca.pem" "$@"
}

# A clone of the box with its notes and tags, as a host serves it.
fresh () {
	git clone -q box "$1" &&
	git -C "$1" fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*"
}

# A timestamp tag message whose Event: line is $1, otherwise well formed.
junk_tag_message () {
	printf "RFC 3161 timestamp of the seal event\n\nEvent: %s\n" "$1" &&
	printf "Payload-SHA256: %064d\nTSA: http://127.0.0.1:9/\n" 0 &&
	printf "Gen-Time: 2026-01-01T00:00:00Z\n" &&
	printf -- "-----BEGIN RFC3161 TIMESTAMP RESPONSE-----\nAAAA\n" &&
	printf -- "-----END RFC3161 TIMESTAMP RESPONSE-----\n"
}

test_expect_success 'setup: a TSA whose certificate names it with control and bidi characters' '
	mkdir evil-ca &&
	(
		cd evil-ca &&
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.pem -config "$TSA_FIXTURES/ca.cnf" -extensions v3_ca \
			-days 3650 -subj "/CN=escape test root CA" 2>/dev/null &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -utf8 \
			-keyout tsa.key -out tsa.csr -subj "/CN=$TSA_CN/O=escape tests" 2>/dev/null &&
		openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out tsa.pem -days 3650 -extfile "$TSA_FIXTURES/ca.cnf" -extensions v3_tsa 2>/dev/null
	) &&
	tsa_start evil --key "$PWD/evil-ca/tsa.key" --cert "$PWD/evil-ca/tsa.pem"
'

test_expect_success 'setup: mallory, whose key uid holds control and bidi characters, made with stock gpg' '
	box_gpg_import alice &&
	gpg --batch --charset utf-8 --pinentry-mode loopback --passphrase "" \
		--quick-gen-key "$MALLORY_UID" ed25519 sign never 2>/dev/null &&
	MALLORY=$(gpg --with-colons --list-keys mallory@example.org |
		  sed -n "s/^fpr:::::::::\([0-9A-F]*\):$/\1/p" | head -n 1) &&
	test -n "$MALLORY" &&
	gpg --batch --export --armor $ALICE $MALLORY >signers.asc
'

test_expect_success 'setup: a box over inputs with bidi, invisible, LF and CR in their names, sealed with such a message' '
	box_policy box.yaml seal 1 $ALICE $MALLORY &&
	echo "timestamp: {when: seal, tsa: [\"$(cat evil.url)\"], ca: .box/tsa-ca.pem}" >>box.yaml &&
	box_sample_data box.src &&
	printf "1\n" >"box.src/sub/$BIDI_NAME" &&
	printf "2\n" >"box.src/sub/$LF_NAME" &&
	git box init box --policy box.yaml --tsa-ca evil-ca/ca.pem \
		--from box.src/data.csv --from box.src/sub >init.out 2>init.err &&
	check_raw init.out init.err &&
	git -C box config user.signingKey $ALICE &&
	(
		cd box &&
		box_commit analysis analysis.R &&
		git box seal -m "done$LF$FAKE" >../seal.out 2>../seal.err
	) &&
	fresh audit
'

# ---- the name -----------------------------------------------------------------

test_expect_success 'init refuses a name with a bidi override, saying where, and makes nothing' '
	box_sample_data n.src &&
	test_expect_code 2 git box init n1 --name "a${RLO}b" --from n.src/data.csv 2>err &&
	check_raw err &&
	grep "^error: invalid policy from the options: the options:[0-9]*:7: name: " err &&
	grep -F "name: '\''a${RLO_SHOWN}b'\'' contains a bidirectional or invisible character" err &&
	test_path_is_missing n1
'

test_expect_success 'init refuses C1 controls, isolates, invisible characters and escapes in a name' '
	for bad in "a${NEL}b" "a${CSI}31m" "${LRI}a" "al${ZWSP}ice" "${BOM}a" "a${ESC}[2K" "a${CR}b"
	do
		test_expect_code 2 git box init n2 --name "$bad" --from n.src/data.csv 2>err &&
		check_raw err &&
		grep "the options:[0-9]*:7: name: .* contains a \(control\|bidirectional or invisible\) character" err &&
		test_path_is_missing n2 || return 1
	done
'

test_expect_success 'a policy file is held to the same rule, with file, line and column' '
	box_policy p.yaml none 0 &&
	sed "s/^name: study$/name: \"study\\\\u202e\"/" p.yaml >bidi.yaml &&
	test_expect_code 2 git box init n3 --policy bidi.yaml --from n.src/data.csv 2>err &&
	check_raw err &&
	grep -F "error: bidi.yaml:2:7: name: '\''study${RLO_SHOWN}'\'' contains a bidirectional or invisible character" err &&
	sed "s/^name: study$/name: \"st\\\\x85udy\"/" p.yaml >nel.yaml &&
	test_expect_code 2 git box init n3 --policy nel.yaml --from n.src/data.csv 2>err &&
	check_raw err &&
	grep -F "error: nel.yaml:2:7: name: '\''st\\u{0085}udy'\'' contains a control character" err &&
	test_path_is_missing n3
'

test_expect_success 'rule names, forbidden globs and the branch are held to it too' '
	box_policy p.yaml none 0 &&
	{ cat p.yaml && echo "rules: {forbid_content: [{name: \"ssn\\u2066\", regex: x}]}"; } >rule.yaml &&
	test_expect_code 2 git box init n4 --policy rule.yaml --from n.src/data.csv 2>err &&
	check_raw err &&
	grep -F "rules.forbid_content[0].name: '\''ssn${LRI_SHOWN}'\'' contains a bidirectional or invisible character" err &&
	{ cat p.yaml && echo "rules: {forbid_paths: [\"**/*.pem\\u200b\"]}"; } >glob.yaml &&
	test_expect_code 2 git box init n4 --policy glob.yaml --from n.src/data.csv 2>err &&
	check_raw err &&
	grep -F "rules.forbid_paths[0]: '\''**/*.pem${ZWSP_SHOWN}'\'' contains a bidirectional or invisible character" err &&
	sed "s/^branch: main$/branch: \"ma\\\\u202ein\"/" p.yaml >branch.yaml &&
	test_expect_code 2 git box init n4 --policy branch.yaml --from n.src/data.csv 2>err &&
	check_raw err &&
	grep -F "branch: '\''ma${RLO_SHOWN}in'\'' is not a valid branch name: it contains a bidirectional or invisible character" err &&
	test_path_is_missing n4
'

test_expect_success 'a box made with stock git whose name breaks the rule is named escaped' '
	git init -q forged &&
	(
		cd forged &&
		mkdir .box input &&
		box_policy .box/policy.yaml none 0 &&
		sed "s/^name: study$/name: \"FAIL\\\\u202e deifirev\"/" .box/policy.yaml >p &&
		mv p .box/policy.yaml &&
		echo 1 >input/a.csv &&
		git add . &&
		git commit -q -m "Initialize git box" -m "Box-Event: init" &&
		for cmd in status log
		do
			test_expect_code 2 git box $cmd >$cmd.out 2>$cmd.err || return 1
		done
	) &&
	test_expect_code 2 audit forged >forged/verify.out 2>forged/verify.err &&
	for cmd in verify status log
	do
		check_raw forged/$cmd.out forged/$cmd.err &&
		grep -F "name: '\''FAIL${RLO_SHOWN} deifirev'\'' contains a bidirectional or invisible character" \
			forged/$cmd.err || return 1
	done
'

# ---- verify ---------------------------------------------------------------------

test_expect_success 'setup: the box verifies with the auditor roots' '
	audit audit >out 2>err &&
	check_raw out err &&
	grep "^verified: box " out
'

test_expect_success 'a junk timestamp tag whose Event: line erases and fakes lines cannot do it in verify' '
	fresh attack &&
	junk_tag_message "seal${FAKE}" >junk.msg &&
	git -C attack tag -a -F "$PWD/junk.msg" box/seal-2 main &&
	test_expect_code 1 audit attack >out 2>err &&
	check_raw out err &&
	grep -F "FAIL timestamp: seal $(git -C box rev-parse --short=12 main): '\''box/seal-2'\'': the tag message names an unknown event '\''seal${FAKE_SHOWN}'\''" out &&
	! grep "^ok   seal: all good" out &&
	tail -n 1 out | grep "^FAILED: box [0-9a-f]\{12\} (study)"
'

test_expect_success 'verify --quiet shows only the FAIL line, escaped, and the summary' '
	test_expect_code 1 audit attack --quiet >out 2>err &&
	check_raw out err &&
	test $(wc -l <out) = 2 &&
	head -n 1 out | grep -F "FAIL timestamp: " &&
	head -n 1 out | grep -F "seal${FAKE_SHOWN}" &&
	tail -n 1 out | grep "^FAILED: "
'

test_expect_success 'any line of a tag message is shown escaped, whatever field holds it' '
	fresh attack2 &&
	{
		printf "RFC 3161 timestamp of the seal event\n\n" &&
		printf "%s\n" "not a field ${ESC}[2K${CSI}${RLO}${NOT_UTF8}"
	} >junk2.msg &&
	git -C attack2 tag -a -F "$PWD/junk2.msg" box/seal-2 main &&
	test_expect_code 1 audit attack2 >out 2>err &&
	check_raw out err &&
	grep -F "is not '\''Key: value'\'': '\''not a field \\x1b[2K${CSI_SHOWN}${RLO_SHOWN}\\xff'\''" out
'

test_expect_success 'verify --json keeps the tag field exact, as valid ASCII JSON' '
	test_expect_code 1 audit attack --json >out.json 2>err &&
	check_raw err &&
	check_json out.json &&
	jq -r ".checks[] | select(.status == \"fail\") | .detail" out.json >details &&
	printf "%s\n" "'\''box/seal-2'\'': the tag message names an unknown event '\''seal${FAKE}'\''" >expect &&
	test_cmp expect details
'

test_expect_success 'verify names a changed input with control characters escaped' '
	fresh forged-input &&
	(
		cd forged-input &&
		chmod -R u+w input &&
		printf "x\n" >"input/$ESC_NAME" &&
		box_nohooks add "input/$ESC_NAME" &&
		box_nohooks commit -q -m "more data"
	) &&
	test_expect_code 1 audit forged-input >out 2>err &&
	check_raw out err &&
	grep -F "'\''input/${ESC_NAME_SHOWN}'\''" out
'

test_expect_success 'verify --json keeps that path exact' '
	test_expect_code 1 audit forged-input --json >out.json 2>err &&
	check_json out.json &&
	jq -r ".checks[].path // empty, .checks[].detail" out.json >paths &&
	grep -F "input/$ESC_NAME" paths
'

# ---- the other commands ---------------------------------------------------------

test_expect_success 'init, seal and its stamp print nothing raw; the stamp shows the TSA name escaped' '
	check_raw init.out init.err seal.out seal.err &&
	grep -F "name      CN=$TSA_CN_SHOWN, O=escape tests" seal.out
'

test_expect_success 'log shows the message escaped on one line, and the TSA-stamped seal' '
	git -C audit box log >out 2>err &&
	check_raw out err &&
	grep -F "    message    done\\n${FAKE_SHOWN}" out &&
	! grep "^ok   seal" out
'

test_expect_success 'log --json keeps the message exact' '
	git -C audit box log --json >out.json &&
	check_json out.json &&
	jq -r ".events[-1].message" out.json >message &&
	printf "done\n%s\n" "$FAKE" >expect &&
	test_cmp expect message
'

test_expect_success 'show lists the inputs with bidi, LF and CR in their names escaped' '
	git -C audit box show >out 2>err &&
	check_raw out err &&
	grep -F "  input/sub/$BIDI_NAME_SHOWN" out &&
	grep -F "  input/sub/$LF_NAME_SHOWN" out &&
	grep -F "message   done\\n${FAKE_SHOWN}" out
'

test_expect_success 'show --json keeps the names and the message exact' '
	git -C audit box show --json >out.json &&
	check_json out.json &&
	jq -r ".manifest.inputs | keys[]" out.json >names &&
	grep -F "input/sub/$BIDI_NAME" names &&
	jq -e --arg name "input/sub/$LF_NAME" ".manifest.inputs | has(\$name)" out.json &&
	jq -e --arg m "done$LF$FAKE" ".manifest.message == \$m" out.json
'

test_expect_success 'mallory co-signs: sign, log, show and verify show the uid escaped' '
	git clone -q box cosign &&
	git -C cosign fetch -q origin refs/notes/box:refs/notes/box &&
	git -C cosign config user.signingKey $MALLORY &&
	(cd cosign && git box sign >../out 2>../err) &&
	check_raw out err &&
	grep -F "  signer    $MALLORY_UID_SHOWN $MALLORY as reviewer" out &&
	git -C cosign box log >out 2>err &&
	check_raw out err &&
	grep -F "    signed     $MALLORY_UID_SHOWN $MALLORY" out &&
	git -C cosign box show >out 2>err &&
	check_raw out err &&
	grep -F "signed    $MALLORY_UID_SHOWN $MALLORY" out &&
	git -C cosign fetch -q origin "refs/tags/box/*:refs/tags/box/*" &&
	audit cosign >out 2>err &&
	check_raw out err &&
	grep -F "$MALLORY_UID_SHOWN" out
'

test_expect_success 'the JSON of log and show keeps the uid exact' '
	git -C cosign box log --json >out.json &&
	check_json out.json &&
	jq -e --arg uid "$MALLORY_UID" "any(.events[-1].signatures[]; .uid == \$uid)" out.json &&
	git -C cosign box show --json >out.json &&
	check_json out.json &&
	jq -e --arg uid "$MALLORY_UID" "any(.signatures[]; .uid == \$uid)" out.json
'

test_expect_success 'a forged note name and message are shown escaped by log, show and status' '
	fresh forged-note &&
	(
		cd forged-note &&
		git notes --ref=box show main | sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" >payload &&
		NAME="study${RLO}" MESSAGE="x${FAKE}" python3 -c "$REWRITE_PAYLOAD" <payload >p.json &&
		box_nohooks notes --ref=box add -f -F p.json main &&
		for cmd in log show status
		do
			git box $cmd >$cmd.out 2>$cmd.err
			check_raw $cmd.out $cmd.err || return 1
		done &&
		grep -F "    message    x${FAKE_SHOWN}" log.out &&
		grep -F "message   x${FAKE_SHOWN}" show.out &&
		grep -F "(study${RLO_SHOWN})" show.out
	)
'

test_expect_success 'status names an input added on disk with control characters escaped' '
	box_init open >/dev/null &&
	(
		cd open &&
		chmod -R u+w input &&
		printf "x\n" >"input/$ESC_NAME" &&
		git box status >out 2>err &&
		check_raw out err &&
		grep -F "changed   input/$ESC_NAME_SHOWN (added)" out
	)
'

test_expect_success 'status --json keeps that name exact' '
	(cd open && git box status --json >../out.json) &&
	check_json out.json &&
	jq -e --arg p "input/$ESC_NAME" "any(.inputs_changed[]; .path == \$p)" out.json
'

test_expect_success 'a name that is not UTF-8 is kept whole in status --json, as \xNN' '
	printf "y\n" >"open/input/bad${NOT_UTF8}.csv" &&
	(cd open && git box status >../out 2>../err) &&
	check_raw out err &&
	grep -F "changed   input/bad\\xff.csv (added)" out &&
	(cd open && git box status --json >../out.json) &&
	check_json out.json &&
	jq -r ".inputs_changed[].path" out.json >paths &&
	grep -Fx "input/bad\\xff.csv" paths &&
	grep -Fx "input/$ESC_NAME" paths
'

test_expect_success 'a commit hook names the refused path escaped, in the error and the hint' '
	(
		cd open &&
		rm -f "input/bad${NOT_UTF8}.csv" &&
		git box install >/dev/null &&
		blob=$(git hash-object -w --no-filters "input/$ESC_NAME") &&
		git update-index --add --cacheinfo "100644,$blob,input/$ESC_NAME" &&
		test_must_fail git commit -q -m "sneak in" 2>err &&
		check_raw err &&
		grep -F "'\''input/$ESC_NAME_SHOWN'\''" err &&
		grep -F "git rm --cached '\''input/$ESC_NAME_SHOWN'\''" err &&
		git rm -q --cached "input/$ESC_NAME"
	)
'

test_expect_success 'import names a file it will not overwrite escaped' '
	mkdir imp &&
	printf "x\n" >"imp/$ESC_NAME" &&
	(cd open && test_expect_code 2 git box import "../imp/$ESC_NAME" >../out 2>../err) &&
	check_raw out err &&
	grep -F "would overwrite '\''$SHARNESS_TRASH_DIRECTORY/open/input/$ESC_NAME_SHOWN'\''" err
'

test_expect_success 'restore names what it restores escaped' '
	(
		cd box &&
		chmod u+w input/sub "input/sub/$LF_NAME" "input/sub/$BIDI_NAME" &&
		echo changed >"input/sub/$LF_NAME" &&
		echo changed >"input/sub/$BIDI_NAME" &&
		git box restore input >../out 2>../err
	) &&
	check_raw out err &&
	grep -Fx "restored '\''input/sub/$LF_NAME_SHOWN'\''" out &&
	grep -Fx "restored '\''input/sub/$BIDI_NAME_SHOWN'\''" out &&
	echo 2 >expect &&
	test_cmp expect "box/input/sub/$LF_NAME"
'

test_expect_success SCRIPT 'show --payload is exact into a pipe, and escaped on a terminal' '
	fresh raw-note &&
	(
		cd raw-note &&
		printf "{\"message\": \"%s\"}\n" "$FAKE" >raw.json &&
		box_nohooks notes --ref=box add -F raw.json HEAD~1 &&
		git box show --payload HEAD~1 >piped &&
		test_cmp raw.json piped &&
		script -qec "stty -onlcr; git box show --payload HEAD~1" /dev/null >tty &&
		check_raw tty &&
		grep -F "{\"message\": \"${FAKE_SHOWN}\"}" tty
	)
'

test_expect_success 'no command, hook or filter formats a line but through the escaping printers' '
	(
		cd "$BOX_SOURCE_DIR" &&
		grep -n "\<\(f\|d\|v\|vf\)\?printf(\|\<f\?puts([^\"]" \
			git-box/main.c git-box/cmd-*.c hooks/*.c filters/*.c
	) >found;
	test_must_be_empty found
'

# ---- bundles --------------------------------------------------------------------

test_expect_success 'setup: the box exported to a bundle' '
	(cd box && git box export -o ../box.tar >../out 2>../err) &&
	check_raw out err &&
	mkdir bag && tar -C bag -xf box.tar &&
	bagdir=$(ls bag)
'

test_expect_success 'a bag-info field a forger wrote is shown escaped by verify' '
	cp -R bag info-bag &&
	sed "s/^External-Identifier: .*/External-Identifier: x${FAKE}/" bag/$bagdir/bag-info.txt \
		>info-bag/$bagdir/bag-info.txt &&
	tar -C info-bag -cf info.tar $bagdir &&
	test_expect_code 1 git box verify --trust-signer $ALICE --keyring signers.asc \
		--tsa-ca evil-ca/ca.pem info.tar >out 2>err &&
	check_raw out err &&
	grep -F "FAIL bag: '\''bag-info.txt'\'': External-Identifier '\''x${FAKE_SHOWN}'\'' is not the box" out &&
	tail -n 1 out | grep "^FAILED: "
'

test_expect_success 'verify --json of that bundle keeps the field exact' '
	test_expect_code 1 git box verify --json --trust-signer $ALICE --keyring signers.asc \
		--tsa-ca evil-ca/ca.pem info.tar >out.json 2>err &&
	check_json out.json &&
	jq -r ".checks[].detail" out.json >details &&
	grep -F "External-Identifier '\''x${FAKE}'\''" details
'

test_expect_success 'member names a forger wrote are shown escaped by verify, refused or not' '
	cp -R bag member-bag &&
	printf "x\n" >"member-bag/$bagdir/data/$BIDI_NAME" &&
	tar -C member-bag -cf member.tar $bagdir &&
	test_expect_code 1 git box verify --trust-signer $ALICE --keyring signers.asc \
		--tsa-ca evil-ca/ca.pem member.tar >out 2>err &&
	check_raw out err &&
	grep -F "data/$BIDI_NAME_SHOWN" out &&
	printf "x\n" >"member-bag/$bagdir/data/$ESC_NAME" &&
	tar -C member-bag -cf member.tar $bagdir &&
	test_expect_code 1 git box verify --trust-signer $ALICE --keyring signers.asc \
		--tsa-ca evil-ca/ca.pem member.tar >out 2>err &&
	check_raw out err &&
	grep -F "FAIL bag: refusing member '\''$bagdir/data/$ESC_NAME_SHOWN'\'': it has a control character" out
'

test_done
