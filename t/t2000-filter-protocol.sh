#!/bin/sh

test_description='filter-process speaks git'\''s long-running filter protocol

git box filter-process is the clean and smudge filter of a box. In a
repository that is not a box it passes every file through byte for byte
(t2100 covers what it does to inputs); what matters here is that it
speaks the protocol exactly: to real git (add, checkout, clone) for empty,
tiny, packet-sized and large files, and to hand-made pkt-line streams for
the handshake, per-file errors, abort and protocol violations.'

. ./lib-box.sh

# pkt LINE...: each LINE as one text packet ending in LF, as git sends them.
pkt () {
	for line in "$@"
	do
		printf '%04x%s\n' $((${#line} + 5)) "$line" || return 1
	done
}

# pkt_data STRING: one data packet holding exactly STRING (nothing if empty).
pkt_data () {
	if test -n "$1"
	then
		printf '%04x%s' $((${#1} + 4)) "$1"
	fi
}

flush () {
	printf 0000
}

# client_hello [CAPABILITY...]: the handshake as git sends it; by default
# it offers what git 2.x offers: clean, smudge and delay.
client_hello () {
	if test $# = 0
	then
		set -- clean smudge delay
	fi &&
	pkt git-filter-client version=2 && flush &&
	for cap in "$@"
	do
		pkt "capability=$cap" || return 1
	done &&
	flush
}

# server_hello CAPABILITY...: the answer expected to client_hello.
server_hello () {
	pkt git-filter-server version=2 && flush &&
	for cap in "$@"
	do
		pkt "capability=$cap" || return 1
	done &&
	flush
}

# request COMMAND PATHNAME CONTENT: one request, its content in one packet.
request () {
	pkt "command=$1" "pathname=$2" && flush &&
	pkt_data "$3" && flush
}

# success CONTENT: the answer to a request the filter served.
success () {
	pkt status=success && flush &&
	pkt_data "$1" && flush &&
	flush
}

# refused STATUS: the answer to a request the filter refused.
refused () {
	pkt "status=$1" && flush
}

# traced TRACE COMMAND...: run COMMAND with git's packet trace, keeping in
# TRACE only the filter's command and pathname lines and the status
# answers, one "> command=clean" or "< status=success" per line (the
# content itself would make megabytes of trace). The trace names the
# speaker after the git command ("git>", "clone>"); that is dropped. COMMAND's stdout goes
# to TRACE.out; returns COMMAND's exit code.
traced () {
	trace=$1 && shift &&
	{
		GIT_TRACE_PACKET=3 "$@" 3>&1 >"$trace.out"
		echo $? >"$trace.rc"
	} |
	sed -n 's/^.*packet: *[a-z-]*\([<>]\) \(command=.*\|pathname=.*\|status=.*\)$/\1 \2/p' >"$trace" &&
	return "$(cat "$trace.rc")"
}

# filtered TRACE COMMAND PATH: TRACE shows COMMAND sent for PATH and
# answered status=success. git's trace escapes bytes outside printable
# ASCII, so those match any text.
filtered () {
	pattern=$(printf '%s\n' "$3" | sed -e 's/[.]/[.]/g' -e 's/[^ -~]\{1,\}/.*/g') &&
	awk -v cmd="> command=$2" -v path="^> pathname=$pattern\$" '
		$0 == cmd { c = NR }
		c && NR == c + 1 && $0 ~ path { p = NR }
		p && NR == p + 1 && $0 == "< status=success" { found = 1 }
		END { exit !found }
	' "$1" || {
		echo >&2 "no '$2' of '$3' answered status=success in $1:" &&
		cat >&2 "$1" &&
		return 1
	}
}

SQ="'"

# A file name with spaces and non-ASCII letters: "résumé de café.dat".
ODD_NAME=$(printf 'r\303\251sum\303\251 de caf\303\251.dat')

test_expect_success 'setup: a plain repository with the box filter on *.dat' '
	git init repo &&
	git -C repo config filter.box.process "git box filter-process" &&
	git -C repo config filter.box.required true &&
	echo "*.dat filter=box" >repo/.gitattributes &&
	git -C repo add .gitattributes &&
	git -C repo commit -q -m attributes &&
	mkdir orig &&
	: >orig/empty.dat &&
	printf x >orig/one-byte.dat &&
	head -c 65516 /dev/urandom >orig/one-packet.dat &&
	head -c 65517 /dev/urandom >orig/one-packet-and-a-byte.dat &&
	head -c 1048256 /dev/urandom >orig/held-in-memory.dat &&
	head -c 1048257 /dev/urandom >orig/held-in-a-file.dat &&
	head -c 3145728 /dev/urandom >orig/large.dat &&
	printf "na\303\257ve, caf\303\251\n" >"orig/$ODD_NAME" &&
	cp orig/* repo/
'

test_expect_success 'git add cleans every file through the filter' '
	(
		cd repo &&
		traced ../add.trace git add -- "*.dat"
	) &&
	for f in orig/*
	do
		filtered add.trace clean "${f#orig/}" || return 1
	done
'

test_expect_success 'the index holds every file byte for byte' '
	for f in orig/*
	do
		git -C repo cat-file -p ":${f#orig/}" >blob &&
		cmp blob "$f" || return 1
	done
'

test_expect_success 'git checkout of a removed file smudges it back byte for byte' '
	git -C repo commit -q -m data &&
	for f in orig/*
	do
		name=${f#orig/} &&
		rm "repo/$name" &&
		(
			cd repo &&
			traced ../checkout.trace git checkout -- "$name"
		) &&
		filtered checkout.trace smudge "$name" &&
		cmp "repo/$name" "$f" || return 1
	done
'

test_expect_success 'a fresh clone with the filter configured smudges every file byte for byte' '
	traced clone.trace git clone -c filter.box.process="git box filter-process" \
		-c filter.box.required=true repo clone &&
	for f in orig/*
	do
		name=${f#orig/} &&
		filtered clone.trace smudge "$name" &&
		cmp "clone/$name" "$f" || return 1
	done
'

test_expect_success 'the handshake answers version 2 and the clean and smudge capabilities' '
	client_hello >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	server_hello clean smudge >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'only the capabilities git offers are answered' '
	client_hello clean future-thing >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	server_hello clean >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'a client that offers no version 2 is refused with exit 2' '
	{
		pkt git-filter-client version=3 && flush &&
		pkt capability=clean && flush
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	test_must_be_empty out &&
	echo "fatal: filter-process: git offers protocol version 3; only version 2 is spoken here" >expect &&
	test_cmp expect err
'

test_expect_success 'a client that is not git-filter-client is refused with exit 2' '
	{
		pkt git-other-client version=2 && flush
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	test_must_be_empty out &&
	grep "^fatal: filter-process: expected .git-filter-client., got .git-other-client.$" err
'

test_expect_success 'a clean request is answered with its content unchanged' '
	{
		client_hello &&
		request clean a.dat "hello, world"
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		success "hello, world"
	} >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'an empty file is answered with success, no content packet and two flushes' '
	{
		client_hello &&
		request smudge empty.dat ""
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		pkt status=success && flush && flush && flush
	} >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'unknown keys in a request are ignored' '
	{
		client_hello &&
		pkt command=smudge pathname=a.dat ref=refs/heads/main \
			treeish=0123456789012345678901234567890123456789 \
			blob=9876543210987654321098765432109876543210 can-delay=1 \
			some-future-key=with=equals && flush &&
		pkt_data "abc" && flush
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		success abc
	} >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'content sent in small packets comes back in full-size packets' '
	chunk=$(printf "%10000s" "" | tr " " x) &&
	{
		client_hello &&
		pkt command=clean pathname=a.dat && flush &&
		for i in 1 2 3 4 5 6 7
		do
			pkt_data "$chunk" || return 1
		done &&
		flush
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	whole=$(printf "%70000s" "" | tr " " x) &&
	{
		server_hello clean smudge &&
		pkt status=success && flush &&
		pkt_data "$(printf "%s" "$whole" | head -c 65516)" &&
		pkt_data "$(printf "%s" "$whole" | head -c 4484)" &&
		flush && flush
	} >expect &&
	cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'an unknown command answers status=error and the next request is still served' '
	{
		client_hello &&
		request frobnicate a.dat "some content" &&
		request clean b.dat "next"
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		refused error &&
		success next
	} >expect &&
	test_cmp expect out &&
	echo "error: filter-process: ${SQ}a.dat${SQ}: unknown command ${SQ}frobnicate${SQ}" >expect &&
	test_cmp expect err
'

test_expect_success 'a request without a pathname answers status=error' '
	{
		client_hello &&
		pkt command=clean && flush && pkt_data "orphan" && flush &&
		request clean b.dat "next"
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		refused error &&
		success next
	} >expect &&
	test_cmp expect out &&
	echo "error: filter-process: request without a pathname" >expect &&
	test_cmp expect err
'

test_expect_success 'a command that was not negotiated answers status=error' '
	{
		client_hello clean &&
		request smudge a.dat "content" &&
		request clean a.dat "content"
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean &&
		refused error &&
		success content
	} >expect &&
	test_cmp expect out &&
	grep "^error: filter-process: .a.dat.: command .smudge. was not negotiated$" err
'

test_expect_success 'a pathname outside the repository aborts that command for the rest of the process' '
	{
		client_hello &&
		request clean ../outside.dat "content" &&
		request clean a.dat "content" &&
		request smudge a.dat "content"
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		refused abort &&
		refused abort &&
		success content
	} >expect &&
	test_cmp expect out &&
	cat >expect <<-EOF &&
	error: filter-process: ${SQ}../outside.dat${SQ}: pathname is not inside the repository; no more ${SQ}clean${SQ} requests will be served
	error: filter-process: ${SQ}a.dat${SQ}: command ${SQ}clean${SQ} was aborted earlier in this process
	EOF
	test_cmp expect err
'

test_expect_success 'an absolute pathname aborts too' '
	{
		client_hello &&
		request smudge /etc/passwd "content"
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		refused abort
	} >expect &&
	test_cmp expect out &&
	grep "^error: filter-process: ./etc/passwd.: pathname is not inside the repository" err
'

test_expect_success !VALGRIND 'a file too large to hold without a temporary folder answers status=error and the next is served' '
	chunk=$(head -c 65516 /dev/zero | tr "\\0" x) &&
	{
		client_hello &&
		pkt command=clean pathname=big.dat && flush &&
		for i in $(test_seq 1 17)
		do
			pkt_data "$chunk" || return 1
		done &&
		flush &&
		request clean small.dat "fits in memory"
	} >in &&
	test_expect_code 0 env TMPDIR="$PWD/no-such-folder" git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		refused error &&
		success "fits in memory"
	} >expect &&
	test_cmp expect out &&
	grep "^error: filter-process: .big.dat.: cannot make a temporary file in .*no-such-folder.: No such file or directory$" err
'

test_expect_success 'a truncated packet is fatal: exit 2 and a message on stderr' '
	{
		client_hello &&
		pkt command=clean pathname=a.dat && flush &&
		printf 0010abc
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	server_hello clean smudge >expect &&
	test_cmp expect out &&
	echo "fatal: filter-process: end of input inside a packet (3 of 12 bytes)" >expect &&
	test_cmp expect err
'

test_expect_success 'end of input inside a request is fatal' '
	{
		client_hello &&
		pkt command=clean pathname=a.dat
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	echo "fatal: filter-process: end of input inside a request" >expect &&
	test_cmp expect err
'

test_expect_success 'end of input inside the content is fatal' '
	{
		client_hello &&
		pkt command=clean pathname=a.dat && flush &&
		pkt_data "half of it"
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	server_hello clean smudge >expect &&
	test_cmp expect out &&
	echo "fatal: filter-process: end of input inside the content of a request" >expect &&
	test_cmp expect err
'

test_expect_success 'a bad length header is fatal' '
	{
		client_hello &&
		printf 00zz
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	echo "fatal: filter-process: bad packet length ${SQ}00zz${SQ}" >expect &&
	test_cmp expect err
'

test_expect_success 'a packet longer than 65520 bytes is fatal' '
	{
		client_hello &&
		printf fff1
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	echo "fatal: filter-process: packet of 65521 bytes is longer than the maximum of 65520" >expect &&
	test_cmp expect err
'

test_expect_success 'a request line that is not key=value is fatal' '
	{
		client_hello &&
		pkt command=clean "no equals sign" && flush
	} >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	grep "^fatal: filter-process: expected a key=value line in a request, got .no equals sign.$" err
'

test_expect_success 'end of input between requests ends the filter with exit 0' '
	{
		client_hello &&
		request clean a.dat one &&
		request smudge a.dat two
	} >in &&
	test_expect_code 0 git box filter-process <in >out 2>err &&
	{
		server_hello clean smudge &&
		success one &&
		success two
	} >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'end of input before the handshake is over is fatal' '
	pkt git-filter-client version=2 >in &&
	test_expect_code 2 git box filter-process <in >out 2>err &&
	test_must_be_empty out &&
	echo "fatal: filter-process: end of input where the end of the version list was expected" >expect &&
	test_cmp expect err
'

test_expect_success '-h prints the usage on stdout' '
	test_expect_code 0 git box filter-process -h >out 2>err &&
	echo "usage: git box filter-process" >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'an argument is a usage error' '
	test_expect_code 2 git box filter-process extra </dev/null >out 2>err &&
	test_must_be_empty out &&
	grep "^error: unexpected argument .extra.$" err &&
	grep "^usage: git box filter-process$" err
'

test_done
