#!/bin/sh

test_description='an audit bundle proves the sealed commit: data/ is its tree, nothing follows the archive, and crafted names cost no more than others'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
command -v zstd >/dev/null 2>&1 && test_set_prereq ZSTD

# verify_bundle BUNDLE: git box verify with the auditor's own roots, the
# report in out; the caller asserts the exit code.
verify_bundle () {
	git box verify --keyring alice.asc --trust-signer $ALICE --tsa-ca "$TSA_FIXTURES/ca.pem" "$@" >out 2>err
}

test_expect_success 'setup: a sealed box with an executable and a symbolic link, signed by alice, timestamped' '
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
	test_path_is_missing other
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
	python3 - <<-\EOF
	import resource, subprocess
	def cpu(path):
	    """the least CPU time of three runs: wall time is noise on a shared machine"""
	    best = None
	    for _ in range(3):
	        before = resource.getrusage(resource.RUSAGE_CHILDREN)
	        r = subprocess.run(["git", "box", "verify", path], capture_output=True)
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
