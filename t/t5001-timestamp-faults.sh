#!/bin/sh

test_description='git box timestamp stores nothing when a TSA fails, and names the failed check

Every fault: the TSA cannot be reached, is too slow, answers an HTTP
error, a redirect, too much, garbage, a token for another imprint or
with another nonce, a token signed by a certificate without the
timeStamping usage, or without the ESS binding, or with a spoiled
signature, a token from an untrusted CA, or a rejection.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

# Stamp the init event with the TSA named $1; expect exit $2.
stamp_with () {
	(cd box && test_expect_code "$2" git box timestamp --tsa "$(cat "../$1.url")" --timeout 3 \
		--tsa-ca "$TSA_FIXTURES/ca.pem" >../out 2>../err)
}

test_expect_success 'setup: a box with an init event, and stock openssl TSA configurations' '
	box_init box &&
	(cd box && box_event_note HEAD init) &&
	tsa_openssl_config good.cnf "$TSA_FIXTURES/tsa.key" "$TSA_FIXTURES/tsa.pem" &&
	tsa_openssl_config sha512only.cnf "$TSA_FIXTURES/tsa.key" "$TSA_FIXTURES/tsa.pem" sha512 &&
	cat >reply.sh <<-\EOF &&
	#!/bin/sh
	exec openssl ts -reply -config "$1" -queryfile /dev/stdin -out /dev/stdout 2>/dev/null
	EOF
	chmod +x reply.sh
'

test_expect_success 'an unreachable TSA: exit 2, nothing stored, and the command to finish later' '
	echo "http://127.0.0.1:1/" >nowhere.url &&
	stamp_with nowhere 2 &&
	grep "^error: cannot connect to .http://127.0.0.1:1/.: " err &&
	grep "^error: no TSA answered with a timestamp: the init event on [0-9a-f]* is not timestamped, and nothing was stored$" err &&
	grep "^hint: run .git box timestamp [0-9a-f]*. again when a TSA can be reached$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'a TSA that accepts and never answers times out: exit 2, nothing stored' '
	tsa_shim hang --hang &&
	stamp_with hang 2 &&
	grep "^error: .$(cat hang.url). did not answer in time: " err &&
	grep "no TSA answered with a timestamp" err &&
	(cd box && tsa_no_tags) &&
	tsa_stop hang
'

test_expect_success 'an HTTP error: exit 2, nothing stored, after a second try' '
	tsa_shim http500 --status 500 &&
	stamp_with http500 2 &&
	grep "^error: .$(cat http500.url). answered HTTP 500 instead of a timestamp$" err &&
	test "$(grep -c "POST / HTTP" http500.log)" = 2 &&
	(cd box && tsa_no_tags)
'

test_expect_success 'an HTTP 404 is not tried again' '
	tsa_shim http404 --status 404 &&
	stamp_with http404 2 &&
	grep "answered HTTP 404 instead of a timestamp$" err &&
	test "$(grep -c "POST / HTTP" http404.log)" = 1
'

test_expect_success 'a redirect is not followed: exit 2, nothing stored' '
	tsa_shim redirect --redirect "$(cat http404.url)" &&
	stamp_with redirect 2 &&
	grep "^error: .$(cat redirect.url). answered with a redirect (HTTP 302 to .*); redirects are not followed$" err &&
	test "$(grep -c "POST / HTTP" http404.log)" = 1 &&
	(cd box && tsa_no_tags)
'

test_expect_success 'an answer larger than the cap is cut off: exit 2, nothing stored' '
	tsa_shim big --big 2000000 &&
	stamp_with big 2 &&
	grep "^error: .$(cat big.url). answered with more than 1048576 bytes$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'an answer that is not DER: exit 1, nothing stored, the format check named' '
	printf "<html>hello</html>\n" >garbage &&
	tsa_shim garbage --body-file garbage &&
	stamp_with garbage 1 &&
	grep "^error: .$(cat garbage.url).: format: the answer is not a DER TimeStampResp$" err &&
	grep "^error: no TSA gave a valid timestamp of the init event on [0-9a-f]*; nothing was stored$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'a TimeStampResp with bytes after it: exit 1, the format check named' '
	cat >trailing.sh <<-\EOF &&
	#!/bin/sh
	./reply.sh good.cnf && printf "x"
	EOF
	chmod +x trailing.sh &&
	tsa_shim trailing --exec ./trailing.sh &&
	stamp_with trailing 1 &&
	grep "format: 1 bytes follow the TimeStampResp$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'a granted answer for another imprint: exit 1, the imprint check named' '
	cat >other-imprint.sh <<-\EOF &&
	#!/bin/sh
	echo "another payload" >other.txt &&
	openssl ts -query -data other.txt -sha256 -cert -out other.tsq 2>/dev/null &&
	exec ./reply.sh good.cnf <other.tsq
	EOF
	chmod +x other-imprint.sh &&
	tsa_shim other-imprint --exec ./other-imprint.sh &&
	stamp_with other-imprint 1 &&
	grep "^error: .$(cat other-imprint.url).: imprint: the token stamps another sha256 digest than the data.s$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'an answer with another nonce (a replay): exit 1, the nonce check named' '
	digest=$(sha256sum <"$(cd box && box_payload HEAD)" | cut -d" " -f1) &&
	cat >other-nonce.sh <<-EOF &&
	#!/bin/sh
	openssl ts -query -digest $digest -sha256 -cert -out fresh.tsq 2>/dev/null &&
	exec ./reply.sh good.cnf <fresh.tsq
	EOF
	chmod +x other-nonce.sh &&
	tsa_shim other-nonce --exec ./other-nonce.sh &&
	stamp_with other-nonce 1 &&
	grep "^error: .$(cat other-nonce.url).: nonce: the response.s nonce is not the request.s: it may be replayed$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'setup: a certificate without the timeStamping usage, made with stock openssl' '
	cat >noeku.cnf <<-\EOF &&
	[v3_noeku]
	basicConstraints = critical, CA:false
	keyUsage = critical, digitalSignature
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout noeku.key \
		-out noeku.csr -subj "/CN=not a TSA/O=git box tests" 2>/dev/null &&
	openssl x509 -req -in noeku.csr -CA "$TSA_FIXTURES/ca.pem" -CAkey "$TSA_FIXTURES/ca.key" \
		-set_serial 0x1234 -days 30 -extfile noeku.cnf -extensions v3_noeku -out noeku.pem 2>/dev/null &&
	openssl verify -CAfile "$TSA_FIXTURES/ca.pem" noeku.pem &&
	test_must_fail openssl verify -CAfile "$TSA_FIXTURES/ca.pem" -purpose timestampsign noeku.pem
'

# A responder that takes a real token's TSTInfo and signs it again with
# stock openssl cms: resign.sh CERT KEY [CMS OPTIONS]
test_expect_success 'setup: a responder that signs the TSTInfo again with openssl cms' '
	cat >resign.sh <<-\EOF &&
	#!/bin/sh
	cert=$1 key=$2 && shift 2 &&
	openssl ts -reply -config good.cnf -queryfile /dev/stdin -token_out -out token.der 2>/dev/null &&
	openssl cms -verify -noverify -binary -inform DER -in token.der -out tstinfo.der 2>/dev/null &&
	exec openssl cms -sign -binary -nodetach -econtent_type id-smime-ct-TSTInfo -md sha256 \
		-nosmimecap "$@" -signer "$cert" -inkey "$key" -in tstinfo.der -outform DER
	EOF
	chmod +x resign.sh
'

test_expect_success 'the resigning responder makes tokens our checks accept when the signer is the TSA' '
	tsa_shim resigned --wrap-token --exec ./resign.sh "$TSA_FIXTURES/tsa.pem" "$TSA_FIXTURES/tsa.key" -cades &&
	stamp_with resigned 0 &&
	grep "^timestamped the init event on [0-9a-f]* as .box/init-1.$" out &&
	(cd box && box_nohooks tag -d box/init-1 >/dev/null)
'

test_expect_success 'a token signed by a certificate without the timeStamping usage: exit 1, the eku check named' '
	tsa_shim noeku --wrap-token --exec ./resign.sh noeku.pem noeku.key -cades &&
	stamp_with noeku 1 &&
	grep "^error: .$(cat noeku.url).: eku: the signer .CN=not a TSA, O=git box tests. has no extended key usage; a TSA.s must be timeStamping$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'a token without the ESS signing certificate attribute: exit 1, the ess check named' '
	tsa_shim noess --wrap-token --exec ./resign.sh "$TSA_FIXTURES/tsa.pem" "$TSA_FIXTURES/tsa.key" &&
	stamp_with noess 1 &&
	grep "^error: .$(cat noess.url).: ess: the token has no signingCertificate or signingCertificateV2 attribute to bind its signer$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'a token whose signature is spoiled: exit 1, the signature check named' '
	tsa_shim spoiled --flip-last-byte --exec ./reply.sh good.cnf &&
	stamp_with spoiled 1 &&
	grep "^error: .$(cat spoiled.url).: signature: the token.s signature does not hold: " err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'a token from a CA that is not trusted: exit 1, the chain check named' '
	"$BOX_SOURCE_DIR/contrib/tsa-server/make-test-ca.sh" other "another" >/dev/null &&
	tsa_start ours &&
	(cd box && test_expect_code 1 git box timestamp --tsa "$(cat ../ours.url)" \
		--tsa-ca ../other/ca.pem 2>../err) &&
	grep "^error: .$(cat ours.url).: chain: the signer .CN=git box test TSA, O=git box tests. does not chain to a trust anchor as of 20[-0-9T:]*Z: unable to get local issuer certificate$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'a rejection status: exit 2, nothing stored, the status check named' '
	tsa_shim reject --exec ./reply.sh sha512only.cnf &&
	stamp_with reject 2 &&
	grep "^error: .$(cat reject.url).: status: the TSA answered rejection: .*(badAlg)$" err &&
	grep "no TSA answered with a timestamp" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'the TSAs are asked in order until one gives a valid timestamp' '
	(cd box && git box timestamp --json --tsa http://127.0.0.1:1/ --tsa "$(cat ../other-nonce.url)" \
		--tsa "$(cat ../ours.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" >../out.json) &&
	grep "\"tag\": \"box/init-1\"" out.json &&
	grep "\"tsa\": \"$(cat ours.url)\"" out.json &&
	grep "\"result\": \"unanswered\"" out.json &&
	grep "\"result\": \"invalid\"" out.json &&
	grep "\"result\": \"ok\"" out.json &&
	grep "\"error\": \"cannot connect to .http://127.0.0.1:1/." out.json &&
	grep "nonce: the response" out.json &&
	(cd box && box_nohooks tag -d box/init-1 >/dev/null)
'

test_expect_success 'when one TSA is unreachable and another invalid, the exit is 1 and each is named' '
	(cd box && test_expect_code 1 git box timestamp --tsa http://127.0.0.1:1/ \
		--tsa "$(cat ../noess.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" --json >../out.json 2>../err) &&
	grep "^error: cannot connect to .http://127.0.0.1:1/." err &&
	grep "^error: .$(cat noess.url).: ess: " err &&
	grep "^error: no TSA gave a valid timestamp" err &&
	grep "\"stored\": false" out.json &&
	grep "\"tag\": null" out.json &&
	(cd box && tsa_no_tags)
'

test_done
