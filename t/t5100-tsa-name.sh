#!/bin/sh

test_description='a timestamp names its true authority

A TSTInfo may name its TSA (the tsa field). When it does, the name must
be the signing certificate'"'"'s subject or one of its subjectAltName
entries, as OpenSSL'"'"'s TS_RESP_verify_token() requires: a token that
another TSA, even a trusted one, signed again under the first one'"'"'s
name fails "tsa name mismatch" in git box timestamp, in verify, and in
stock openssl ts -verify. verify names the certificate that signed.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
CA="$TSA_FIXTURES/ca.pem"

# Stamp the init event with the TSA named $1; expect exit $2.
stamp_with () {
	(cd box && test_expect_code "$2" git box timestamp --tsa "$(cat "../$1.url")" --timeout 5 \
		--tsa-ca "$CA" >../out 2>../err)
}

# Stamp the init event with the TSA named $1, the JSON report in stamp.json; the tag is taken away.
stamp_json () {
	(cd box && git box timestamp --json --tsa "$(cat "../$1.url")" --timeout 5 --tsa-ca "$CA" \
		>../stamp.json 2>../err &&
	 box_nohooks tag -d box/init-1 >/dev/null)
}

# A TimeStampResp granting the token in file $1, into file $2, with python3.
wrap_token () {
	python3 - "$1" "$2" <<-\EOF
	import sys
	def seq(body):
	    n = len(body)
	    if n < 0x80:
	        head = bytes([n])
	    else:
	        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
	        head = bytes([0x80 | len(raw)]) + raw
	    return b"\x30" + head + body
	token = open(sys.argv[1], "rb").read()
	open(sys.argv[2], "wb").write(seq(seq(b"\x02\x01\x00") + token))
	EOF
}

test_expect_success 'setup: a box with an init event, an impostor TSA certificate from the trusted CA' '
	box_init box &&
	(cd box && box_event_note HEAD init) &&
	tsa_openssl_config good.cnf "$TSA_FIXTURES/tsa.key" "$TSA_FIXTURES/tsa.pem" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout impostor.key \
		-out impostor.csr -subj "/CN=impostor TSA/O=git box tests" 2>/dev/null &&
	openssl x509 -req -in impostor.csr -CA "$CA" -CAkey "$TSA_FIXTURES/ca.key" -set_serial 0x5100 \
		-days 30 -extfile "$TSA_FIXTURES/ca.cnf" -extensions v3_tsa -out impostor.pem 2>/dev/null &&
	openssl verify -CAfile "$CA" -purpose timestampsign impostor.pem &&
	tsa_openssl_config impostor.cnf impostor.key impostor.pem &&
	cat >resign.sh <<-\EOF &&
	#!/bin/sh
	# A real token from the config $1, its TSTInfo signed again by $2 with key $3.
	cnf=$1 cert=$2 key=$3 && shift 3 &&
	openssl ts -reply -config "$cnf" -queryfile /dev/stdin -token_out -out token.der 2>/dev/null &&
	openssl cms -verify -noverify -binary -inform DER -in token.der -out tstinfo.der 2>/dev/null &&
	exec openssl cms -sign -binary -nodetach -econtent_type id-smime-ct-TSTInfo -md sha256 \
		-nosmimecap -cades -signer "$cert" -inkey "$key" -in tstinfo.der -outform DER
	EOF
	chmod +x resign.sh &&
	cat >reply.sh <<-\EOF &&
	#!/bin/sh
	exec openssl ts -reply -config "$1" -queryfile /dev/stdin -out /dev/stdout 2>/dev/null
	EOF
	chmod +x reply.sh
'

test_expect_success 'a token named for one TSA and signed by another: exit 1, the name check named, nothing stored' '
	tsa_shim impostor --wrap-token --exec ./resign.sh good.cnf impostor.pem impostor.key &&
	stamp_with impostor 1 &&
	grep "^error: .$(cat impostor.url).: name: tsa name mismatch: the token says it is from .CN=git box test TSA, O=git box tests., but .CN=impostor TSA, O=git box tests. signed it$" err &&
	(cd box && tsa_no_tags)
'

test_expect_success 'stock openssl ts -verify refuses the same token: tsa name mismatch' '
	(cd box && box_payload HEAD >../payload.name && cp "$(box_payload HEAD)" ../init.json) &&
	openssl ts -query -data init.json -sha256 -cert -out init.tsq 2>/dev/null &&
	./resign.sh good.cnf impostor.pem impostor.key <init.tsq >impostor.tok &&
	wrap_token impostor.tok impostor.tsr &&
	openssl ts -reply -in impostor.tsr -text 2>/dev/null >text &&
	grep "^TSA: DirName:/CN=git box test TSA/O=git box tests$" text &&
	test_must_fail openssl ts -verify -data init.json -in impostor.tsr -CAfile "$CA" >ts.out 2>&1 &&
	grep -i "tsa name mismatch" ts.out
'

test_expect_success 'the impostor signing under its own name is fine, and named' '
	tsa_shim own --exec ./reply.sh impostor.cnf &&
	stamp_json own &&
	jq -e ".stored and .checks.name == \"passed\"" stamp.json &&
	jq -e ".tsa_name == \"CN=impostor TSA, O=git box tests\" and .signer == .tsa_name" stamp.json
'

test_expect_success 'a token that names no TSA passes, the name check skipped, the signer named' '
	sed "s/^tsa_name = yes$/tsa_name = no/; s|^serial = .*|serial = $PWD/noname.cnf.serial|" \
		good.cnf >noname.cnf &&
	echo 00 >noname.cnf.serial &&
	tsa_shim noname --exec ./reply.sh noname.cnf &&
	stamp_json noname &&
	jq -e ".stored and .checks.name == \"skipped\"" stamp.json &&
	jq -e ".signer == \"CN=git box test TSA, O=git box tests\"" stamp.json
'

test_expect_success 'setup: a TSA certificate with a subjectAltName, and tokens naming it by DNS' '
	{ cat "$TSA_FIXTURES/ca.cnf" && printf "[v3_san]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = critical, timeStamping\nsubjectAltName = DNS:tsa.example.org\n"; } >san.cnf &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout san.key \
		-out san.csr -subj "/CN=named TSA/O=git box tests" 2>/dev/null &&
	openssl x509 -req -in san.csr -CA "$CA" -CAkey "$TSA_FIXTURES/ca.key" -set_serial 0x5101 \
		-days 30 -extfile san.cnf -extensions v3_san -out san.pem 2>/dev/null &&
	cat >dns.sh <<-\EOF &&
	#!/bin/sh
	# A real token, its tsa field set to the dNSName $1, signed again by the SAN certificate.
	openssl ts -reply -config good.cnf -queryfile /dev/stdin -token_out -out dtoken.der 2>/dev/null &&
	openssl cms -verify -noverify -binary -inform DER -in dtoken.der -out dtst.der 2>/dev/null &&
	./dns-name dtst.der dtst2.der "$1" &&
	exec openssl cms -sign -binary -nodetach -econtent_type id-smime-ct-TSTInfo -md sha256 \
		-nosmimecap -cades -signer san.pem -inkey san.key -in dtst2.der -outform DER
	EOF
	chmod +x dns.sh &&
	cat >dns-name <<-\EOF &&
	#!/usr/bin/env python3
	# dns-name IN OUT NAME: the TSTInfo IN with its tsa field set to the dNSName NAME.
	import sys
	def read(der, i):
	    tag, n, j = der[i], der[i + 1], i + 2
	    if n & 0x80:
	        k = n & 0x7f
	        n, j = int.from_bytes(der[j:j + k], "big"), j + k
	    return tag, j, j + n
	def enc(tag, body):
	    n = len(body)
	    if n < 0x80:
	        head = bytes([n])
	    else:
	        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
	        head = bytes([0x80 | len(raw)]) + raw
	    return bytes([tag]) + head + body
	der = open(sys.argv[1], "rb").read()
	tag, start, end = read(der, 0)
	assert tag == 0x30
	parts, i = [], start
	while i < end:
	    t, s, e = read(der, i)
	    if t != 0xa0:
	        parts.append(der[i:e])
	    i = e
	parts.append(enc(0xa0, enc(0x82, sys.argv[3].encode())))
	open(sys.argv[2], "wb").write(enc(0x30, b"".join(parts)))
	EOF
	chmod +x dns-name
'

test_expect_success 'a tsa name that is one of the signer.s subjectAltNames passes' '
	tsa_shim dnsgood --wrap-token --exec ./dns.sh tsa.example.org &&
	stamp_with dnsgood 0 &&
	grep "^timestamped the init event" out &&
	(cd box && box_nohooks tag -d box/init-1 >/dev/null)
'

test_expect_success 'a tsa name that is not among them fails, stock openssl agrees' '
	tsa_shim dnsbad --wrap-token --exec ./dns.sh other.example.org &&
	stamp_with dnsbad 1 &&
	grep "^error: .$(cat dnsbad.url).: name: tsa name mismatch: the token says it is from .DNS:other.example.org., but .CN=named TSA, O=git box tests. signed it$" err &&
	(cd box && tsa_no_tags) &&
	./dns.sh other.example.org <init.tsq >dnsbad.tok &&
	wrap_token dnsbad.tok dnsbad.tsr &&
	test_must_fail openssl ts -verify -data init.json -in dnsbad.tsr -CAfile "$CA" >ts.out 2>&1 &&
	grep -i "tsa name mismatch" ts.out &&
	./dns.sh tsa.example.org <init.tsq >dnsgood.tok &&
	wrap_token dnsgood.tok dnsgood.tsr &&
	openssl ts -verify -data init.json -in dnsgood.tsr -CAfile "$CA" >ts.out 2>&1 &&
	grep "^Verification: OK$" ts.out
'

# ---- in verify -------------------------------------------------------------------

test_expect_success 'setup: a sealed, stamped box, and the forger.s copy with the impostor.s token in its tag' '
	tsa_start tsa &&
	box_gpg_import alice &&
	gpg --batch --export --armor $ALICE >alice.asc &&
	box_init_stamped sealed 1 $ALICE &&
	(cd sealed && box_commit analysis analysis.R && git box seal -m final >/dev/null) &&
	git clone -q sealed forged &&
	git -C forged fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	git -C forged notes --ref=box show main | sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" >seal.json &&
	openssl ts -query -data seal.json -sha256 -cert -out seal.tsq 2>/dev/null &&
	./resign.sh good.cnf impostor.pem impostor.key <seal.tsq >seal.tok &&
	wrap_token seal.tok seal.tsr &&
	gen=$(openssl ts -reply -in seal.tsr -text 2>/dev/null | sed -n "s/^Time stamp: //p") &&
	{
		printf "RFC 3161 timestamp of the seal event\n\nEvent: seal\n" &&
		printf "Payload-SHA256: %s\n" "$(sha256sum <seal.json | cut -d" " -f1)" &&
		printf "TSA: %s\n" "$(cat tsa.url)" &&
		printf "Gen-Time: %s\n" "$(date -u -d "$gen" +%Y-%m-%dT%H:%M:%SZ)" &&
		echo "-----BEGIN RFC3161 TIMESTAMP RESPONSE-----" &&
		openssl base64 -in seal.tsr &&
		echo "-----END RFC3161 TIMESTAMP RESPONSE-----"
	} >seal.msg &&
	box_nohooks -C forged tag -f -a -F ../seal.msg box/seal-1 main >/dev/null
'

test_expect_success 'verify names the certificate that signed a good timestamp' '
	git -C sealed box verify --keyring "$PWD/alice.asc" --tsa-ca "$CA" >out &&
	grep "^ok   timestamp: seal [0-9a-f]*: .box/seal-1.: genTime [0-9TZ:-]*, signed by CN=git box test TSA, O=git box tests, over this payload, chained to a trusted TSA$" out &&
	git -C sealed box verify --keyring "$PWD/alice.asc" --tsa-ca "$CA" --json >report.json &&
	jq -e "[.checks[] | select(.check == \"timestamp\" and .status == \"ok\") | .detail | test(\"signed by CN=git box test TSA\")] == [true]" report.json
'

test_expect_success 'verify fails the impostor.s token and does not name the TSA it claims to be' '
	test_expect_code 1 git -C forged box verify --keyring "$PWD/alice.asc" --tsa-ca "$CA" >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: .box/seal-1.: name: tsa name mismatch: the token says it is from .CN=git box test TSA, O=git box tests., but .CN=impostor TSA, O=git box tests. signed it$" out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: the policy wants the seal event timestamped, but no valid timestamp tag stamps it$" out &&
	! grep "^ok   timestamp" out &&
	(cd forged && tsa_cut box/seal-1 ../forged.tsr ../forged.json) &&
	test_must_fail openssl ts -verify -data forged.json -in forged.tsr -CAfile "$CA" >ts.out 2>&1 &&
	grep -i "tsa name mismatch" ts.out
'

test_done
