#!/bin/sh

test_description='git box export writes the audit bundle of gitbox-bundle(5), which stock tools check'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
TEST_BAG="$BOX_BUILD_DIR/t/unit/test-bag"
test -x "$TEST_BAG" && test_set_prereq TEST_BAG
command -v zstd >/dev/null 2>&1 && test_set_prereq ZSTD

# git box's own bag checker (the bag module's unit test): "result: valid".
bag_check () {
	BAG_CHECK="$1" CK_RUN_CASE=external "$TEST_BAG" >check.log 2>&1 &&
	grep -E '^(result|problem|warning|error|payload): ' check.log >out
}

SQ="'"

# fake_event: a checkpoint manifest on HEAD, made with stock git from the
# init manifest on HEAD~1 (hooks off): an event whose tree git box would
# never have hashed.
fake_event () {
	init=$(git rev-parse HEAD~1) && head=$(git rev-parse HEAD) &&
	git notes --ref=box show $init | sed -e "/^-----BEGIN PGP SIGNATURE-----\$/,\$d" >../init.json &&
	previous=$(sha256sum <../init.json | cut -d" " -f1) &&
	sed -e "s/\"previous\": null/\"previous\": \"$previous\"/" \
		-e "s/\"commit\": \"$init\"/\"commit\": \"$head\"/" \
		-e "s/\"tree\": \"$(git rev-parse HEAD~1^{tree})\"/\"tree\": \"$(git rev-parse HEAD^{tree})\"/" \
		-e "s/\"event\": \"init\"/\"event\": \"checkpoint\"/" ../init.json >../fake.json &&
	grep "\"commit\": \"$head\"" ../fake.json &&
	box_nohooks notes --ref=box add -F ../fake.json HEAD
}

test_expect_success 'setup: a sealed box, signed by alice and timestamped by our TSA' '
	tsa_start tsa &&
	box_gpg_import alice &&
	box_init_stamped box 1 $ALICE &&
	(
		cd box &&
		printf "#!/bin/sh\necho run\n" >run.sh && chmod +x run.sh &&
		ln -s run.sh latest &&
		mkdir -p output &&
		printf "arm,sofa\nA,3\n" >"output/N$(printf "\303\272\303\261")ez.csv" &&
		git add run.sh latest output &&
		git commit -q -m analysis &&
		git box seal -m final >../seal.out
	) &&
	commit=$(git -C box rev-parse HEAD) &&
	echo $commit >commit &&
	echo "study-$(echo $commit | cut -c1-12)" >bagname &&
	git -C box rev-list --max-parents=0 HEAD >boxid
'

test_expect_success 'export with no argument writes the seal to <name>-<commit>.tar here' '
	name=$(cat bagname) &&
	(cd box && git box export >../out 2>../err) &&
	echo "Exported the seal event on $(cut -c1-12 commit) to .$name.tar.: 8 files, [0-9]* bytes" >expect &&
	grep -x "$(cat expect)" out &&
	test_must_be_empty err &&
	mv box/$name.tar . &&
	test_path_is_file $name.tar
'

test_expect_success 'tar lists the members in the documented order and nothing else' '
	name=$(cat bagname) &&
	cat >expect <<-EOF &&
	$name/
	$name/bagit.txt
	$name/data/
	$name/data/.box/
	$name/data/.box/policy.yaml
	$name/data/.box/tsa-ca.pem
	$name/data/.gitattributes
	$name/data/input/
	$name/data/input/data.csv
	$name/data/input/sub/
	$name/data/input/sub/patients.csv
	$name/data/latest
	$name/data/output/
	$name/data/output/N\303\272\303\261ez.csv
	$name/data/run.sh
	$name/box/
	$name/box/README.txt
	$name/box/manifest.json
	$name/box/manifest.json.asc
	$name/box/manifest.tsr
	$name/box/repo.bundle
	$name/box/tsa-chain.pem
	$name/box/verify.json
	$name/bag-info.txt
	$name/manifest-sha256.txt
	$name/tagmanifest-sha256.txt
	EOF
	tar -tf $name.tar >actual 2>err &&
	test_cmp expect actual &&
	test_must_be_empty err
'

test_expect_success 'every member is owned by 0/0 with no names, dated from the commit, with fixed modes' '
	name=$(cat bagname) &&
	tar --numeric-owner --full-time -tvf $name.tar >listing &&
	tar --full-time -tvf $name.tar >named &&
	test_cmp listing named &&
	awk "{ print \$1, \$2, \$4, \$5 }" listing | sort | uniq -c | sed "s/^ *//" >actual &&
	cat >expect <<-\EOF &&
	18 -rw-r--r-- 0/0 2023-11-14 22:13:20
	1 -rwxr-xr-x 0/0 2023-11-14 22:13:20
	7 drwxr-xr-x 0/0 2023-11-14 22:13:20
	EOF
	test_cmp expect actual &&
	grep "^-rwxr-xr-x .* $name/data/run.sh\$" listing &&
	! grep -a -E "atime=|ctime=|SCHILY|LIBARCHIVE" $name.tar
'

test_expect_success 'bagit.txt and bag-info.txt hold the documented lines' '
	name=$(cat bagname) &&
	tar -xf $name.tar &&
	printf "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n" >expect &&
	test_cmp expect $name/bagit.txt &&
	bytes=$(find $name/data -type f -exec cat {} + | wc -c) &&
	cat >expect <<-EOF &&
	Bagging-Date: 2023-11-14
	Bag-Software-Agent: git box $(git box --version | sed -n "s/^git box version //p")
	External-Identifier: $(cat boxid)
	External-Description: audit bundle of the box ${SQ}study${SQ} at $(cat commit)
	Git-Box-Commit: $(cat commit)
	Payload-Oxum: $bytes.8
	EOF
	test_cmp expect $name/bag-info.txt
'

test_expect_success 'sha256sum -c checks both manifests of the extracted bag' '
	name=$(cat bagname) &&
	(cd $name && sha256sum --strict -c manifest-sha256.txt) >actual &&
	test $(wc -l <actual) = 8 &&
	! grep -v ": OK\$" actual &&
	(cd $name && sha256sum --strict -c tagmanifest-sha256.txt) >actual &&
	cat >expect <<-\EOF &&
	bag-info.txt: OK
	bagit.txt: OK
	box/README.txt: OK
	box/manifest.json: OK
	box/manifest.json.asc: OK
	box/manifest.tsr: OK
	box/repo.bundle: OK
	box/tsa-chain.pem: OK
	box/verify.json: OK
	manifest-sha256.txt: OK
	EOF
	test_cmp expect actual
'

test_expect_success 'data/ is what git archive makes of the commit, the link a file of its target' '
	name=$(cat bagname) &&
	mkdir tree &&
	git -C box archive $(cat commit) | tar -x -C tree &&
	test -h tree/latest && ! test -h $name/data/latest &&
	printf "run.sh" >expect &&
	test_cmp expect $name/data/latest &&
	rm tree/latest &&
	mv $name/data/latest latest.file &&
	diff -r tree $name/data &&
	mv latest.file $name/data/latest
'

test_expect_success 'box/manifest.json is the note.s payload and the .asc its signatures, byte for byte' '
	name=$(cat bagname) &&
	(cd box && git box show --payload >../payload && git box show --signatures >../sigs) &&
	cmp payload $name/box/manifest.json &&
	cmp sigs $name/box/manifest.json.asc &&
	git -C box notes --ref=box show $(cat commit) | sed "/^-----BEGIN PGP SIGNATURE-----\$/,\$d" >note &&
	cmp note $name/box/manifest.json
'

test_expect_success 'stock gpg verifies box/manifest.json.asc over box/manifest.json' '
	name=$(cat bagname) &&
	gpg --verify $name/box/manifest.json.asc $name/box/manifest.json 2>gpg.out &&
	grep "Good signature from \"Alice Analyst" gpg.out
'

test_expect_success 'stock openssl ts verifies box/manifest.tsr over box/manifest.json' '
	name=$(cat bagname) &&
	openssl ts -verify -data $name/box/manifest.json -in $name/box/manifest.tsr \
		-CAfile "$TSA_FIXTURES/ca.pem" >ts.out 2>&1 &&
	grep "^Verification: OK\$" ts.out &&
	(cd box && tsa_cut box/seal-1 ../tag.tsr ../tag.json) &&
	cmp tag.tsr $name/box/manifest.tsr &&
	cmp "$TSA_FIXTURES/ca.pem" $name/box/tsa-chain.pem
'

test_expect_success 'git bundle verify accepts box/repo.bundle in an empty repository' '
	name=$(cat bagname) &&
	git init -q --bare empty &&
	(cd empty && git bundle verify ../$name/box/repo.bundle) >bundle.out 2>&1 &&
	grep "records a complete history" bundle.out &&
	(cd empty && git fetch -q ../$name/box/repo.bundle "refs/*:refs/*") &&
	git -C box for-each-ref --format="%(objectname) %(refname)" >expect &&
	git -C empty for-each-ref --format="%(objectname) %(refname)" >actual &&
	test_cmp expect actual &&
	git -C empty notes --ref=box show $(cat commit) | sed "/^-----BEGIN PGP SIGNATURE-----\$/,\$d" |
		cmp - $name/box/manifest.json
'

test_expect_success 'box/verify.json is what git box verify --self-check --json says of the commit' '
	name=$(cat bagname) &&
	(cd box && git box verify --self-check --json $(cat ../commit) >../verify.json) &&
	test_cmp verify.json $name/box/verify.json &&
	jq -r ".verdict, .commit, .trust.source" $name/box/verify.json >actual &&
	printf "consistent\n%s\nrepository\n" "$(cat commit)" >expect &&
	test_cmp expect actual
'

test_expect_success 'box/README.txt names this bag and the stock commands' '
	name=$(cat bagname) &&
	grep "^This is the audit bundle of the git box .study. at commit\$" $name/box/README.txt &&
	grep "^  tar -xf $name.tar " $name/box/README.txt &&
	grep "^  sha256sum -c manifest-sha256.txt " $name/box/README.txt &&
	grep "^  gpg --verify box/manifest.json.asc box/manifest.json\$" $name/box/README.txt &&
	grep "^  openssl ts -verify -data box/manifest.json -in box/manifest.tsr" $name/box/README.txt &&
	grep "^  git bundle verify ../box/repo.bundle " $name/box/README.txt &&
	grep "git archive $(cat commit)" $name/box/README.txt
'

test_expect_success TEST_BAG 'git box.s bag checker finds the bundle valid' '
	bag_check $(cat bagname).tar &&
	printf "result: valid\npayload: 8 files\n" >expect &&
	test_cmp expect out
'

test_expect_success 'two exports of the same seal are the same bytes' '
	name=$(cat bagname) &&
	(cd box && git box export -o ../again.tar >/dev/null) &&
	cmp $name.tar again.tar
'

test_expect_success 'the .tar.gz and .tar.zst decompress to the same .tar' '
	name=$(cat bagname) &&
	(cd box && git box export --format tar.gz >/dev/null && git box export -o ../b.tar.zst >/dev/null) &&
	gzip -dc box/$name.tar.gz | cmp - $name.tar &&
	od -A n -t x1 -N 8 box/$name.tar.gz | tr -s " \n" " " >header &&
	echo " 1f 8b 08 00 00 00 00 00 " | tr -d "\n" >expect &&
	test_cmp expect header &&
	if test_have_prereq ZSTD
	then
		zstd -q -dc b.tar.zst | cmp - $name.tar
	fi
'

test_expect_success '--format overrides the name, and -o - writes the bundle to stdout' '
	name=$(cat bagname) &&
	(cd box && git box export --format tar -o ../plain.tgz >/dev/null) &&
	cmp plain.tgz $name.tar &&
	(cd box && git box export -o - >../stdout.tar 2>../err) &&
	cmp stdout.tar $name.tar &&
	test_must_be_empty err
'

test_expect_success '--json reports the file, the format, the commit, the box, sizes and the sha256' '
	(cd box && git box export --json -o ../j.tar.gz >../out.json) &&
	jq -r "[.file, .format, .commit, .box, .bytes, .payload_files, .payload_bytes, .sha256, .verify] | @tsv" \
		out.json >actual &&
	printf "../j.tar.gz\ttar.gz\t%s\t%s\t%s\t8\t%s\t%s\tconsistent\n" "$(cat commit)" "$(cat boxid)" \
		"$(stat -c %s j.tar.gz)" "$(sed -n "s/^Payload-Oxum: \(.*\)\.8\$/\1/p" $(cat bagname)/bag-info.txt)" \
		"$(sha256sum j.tar.gz | cut -d" " -f1)" >expect &&
	test_cmp expect actual &&
	jq -r "keys | join(\" \")" out.json >keys &&
	echo "box bytes commit file format payload_bytes payload_files sha256 verify" >expect &&
	test_cmp expect keys
'

test_expect_success 'an existing target is replaced whole, and no temporary file is left' '
	echo old >over.tar &&
	(cd box && git box export -o ../over.tar >/dev/null) &&
	cmp over.tar $(cat bagname).tar &&
	ls -a | grep "\.tmp" >tmps || : &&
	test_must_be_empty tmps
'

test_expect_success 'an earlier event is exported when named, without the members it lacks' '
	init=$(cat boxid) &&
	(cd box && git box export -o ../init.tar $init >../out) &&
	grep "^Exported the init event on $(echo $init | cut -c1-12) to " out &&
	tar -tf init.tar >list &&
	grep "^study-$(echo $init | cut -c1-12)/box/manifest.json\$" list &&
	grep "/box/repo.bundle\$" list &&
	! grep "manifest.json.asc\|manifest.tsr" list &&
	tar -xf init.tar &&
	(cd study-$(echo $init | cut -c1-12) && sha256sum --strict --quiet -c tagmanifest-sha256.txt &&
	 sha256sum --strict --quiet -c manifest-sha256.txt) &&
	! grep "manifest.tsr\|gpg --verify" study-$(echo $init | cut -c1-12)/box/README.txt
'

test_expect_success 'outside a box, export exits 2 and writes nothing' '
	git init -q plain &&
	(cd plain && test_expect_code 2 git box export >../out 2>../err) &&
	test_must_be_empty out &&
	grep "^error: " err &&
	grep "^hint: make one with .git box init." err &&
	ls plain >files &&
	test_must_be_empty files
'

test_expect_success 'setup: a box that is not sealed' '
	box_init open >/dev/null &&
	(cd open && box_commit work work.R) &&
	git -C open rev-parse HEAD >open-head
'

test_expect_success 'an unsealed box without <rev> exits 1 and says so' '
	(cd open && test_expect_code 1 git box export >../out 2>../err) &&
	test_must_be_empty out &&
	grep "^error: the box .open. is not sealed: there is no seal to export\$" err &&
	grep "^hint: seal it with .git box seal., or name the event to export" err &&
	! ls open/*.tar 2>/dev/null
'

test_expect_success 'an unsealed box exports the event <rev> names' '
	(cd open && git box export -o ../open-init.tar HEAD~1 >../out) &&
	grep "^Exported the init event on " out &&
	tar -tf open-init.tar | grep "/box/manifest.json\$"
'

test_expect_success 'a <rev> that has no event exits 1 and writes nothing' '
	(cd open && test_expect_code 1 git box export -o ../none.tar HEAD >../out 2>../err) &&
	test_must_be_empty out &&
	grep "^error: .HEAD. ($(cut -c1-12 open-head)) is not an event of the box branch" err &&
	grep "^hint: .git box log. lists the events" err &&
	test_path_is_missing none.tar
'

test_expect_success 'a <rev> that is not a commit exits 2' '
	(cd box && test_expect_code 2 git box export -o ../none.tar no-such-rev >../out 2>../err) &&
	grep "^error: .no-such-rev. is not a commit\$" err &&
	test_path_is_missing none.tar
'

test_expect_success 'an unknown --format exits 2 with the usage' '
	(cd box && test_expect_code 2 git box export --format zip >../out 2>../err) &&
	test_must_be_empty out &&
	grep "^error: unknown format .zip.: give tar, tar.gz or tar.zst\$" err &&
	grep "^usage: git box export" err
'

test_expect_success 'a second <rev> or --json with -o - exit 2 with the usage' '
	(cd box && test_expect_code 2 git box export HEAD HEAD~1 2>../err) &&
	grep "^error: unexpected argument .HEAD~1.\$" err &&
	(cd box && test_expect_code 2 git box export --json -o - 2>../err) &&
	grep "^error: --json and -o - both write to standard output\$" err
'

test_expect_success 'a target in a missing folder exits 2 and creates nothing' '
	(cd box && test_expect_code 2 git box export -o ../no/such/dir/b.tar >../out 2>../err) &&
	grep "^error: cannot write .../no/such/dir/b.tar.: the folder .../no/such/dir/. does not exist\$" err &&
	test_path_is_missing no
'

test_expect_success 'a target that is a folder exits 2 and is left alone' '
	mkdir adir &&
	(cd box && test_expect_code 2 git box export -o ../adir >../out 2>../err) &&
	grep "^error: cannot write .../adir.: it is a folder\$" err &&
	ls adir >files &&
	test_must_be_empty files
'

test_expect_success 'setup: a sealed box with a big file' '
	box_policy big.yaml none 0 &&
	box_sample_data big.src &&
	dd if=/dev/zero of=big.src/zeros.bin bs=1048576 count=8 2>/dev/null &&
	git box init big --policy big.yaml --from big.src/data.csv --from big.src/zeros.bin >/dev/null &&
	(cd big && git box seal -m final >/dev/null)
'

test_expect_success 'a SIGTERM during export: nothing at the target, no temporary left, then it dies of it' '
	mkdir sigtmp &&
	box_slow_gpg slow &&
	(
		HOME=$PWD/slow/home TMPDIR=$PWD/sigtmp && export HOME TMPDIR &&
		exec git-box -C box export -o ../signalled.tar >out 2>err
	) &
	pid=$! &&
	box_wait_for slow/started &&
	ls -a | grep "^signalled.tar.tmp" >during &&
	test -s during &&
	kill -TERM $pid &&
	test_expect_code 143 wait $pid &&
	test_path_is_missing signalled.tar &&
	ls -a | grep "^signalled.tar" >left || : &&
	test_must_be_empty left &&
	ls -A sigtmp >left &&
	test_must_be_empty left
'

# valgrind itself cannot start without a temporary folder
test_expect_success !VALGRIND 'without a usable temporary folder export exits 2 and writes nothing' '
	(cd box && test_expect_code 2 env TMPDIR="$PWD/../no-such-folder" \
		git box export -o ../notmp.tar >../out 2>../err) &&
	grep "^error: cannot make a temporary folder .*/no-such-folder/git-box-export\.[A-Za-z0-9]*.: No such file or directory$" err &&
	test_path_is_missing notmp.tar &&
	ls -a | grep "^notmp.tar" >left || : &&
	test_must_be_empty left
'

test_expect_success 'over a file size limit, export exits 2, leaves no file and keeps the old target' '
	echo old >limited.tar &&
	(
		ulimit -f 4096 &&
		cd big && test_expect_code 2 git box export -o ../limited.tar >../out 2>../err
	) &&
	grep "^error: cannot write .../limited.tar.: .*File too large" err &&
	echo old >expect &&
	test_cmp expect limited.tar &&
	ls -a | grep "limited.tar.tmp" >tmps || : &&
	test_must_be_empty tmps
'

# A 2 MiB tmpfs, where root may mount one: mounted only while its test runs.
if test "$(id -u)" = 0 && mkdir small && mount -t tmpfs -o size=2m tmpfs small 2>/dev/null
then
	umount small && test_set_prereq TMPFS
fi

test_expect_success TMPFS 'on a full disk, export exits 2 and leaves nothing in the folder' '
	mount -t tmpfs -o size=2m tmpfs small &&
	test_when_finished "umount small" &&
	(cd big && test_expect_code 2 git box export -o ../small/full.tar >../out 2>../err) &&
	grep "^error: cannot write .../small/full.tar.: .*No space left on device" err &&
	ls -a small >files &&
	printf ".\n..\n" >expect &&
	test_cmp expect files
'

test_expect_success 'with room again, the same export completes' '
	(cd big && git box export -o ../big.tar >/dev/null) &&
	tar -tvf big.tar | grep " study-[0-9a-f]*/data/input/zeros.bin\$" >line &&
	grep " 8388608 " line
'

test_expect_success 'setup: an event on a tree with a path that is not UTF-8' '
	box_init bad >/dev/null &&
	(
		cd bad &&
		printf x >"$(printf "bad\377name")" &&
		git add . && box_nohooks commit -q -m bad &&
		fake_event
	)
'

test_expect_success 'a path a bag cannot hold is refused (exit 1) before anything is written' '
	(cd bad && test_expect_code 1 git box export -o ../bad.tar HEAD >../out 2>../err) &&
	grep "^error: cannot export tree [0-9a-f]*: cannot put .bad.*name. in a bag: the name is not valid UTF-8\$" err &&
	test_path_is_missing bad.tar
'

test_expect_success 'setup: a timestamp tag that stamps another payload' '
	box_init forged >/dev/null &&
	(
		cd forged &&
		box_commit work work.R &&
		fake_event &&
		git -C ../box cat-file tag box/seal-1 | sed "1,/^\$/d" >../seal-message &&
		box_nohooks tag -a -F ../seal-message box/seal-1 HEAD
	)
'

test_expect_success 'a timestamp tag that does not stamp the manifest is refused (exit 1)' '
	(cd forged && test_expect_code 1 git box export -o ../forged.tar HEAD >../out 2>../err) &&
	grep "^error: the timestamp tag .box/seal-1. stamps the payload [0-9a-f]*, not the manifest.s [0-9a-f]*\$" err &&
	grep "^hint: .git box verify" err &&
	test_path_is_missing forged.tar
'

test_expect_success 'setup: an event whose manifest lies about an input its commit changed, keeping its size' '
	box_init lying >/dev/null &&
	(
		cd lying &&
		git rev-parse HEAD:input/data.csv >../lying-old-blob &&
		blob=$(printf "id,value\n1,10\n2,99\n" | git hash-object -w --stdin) &&
		git update-index --cacheinfo 100644,$blob,input/data.csv &&
		box_nohooks commit -q -m "change an input behind the box" &&
		fake_event
	)
'

test_expect_success 'box/verify.json of that event records the lie, with the hash of the exported content' '
	(cd lying && git box export -o ../lying.tar HEAD >../out 2>../err) &&
	grep "^warning: git box verify finds [1-9][0-9]* failures\{0,1\} at " err &&
	head=$(git -C lying rev-parse HEAD) &&
	bag=lying-$(echo $head | cut -c1-12) &&
	tar -xf lying.tar &&
	(cd lying && git box verify --self-check --json HEAD >../lying-verify.json || test $? = 1) &&
	test_cmp lying-verify.json $bag/box/verify.json &&
	old=$(git -C lying cat-file blob $(cat lying-old-blob) | sha256sum | cut -d" " -f1) &&
	new=$(sha256sum <$bag/data/input/data.csv | cut -d" " -f1) &&
	grep "^$new  data/input/data.csv\$" $bag/manifest-sha256.txt &&
	jq -r ".verdict, (.checks[] | select(.status == \"fail\" and .check == \"payload\" and
		.path == \"input/data.csv\") | .commit, .detail)" $bag/box/verify.json >actual &&
	cat >expect <<-EOF &&
	failed
	$head
	the manifest says sha256 $old, the commit${SQ}s blob hashes to $new
	EOF
	test_cmp expect actual
'

test_done
