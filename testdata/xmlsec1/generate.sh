#!/usr/bin/env bash
# Regenerates every signed-*.xml in this directory from its template-*.xml
# with xmlsec1 (the reference XML-DSig implementation), then verifies each
# signature with xmlsec1 against the pinned certificate only, and checks that
# a one-character change to the NameID breaks verification.
#
# Needs: xmlsec1 (Debian package xmlsec1), xmllint (libxml2-utils), openssl.
# The test keys are created only when missing (see README.md); delete them to
# roll new ones. RSA PKCS#1 v1.5 signatures are deterministic, so re-running
# this script without new keys reproduces the RSA fixtures byte for byte; the
# ECDSA fixture changes on every run (ECDSA signatures are randomized).
set -euo pipefail
cd "$(dirname "$0")"

NS_P=urn:oasis:names:tc:SAML:2.0:protocol
NS_A=urn:oasis:names:tc:SAML:2.0:assertion
ID_ATTRS=(--id-attr:ID "$NS_P:Response" --id-attr:ID "$NS_A:Assertion")
XP_ASSERTION="/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"
XP_RESPONSE="/*[local-name()='Response']/*[local-name()='Signature']"
SCHEMA=/usr/share/simplesamlphp/schemas/saml-schema-protocol-2.0.xsd

# Fixtures: name, key (idp | idp2 | idp-ec), signatures (assertion, response,
# or assertion+response: the assertion is signed first, as IdPs do, so the
# Response signature covers the finished Assertion signature).
FIXTURES=(
	"okta idp assertion"
	"entra idp assertion"
	"adfs idp assertion+response"
	"shibboleth idp assertion"
	"simplesamlphp idp assertion+response"
	"simplesamlphp-unsolicited idp assertion+response"
	"response-only idp response"
	"rollover-keyinfo idp2 assertion"
	"rollover-nokeyinfo idp2 assertion"
	"large idp assertion"
	"ecdsa idp-ec assertion"
)

# newcert NAME CN KEYTYPE-ARGS...: a self-signed certificate valid
# 2020-01-01..2050-01-01 (openssl req cannot set past dates before OpenSSL
# 3.4, openssl ca can).
newcert() {
	local name=$1 cn=$2
	shift 2
	[ -f "$name-key.pem" ] && [ -f "$name-cert.pem" ] && return
	echo "generating test key $name-key.pem / $name-cert.pem"
	local tmp
	tmp=$(mktemp -d)
	openssl genpkey "$@" -out "$name-key.pem" 2>/dev/null
	openssl req -new -key "$name-key.pem" -subj "/CN=$cn" -out "$tmp/req.csr"
	touch "$tmp/index.txt"
	openssl rand -hex 16 >"$tmp/serial"
	cat >"$tmp/ca.cnf" <<EOF
[ ca ]
default_ca = selfsign
[ selfsign ]
database = $tmp/index.txt
new_certs_dir = $tmp
serial = $tmp/serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = ext
[ any ]
commonName = supplied
[ ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
EOF
	openssl ca -batch -config "$tmp/ca.cnf" -selfsign -keyfile "$name-key.pem" \
		-in "$tmp/req.csr" -startdate 20200101000000Z -enddate 20500101000000Z -notext \
		-out "$name-cert.pem" 2>/dev/null
	rm -rf "$tmp"
}

newcert idp "saml2sp test IdP (test only, not secret)" -algorithm RSA -pkeyopt rsa_keygen_bits:2048
newcert idp2 "saml2sp test IdP rollover key (test only, not secret)" -algorithm RSA -pkeyopt rsa_keygen_bits:2048
newcert idp-ec "saml2sp test IdP ECDSA P-256 (test only, not secret)" -algorithm EC -pkeyopt ec_paramgen_curve:P-256

keydata() { case $1 in idp-ec) echo key-name,ecdsa ;; *) echo key-name,rsa ;; esac; }

# sign KEY XPATH IN OUT
sign() {
	xmlsec1 --sign --privkey-pem "$1-key.pem,$1-cert.pem" "${ID_ATTRS[@]}" \
		--node-xpath "$2" --output "$4" "$3"
}

# verify KEY XPATH FILE: only the pinned certificate is loaded, and
# --enabled-key-data keeps xmlsec1 from using a certificate in KeyInfo.
verify() {
	xmlsec1 --verify --pubkey-cert-pem "$1-cert.pem" --enabled-key-data "$(keydata "$1")" \
		"${ID_ATTRS[@]}" --node-xpath "$2" "$3" >/dev/null 2>&1
}

xpaths() {
	case $1 in
	assertion) echo "$XP_ASSERTION" ;;
	response) echo "$XP_RESPONSE" ;;
	assertion+response) printf '%s\n%s\n' "$XP_ASSERTION" "$XP_RESPONSE" ;;
	*) echo "unknown signature set $1" >&2 && return 1 ;;
	esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${FIXTURES[@]}"; do
	read -r name key sigs <<<"$f"
	tpl=template-$name.xml out=signed-$name.xml
	xmllint --noout "$tpl"
	cp "$tpl" "$tmp/cur.xml"
	while IFS= read -r xp; do
		sign "$key" "$xp" "$tmp/cur.xml" "$tmp/next.xml"
		mv "$tmp/next.xml" "$tmp/cur.xml"
	done < <(xpaths "$sigs")
	mv "$tmp/cur.xml" "$out"
	# Schema check when the SAML schemas are installed (package simplesamlphp).
	if [ -f "$SCHEMA" ]; then
		xmllint --noout --nonet --schema "$SCHEMA" "$out" 2>"$tmp/xmllint.log" ||
			{ cat "$tmp/xmllint.log" >&2; exit 1; }
	fi

	while IFS= read -r xp; do
		verify "$key" "$xp" "$out" || { echo "FAIL: xmlsec1 does not verify $xp in $out" >&2; exit 1; }
		# Negative check: the same signature must not verify with another key.
		other=idp2
		[ "$key" = idp2 ] && other=idp
		if verify "$other" "$xp" "$out"; then
			echo "FAIL: $out verifies with the wrong key $other" >&2
			exit 1
		fi
		# Negative check: change the NameID's first character.
		sed -E 's#(NameID[^>]*>)(.)#\1~#' "$out" >"$tmp/tampered.xml"
		if cmp -s "$out" "$tmp/tampered.xml"; then
			echo "FAIL: could not tamper with the NameID of $out" >&2
			exit 1
		fi
		if verify "$key" "$xp" "$tmp/tampered.xml"; then
			echo "FAIL: tampered $out still verifies ($xp)" >&2
			exit 1
		fi
	done < <(xpaths "$sigs")
	echo "ok  $out  ($key, $sigs)"
done
