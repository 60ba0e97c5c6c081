#!/bin/sh

test_description='the hashing engine: SHA-256 of every file from git objects, once per blob, cached'

. ./lib-box.sh

# "sha256 mode size  path" of every file at REV, as stock git and sha256sum see it.
expected_listing () {
	git -c core.quotePath=false ls-tree -r "$1" | while read -r mode type oid path
	do
		sum=$(git cat-file blob "$oid" | sha256sum | cut -d" " -f1) &&
		size=$(git cat-file -s "$oid") &&
		printf '  %s %s %12s  %s\n' "$sum" "$mode" "$size" "$path" || return 1
	done | sort
}

# The same lines from git box show.
box_listing () {
	git box show "$@" | grep "^  [0-9a-f]\{64\} " | sort
}

test_expect_success 'setup: a box with files of every kind' '
	box_policy policy.yaml none 0 &&
	box_init_policy box policy.yaml &&
	cd box &&
	mkdir -p src output &&
	head -c 3000000 /dev/urandom >output/big.bin &&
	printf "same\n" >src/one.txt &&
	printf "same\n" >src/two.txt &&
	: >src/empty &&
	printf "#!/bin/sh\necho run\n" >src/run.sh &&
	chmod +x src/run.sh &&
	ln -s one.txt src/link &&
	printf "x\n" >"src/with space and ünïcode.txt" &&
	git add src output &&
	git commit -q -m "work" &&
	cd ..
'

test_expect_success 'checkpoint hashes every file as sha256sum does over git objects' '
	(cd box && git box checkpoint --json >../cp.json && box_listing >../actual &&
	 expected_listing HEAD >../expect) &&
	test_cmp expect actual &&
	test $(wc -l <actual) = 11
'

test_expect_success 'a symbolic link is hashed as its target text, with mode 120000' '
	printf "one.txt" | sha256sum | cut -d" " -f1 >expect &&
	grep " 120000 .*  src/link$" actual | awk "{print \$1}" >link &&
	test_cmp expect link
'

test_expect_success 'an executable keeps mode 100755' '
	grep " 100755 .*  src/run.sh$" actual
'

test_expect_success 'each distinct blob is hashed once' '
	distinct=$(git -C box ls-tree -r HEAD | awk "{print \$3}" | sort -u | wc -l) &&
	grep "\"blobs\": $distinct," cp.json
'

test_expect_success 'the cache answers for unchanged blobs on the next event' '
	(cd box && box_commit "more" src/three.txt three && git box checkpoint --json >../cp2.json) &&
	distinct=$(git -C box ls-tree -r HEAD | awk "{print \$3}" | sort -u | wc -l) &&
	grep "\"blobs\": $distinct," cp2.json &&
	grep "\"hashed\": 1$" cp2.json &&
	grep "\"cached\": $((distinct - 1))," cp2.json
'

test_expect_success 'every cache record carries its own check' '
	test_path_is_file box/.git/box/sha256-cache &&
	head -n 1 box/.git/box/sha256-cache >header &&
	echo "# git box sha256 cache v1" >expect &&
	test_cmp expect header &&
	sed 1d box/.git/box/sha256-cache >records &&
	! grep -v "^[0-9a-f]\{40\} [0-9a-f]\{64\} [0-9]* [0-9a-f]\{8\}$" records
'

test_expect_success 'a corrupt cache record is ignored, never trusted' '
	(cd box && git box show --payload HEAD >../before) &&
	# Change the recorded SHA-256 of every blob, leaving each check as it was.
	awk "NR > 1 { d = substr(\$2, 1, 1); \$2 = (d == \"0\" ? \"1\" : \"0\") substr(\$2, 2) } { print }" \
		box/.git/box/sha256-cache >corrupt &&
	! test_cmp box/.git/box/sha256-cache corrupt &&
	cp corrupt box/.git/box/sha256-cache &&
	(cd box && box_nohooks notes --ref=box remove HEAD 2>/dev/null && git box checkpoint --json >../cp3.json &&
	 git box show --payload HEAD >../after) &&
	grep "\"cached\": 0," cp3.json &&
	test_cmp before after
'

test_expect_success 'a truncated or garbage cache gives the same answer' '
	head -c 100 box/.git/box/sha256-cache >box/.git/box/sha256-cache.cut &&
	mv box/.git/box/sha256-cache.cut box/.git/box/sha256-cache &&
	echo "garbage line" >>box/.git/box/sha256-cache &&
	(cd box && box_nohooks notes --ref=box remove HEAD 2>/dev/null && git box checkpoint >/dev/null &&
	 git box show --payload HEAD >../after) &&
	test_cmp before after
'

test_expect_success 'a missing cache gives the same answer' '
	rm box/.git/box/sha256-cache &&
	(cd box && box_nohooks notes --ref=box remove HEAD 2>/dev/null && git box checkpoint >/dev/null &&
	 git box show --payload HEAD >../after) &&
	test_cmp before after
'

test_expect_success 'packed objects hash the same as loose ones' '
	(cd box && git gc -q && rm -f .git/box/sha256-cache &&
	 box_nohooks notes --ref=box remove HEAD 2>/dev/null && git box checkpoint >/dev/null &&
	 git box show --payload HEAD >../after) &&
	test_cmp before after
'

test_expect_success 'a large file is streamed and hashed right' '
	(cd box && head -c 9000000 /dev/urandom >output/large.bin &&
	 git add output/large.bin && git commit -q -m large &&
	 git box checkpoint >/dev/null && box_listing >../actual && expected_listing HEAD >../expect) &&
	test_cmp expect actual
'

test_expect_success 'a path that is not UTF-8 is refused with its name' '
	(cd box &&
	 blob=$(printf "data\n" | git hash-object -w --stdin) &&
	 git update-index --add --cacheinfo 100644,$blob,"$(printf "src/bad\377.txt")" &&
	 git commit -q -m "bad name" &&
	 before=$(git rev-parse refs/notes/box) &&
	 test_expect_code 1 git box checkpoint 2>../err &&
	 test "$(git rev-parse refs/notes/box)" = "$before") &&
	grep "error: the path .src/bad\\\\xff.txt. is not valid UTF-8" err
'

test_expect_success 'a submodule is refused: its content is not in the repository' '
	box_init_policy sub policy.yaml &&
	(cd sub &&
	 git update-index --add --cacheinfo 160000,$(git rev-parse HEAD),vendor/lib &&
	 git commit -q -m "add a submodule" &&
	 test_expect_code 1 git box checkpoint 2>../err) &&
	grep "error: .vendor/lib. is a submodule" err
'

test_expect_success 'progress shows on a terminal, in git style' '
	box_init_policy tty policy.yaml &&
	(cd tty && box_commit "tty work" code.R &&
	 script -qec "git box checkpoint" /dev/null >../out) &&
	grep "Hashing files: " out &&
	grep "done\." out
'

test_expect_success 'no progress when stderr is not a terminal' '
	(cd tty && box_commit "more tty work" code2.R && git box checkpoint 2>../err >/dev/null) &&
	test_must_be_empty err
'

test_done
