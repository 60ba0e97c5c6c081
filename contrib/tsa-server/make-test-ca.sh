#!/bin/sh
# Make a test CA and a TSA certificate it signs, for git-box-tsa on a test
# bench, in a demo or in tests. The keys are not protected: never use them
# for timestamps anyone relies on.
#
#   make-test-ca.sh <dir> [<name>]
#
# writes <dir>/ca.key, ca.pem (a root CA, EC P-256, about 33 years),
# tsa.key, tsa.pem (its TSA certificate: critical extendedKeyUsage
# timeStamping, about 30 years) and ca.cnf, the extensions used. The
# subjects are "<name> root CA" and "<name> TSA" (default name: "git box
# test"). t/fixtures/tsa was made the same way.
set -e

if test $# -lt 1 || test $# -gt 2 || test "$1" = -h; then
	echo "usage: make-test-ca.sh <dir> [<name>]" >&2
	exit 2
fi
dir=$1
name=${2:-git box test}
case $name in
*/* | *\\* | *=* | *,* | *+*)
	echo "error: '$name' may not hold / \\ = , or +" >&2
	exit 2
	;;
esac
if test -e "$dir/ca.key" || test -e "$dir/tsa.key"; then
	echo "error: '$dir' holds keys already; not overwriting them" >&2
	exit 2
fi
mkdir -p "$dir"
cd "$dir"
umask 077

cat >ca.cnf <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $name root CA
O = git box tests
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_tsa]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.key -out ca.pem -config ca.cnf -extensions v3_ca -days 12000 \
	-subj "/CN=$name root CA/O=git box tests" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout tsa.key -out tsa.csr -subj "/CN=$name TSA/O=git box tests" 2>/dev/null
openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-out tsa.pem -days 11000 -extfile ca.cnf -extensions v3_tsa 2>/dev/null
rm -f tsa.csr ca.srl
chmod 0644 ca.pem tsa.pem ca.cnf
echo "made $dir/ca.pem and $dir/tsa.pem (keys: $dir/ca.key, $dir/tsa.key)"
