#!/bin/sh

test_description='the box filter keeps inputs read-only

git add of an input passes only the frozen content, byte for byte; a
changed input, or a new one, is refused at once with the path, the rule,
the commit that froze it and the way back. A checkout passes everything
and warns about inputs that differ. Large files stream through in
constant memory.'

. ./lib-box.sh

# A file name with spaces and non-ASCII letters, and one with a newline.
ODD_NAME=$(printf 'r\303\251sum\303\251 de caf\303\251.csv')
NL_NAME=$(printf 'two\nlines.csv')

# index_state: what the index holds, to compare before and after.
index_state () {
	git ls-files -s -z | od -c
}

test_expect_success 'setup: a box whose inputs include large and oddly named files' '
	mkdir -p src/sub &&
	printf "id,value\n1,10\n2,20\n" >src/data.csv &&
	printf "patient,age\nA,42\n" >src/sub/patients.csv &&
	head -c 65517 /dev/urandom >src/one-packet-and-a-byte.bin &&
	head -c 3145728 /dev/urandom >src/large.bin &&
	printf "caf\303\251\n" >"src/$ODD_NAME" &&
	printf "x\n" >"src/$NL_NAME" &&
	git box init box --name box --from src/data.csv --from src/sub \
		--from src/one-packet-and-a-byte.bin --from src/large.bin \
		--from "src/$ODD_NAME" --from "src/$NL_NAME" >/dev/null &&
	(
		cd box &&
		box_commit "analysis" analysis.R "mean(x)" &&
		git rev-parse HEAD^ >../frozen-at
	)
'

test_expect_success 'git add of unchanged inputs passes them through the filter byte for byte' '
	(
		cd box &&
		index_state >../before &&
		touch input/* input/sub/* &&
		git add -A input &&
		index_state >../after &&
		git diff --cached --quiet
	) &&
	test_cmp before after
'

test_expect_success 'one filter process serves a whole git add' '
	(
		cd box &&
		touch input/* input/sub/* &&
		GIT_TRACE_PACKET="$PWD/../trace" git add -A input
	) &&
	test $(grep -c "git> git-filter-client" trace) = 1 &&
	test $(grep -c "git> command=clean" trace) -ge 5
'

test_expect_success 'setup: change an input on disk' '
	chmod u+w box/input box/input/data.csv &&
	cp box/input/data.csv data.csv.frozen &&
	echo "3,30" >>box/input/data.csv
'

test_expect_success 'git add of a changed input exits 128 and leaves the index as it was' '
	(
		cd box &&
		index_state >../before &&
		test_expect_code 128 git add input/data.csv 2>../err &&
		index_state >../after
	) &&
	test_cmp before after
'

test_expect_success 'the refusal names the path, the rule, the freezing commit and the way back' '
	frozen=$(cut -c1-12 frozen-at) &&
	grep "error: filter-process: .input/data.csv.: read-only input: its content differs from the one frozen at $frozen" err &&
	grep "hint: .*run .git box restore input/data.csv. to put it back" err
'

test_expect_success 'git status lists an input whose size changed as modified' '
	(cd box && git status --porcelain >../out) &&
	grep "^ M input/data.csv$" out
'

test_expect_success 'git diff stops at a changed input with the same message' '
	(cd box && test_expect_code 128 git diff 2>../err) &&
	grep "read-only input: its content differs" err &&
	grep "clean filter .box. failed" err
'

test_expect_success 'git status stops too when the size did not change' '
	cp data.csv.frozen box/input/data.csv &&
	printf "id,value\n1,10\n2,21\n" >box/input/data.csv &&
	(cd box && test_expect_code 128 git status 2>../err) &&
	grep "input/data.csv.: read-only input" err
'

test_expect_success 'git box restore puts it back and git status is clean again' '
	(
		cd box &&
		git box restore input/data.csv &&
		git status --porcelain >../out
	) &&
	test_must_be_empty out &&
	test_cmp data.csv.frozen box/input/data.csv
'

test_expect_success 'an input larger than one packet is refused when one byte changed' '
	chmod u+w box/input box/input/one-packet-and-a-byte.bin &&
	cp box/input/one-packet-and-a-byte.bin packet.frozen &&
	printf Z | dd of=box/input/one-packet-and-a-byte.bin bs=1 seek=65516 conv=notrunc 2>/dev/null &&
	(cd box && test_expect_code 128 git add input/one-packet-and-a-byte.bin 2>../err) &&
	grep "one-packet-and-a-byte.bin.: read-only input" err &&
	cp packet.frozen box/input/one-packet-and-a-byte.bin &&
	(cd box && git add input/one-packet-and-a-byte.bin && git diff --cached --quiet)
'

test_expect_success 'an input spooled to a file passes unchanged and is refused when cut short' '
	chmod u+w box/input/large.bin &&
	cp box/input/large.bin large.frozen &&
	(cd box && touch input/large.bin && git add input/large.bin && git diff --cached --quiet) &&
	truncate -s 3145727 box/input/large.bin &&
	(cd box && test_expect_code 128 git add input/large.bin 2>../err) &&
	grep "large.bin.: read-only input" err &&
	cp large.frozen box/input/large.bin
'

test_expect_success 'a new file among the inputs is refused with how inputs are added' '
	echo new >box/input/new.csv &&
	(
		cd box &&
		index_state >../before &&
		test_expect_code 128 git add input/new.csv 2>../err &&
		index_state >../after
	) &&
	test_cmp before after &&
	grep "input/new.csv.: read-only input: not among the inputs frozen at $(cut -c1-12 frozen-at)" err &&
	grep "hint: .*git box import" err &&
	rm box/input/new.csv
'

test_expect_success 'a change to the policy is refused as read-only policy' '
	chmod u+w box/.box/policy.yaml &&
	cp box/.box/policy.yaml policy.frozen &&
	echo "# edited" >>box/.box/policy.yaml &&
	(cd box && test_expect_code 128 git add .box/policy.yaml 2>../err) &&
	grep ".box/policy.yaml.: read-only policy: its content differs" err &&
	cp policy.frozen box/.box/policy.yaml
'

test_expect_success 'inputs named with spaces, non-ASCII letters and a newline pass unchanged' '
	(
		cd box &&
		touch "input/$ODD_NAME" "input/$NL_NAME" &&
		git add -- "input/$ODD_NAME" "input/$NL_NAME" &&
		git diff --cached --quiet
	)
'

test_expect_success 'and are refused, named, when changed' '
	chmod u+w "box/input/$ODD_NAME" "box/input/$NL_NAME" &&
	echo more >>"box/input/$ODD_NAME" &&
	echo more >>"box/input/$NL_NAME" &&
	(cd box && test_expect_code 128 git add -- "input/$ODD_NAME" 2>../err) &&
	grep "input/$ODD_NAME.: read-only input" err &&
	(cd box && test_expect_code 128 git add -- "input/$NL_NAME" 2>../err) &&
	grep "input/two.nlines.csv.: read-only input" err &&
	(cd box && git box restore -- "input/$ODD_NAME" "input/$NL_NAME" >/dev/null)
'

test_expect_success 'content the repository already holds passes the filter; pre-commit refuses it' '
	(
		cd box &&
		chmod u+w input/data.csv &&
		cp input/sub/patients.csv input/data.csv &&
		git add input/data.csv &&
		test_expect_code 1 git commit -q -m copy 2>../err &&
		git reset -q &&
		git box restore input/data.csv >/dev/null
	) &&
	grep "input/data.csv.: read-only input: modified$" err
'

test_expect_success 'code and outputs go through git add and commit freely' '
	(
		cd box &&
		echo "plot(x)" >>analysis.R &&
		mkdir -p output &&
		echo "1,2" >output/result.csv &&
		echo "r" >"output/$ODD_NAME" &&
		git add analysis.R output &&
		git commit -q -m "results" &&
		git ls-files output >../out
	) &&
	grep result.csv out
'

test_expect_success 'setup: history that rewrites an input, made with hooks bypassed' '
	(
		cd box &&
		git cat-file blob HEAD:input/data.csv >../rewritten &&
		echo "9,99" >>../rewritten &&
		blob=$(git hash-object -w ../rewritten) &&
		git read-tree --index-output=../alt.index HEAD &&
		GIT_INDEX_FILE=../alt.index git update-index --cacheinfo 100644,$blob,input/data.csv &&
		GIT_INDEX_FILE=../alt.index git update-index --add --cacheinfo 100644,$blob,input/extra.csv &&
		tree=$(GIT_INDEX_FILE=../alt.index git write-tree) &&
		git commit-tree -p HEAD -m rewritten $tree >../rewritten-commit
	)
'

test_expect_success 'a checkout of that history writes it as it is, with warnings' '
	(
		cd box &&
		git checkout -q --detach $(cat ../rewritten-commit) 2>../err &&
		test_cmp ../rewritten input/data.csv
	) &&
	grep "warning: .input/data.csv. is a read-only input, but the content checked out differs" err &&
	grep "warning: .input/extra.csv. is not among the box.s frozen inputs" err
'

test_expect_success 'there, what the index holds passes and any further change is refused' '
	(
		cd box &&
		touch input/data.csv &&
		git status --porcelain >../out &&
		chmod u+w input input/data.csv &&
		echo "one more" >>input/data.csv &&
		test_expect_code 128 git add input/data.csv 2>../err &&
		git checkout -- input/data.csv 2>/dev/null
	) &&
	test_must_be_empty out &&
	grep "input/data.csv.: read-only input: its content differs" err
'

test_expect_success 'a checkout of the box branch writes the frozen inputs without a warning' '
	(cd box && git checkout -q main 2>../err) &&
	test_must_be_empty err &&
	test_cmp data.csv.frozen box/input/data.csv
'

# A pkt-line conversation generated on the fly: a smudge of SIZE bytes
# for an input (passed through with a warning), then a clean of CLEAN
# bytes of it (spooled, hashed again, refused): gen SIZE CLEAN PATH
cat >gen.pl <<\EOF
my ($smudge, $clean, $path) = @ARGV;
my %size = (smudge => $smudge, clean => $clean);
binmode STDOUT;
sub pkt { my $d = shift; print sprintf("%04x", length($d) + 4), $d; }
sub text { pkt("$_\n") for @_ }
text("git-filter-client", "version=2"); print "0000";
text("capability=clean", "capability=smudge"); print "0000";
my $chunk = "x" x 65516;
for my $cmd ("smudge", "clean") {
	text("command=$cmd", "pathname=$path"); print "0000";
	my $left = $size{$cmd};
	while ($left > 0) {
		my $n = $left < 65516 ? $left : 65516;
		pkt($n == 65516 ? $chunk : substr($chunk, 0, $n));
		$left -= $n;
	}
	print "0000";
}
EOF

# Read the filter's answers: a line per status, and for a success the
# count of content bytes that came with it.
cat >read.pl <<\EOF
binmode STDIN;
sub pkt {
	my $len;
	return undef unless read(STDIN, $len, 4) == 4;
	my $n = hex($len);
	return "" if $n == 0;
	my $d = "";
	while (length($d) < $n - 4) {
		read(STDIN, $d, $n - 4 - length($d), length($d)) or die "short read\n";
	}
	return $d;
}
sub list { my @l; while (defined(my $p = pkt())) { return @l if $p eq ""; push @l, $p; } @l }
list(); list();
while (my @s = list()) {
	my ($st) = map { /^status=(\w+)/ ? $1 : () } @s;
	print "status=$st\n";
	next unless $st eq "success";
	my $bytes = 0;
	while (defined(my $p = pkt())) { last if $p eq ""; $bytes += length($p); }
	print "content $bytes\n";
	print "then status=$1\n" for map { /^status=(\w+)/ ? $1 : () } list();
}
EOF

test_expect_success !VALGRIND 'a 3 GiB file streams through the filter in constant memory' '
	test_path_is_file /usr/bin/time &&
	(
		cd box &&
		perl ../gen.pl 3221225472 209715200 input/data.csv |
		/usr/bin/time -f %M -o ../rss git-box filter-process 2>../err |
		perl ../read.pl >../answers
	) &&
	cat answers &&
	printf "status=success\ncontent 3221225472\nstatus=error\n" >expect &&
	test_cmp expect answers &&
	grep "read-only input, but the content checked out differs" err &&
	grep "read-only input: its content differs" err &&
	rss=$(tail -n 1 rss) &&
	echo "peak RSS: $rss KiB" &&
	test "$rss" -lt 131072
'

test_done
