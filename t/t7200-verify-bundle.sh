#!/bin/sh

test_description='git box verify BUNDLE.tar checks an audit bundle offline, and refuses unsafe archives by name'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
command -v zstd >/dev/null 2>&1 && test_set_prereq ZSTD

# Extract a bundle, let the caller edit it, and tar it again as export
# would: retar NAME.tar OUT.tar 'shell commands run in the bag folder'.
retar () {
	rm -rf work && mkdir work &&
	tar -C work -xf "$1" &&
	(cd work/$(cat bagname) && eval "$3") &&
	tar -C work --sort=name --owner=0 --group=0 --numeric-owner -cf "$2" $(cat bagname)
}

# Recompute the bag's manifests after an edit, as a forger who knows BagIt would.
rebag () {
	find data -type f | LC_ALL=C sort | xargs sha256sum >manifest-sha256.txt &&
	bytes=$(find data -type f -exec cat {} + | wc -c) &&
	files=$(find data -type f | wc -l) &&
	sed -i "s/^Payload-Oxum: .*/Payload-Oxum: $bytes.$files/" bag-info.txt &&
	{ ls bag-info.txt bagit.txt manifest-sha256.txt; find box -type f; } | LC_ALL=C sort |
		xargs sha256sum >tagmanifest-sha256.txt
}

# verify_fails BUNDLE: exit 1, the report in out.
verify_fails () {
	test_expect_code 1 git box verify --keyring alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" "$@" >out 2>err
}

test_expect_success 'setup: a sealed box, signed by alice, timestamped, exported' '
	tsa_start tsa &&
	box_gpg_import alice &&
	gpg --export --armor $ALICE >alice.asc &&
	box_init_stamped box 1 $ALICE &&
	(
		cd box &&
		printf "#!/bin/sh\necho run\n" >run.sh && chmod +x run.sh &&
		ln -s run.sh latest &&
		mkdir -p output &&
		printf "arm,sofa\nA,3\n" >output/result.csv &&
		git add run.sh latest output &&
		git commit -q -m analysis &&
		git box seal -m final >../seal.out
	) &&
	commit=$(git -C box rev-parse HEAD) &&
	echo $commit >commit &&
	echo "study-$(echo $commit | cut -c1-12)" >bagname &&
	git -C box notes --ref=box show HEAD | sed "/^-----BEGIN PGP SIGNATURE-----\$/,\$d" >seal.json &&
	sha256sum <seal.json | cut -d" " -f1 >seal.sha &&
	(cd box && git box export -o ../good.tar >/dev/null &&
		git box export --format tar.gz -o ../good.tar.gz >/dev/null) &&
	test_path_is_file good.tar
'

test_expect_success 'a good bundle verifies offline against the given roots (exit 0)' '
	git box verify --keyring alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" \
		--expect-seal $(cat seal.sha) good.tar >out 2>err &&
	test_must_be_empty err &&
	grep "^ok   bag: .$(cat bagname)/. is a valid BagIt 1.0 bag: 8 payload files" out &&
	grep "^ok   bundle: .box/repo.bundle.: a complete git bundle, imported with fsck" out &&
	grep "^ok   signature: seal " out &&
	grep "^ok   quorum: seal " out &&
	grep "^ok   timestamp: seal " out &&
	grep "^ok   seal: seal .*the seal is the one expected" out &&
	grep "^ok   bundle: [0-9a-f]*: .box/manifest.json.: is the payload of the manifest note" out &&
	grep "^ok   bundle: [0-9a-f]*: .box/manifest.json.asc.: is the signatures" out &&
	grep "^ok   bundle: [0-9a-f]*: .box/manifest.tsr.: is the timestamp response of the tag .box/seal-1." out &&
	grep "^ok   bundle: [0-9a-f]*: .box/tsa-chain.pem.: is the policy.s timestamp.ca" out &&
	if tar -tf good.tar | grep -q "/box/verify.json\$"
	then
		grep "^ok   bundle: .box/verify.json.: present, and not read" out
	fi &&
	grep "^ok   data: seal [0-9a-f]*: data/ is exactly the 8 files of the manifest" out &&
	! grep "^FAIL" out &&
	grep "^verified: box [0-9a-f]* (study), COMPLETED at $(cut -c1-12 commit): .* 0 failed" out
'

test_expect_success 'outside any repository and from another folder, the same' '
	mkdir -p elsewhere &&
	(cd elsewhere && git box verify --keyring ../alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" --expect-seal $(cat ../seal.sha) ../good.tar >../out2) &&
	test_cmp out out2 &&
	sed -n "\$p" out2 >actual && sed -n "\$p" out >expect &&
	test_cmp expect actual
'

test_expect_success 'a .tar.gz bundle verifies the same' '
	git box verify --keyring alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" --expect-seal $(cat seal.sha) good.tar.gz >outgz &&
	test_cmp out outgz
'

test_expect_success ZSTD 'a .tar.zst bundle verifies the same' '
	zstd -q -c <good.tar >good.tar.zst &&
	git box verify --keyring alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" --expect-seal $(cat seal.sha) good.tar.zst >outzst &&
	test_cmp out outzst
'

test_expect_success 'a self-check of a bundle takes the roots it names itself, and says so' '
	git box verify --self-check good.tar >out &&
	grep "^ok   trust: .*: self-check: the signers of the box.s own policy at init ($ALICE)" out &&
	grep "^ok   trust: .*: self-check: the TSA trust anchors of the box.s own policy" out &&
	grep "^ok   data: " out &&
	grep "^consistent (self-check): box [0-9a-f]* (study), COMPLETED at $(cut -c1-12 commit): .* 0 failed" out &&
	! grep "^verified" out
'

test_expect_success '--json gives the report of a clone, with the bundle.s checks' '
	git box verify --json --keyring alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" good.tar >report.json &&
	python3 - report.json "$(cat commit)" <<-\EOF
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert r["schema"] == "git-box/verify/v1", r
	assert r["verdict"] == "verified" and r["failures"] == 0, r
	assert r["commit"] == sys.argv[2], r
	assert r["state"] == "COMPLETED", r
	assert r["trust"]["source"] == "given", r
	kinds = set(c["check"] for c in r["checks"])
	for k in ("bag", "bundle", "data", "chain", "payload", "signature", "timestamp", "seal"):
	    assert k in kinds, (k, kinds)
	EOF
'

test_expect_success 'the report is the same bytes twice (determinism)' '
	git box verify --json --keyring alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" good.tar >again.json &&
	test_cmp report.json again.json &&
	(cd box && git box export -o ../again.tar >/dev/null) &&
	cmp good.tar again.tar
'

# ---- tampering --------------------------------------------------------------

test_expect_success 'a payload byte changed: exit 1, the bag and data/ name the file' '
	retar good.tar payload.tar "chmod u+w data/input/data.csv && printf X >>data/input/data.csv" &&
	verify_fails payload.tar &&
	grep "^FAIL bag: .data/input/data.csv. does not match manifest-sha256.txt" out &&
	grep "^FAIL data: seal [0-9a-f]*: .data/input/data.csv.: [0-9]* bytes, but the manifest says" out &&
	grep "^FAILED: " out
'

test_expect_success 'a payload byte changed and the bag redone: data/ still names the file' '
	retar good.tar forged.tar "chmod -R u+w . && printf X >>data/input/data.csv && rebag" &&
	verify_fails forged.tar &&
	grep "^ok   bag: " out &&
	grep "^FAIL data: seal [0-9a-f]*: .data/input/data.csv.: " out
'

test_expect_success 'a file added to data/: exit 1, named' '
	retar good.tar added.tar "chmod -R u+w . && echo extra >data/input/extra.csv" &&
	verify_fails added.tar &&
	grep "^FAIL bag: .data/input/extra.csv. is in the bag but not in manifest-sha256.txt" out &&
	grep "^FAIL data: seal [0-9a-f]*: .data/input/extra.csv.: in data/, but not in the manifest" out
'

test_expect_success 'a file added and the bag redone: data/ names it' '
	retar good.tar added2.tar "chmod -R u+w . && echo extra >data/input/extra.csv && rebag" &&
	verify_fails added2.tar &&
	grep "^ok   bag: " out &&
	grep "^FAIL data: seal [0-9a-f]*: .data/input/extra.csv.: in data/, but not in the manifest" out
'

test_expect_success 'a file removed from data/: exit 1, named' '
	retar good.tar removed.tar "chmod -R u+w . && rm data/output/result.csv" &&
	verify_fails removed.tar &&
	grep "^FAIL bag: .data/output/result.csv. is listed in manifest-sha256.txt but" out &&
	grep "^FAIL data: seal [0-9a-f]*: .data/output/result.csv.: in the manifest, but not in data/" out
'

test_expect_success 'the executable bit taken off: data/ names the file' '
	retar good.tar mode.tar "chmod -R u+w . && chmod a-x data/run.sh" &&
	verify_fails mode.tar &&
	grep "^FAIL data: seal [0-9a-f]*: .data/run.sh.: not executable, but the manifest says mode 100755" out
'

test_expect_success 'the tag manifest edited: exit 1, named' '
	zeros=0000000000000000000000000000000000000000000000000000000000000000 &&
	retar good.tar tagman.tar "chmod u+w tagmanifest-sha256.txt &&
		sed -i \"s|^[0-9a-f]*  box/README.txt\$|$zeros  box/README.txt|\" tagmanifest-sha256.txt" &&
	verify_fails tagman.tar &&
	grep "^FAIL bag: .box/README.txt. does not match tagmanifest-sha256.txt" out
'

test_expect_success 'box/manifest.json edited (a byte), the bag redone: exit 1, named' '
	retar good.tar manifest.tar "chmod -R u+w . && sed -i \"s/\\\"final\\\"/\\\"FINAL\\\"/\" box/manifest.json && rebag" &&
	! cmp good.tar manifest.tar &&
	verify_fails manifest.tar &&
	grep "^ok   bag: " out &&
	grep "^FAIL bundle: [0-9a-f]*: .box/manifest.json.: is not the payload of the manifest note" out
'

test_expect_success 'the signatures swapped for another signature: exit 1, named' '
	printf "{}\n" >other.json &&
	gpg --batch --yes --local-user $ALICE --armor --detach-sign -o other.asc other.json &&
	retar good.tar sigs.tar "chmod -R u+w . && cp ../../other.asc box/manifest.json.asc && rebag" &&
	verify_fails sigs.tar &&
	grep "^FAIL bundle: [0-9a-f]*: .box/manifest.json.asc.: is not the signatures of the manifest note" out
'

test_expect_success 'setup: another box, exported' '
	box_sample_data other.src &&
	box_policy policy2.yaml seal 1 $ALICE &&
	git box init other --policy policy2.yaml --from other.src/data.csv >/dev/null &&
	git -C other config user.signingKey $ALICE &&
	(cd other && git box seal -m other >/dev/null && git box export -o ../other.tar >/dev/null) &&
	mkdir otherx && tar -C otherx -xf other.tar
'

test_expect_success 'repo.bundle replaced by another box.s: exit 1, named' '
	retar good.tar swapped.tar "chmod -R u+w . && cp ../../otherx/*/box/repo.bundle box/repo.bundle && rebag" &&
	verify_fails swapped.tar &&
	grep "^ok   bag: " out &&
	grep "^FAIL bundle: $(cut -c1-12 commit): .box/repo.bundle.: bag-info.txt.s Git-Box-Commit is not a commit of the bundle" out &&
	grep "^FAIL bag: .bag-info.txt.: External-Identifier .* is not the box.s id" out
'

test_expect_success 'a thin repo.bundle is refused, naming the missing commit' '
	(cd box && git bundle create -q ../thin.bundle HEAD~1..HEAD 2>/dev/null) &&
	retar good.tar thin.tar "chmod -R u+w . && cp ../../thin.bundle box/repo.bundle && rebag" &&
	verify_fails thin.tar &&
	grep "^FAIL bundle: .box/repo.bundle.: thin: it needs commit $(git -C box rev-parse HEAD~1)" out
'

test_expect_success 'a repo.bundle without refs/notes/box fails: the manifests are missing' '
	(cd box && git bundle create -q ../nonotes.bundle main 2>/dev/null) &&
	retar good.tar nonotes.tar "chmod -R u+w . && cp ../../nonotes.bundle box/repo.bundle && rebag" &&
	verify_fails nonotes.tar &&
	grep "^ok   bag: " out &&
	grep "^FAIL bundle: .box/repo.bundle.: it holds no refs/notes/box: the box.s manifests are missing$" out
'

test_expect_success 'a repo.bundle that is not a git bundle is refused' '
	retar good.tar junk.tar "chmod -R u+w . && echo junk >box/repo.bundle && rebag" &&
	verify_fails junk.tar &&
	grep "^FAIL bundle: .box/repo.bundle.: not a git bundle" out
'

test_expect_success 'a fetch.txt is reported and never followed' '
	retar good.tar fetch.tar "chmod -R u+w . && echo \"http://127.0.0.1:1/x 3 data/input/x.csv\" >fetch.txt && rebag && sha256sum fetch.txt >>tagmanifest-sha256.txt" &&
	verify_fails fetch.tar &&
	grep "^FAIL bag: .fetch.txt.: the bag has a fetch.txt, which git box never follows" out
'

# ---- unsafe archives ------------------------------------------------------------

# evil KIND OUT.tar: the good bundle's members with one unsafe member,
# written with python3's tarfile.
evil () {
	python3 - "$1" "$2" "$(cat bagname)" "$PWD" <<-\EOF
	import io, sys, tarfile
	kind, out, name, here = sys.argv[1:5]
	src = tarfile.open("good.tar")
	dst = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
	def member(path, type=tarfile.REGTYPE, data=b"evil\n", **kw):
	    ti = tarfile.TarInfo(path)
	    ti.type = type
	    for k, v in kw.items():
	        setattr(ti, k, v)
	    if type == tarfile.REGTYPE:
	        ti.size = len(data)
	        dst.addfile(ti, io.BytesIO(data))
	    else:
	        dst.addfile(ti)
	extra = {
	    "absolute": lambda: member(here + "/evil-absolute"),
	    "dotdot": lambda: member(name + "/data/../../evil-dotdot"),
	    "symlink": lambda: member(name + "/data/passwd", tarfile.SYMTYPE, linkname="/etc/passwd"),
	    "hardlink": lambda: member(name + "/data/hard", tarfile.LNKTYPE, linkname=name + "/bagit.txt"),
	    "chardev": lambda: member(name + "/data/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
	    "fifo": lambda: member(name + "/data/fifo", tarfile.FIFOTYPE),
	    "duplicate": lambda: member(name + "/bagit.txt",
	                                data=b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"),
	    "outside": lambda: member("elsewhere/evil-outside"),
	}[kind]
	for i, ti in enumerate(src.getmembers()):
	    dst.addfile(ti, src.extractfile(ti) if ti.isfile() else None)
	    if i == 0 and kind != "duplicate":
	        extra()
	if kind == "duplicate":
	    extra()
	dst.close()
	EOF
}

while read kind member why
do
	test_expect_success "an archive with a $kind member is refused by name (exit 1), nothing written" "
		evil $kind $kind.tar &&
		verify_fails $kind.tar &&
		member=\$(echo \"$member\" | sed \"s|NAME|\$(cat bagname)|g; s|HERE|\$PWD|\") &&
		why=\$(echo \"$why\" | sed \"s|NAME|\$(cat bagname)|g\") &&
		grep -F \"FAIL bag: refusing member '\$member': it \$why\" out &&
		grep '^FAIL bag: the archive was refused: nothing more of it was read\$' out &&
		! grep '^ok   bundle' out &&
		test_path_is_missing evil-absolute &&
		test_path_is_missing ../evil-dotdot &&
		test_path_is_missing elsewhere/evil-outside &&
		test_path_is_missing \$(cat bagname)
	"
done <<\EOF
absolute HERE/evil-absolute is an absolute path
dotdot NAME/data/../../evil-dotdot leaves its folder ('..')
symlink NAME/data/passwd is a symbolic link
hardlink NAME/data/hard is a hard link
chardev NAME/data/null is a device
fifo NAME/data/fifo is a FIFO
duplicate NAME/bagit.txt appears twice
outside elsewhere/evil-outside is outside the bag's folder 'NAME/'
EOF

test_expect_success 'a .tar.gz over the compression ratio limit is refused, naming the limit' '
	mkdir -p bomb/b/data &&
	printf "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n" >bomb/b/bagit.txt &&
	dd if=/dev/zero of=bomb/b/data/zeros bs=1M count=64 2>/dev/null &&
	tar -C bomb -cf - b | gzip -9 >bomb.tar.gz &&
	verify_fails bomb.tar.gz &&
	grep "^FAIL bag: refusing .*bomb.tar.gz.: it expands more than 200 times (compression ratio limit)" out
'

test_expect_success 'a tar that is not a bag, and a file that is not a tar, exit 1' '
	tar -cf notbag.tar box.policy.yaml &&
	verify_fails notbag.tar &&
	grep "^FAIL bag: " out &&
	echo "not a tar" >plain.tar &&
	verify_fails plain.tar &&
	grep "^FAIL bag: .*plain.tar. is not a readable tar" out
'

# ---- naming the bundle --------------------------------------------------------------

test_expect_success 'a bundle that is a symbolic link, a folder or missing exits 2' '
	ln -s good.tar link.tar &&
	test_expect_code 2 git box verify --keyring alice.asc link.tar >out 2>err &&
	grep "^error: cannot open the bundle .link.tar.: it is a symbolic link" err &&
	test_expect_code 2 git box verify --keyring alice.asc --bundle box >out 2>err &&
	grep "^error: the bundle .box. is not a regular file" err &&
	test_expect_code 2 git box verify --keyring alice.asc missing.tar >out 2>err &&
	grep "^error: cannot open the bundle .missing.tar.: No such file or directory" err
'

test_expect_success 'inside a box, a file argument is a bundle and a revision a revision' '
	cp good.tar box/good.tar &&
	(cd box && git box verify --keyring ../alice.asc good.tar >../out) &&
	grep "^ok   bag: " out &&
	(cd box && git box verify --keyring ../alice.asc HEAD >../out) &&
	! grep "^ok   bag: " out &&
	grep "^verified: " out &&
	rm box/good.tar
'

test_expect_success 'a file named like a revision is ambiguous (exit 2) until ./ or --bundle says which' '
	cp good.tar box/main &&
	(cd box && test_expect_code 2 git box verify main >../out 2>../err) &&
	grep "^error: .main. is both a file and a revision" err &&
	grep "^hint: .*git box verify ./main" err &&
	(cd box && git box verify --keyring ../alice.asc ./main >../out) &&
	grep "^ok   bag: " out &&
	(cd box && git box verify --keyring ../alice.asc --bundle main >../out) &&
	grep "^ok   bag: " out &&
	(cd box && git box verify --keyring ../alice.asc "main^{commit}" >../out) &&
	! grep "^ok   bag: " out &&
	rm box/main
'

test_expect_success '--bundle without a file, and a bad --expect-seal, exit 2' '
	test_expect_code 2 git box verify --bundle 2>err &&
	grep "needs the bundle" err &&
	test_expect_code 2 git box verify --keyring alice.asc --expect-seal xyz good.tar 2>err &&
	grep "^error: --expect-seal .xyz. is not a SHA-256" err
'

# ---- stock tools ----------------------------------------------------------------------

test_expect_success 'what verify accepts, stock tar, sha256sum, git, gpg and openssl accept too' '
	name=$(cat bagname) &&
	tar -tf good.tar >list &&
	grep "^$name/box/repo.bundle\$" list &&
	rm -rf stock && mkdir stock && tar -C stock -xf good.tar &&
	(cd stock/$name && sha256sum -c --quiet manifest-sha256.txt && sha256sum -c --quiet tagmanifest-sha256.txt) &&
	git init -q --bare stock/repo &&
	(cd stock/repo && git bundle verify ../$name/box/repo.bundle) >bundle.out 2>&1 &&
	grep "records a complete history" bundle.out &&
	gpg --verify stock/$name/box/manifest.json.asc stock/$name/box/manifest.json 2>gpg.out &&
	grep "Good signature" gpg.out &&
	openssl ts -verify -data stock/$name/box/manifest.json -in stock/$name/box/manifest.tsr \
		-CAfile "$TSA_FIXTURES/ca.pem" >ts.out 2>&1 &&
	grep "^Verification: OK\$" ts.out
'

test_expect_success 'what verify refuses for a payload byte or a thin history, stock tools refuse too' '
	name=$(cat bagname) &&
	rm -rf stock2 && mkdir stock2 && tar -C stock2 -xf payload.tar &&
	(cd stock2/$name && test_must_fail sha256sum -c --quiet manifest-sha256.txt) >sum.out 2>&1 &&
	grep "data/input/data.csv: FAILED" sum.out &&
	(cd stock/repo && test_must_fail git bundle verify ../../thin.bundle) >thin.out 2>&1 &&
	grep "lacks these prerequisite commits" thin.out
'

test_expect_success 'no temporary file or folder is left behind' '
	mkdir tmp &&
	TMPDIR=$PWD/tmp git box verify --keyring alice.asc --tsa-ca "$TSA_FIXTURES/ca.pem" good.tar >/dev/null &&
	TMPDIR=$PWD/tmp test_expect_code 1 git box verify --keyring alice.asc payload.tar >/dev/null &&
	TMPDIR=$PWD/tmp test_expect_code 1 git box verify --keyring alice.asc thin.tar >/dev/null &&
	ls -A tmp >left &&
	test_must_be_empty left
'

# valgrind itself cannot start without a temporary folder
test_expect_success !VALGRIND 'without a usable temporary folder a bundle cannot be verified: exit 2' '
	test_expect_code 2 env TMPDIR="$PWD/no-such-folder" git box verify --keyring alice.asc good.tar >out 2>err &&
	test_must_be_empty out &&
	grep "cannot make a temporary folder .*/no-such-folder/git-box-bundle\.[A-Za-z0-9]*.: No such file or directory" err
'

test_expect_success 'a SIGTERM while the history is imported: the temporary files go, then verify dies of it' '
	mkdir -p sigbin tmp2 &&
	real_git=$(command -v git) &&
	cat >sigbin/git <<-EOF &&
	#!/bin/sh
	if test "\$1 \$2" = "bundle verify"
	then
		kill -TERM \$PPID
		sleep 1
	fi
	exec "$real_git" "\$@"
	EOF
	chmod +x sigbin/git &&
	(
		PATH=$PWD/sigbin:$PATH && TMPDIR=$PWD/tmp2 && export PATH TMPDIR &&
		test_expect_code 143 git-box verify --keyring alice.asc good.tar >out 2>err
	) &&
	ls -A tmp2 >left &&
	test_must_be_empty left
'

test_done
