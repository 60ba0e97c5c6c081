#!/bin/sh

test_description='an audit bundle proves the sealed commit: data/ is its tree, nothing follows the archive, and crafted names cost no more than others'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
command -v zstd >/dev/null 2>&1 && test_set_prereq ZSTD
# The Library of Congress's bagit-python, an outside BagIt validator.
BAGIT_VALIDATE="$BOX_SOURCE_DIR/../shared/tools/bagit-validate"
if test -x "$BAGIT_VALIDATE"
then
	test_set_prereq BAGIT_VALIDATE
else
	say "skipping the outside BagIt validator's tests: $BAGIT_VALIDATE is absent"
fi

# verify_bundle BUNDLE: git box verify with the auditor's own roots, the
# report in out, its temporary files in vtmp/; the caller asserts the
# exit code.
verify_bundle () {
	mkdir -p vtmp &&
	env TMPDIR="$PWD/vtmp" git box verify --keyring alice.asc --trust-signer $ALICE \
		--tsa-ca "$TSA_FIXTURES/ca.pem" "$@" >out 2>err
}

# nothing_left: verify left no temporary file or folder behind.
nothing_left () {
	ls -A vtmp >left &&
	test_must_be_empty left
}

test_expect_success 'setup: a sealed box with an executable, a symbolic link, an empty and a large file, signed and timestamped' '
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
		: >output/empty.csv &&
		seq 1 100000 >output/large.csv &&
		git add run.sh latest output &&
		git commit -q -m analysis &&
		git box seal -m final >/dev/null
	) &&
	git -C box rev-parse HEAD >commit &&
	echo "study-$(cut -c1-12 commit)" >bagname
'

# ---- the file's mode --------------------------------------------------------------

while read mask mode
do
	test_expect_success "under umask $mask the bundle is written $mode, as open(2) makes a new file" "
		(umask $mask && cd box && git box export -o ../umask-$mask.tar >/dev/null) &&
		echo $mode >expect &&
		stat -c %a umask-$mask.tar >actual &&
		test_cmp expect actual
	"
done <<\EOF
022 644
077 600
002 664
EOF

test_expect_success 'a bundle that replaces a file takes the umask.s mode, not the old file.s' '
	(umask 077 && cd box && git box export -o ../replaced.tar.gz >/dev/null) &&
	echo 600 >expect && stat -c %a replaced.tar.gz >actual && test_cmp expect actual &&
	(umask 022 && cd box && git box export -o ../replaced.tar.gz >/dev/null) &&
	echo 644 >expect && stat -c %a replaced.tar.gz >actual && test_cmp expect actual &&
	(umask 002 && cd box && git box export -o ../replaced.tar.gz >/dev/null) &&
	echo 664 >expect && stat -c %a replaced.tar.gz >actual && test_cmp expect actual
'

# ---- nothing after the end of the archive ------------------------------------------

test_expect_success 'setup: the bundle as .tar, .tar.gz and .tar.zst, and another tar' '
	(cd box && git box export -o ../good.tar >/dev/null &&
		git box export -o ../good.tar.gz >/dev/null &&
		git box export -o ../good.tar.zst >/dev/null) &&
	mkdir -p other/data && echo "not in the seal" >other/data/extra.csv &&
	tar -cf other.tar other &&
	stat -c %s good.tar >good.size
'

test_expect_success 'a good bundle verifies, as .tar, .tar.gz and .tar.zst' '
	for f in good.tar good.tar.gz good.tar.zst
	do
		verify_bundle $f &&
		grep "^ok   bag: " out &&
		! grep "^FAIL" out || return 1
	done
'

test_expect_success 'zero padding after the end, a record as GNU tar writes it, still verifies' '
	cp good.tar padded.tar &&
	truncate -s $(( ($(cat good.size) / 10240 + 1) * 10240 )) padded.tar &&
	test $(stat -c %s padded.tar) -gt $(cat good.size) &&
	verify_bundle padded.tar &&
	grep "^ok   bag: " out
'

# refused BUNDLE WHY: verify exits 1, the bag check says WHY, and nothing
# after the refusal is read (no history imported, nothing compared).
refused () {
	test_expect_code 1 verify_bundle "$1" &&
	grep "^FAIL bag: refusing .$1.: $2" out &&
	grep "^FAIL bag: the archive was refused: nothing more of it was read\$" out &&
	! grep "^ok   bundle" out &&
	! grep "^FAIL \(bundle\|data\)" out &&
	test_path_is_missing other &&
	nothing_left
}

test_expect_success 'a second tar appended is refused, at the byte where it starts' '
	rm -rf other &&
	cat good.tar other.tar >appended.tar &&
	refused appended.tar "something follows the end of its tar, at byte $(cat good.size): a second archive"
'

test_expect_success 'stock tar stops where the first tar ends, tar -i reads on: two readers, two contents' '
	tar -tf appended.tar >list &&
	! grep "^other/" list &&
	tar -itf appended.tar >list &&
	grep "^other/data/extra.csv\$" list
'

test_expect_success 'a second tar after GNU tar.s zero padding is refused too' '
	cat padded.tar other.tar >padded-appended.tar &&
	refused padded-appended.tar "something follows the end of its tar, at byte $(stat -c %s padded.tar): "
'

test_expect_success 'bytes that are not zero after the end are refused' '
	cp good.tar junk.tar && printf junk >>junk.tar &&
	refused junk.tar "something follows the end of its tar, at byte $(cat good.size): " &&
	cp padded.tar padded-junk.tar && printf "\001" >>padded-junk.tar &&
	refused padded-junk.tar "something follows the end of its tar, at byte $(stat -c %s padded.tar): "
'

test_expect_success 'more zeros after the end than a record holds are refused' '
	cp good.tar zeros.tar &&
	head -c $((2 * 1024 * 1024)) /dev/zero >>zeros.tar &&
	refused zeros.tar "more than 1048576 bytes follow the end of its tar"
'

test_expect_success '.tar.gz: bytes after the gzip stream are refused; gzip -t finds them too' '
	cp good.tar.gz junk.tar.gz && printf junk >>junk.tar.gz &&
	refused junk.tar.gz "something follows the end of its gzip stream" &&
	test_expect_code 2 gzip -t junk.tar.gz 2>gzip.err &&
	grep "trailing garbage" gzip.err
'

test_expect_success '.tar.gz: a second gzip member holding a second tar is refused' '
	{ cat good.tar.gz && gzip -nc other.tar; } >members.tar.gz &&
	refused members.tar.gz "something follows the end of its tar, at byte $(cat good.size): "
'

test_expect_success '.tar.gz: one gzip member holding two tars is refused' '
	cat good.tar other.tar | gzip -n >both.tar.gz &&
	refused both.tar.gz "something follows the end of its tar, at byte $(cat good.size): "
'

test_expect_success '.tar.gz: the bundle split into two gzip members is refused, though gzip -dc joins them' '
	head -c 10240 good.tar | gzip -n >split.tar.gz &&
	tail -c +10241 good.tar | gzip -n >>split.tar.gz &&
	gzip -dc split.tar.gz | cmp - good.tar &&
	refused split.tar.gz "its last gzip trailer gives $(( $(cat good.size) - 10240 )) bytes, the stream has $(cat good.size): more than one gzip member"
'

test_expect_success ZSTD '.tar.zst: bytes after the zstd stream are refused; zstd -t finds them too' '
	cp good.tar.zst junk.tar.zst && printf junkjunk >>junk.tar.zst &&
	test_must_fail zstd -q -t junk.tar.zst &&
	test_expect_code 1 verify_bundle junk.tar.zst &&
	grep "^FAIL bag: .junk.tar.zst. is not a readable tar.*: Zstd decompression failed" out &&
	grep "^FAIL bag: the archive was refused: nothing more of it was read\$" out &&
	! grep "^ok   bundle" out
'

test_expect_success ZSTD '.tar.zst: a second zstd frame holding a second tar is refused' '
	{ cat good.tar.zst && zstd -q -c other.tar; } >frames.tar.zst &&
	refused frames.tar.zst "something follows the end of its tar, at byte $(cat good.size): "
'

# ---- data/ is the commit's tree --------------------------------------------------------

# rebuild IN.tar OUT.tar 'commands': what a party with no key can do with
# stock tools: extract the bag, run the commands in its folder, make the
# bag's own manifests agree again (as bagit tools would), and tar it.
rebuild () {
	rm -rf work && mkdir work &&
	tar -C work -xf "$1" &&
	(
		cd work/$(cat bagname) && chmod -R u+w . &&
		eval "$3" &&
		find data -type f | LC_ALL=C sort | xargs sha256sum >manifest-sha256.txt &&
		bytes=$(find data -type f -exec cat {} + | wc -c) &&
		files=$(find data -type f | wc -l) &&
		sed -i "s/^Payload-Oxum: .*/Payload-Oxum: $bytes.$files/" bag-info.txt &&
		{ ls bag-info.txt bagit.txt manifest-sha256.txt; find box -type f; } | LC_ALL=C sort |
			xargs sha256sum >tagmanifest-sha256.txt
	) &&
	tar -C work --sort=name --owner=0 --group=0 --numeric-owner -cf "$2" $(cat bagname)
}

# tree_fails BUNDLE: verify exits 1, with a valid bag: the failure is data/'s.
tree_fails () {
	test_expect_code 1 verify_bundle "$1" &&
	grep "^ok   bag: " out &&
	nothing_left
}

test_expect_success 'a good bundle: data/ is the commit.s tree, each path, blob id and execute bit' '
	verify_bundle good.tar &&
	tree=$(git -C box rev-parse HEAD^{tree} | cut -c1-12) &&
	grep "^ok   data: $(cut -c1-12 commit): data/ is exactly the 10 files of the commit.s tree $tree: each path, git blob id and execute bit\$" out &&
	! grep "^FAIL" out
'

test_expect_success 'the blob ids are git.s: git hash-object of data/ is git ls-tree of the commit' '
	rm -rf stock && mkdir stock && tar -C stock -xf good.tar &&
	git -C box ls-tree -r HEAD | sed "s/^[0-9]* blob //" | sort >expect &&
	(cd stock/$(cat bagname)/data && find . -type f | sed "s|^\./||" | LC_ALL=C sort |
		while read path; do printf "%s\t%s\n" "$(git hash-object "$path")" "$path"; done) | sort >actual &&
	test_cmp expect actual
'

test_expect_success 'stock tools accept the good bundle: tar -tf, sha256sum -c, git bundle verify' '
	name=$(cat bagname) &&
	tar -tf good.tar >list && grep "^$name/data/run.sh\$" list &&
	(cd stock/$name && sha256sum -c --quiet manifest-sha256.txt && sha256sum -c --quiet tagmanifest-sha256.txt) &&
	git init -q --bare stock/repo &&
	(cd stock/repo && git bundle verify ../$name/box/repo.bundle) >bundle.out 2>&1 &&
	grep "records a complete history" bundle.out
'

test_expect_success BAGIT_VALIDATE 'an outside BagIt validator accepts the good bundle' '
	"$BAGIT_VALIDATE" --validate stock/$(cat bagname) 2>bagit.err &&
	grep "is valid" bagit.err
'

test_expect_success 'a file added to data/, the bag redone: not a file of the tree' '
	rebuild good.tar added.tar "echo extra >data/input/extra.csv" &&
	tree_fails added.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/input/extra.csv.: in data/, but not a file of the commit.s tree\$" out
'

test_expect_success 'a file taken out of data/, the bag redone: missing from data/' '
	rebuild good.tar removed.tar "rm data/output/result.csv" &&
	tree_fails removed.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/output/result.csv.: in the commit.s tree, but not in data/\$" out
'

test_expect_success 'a byte changed in data/, the bag redone: the blob ids differ, as git hash-object says' '
	rebuild good.tar changed.tar "printf X >>data/input/data.csv && git hash-object data/input/data.csv >../../changed.id" &&
	tree_fails changed.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/input/data.csv.: its content is blob $(cat changed.id), but the commit.s tree has blob $(git -C box rev-parse HEAD:input/data.csv)\$" out
'

test_expect_success BAGIT_VALIDATE 'the outside BagIt validator finds that redone bag valid: only the commit tells' '
	"$BAGIT_VALIDATE" --validate work/$(cat bagname) 2>bagit.err &&
	grep "is valid" bagit.err
'

test_expect_success 'a file of the same size with other bytes, the bag redone: named' '
	rebuild good.tar same-size.tar "sed -i s/10/99/ data/input/data.csv" &&
	tree_fails same-size.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/input/data.csv.: its content is blob " out
'

test_expect_success 'the execute bit taken off or put on, the bag redone: named with the tree.s mode' '
	rebuild good.tar noexec.tar "chmod a-x data/run.sh" &&
	tree_fails noexec.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/run.sh.: not executable, but the commit.s tree has mode 100755\$" out &&
	rebuild good.tar exec.tar "chmod a+x data/input/data.csv" &&
	tree_fails exec.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/input/data.csv.: executable, but the commit.s tree has mode 100644\$" out
'

test_expect_success 'the file of a symbolic link made executable: the tree has a link' '
	rebuild good.tar linkexec.tar "chmod a+x data/latest" &&
	tree_fails linkexec.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/latest.: executable, but the commit.s tree has a symbolic link (mode 120000)\$" out
'

test_expect_success 'a symbolic link followed (its target.s bytes where the tree has the link): named' '
	rebuild good.tar followed.tar "cp data/run.sh data/latest && chmod a-x data/latest" &&
	tree_fails followed.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/latest.: its content is blob $(git -C box rev-parse HEAD:run.sh), but the commit.s tree has blob $(git -C box rev-parse HEAD:latest)\$" out
'

test_expect_success 'a symbolic link where the tree has a file is refused by name' '
	rebuild good.tar symlink.tar "rm data/input/data.csv && ln -s ../run.sh data/input/data.csv" &&
	test_expect_code 1 verify_bundle symlink.tar &&
	grep "^FAIL bag: refusing member .$(cat bagname)/data/input/data.csv.: it is a symbolic link\$" out
'

test_expect_success 'a file where the tree has a folder, the bag redone: both named' '
	rebuild good.tar folder.tar "rm -r data/input/sub && echo flat >data/input/sub" &&
	tree_fails folder.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/input/sub.: in data/, but not a file of the commit.s tree\$" out &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/input/sub/patients.csv.: in the commit.s tree, but not in data/\$" out
'

test_expect_success 'past 50 differences, the rest are counted' '
	rebuild good.tar many.tar "for i in \$(seq 1 60); do echo \$i >data/output/extra-\$i.csv; done" &&
	tree_fails many.tar &&
	test $(grep -c "^FAIL data: $(cut -c1-12 commit): .data/output/extra-[0-9]*.csv.: in data/, but not a file of the commit.s tree\$" out) = 50 &&
	grep "^FAIL data: $(cut -c1-12 commit): and 10 more files differ from the commit.s tree\$" out
'

# The history checks read the note of a commit one way, and the bundle's
# comparison of box/manifest.json another: a notes tree that notes the
# seal twice (once in a fan-out folder, once flat) can show each its
# own note. Whatever note a reader took, data/ is compared with the tree.
test_expect_success 'setup: a second note on the seal, unsigned, for a forged data/, and a bag to match it' '
	rm -rf forge && git clone -q --bare box forge &&
	git -C forge fetch -q ../box "refs/notes/*:refs/notes/*" "refs/tags/*:refs/tags/*" &&
	commit=$(cat commit) &&
	git -C box notes --ref=box show $commit | sed "/^-----BEGIN PGP SIGNATURE-----\$/,\$d" >real.json &&
	printf "id,value\n1,99\n2,20\n" >forged.csv &&
	sed "s/$(sha256sum <box.src/data.csv | cut -d" " -f1)/$(sha256sum <forged.csv | cut -d" " -f1)/" real.json >forged.json &&
	! cmp real.json forged.json &&
	(
		cd forge &&
		blob=$(git hash-object -w ../forged.json) &&
		fanout=$(printf "100644 blob %s\t%s\n" $blob $(echo $commit | cut -c3-) | git mktree) &&
		other=$(echo other | git hash-object -w --stdin) &&
		tree=$({ git ls-tree refs/notes/box &&
			printf "040000 tree %s\t%s\n" $fanout $(echo $commit | cut -c1-2) &&
			printf "100644 blob %s\tffffffffffffffffffffffffffffffffffffffff\n" $other; } | git mktree) &&
		git update-ref refs/notes/box $(echo notes | git commit-tree $tree -p refs/notes/box) &&
		git bundle create -q ../forged.bundle refs/heads/main refs/notes/box \
			$(git for-each-ref --format="%(refname)" refs/tags/box)
	) &&
	rebuild good.tar twonotes.tar "cp ../../forged.bundle box/repo.bundle && cp ../../forged.json box/manifest.json &&
		rm box/manifest.json.asc && cp ../../forged.csv data/input/data.csv"
'

test_expect_success 'data/ that matches the note the bundle reads still fails against the tree' '
	tree_fails twonotes.tar &&
	grep "^FAIL data: $(cut -c1-12 commit): .data/input/data.csv.: its content is blob $(git hash-object forged.csv), but the commit.s tree has blob $(git -C box rev-parse HEAD:input/data.csv)\$" out
'

# ---- the member table ----------------------------------------------------------

# The checker keeps the members of a tar in a hash table. These names are
# crafted against FNV-1a, the unkeyed hash it once used: every one lands
# in the same slot of any table of up to 2^20 slots, so that each lookup
# walks all the names before it. Random names of the same length are the
# baseline.
test_expect_success 'setup: tars of 2,048 to 16,384 crafted names, and of 16,384 random ones' '
	python3 - <<-\EOF
	import io, itertools, random, tarfile
	MASK, PRIME = (1 << 20) - 1, 0x100000001b3
	def fnv(h, text):
	    for byte in text.encode():
	        h = ((h ^ byte) * PRIME) & MASK
	    return h
	# The low bits of FNV-1a depend on the low bits of its state alone:
	# two blocks that take one state to the same state can be swapped
	# freely, and k such pairs give 2^k names with one hash.
	h = fnv(0xcbf29ce484222325 & MASK, "data/")
	pairs = []
	blocks = ["".join(t) for t in itertools.product("abcdefghijklmnopqrstuvwxyz0123456789", repeat=3)]
	while len(pairs) < 14:
	    seen = {}
	    for b in blocks:
	        x = fnv(h, b)
	        if x in seen:
	            pairs.append((seen[x], b))
	            h = x
	            break
	        seen[x] = b
	def write(path, names):
	    with tarfile.open(path, "w:gz", format=tarfile.USTAR_FORMAT) as t:
	        for name in names:
	            t.addfile(tarfile.TarInfo("b/" + name), io.BytesIO(b""))
	crafted = ["data/" + "".join(p[(i >> k) & 1] for k, p in enumerate(pairs)) for i in range(1 << 14)]
	assert len(set(fnv(0xcbf29ce484222325 & MASK, n) for n in crafted)) == 1
	for n in (2048, 4096, 8192, 16384):
	    write("crafted-%d.tar.gz" % n, crafted[:n])
	rnd = random.Random(7300)
	write("random-16384.tar.gz", ["data/" + "".join(rnd.choice("abcdefghij0123456789") for _ in range(42))
	                              for _ in range(16384)])
	EOF
'

test_expect_success !VALGRIND 'the member table costs time linear in the names, however they were chosen' '
	python3 - "$ALICE" "$TSA_FIXTURES/ca.pem" <<-\EOF
	import resource, subprocess, sys
	roots = ["--keyring", "alice.asc", "--trust-signer", sys.argv[1], "--tsa-ca", sys.argv[2]]
	def cpu(path):
	    """the least CPU time of three runs: wall time is noise on a shared machine"""
	    best = None
	    for _ in range(3):
	        before = resource.getrusage(resource.RUSAGE_CHILDREN)
	        r = subprocess.run(["git", "box", "verify"] + roots + [path], capture_output=True)
	        after = resource.getrusage(resource.RUSAGE_CHILDREN)
	        assert r.returncode == 1, (path, r.returncode, r.stderr)
	        assert b"FAIL bag: no bagit.txt in " in r.stdout, r.stdout
	        t = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
	        best = t if best is None else min(best, t)
	    return best
	t = {n: cpu("crafted-%d.tar.gz" % n) for n in (2048, 4096, 8192, 16384)}
	baseline = cpu("random-16384.tar.gz")
	print("crafted:", t, "random 16384:", baseline)
	assert t[16384] <= 3 * baseline + 0.05, "crafted names cost more than random ones"
	assert t[16384] <= 16 * t[2048] + 0.05, "8 times the names cost more than 16 times the time"
	EOF
'

test_done
