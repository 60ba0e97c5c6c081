#!/bin/sh

test_description='git box init refuses with exit 2 and changes nothing'

. ./lib-box.sh

# Everything about a folder that a refused init must leave alone:
# every path with its type, mode and content hash, and the git config.
snapshot () {
	(
		cd "$1" &&
		find . -path ./.git/index -prune -o -print | LC_ALL=C sort | while read -r p
		do
			if test -f "$p"
			then
				echo "$p $(stat -c %a "$p") $(sha256sum <"$p" | cut -c1-16)"
			else
				echo "$p $(stat -c %F.%a "$p")"
			fi
		done
	)
}

test_expect_success 'setup: sample data and a box' '
	box_sample_data src &&
	git box init box --from src/data.csv &&
	git init -q plain &&
	(cd plain && box_commit first README)
'

test_expect_success 'init of a folder that is already a box exits 2 and names it' '
	snapshot box >before &&
	test_expect_code 2 git box init box 2>err &&
	grep "error: .*is already a git box (.box.)" err &&
	snapshot box >after &&
	test_cmp before after
'

test_expect_success 'init of a folder inside a box exits 2' '
	mkdir box/output/nested &&
	test_expect_code 2 git box init box/output/nested 2>err &&
	grep "lies inside the git box at" err &&
	! test -e box/output/nested/.git &&
	test_expect_code 2 git box init box/output/new 2>err &&
	grep "lies inside the git box at" err &&
	! test -e box/output/new
'

test_expect_success 'init of a folder inside a repository that is not a box exits 2' '
	test_expect_code 2 git box init plain/sub 2>err &&
	grep "lies inside the git repository at .*run .git box init. at its top level" err &&
	! test -e plain/sub
'

test_expect_success 'init of a non-empty folder that is not a repository exits 2' '
	mkdir full && echo x >full/file &&
	snapshot full >before &&
	test_expect_code 2 git box init full 2>err &&
	grep "is not empty and is not a git repository" err &&
	snapshot full >after &&
	test_cmp before after
'

test_expect_success 'init over a path that is a file exits 2' '
	echo x >afile &&
	test_expect_code 2 git box init afile 2>err &&
	grep "exists and is not a folder" err
'

test_expect_success 'a source that does not exist exits 2 and creates nothing' '
	test_expect_code 2 git box init nosrc --from src/data.csv --from no/such/file 2>err &&
	grep "cannot read .no/such/file." err &&
	! test -e nosrc
'

test_expect_success 'a source holding a special file exits 2 and creates nothing' '
	mkdir fifo-src && mkfifo fifo-src/pipe &&
	test_expect_code 2 git box init fifo --from fifo-src 2>err &&
	grep "fifo-src/pipe. is a special file" err &&
	! test -e fifo
'

test_expect_success 'a source with a link leading outside it exits 2 and creates nothing' '
	mkdir escape && ln -s ../src/data.csv escape/outside.csv &&
	test_expect_code 2 git box init esc --from escape 2>err &&
	grep "escape/outside.csv. is a symbolic link to .*src/data.csv., outside the source" err &&
	! test -e esc
'

test_expect_success 'a source with a link to a folder exits 2' '
	mkdir -p dirlink/real && ln -s real dirlink/alias &&
	test_expect_code 2 git box init dl --from dirlink 2>err &&
	grep "is a symbolic link to a folder or special file" err &&
	! test -e dl
'

test_expect_success 'two sources with the same name exit 2' '
	mkdir -p a b && echo 1 >a/x.csv && echo 2 >b/x.csv &&
	test_expect_code 2 git box init twice --from a/x.csv --from b/x.csv 2>err &&
	grep "two sources are named .x.csv." err &&
	! test -e twice
'

test_expect_success 'a source that contains the box exits 2' '
	mkdir -p outer &&
	test_expect_code 2 git box init outer/box --from outer 2>err &&
	grep "contain one another" err &&
	! test -e outer/box
'

test_expect_success 'overlapping input and output paths exit 2 and create nothing' '
	test_expect_code 2 git box init overlap --input data/ --output data/results/ 2>err &&
	grep "overlap" err &&
	! test -e overlap
'

test_expect_success 'an invalid policy file exits 2 naming file, line and column' '
	cat >bad.yaml <<-\EOF &&
	version: 1
	name: bad
	branch: main
	inputs: [input/]
	signing:
	  quorum: two
	EOF
	test_expect_code 2 git box init badpol --policy bad.yaml 2>err &&
	grep "bad.yaml:6:[0-9]*: signing.quorum" err &&
	! test -e badpol
'

test_expect_success 'a policy with an unknown key exits 2' '
	printf "version: 1\nname: x\nbranch: main\ninputs: [input/]\ncolour: blue\n" >unknown.yaml &&
	test_expect_code 2 git box init unk --policy unknown.yaml 2>err &&
	grep "unknown.yaml:5:1: .*colour" err &&
	! test -e unk
'

test_expect_success '--policy with --name is a usage error' '
	test_expect_code 2 git box init mix --policy bad.yaml --name x 2>err &&
	grep "does not mix" err &&
	grep "^usage: git box init" err &&
	! test -e mix
'

test_expect_success 'a quorum larger than the signers exits 2' '
	test_expect_code 2 git box init q --signer 0123456789ABCDEF0123456789ABCDEF01234567 --quorum 2 2>err &&
	grep "signing.quorum" err &&
	! test -e q
'

test_expect_success 'a signer that is not a full fingerprint exits 2' '
	test_expect_code 2 git box init short --signer DEADBEEF 2>err &&
	grep "signing.signers" err &&
	! test -e short
'

test_expect_success 'a --quorum that is not a number is a usage error' '
	test_expect_code 2 git box init qq --quorum many 2>err &&
	grep "whole number" err
'

test_expect_success '--tsa-ca that cannot be read exits 2' '
	test_expect_code 2 git box init ca --tsa http://127.0.0.1:1/ --tsa-ca no-such.pem 2>err &&
	grep "cannot read .no-such.pem." err &&
	! test -e ca
'

test_expect_success 'an existing repository with staged changes exits 2 and keeps them' '
	echo staged >plain/staged.txt &&
	git -C plain add staged.txt &&
	snapshot plain >before &&
	git -C plain diff --cached --name-only >staged-before &&
	test_expect_code 2 git box init plain 2>err &&
	grep "the index has staged changes" err &&
	snapshot plain >after &&
	test_cmp before after &&
	git -C plain diff --cached --name-only >staged-after &&
	test_cmp staged-before staged-after &&
	git -C plain reset -q
'

test_expect_success 'an existing repository on another branch than --branch exits 2' '
	test_expect_code 2 git box init plain --branch box 2>err &&
	grep "the policy.s branch is .box. but HEAD is on .main." err &&
	! test -e plain/.box
'

test_expect_success 'copying over a file that exists exits 2 and changes nothing' '
	mkdir -p plain/input && echo mine >plain/input/data.csv &&
	snapshot plain >before &&
	test_expect_code 2 git box init plain --from src/data.csv 2>err &&
	grep "would overwrite" err &&
	snapshot plain >after &&
	test_cmp before after
'

test_expect_success '--from into an input that is a file exits 2' '
	test_expect_code 2 git box init fileinput --input codebook.txt --from src/data.csv 2>err &&
	grep "is a file, not a folder" err &&
	! test -e fileinput
'

test_expect_success 'a hook of someone else in an existing repository stops init, and nothing changes' '
	git init -q hooked &&
	(cd hooked && box_commit first README) &&
	printf "#!/bin/sh\nexit 0\n" >hooked/.git/hooks/pre-commit &&
	chmod +x hooked/.git/hooks/pre-commit &&
	snapshot hooked >before &&
	git -C hooked config --list --local >config-before &&
	test_expect_code 2 git box init hooked 2>err &&
	grep "hook .*pre-commit. is not git box.s" err &&
	grep "nothing was changed" err &&
	snapshot hooked >after &&
	test_cmp before after &&
	git -C hooked config --list --local >config-after &&
	test_cmp config-before config-after
'

test_expect_success 'a copy that fails half-way removes everything the run made' '
	mkdir big && head -c 1048576 /dev/zero >big/zeros.bin && echo small >big/a.csv &&
	(
		# A file size limit makes the copy fail the way a full disk does.
		trap "" XFSZ &&
		ulimit -f 256 &&
		test_expect_code 2 git box init half --from big 2>err
	) &&
	grep "cannot write .*zeros.bin.: File too large" err &&
	grep "nothing was changed" err &&
	! test -e half
'

test_expect_success 'a failure half-way in an existing repository restores it exactly' '
	git init -q keep &&
	(cd keep && printf "*.png binary\n" >.gitattributes && box_commit first README) &&
	git -C keep add .gitattributes && git -C keep commit -q -m attrs &&
	snapshot keep >before &&
	git -C keep config --list --local >config-before &&
	(
		trap "" XFSZ &&
		ulimit -f 256 &&
		test_expect_code 2 git box init keep --from big 2>err
	) &&
	grep "File too large" err &&
	snapshot keep >after &&
	test_cmp before after &&
	git -C keep config --list --local >config-after &&
	test_cmp config-before config-after
'

test_done
