#!/bin/sh

test_description='bags written by git box read right with stock tar, gzip, zstd and sha256sum, and stock tars check right with git box

The bag module has no command of its own yet: its unit test writes the
sample bags (CK_RUN_CASE=sample) and checks a given tar (BAG_CHECK=FILE
CK_RUN_CASE=external), and this script does the rest with stock tools.'

. ./lib-box.sh

TEST_BAG="$BOX_BUILD_DIR/t/unit/test-bag"
test -x "$TEST_BAG" && test_set_prereq TEST_BAG
test -d "$BOX_VECTORS/bagit" && test_set_prereq VECTORS
command -v zstd >/dev/null 2>&1 && test_set_prereq ZSTD

# Check a tar with git box's bag checker: "result: valid" and the
# problem and warning lines go to `out`.
bag_check () {
	BAG_CHECK="$1" CK_RUN_CASE=external "$TEST_BAG" >check.log 2>&1 &&
	grep -E '^(result|problem|warning|error|payload): ' check.log >out
}

test_expect_success TEST_BAG 'the unit test writes the sample bags' '
	CK_RUN_CASE=sample BAG_SAMPLE_DIR="$PWD" "$TEST_BAG" >log 2>&1 &&
	test_path_is_file sample.tar &&
	test_path_is_file sample.tar.gz &&
	test_path_is_file sample.tar.zst
'

test_expect_success TEST_BAG 'tar lists the members in the documented order' '
	cat >expect <<-\EOF &&
	sample/
	sample/bagit.txt
	sample/data/
	sample/data/README.md
	sample/data/input/
	sample/data/input/N\303\272\303\261ez.csv
	sample/data/input/data.csv
	sample/data/input/empty.csv
	sample/data/input/sub/
	sample/data/input/sub/patients.csv
	sample/data/output/
	sample/data/output/a-result-file-whose-name-is-far-longer-than-the-hundred-bytes-that-a-plain-ustar-header-can-hold-in-its-name-field-so-it-needs-pax.csv
	sample/data/run.sh
	sample/box/
	sample/box/README.txt
	sample/box/manifest.json
	sample/box/repo.bundle
	sample/box/verify.json
	sample/bag-info.txt
	sample/manifest-sha256.txt
	sample/tagmanifest-sha256.txt
	EOF
	tar -tf sample.tar >actual 2>err &&
	test_cmp expect actual &&
	test_must_be_empty err
'

test_expect_success TEST_BAG 'every member is owned by 0/0, dated from the commit, with fixed modes' '
	tar --full-time -tvf sample.tar >listing &&
	awk "{ print \$1, \$2, \$4, \$5 }" listing | sort | uniq -c | sed "s/^ *//" >actual &&
	cat >expect <<-\EOF &&
	14 -rw-r--r-- 0/0 2023-11-14 22:13:20
	1 -rwxr-xr-x 0/0 2023-11-14 22:13:20
	6 drwxr-xr-x 0/0 2023-11-14 22:13:20
	EOF
	test_cmp expect actual &&
	grep " sample/data/run.sh\$" listing >exec &&
	grep "^-rwxr-xr-x" exec
'

test_expect_success TEST_BAG 'the tar has no user or group names, and no atime, ctime or xattrs' '
	tar --numeric-owner --full-time -tvf sample.tar >numeric &&
	tar --full-time -tvf sample.tar >named &&
	test_cmp numeric named &&
	! grep -a -E "atime=|ctime=|SCHILY|LIBARCHIVE|hdrcharset" sample.tar
'

test_expect_success TEST_BAG 'the gzip bag is the tar compressed, with no name and no time in its header' '
	gzip -dc sample.tar.gz >plain &&
	cmp plain sample.tar &&
	od -A n -t x1 -N 8 sample.tar.gz | tr -s " \n" " " >header &&
	echo " 1f 8b 08 00 00 00 00 00 " | tr -d "\n" >expect &&
	test_cmp expect header
'

test_expect_success TEST_BAG,ZSTD 'the zstd bag is the tar compressed' '
	zstd -q -dc sample.tar.zst >plain &&
	cmp plain sample.tar
'

test_expect_success TEST_BAG 'extracted, its payload checks with sha256sum -c manifest-sha256.txt' '
	tar -xf sample.tar &&
	(cd sample && sha256sum --strict -c manifest-sha256.txt) >actual &&
	test $(wc -l <actual) = 7 &&
	! grep -v ": OK\$" actual
'

test_expect_success TEST_BAG 'its tag files check with sha256sum -c tagmanifest-sha256.txt' '
	(cd sample && sha256sum --strict -c tagmanifest-sha256.txt) >actual &&
	test $(wc -l <actual) = 7 &&
	grep "^manifest-sha256.txt: OK\$" actual &&
	grep "^bag-info.txt: OK\$" actual
'

test_expect_success TEST_BAG 'Payload-Oxum counts what tar extracted into data/' '
	bytes=$(find sample/data -type f -exec cat {} + | wc -c) &&
	files=$(find sample/data -type f | wc -l) &&
	grep "^Payload-Oxum: $bytes.$files\$" sample/bag-info.txt &&
	grep "^Bagging-Date: 2023-11-14\$" sample/bag-info.txt
'

test_expect_success TEST_BAG 'tar extracts the modes and the time' '
	stat -c "%a %Y" sample/data/run.sh sample/data/README.md sample/data/input >actual &&
	cat >expect <<-\EOF &&
	755 1700000000
	644 1700000000
	755 1700000000
	EOF
	test_cmp expect actual
'

test_expect_success TEST_BAG 'a tampered copy fails sha256sum -c too' '
	cp -R sample tampered &&
	chmod -R u+w tampered &&
	printf x >>tampered/data/input/data.csv &&
	(cd tampered && test_must_fail sha256sum --quiet -c manifest-sha256.txt) >actual 2>&1 &&
	grep "data/input/data.csv: FAILED" actual
'

test_expect_success TEST_BAG 'git box checks the sample bags valid' '
	for f in sample.tar sample.tar.gz sample.tar.zst
	do
		bag_check $f &&
		printf "result: valid\npayload: 7 files\n" >expect &&
		test_cmp expect out || return 1
	done
'

test_expect_success TEST_BAG 'git box checks valid what GNU tar makes of the bag folder' '
	tar --format=gnu -cf gnu.tar sample/ &&
	tar --format=posix -cf posix.tar sample &&
	tar --sort=name -czf sorted.tar.gz ./sample &&
	for f in gnu.tar posix.tar sorted.tar.gz
	do
		bag_check $f &&
		printf "result: valid\npayload: 7 files\n" >expect &&
		test_cmp expect out || return 1
	done
'

test_expect_success TEST_BAG,ZSTD 'git box checks valid what GNU tar and zstd make of it' '
	tar --zstd -cf bag.tar.zst sample &&
	bag_check bag.tar.zst &&
	grep "^result: valid\$" out
'

test_expect_success TEST_BAG 'git box finds the byte GNU tar carried from a tampered folder' '
	tar -cf tampered.tar tampered &&
	bag_check tampered.tar &&
	grep "^result: invalid\$" out &&
	grep "^problem: .data/input/data.csv. does not match manifest-sha256.txt\$" out &&
	grep "^problem: Payload-Oxum says 304336 bytes in 7 files, the payload has 304337 bytes in 7 files\$" out
'

test_expect_success TEST_BAG 'git box refuses a tar of the bag folder.s content, with no folder' '
	tar -C sample -cf flat.tar . &&
	bag_check flat.tar &&
	grep "^problem: refusing member .\./.: it is the archive.s root folder" out
'

test_expect_success TEST_BAG 'git box refuses by name a symbolic link GNU tar put in the bag' '
	cp -R sample linked &&
	chmod -R u+w linked &&
	ln -s /etc/passwd linked/data/passwd &&
	tar -cf linked.tar linked &&
	bag_check linked.tar &&
	grep "^result: invalid\$" out &&
	grep "^problem: refusing member .linked/data/passwd.: it is a symbolic link\$" out
'

test_expect_success TEST_BAG 'git box refuses by name a path GNU tar was told to keep absolute' '
	tar -P -cf absolute.tar "$PWD/sample/bagit.txt" &&
	bag_check absolute.tar &&
	grep "^problem: refusing member ./.*/sample/bagit.txt.: it is an absolute path\$" out
'

test_expect_success TEST_BAG 'git box refuses by name a member GNU tar added twice' '
	cp sample.tar twice.tar &&
	tar -rf twice.tar sample/bagit.txt &&
	bag_check twice.tar &&
	grep "^problem: refusing member .sample/bagit.txt.: it appears twice\$" out
'

test_expect_success TEST_BAG,VECTORS 'the v1.0 conformance bags tarred by GNU tar check as the suite says' '
	for dir in "$BOX_VECTORS"/bagit/v1.0/valid/* "$BOX_VECTORS"/bagit/v1.0/invalid/*
	do
		name=$(basename "$dir") &&
		kind=$(basename "$(dirname "$dir")") &&
		tar -C "$(dirname "$dir")" -cf "v1-$name.tar" "$name" &&
		bag_check "v1-$name.tar" &&
		case $kind in
		valid) grep "^result: valid\$" out ;;
		invalid) grep "^result: invalid\$" out ;;
		esac || { cat out; return 1; }
	done
'

test_done
