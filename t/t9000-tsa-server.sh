#!/bin/sh

test_description='contrib/tsa-server: git-box-tsa answers RFC 3161 requests and refuses the rest'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

MAKE_TEST_CA="$BOX_SOURCE_DIR/contrib/tsa-server/make-test-ca.sh"

# POST a file to the server NAME: post NAME FILE [CONTENT-TYPE]; the body
# goes to `body`, the headers to `headers`, and the HTTP status is printed.
post () {
	curl -sS -o body -D headers -w "%{http_code}" \
		-H "Content-Type: ${3:-application/timestamp-query}" \
		--data-binary "@$2" "$(cat "$1.url")" 2>curl.err
}

test_expect_success 'make-test-ca.sh makes a CA and a TSA certificate stock openssl accepts' '
	"$MAKE_TEST_CA" ca >out &&
	grep "^made ca/ca.pem and ca/tsa.pem" out &&
	openssl verify -CAfile ca/ca.pem -purpose timestampsign ca/tsa.pem &&
	openssl x509 -in ca/tsa.pem -noout -ext extendedKeyUsage >eku &&
	grep "critical" eku &&
	grep "Time Stamping" eku &&
	test "$(box_mode ca/ca.key)" = 600 &&
	test "$(box_mode ca/tsa.key)" = 600
'

test_expect_success 'make-test-ca.sh names the certificates as told' '
	"$MAKE_TEST_CA" named "site lab" >/dev/null &&
	openssl x509 -in named/tsa.pem -noout -subject >subject &&
	grep "CN = site lab TSA" subject
'

test_expect_success 'make-test-ca.sh never overwrites keys' '
	test_expect_code 2 "$MAKE_TEST_CA" ca 2>err &&
	grep "holds keys already" err &&
	openssl verify -CAfile ca/ca.pem ca/tsa.pem
'

test_expect_success 'make-test-ca.sh without a folder prints its usage and exits 2' '
	test_expect_code 2 "$MAKE_TEST_CA" 2>err &&
	grep "^usage: make-test-ca.sh <dir>" err
'

test_expect_success 'git-box-tsa -h prints its usage; without key and certificate it exits 2' '
	"$BOX_TSA_SERVER" -h >out &&
	grep "^usage: git-box-tsa --key <file> --cert <file>" out &&
	test_expect_code 2 "$BOX_TSA_SERVER" 2>err &&
	grep "error: --key and --cert are required" err
'

test_expect_success 'git-box-tsa refuses a certificate without the timeStamping usage' '
	cat >noeku.cnf <<-\EOF &&
	[v3]
	basicConstraints = critical, CA:false
	keyUsage = critical, digitalSignature
	EOF
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout noeku.key \
		-out noeku.csr -subj "/CN=not a TSA" 2>/dev/null &&
	openssl x509 -req -in noeku.csr -CA ca/ca.pem -CAkey ca/ca.key -set_serial 7 -days 30 \
		-extfile noeku.cnf -extensions v3 -out noeku.pem 2>/dev/null &&
	test_expect_code 2 "$BOX_TSA_SERVER" --key noeku.key --cert noeku.pem --port 0 2>err &&
	grep "error: the certificate in .noeku.pem. may not sign timestamps: it needs the critical extendedKeyUsage timeStamping" err
'

test_expect_success 'git-box-tsa refuses a key that is not the certificate.s' '
	test_expect_code 2 "$BOX_TSA_SERVER" --key noeku.key --cert ca/tsa.pem --port 0 2>err &&
	grep "error: the key in .noeku.key. is not the key of the certificate in .ca/tsa.pem." err
'

test_expect_success 'git-box-tsa refuses files it cannot read' '
	test_expect_code 2 "$BOX_TSA_SERVER" --key missing.key --cert ca/tsa.pem 2>err &&
	grep "error: cannot open .missing.key." err &&
	echo "not a certificate" >bad.pem &&
	test_expect_code 2 "$BOX_TSA_SERVER" --key ca/tsa.key --cert bad.pem 2>err &&
	grep "error: .bad.pem. holds no PEM certificate" err
'

test_expect_success 'git-box-tsa refuses a bad address, port or policy' '
	test_expect_code 2 "$BOX_TSA_SERVER" --key ca/tsa.key --cert ca/tsa.pem --listen nowhere 2>err &&
	grep "error: .nowhere. is not an IPv4 or IPv6 address" err &&
	test_expect_code 2 "$BOX_TSA_SERVER" --key ca/tsa.key --cert ca/tsa.pem --port 70000 2>err &&
	grep "error: --port needs a number up to 65535, not .70000." err &&
	test_expect_code 2 "$BOX_TSA_SERVER" --key ca/tsa.key --cert ca/tsa.pem --policy "not an oid" 2>err &&
	grep "error: .not an oid. is not an OID" err
'

test_expect_success 'git-box-tsa listens on 127.0.0.1 by default and reports its port' '
	tsa_start tsa --key ca/tsa.key --cert ca/tsa.pem --policy 1.3.6.1.4.1.99999.1 --max-request 1024 &&
	grep "^git-box-tsa: listening on http://127.0.0.1:$(cat tsa.port)/$" tsa.log
'

test_expect_success 'a request made by stock openssl is granted, and stock openssl verifies the answer' '
	echo "some data" >data &&
	openssl ts -query -data data -sha256 -cert -out req.tsq 2>/dev/null &&
	test "$(post tsa req.tsq)" = 200 &&
	grep -i "^content-type: application/timestamp-reply" headers &&
	cp body resp.tsr &&
	openssl ts -verify -queryfile req.tsq -in resp.tsr -CAfile ca/ca.pem >out 2>&1 &&
	grep "^Verification: OK$" out &&
	openssl ts -verify -data data -in resp.tsr -CAfile ca/ca.pem
'

test_expect_success 'the token names the policy, the TSA, an accuracy, and the request.s nonce' '
	openssl ts -reply -in resp.tsr -text >text 2>/dev/null &&
	grep "^Policy OID: 1.3.6.1.4.1.99999.1$" text &&
	grep "^TSA: DirName:/CN=git box test TSA/O=git box tests$" text &&
	grep "^Accuracy: 0x01 seconds" text &&
	nonce=$(openssl ts -query -in req.tsq -text 2>/dev/null | sed -n "s/^Nonce: //p") &&
	grep "^Nonce: $nonce$" text
'

test_expect_success 'the token binds its signer with an ESSCertIDv2 and carries its certificate' '
	openssl ts -reply -in resp.tsr -token_out -out token.der 2>/dev/null &&
	openssl cms -cmsout -print -inform DER -in token.der >token.txt &&
	grep "id-smime-aa-signingCertificateV2" token.txt &&
	openssl pkcs7 -inform DER -in token.der -print_certs >certs.pem &&
	grep "subject=CN = git box test TSA" certs.pem
'

test_expect_success 'every token has its own serial number' '
	openssl ts -query -data data -sha256 -cert -out req2.tsq 2>/dev/null &&
	test "$(post tsa req2.tsq)" = 200 &&
	s1=$(openssl ts -reply -in resp.tsr -text 2>/dev/null | sed -n "s/^Serial number: //p") &&
	s2=$(openssl ts -reply -in body -text 2>/dev/null | sed -n "s/^Serial number: //p") &&
	test -n "$s1" && test "$s1" != "$s2"
'

test_expect_success 'a SHA-1 request gets a rejection with badAlg' '
	openssl ts -query -data data -sha1 -cert -out sha1.tsq 2>/dev/null &&
	test "$(post tsa sha1.tsq)" = 200 &&
	openssl ts -reply -in body -text >text 2>/dev/null &&
	grep "^Status: Rejected.$" text &&
	grep "unrecognized or unsupported algorithm identifier" text
'

test_expect_success 'a GET is refused with 405 and Allow: POST' '
	test "$(curl -sS -o body -D headers -w "%{http_code}" "$(cat tsa.url)")" = 405 &&
	grep -i "^allow: POST" headers &&
	grep "only POST" body
'

test_expect_success 'another content type is refused with 415' '
	test "$(post tsa req.tsq application/octet-stream)" = 415 &&
	grep "the content type must be application/timestamp-query" body
'

test_expect_success 'a request over --max-request bytes is refused with 413' '
	head -c 2000 /dev/zero >big &&
	test "$(post tsa big)" = 413 &&
	grep "too large" body
'

test_expect_success 'a chunked body that grows past the limit closes the connection' '
	test_must_fail curl -sS -o body -H "Content-Type: application/timestamp-query" \
		-H "Transfer-Encoding: chunked" --data-binary @big "$(cat tsa.url)" 2>err &&
	grep "past the limit" tsa.log
'

test_expect_success 'a body that is not a DER TimeStampReq is refused with 400' '
	echo "hello" >garbage &&
	test "$(post tsa garbage)" = 400 &&
	grep "not a DER TimeStampReq" body &&
	{ cat req.tsq && printf x; } >trailing &&
	test "$(post tsa trailing)" = 400 &&
	: >empty &&
	test "$(post tsa empty)" = 400
'

test_expect_success 'the server logs one line per request' '
	grep " 127.0.0.1 POST 200 granted serial 0x" tsa.log &&
	grep " 127.0.0.1 GET 405 only POST" tsa.log &&
	grep " 127.0.0.1 POST 415 " tsa.log &&
	grep " 127.0.0.1 POST 400 the body is not a DER TimeStampReq" tsa.log
'

test_expect_success 'setup: a TSA certificate from an intermediate CA' '
	cat >inter.cnf <<-\EOF &&
	[v3_inter]
	basicConstraints = critical, CA:true, pathlen:0
	keyUsage = critical, keyCertSign, cRLSign
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key \
		-out inter.csr -subj "/CN=intermediate CA" 2>/dev/null &&
	openssl x509 -req -in inter.csr -CA ca/ca.pem -CAkey ca/ca.key -set_serial 8 -days 300 \
		-extfile inter.cnf -extensions v3_inter -out inter.pem 2>/dev/null &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
		-out leaf.csr -subj "/CN=leaf TSA" 2>/dev/null &&
	openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -set_serial 9 -days 300 \
		-extfile ca/ca.cnf -extensions v3_tsa -out leaf.pem 2>/dev/null
'

test_expect_success '--chain sends the intermediate, so the root alone verifies' '
	tsa_start chained --key leaf.key --cert leaf.pem --chain inter.pem &&
	test "$(post chained req.tsq)" = 200 &&
	openssl ts -verify -data data -in body -CAfile ca/ca.pem
'

test_expect_success 'git box timestamp stamps with it, the chain going through the token' '
	box_init box &&
	(
		cd box &&
		box_event_note HEAD init &&
		git box timestamp --tsa "$(cat ../chained.url)" --tsa-ca ../ca/ca.pem >../out
	) &&
	grep "as .box/init-1.$" out &&
	grep "^name      CN=leaf TSA$" out
'

test_expect_success 'the server stops on SIGTERM and says so' '
	pid=$(cat tsa.pid) &&
	tsa_stop tsa &&
	! kill -0 "$pid" 2>/dev/null &&
	grep "^git-box-tsa: stopping on signal 15$" tsa.log
'

test_done
