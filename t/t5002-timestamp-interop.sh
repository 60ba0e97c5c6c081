#!/bin/sh

test_description='git box timestamp with a TSA that is not ours: stock openssl ts -reply

The request git box sends is what stock openssl reads as a SHA-256
TimeStampReq with a nonce and certReq, and what it stores is what stock
openssl ts -verify accepts.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

test_expect_success 'setup: openssl ts -reply behind the HTTP shim, and a box with an init event' '
	tsa_openssl_config good.cnf "$TSA_FIXTURES/tsa.key" "$TSA_FIXTURES/tsa.pem" &&
	cat >reply.sh <<-\EOF &&
	#!/bin/sh
	exec openssl ts -reply -config "$1" -queryfile /dev/stdin -out /dev/stdout 2>/dev/null
	EOF
	chmod +x reply.sh &&
	mkdir requests &&
	tsa_shim openssl --save requests --exec ./reply.sh good.cnf &&
	box_init box &&
	(cd box && box_event_note HEAD init)
'

test_expect_success 'git box timestamp stores the answer of openssl ts -reply' '
	(cd box && git box timestamp --tsa "$(cat ../openssl.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" >../out) &&
	grep "^timestamped the init event on [0-9a-f]* as .box/init-1.$" out &&
	grep "^serial    0x01$" out
'

test_expect_success 'the request was posted as application/timestamp-query' '
	grep "^shim: content-type application/timestamp-query, [0-9]* bytes$" openssl.log
'

test_expect_success 'stock openssl reads the request: SHA-256 of the payload, a nonce, certReq' '
	openssl ts -query -in requests/request-1.tsq -text >req.txt 2>/dev/null &&
	grep "^Version: 1$" req.txt &&
	grep "^Hash Algorithm: sha256$" req.txt &&
	grep "^Nonce: 0x[0-9A-F]*$" req.txt &&
	grep "^Certificate required: yes$" req.txt &&
	grep "^Policy OID: unspecified$" req.txt &&
	digest=$(sha256sum <"$(cd box && box_payload HEAD)" | cut -d" " -f1) &&
	sed -n "/^Message data:/,/^Policy OID/p" req.txt | sed -n "s/^ *[0-9a-f]* - \(.*\)   .*/\1/p" |
		tr -d " -" >imprint &&
	test "$(cat imprint | tr -d "\n")" = "$digest"
'

test_expect_success 'stock openssl ts -verify accepts the stored answer for the payload and for the request' '
	(cd box && tsa_cut box/init-1 ../resp.tsr ../payload.json) &&
	openssl ts -verify -data payload.json -in resp.tsr -CAfile "$TSA_FIXTURES/ca.pem" &&
	openssl ts -verify -queryfile requests/request-1.tsq -in resp.tsr -CAfile "$TSA_FIXTURES/ca.pem"
'

test_expect_success 'the stored answer is the very bytes openssl ts -reply sent' '
	openssl ts -reply -in resp.tsr -text >text 2>/dev/null &&
	grep "^Policy OID: 1.3.6.1.4.1.99999.2$" text &&
	grep "^Serial number: 0x01$" text &&
	openssl ts -reply -in resp.tsr -out again.tsr 2>/dev/null &&
	test_cmp resp.tsr again.tsr
'

test_expect_success 'setup: a TSA certificate from an intermediate CA, sent by openssl ts -reply' '
	"$BOX_SOURCE_DIR/contrib/tsa-server/make-test-ca.sh" root "interop" >/dev/null &&
	cat >inter.cnf <<-\EOF &&
	[v3_inter]
	basicConstraints = critical, CA:true, pathlen:0
	keyUsage = critical, keyCertSign, cRLSign
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	openssl req -new -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr \
		-subj "/CN=interop intermediate CA" 2>/dev/null &&
	openssl x509 -req -in inter.csr -CA root/ca.pem -CAkey root/ca.key -set_serial 2 -days 300 \
		-extfile inter.cnf -extensions v3_inter -out inter.pem 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
		-subj "/CN=interop RSA TSA" 2>/dev/null &&
	openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -set_serial 3 -days 300 \
		-extfile root/ca.cnf -extensions v3_tsa -out leaf.pem 2>/dev/null &&
	tsa_openssl_config chained.cnf "$PWD/leaf.key" "$PWD/leaf.pem" "sha256" "$PWD/inter.pem" &&
	tsa_shim chained --exec ./reply.sh chained.cnf &&
	(cd box && box_commit "work" work.R && box_event_note HEAD checkpoint)
'

test_expect_success 'an RSA TSA under an intermediate is accepted with the root as the only anchor' '
	(cd box && git box timestamp --tsa "$(cat ../chained.url)" --tsa-ca ../root/ca.pem >../out) &&
	grep "as .box/checkpoint-1.$" out &&
	grep "^name      CN=interop RSA TSA$" out &&
	(cd box && tsa_cut box/checkpoint-1 ../resp2.tsr ../payload2.json) &&
	openssl ts -verify -data payload2.json -in resp2.tsr -CAfile root/ca.pem
'

test_expect_success 'the same TSA is refused when only the intermediate.s issuer is unknown' '
	(cd box && box_commit "more" more.R && box_event_note HEAD checkpoint) &&
	(cd box && test_expect_code 1 git box timestamp --tsa "$(cat ../chained.url)" \
		--tsa-ca "$TSA_FIXTURES/ca.pem" 2>../err) &&
	grep "chain: the signer .CN=interop RSA TSA. does not chain to a trust anchor as of .*: unable to get local issuer certificate (.CN=interop intermediate CA.)$" err
'

test_expect_success 'the intermediate alone may be the anchor (as with openssl -partial_chain)' '
	(cd box && git box timestamp --tsa "$(cat ../chained.url)" --tsa-ca ../inter.pem >../out) &&
	grep "as .box/checkpoint-2.$" out
'

test_done
