#!/bin/sh

test_description='no URL with a user name or password is accepted, stored or printed

A TSA URL is committed in the policy and in every timestamp tag, and
shown in messages: wherever git box takes one (init --tsa, a policy'"'"'s
timestamp.tsa, timestamp --tsa), one with credentials is refused with a
hint to ~/.netrc, and no output ever repeats the secret.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

SECRET=s3cr3tPa55

# URLs whose credentials hide in every way a URL allows, and some it does not.
cat >urls <<EOF
https://alice:$SECRET@tsa.example.org/tsr
http://alice:$SECRET@tsa.example.org:3161/
HTTPS://$SECRET@tsa.example.org/tsr
https://:$SECRET@tsa.example.org/tsr
https://alice:$SECRET%40x@tsa.example.org/tsr
https://alice;auth=$SECRET@tsa.example.org/tsr
https://alice:$SECRET/x@tsa.example.org/tsr
https://alice:$SECRET?x@tsa.example.org/tsr
https://alice:$SECRET#x@tsa.example.org/tsr
https://alice:$SECRET@tsa.example.org@evil.example/tsr
EOF

# Nothing the command printed holds the secret.
no_secret () {
	! grep "$SECRET" "$@"
}

# A policy whose timestamp.tsa lists URL (after a good one when $2 is set).
tsa_policy () {
	box_policy "$1" none 0 &&
	{
		echo "timestamp:" &&
		echo "  when: seal" &&
		echo "  tsa:" &&
		if test -n "$3"
		then
			echo "    - https://tsa.example.org/tsr"
		fi &&
		echo "    - \"$2\""
	} >>"$1"
}

test_expect_success 'init --tsa with credentials exits 2, makes nothing and says where they go' '
	while read -r url
	do
		test_expect_code 2 git box init box --tsa "$url" >out 2>err &&
		grep "^error: --tsa: .*. has a user name or a password in it: a URL is committed and shown, so credentials go in ~/.netrc instead$" err &&
		grep "^hint: a line of ~/.netrc (mode 600) gives them to that host alone: machine <host> login <user> password <secret>$" err &&
		test_must_be_empty out &&
		no_secret err &&
		test_path_is_missing box || return 1
	done <urls
'

test_expect_success 'init --tsa shows the refused URL without its credentials' '
	test_expect_code 2 git box init box --tsa "https://alice:$SECRET@tsa.example.org/tsr" 2>err &&
	grep "^error: --tsa: .https://tsa.example.org/tsr. has a user name" err &&
	test_expect_code 2 git box init box --tsa "https://alice:$SECRET/x@tsa.example.org/tsr" 2>err &&
	grep "^error: --tsa: .https://tsa.example.org/tsr. has a user name" err
'

test_expect_success 'init --json --tsa with credentials prints nothing on stdout' '
	test_expect_code 2 git box init box --json --tsa "https://alice:$SECRET@tsa.example.org/tsr" \
		>out 2>err &&
	test_must_be_empty out &&
	no_secret err &&
	test_path_is_missing box
'

test_expect_success 'init --tsa still takes a URL whose path or query holds an @' '
	box_init at --tsa "https://tsa.example.org/v2@eu/tsr?k=a@b" >out 2>err &&
	git -C at show HEAD:.box/policy.yaml >policy &&
	grep "^  tsa: \[\"https://tsa.example.org/v2@eu/tsr?k=a@b\"\]$" policy
'

test_expect_success 'init --policy whose timestamp.tsa has credentials is refused at their line' '
	while read -r url
	do
		tsa_policy p.yaml "$url" &&
		test_expect_code 2 git box init box --policy p.yaml >out 2>err &&
		grep "^error: p.yaml:15:7: timestamp.tsa\[0\]: .*. has a user name or a password in it" err &&
		no_secret out err &&
		test_path_is_missing box &&
		tsa_policy p.yaml "$url" second &&
		test_expect_code 2 git box init box --policy p.yaml >out 2>err &&
		grep "^error: p.yaml:16:7: timestamp.tsa\[1\]: .*. has a user name or a password in it" err &&
		no_secret out err &&
		test_path_is_missing box || return 1
	done <urls
'

test_expect_success 'a TSA URL with credentials and a blank is refused for the blank, secret unshown' '
	tsa_policy p.yaml "https://alice:$SECRET x@tsa.example.org/tsr" &&
	test_expect_code 2 git box init box --policy p.yaml 2>err &&
	grep "^error: p.yaml:15:7: timestamp.tsa\[0\]: .https://tsa.example.org/tsr. is not a valid URL: it holds a blank or a control character$" err &&
	tsa_policy p.yaml "https://alice:$SECRET\\tx@tsa.example.org/tsr" &&
	test_expect_code 2 git box init box --policy p.yaml 2>err &&
	grep "is not a valid URL: it holds a blank or a control character$" err &&
	no_secret err &&
	test_path_is_missing box
'

test_expect_success 'setup: a box with an init event, and a TSA that counts what it is asked' '
	box_init plain >/dev/null &&
	tsa_shim counter --status 503
'

test_expect_success 'timestamp --tsa with credentials exits 2 before any TSA is asked' '
	port=$(cat counter.port) &&
	while read -r url
	do
		url=$(echo "$url" | sed "s|tsa.example.org\(:[0-9]*\)\{0,1\}|127.0.0.1:$port|") &&
		(cd plain && box_snapshot >../before &&
		 test_expect_code 2 git box timestamp --tsa "$url" --tsa-ca "$TSA_FIXTURES/ca.pem" \
			>../out 2>../err &&
		 box_snapshot >../after) &&
		test_cmp before after &&
		grep "^error: --tsa: .*. has a user name or a password in it" err &&
		grep "^hint: a line of ~/.netrc" err &&
		no_secret out err || return 1
	done <urls &&
	! grep POST counter.log
'

test_expect_success 'timestamp --json --tsa with credentials prints nothing on stdout' '
	(cd plain && test_expect_code 2 git box timestamp --json \
		--tsa "http://alice:$SECRET@127.0.0.1:$(cat ../counter.port)/" \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >../out 2>../err) &&
	test_must_be_empty out &&
	no_secret err &&
	! grep POST counter.log
'

test_expect_success 'setup: a policy with credentials in timestamp.tsa committed past the hooks' '
	cp -R plain leaked &&
	tsa_policy leaked.yaml "https://alice:$SECRET@tsa.example.org/tsr" &&
	(
		cd leaked &&
		blob=$(git hash-object -w ../leaked.yaml) &&
		git update-index --cacheinfo 100644,$blob,.box/policy.yaml &&
		box_nohooks commit -q -m "policy with a password"
	)
'

test_expect_success 'no command on a box whose policy holds credentials shows them' '
	for cmd in status log checkpoint seal install "timestamp --tsa-ca $TSA_FIXTURES/ca.pem"
	do
		(cd leaked && test_expect_code 2 git box $cmd >../out 2>../err) &&
		grep "timestamp.tsa\[0\]: .https://tsa.example.org/tsr. has a user name or a password in it" err &&
		no_secret out err || return 1
	done
'

test_expect_success 'setup: a server that keeps the Authorization header it is sent' '
	cat >auth-server.py <<-\EOF &&
	import http.server, os, sys
	port_file, seen = sys.argv[1], sys.argv[2]
	class Handler(http.server.BaseHTTPRequestHandler):
	    def do_POST(self):
	        self.rfile.read(int(self.headers.get("Content-Length", "0")))
	        with open(seen, "a") as f:
	            f.write("%s\n" % self.headers.get("Authorization"))
	        self.send_response(503)
	        self.send_header("Content-Length", "0")
	        self.end_headers()
	    def log_message(self, *args):
	        pass
	server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
	with open(port_file + ".tmp", "w") as f:
	    f.write(str(server.server_port))
	os.rename(port_file + ".tmp", port_file)
	server.serve_forever()
	EOF
	tsa_spawn auth python3 auth-server.py auth.port "$PWD/auth.seen"
'

test_expect_success 'a TSA gets its credentials from ~/.netrc, and no message shows them' '
	test_when_finished "rm -f \"$HOME/.netrc\"" &&
	printf "machine 127.0.0.1 login alice password %s\n" "$SECRET" >"$HOME/.netrc" &&
	chmod 600 "$HOME/.netrc" &&
	(cd plain && test_expect_code 2 git box timestamp --tsa "$(cat ../auth.url)tsr" \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >../out 2>../err) &&
	grep "answered HTTP 503 instead of a timestamp" err &&
	echo "Basic $(printf "alice:%s" "$SECRET" | base64)" >expect &&
	sort -u auth.seen >actual &&
	test_cmp expect actual &&
	no_secret out err
'

test_expect_success 'a redirect to a URL with credentials is reported without them' '
	tsa_shim redirect --redirect "https://alice:$SECRET@elsewhere.example/tsr" &&
	(cd plain && test_expect_code 2 git box timestamp --tsa "$(cat ../redirect.url)" \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >../out 2>../err) &&
	grep "answered with a redirect (HTTP 302 to https://elsewhere.example/tsr); redirects are not followed$" err &&
	no_secret out err
'

test_done
