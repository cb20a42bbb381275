#!/usr/bin/env bash
# Writes the benchmark fixtures: Okta-like SAML Responses (compact XML, every
# namespace declared locally, xs:string attribute values with their own
# xmlns:xs/xmlns:xsi, InclusiveNamespaces PrefixList="xs"), signed by xmlsec1,
# the reference XML-DSig implementation.
#
#   okta-assertion  ~8.5 KB, the Assertion signed
#   okta-response   ~8.5 KB, the Response signed
#   okta-both       the Assertion signed, then the Response
#   large           ~65 KB, 100 single-valued attributes plus "groups" with
#                   150 values (101 attributes), the Assertion signed
#
# All use SP entity ID https://sp.example.com/saml/metadata, ACS
# https://sp.example.com/saml/acs, IdP entity ID
# https://idp.example.org/metadata, InResponseTo _req-bench-1, IssueInstant
# 2026-01-15T10:00:00Z, NotBefore 09:59:30Z, NotOnOrAfter 10:05:00Z,
# SessionNotOnOrAfter 18:00:00Z; bench_test.go parses them at 10:01:00Z.
#
# The key is the repo's test-only IdP key, ../../testdata/xmlsec1/idp-key.pem
# (not secret, see that directory's README.md); its certificate is copied to
# idp-cert.pem here so the signed fixtures and the certificate the benchmarks
# trust stay a matching set. RSA PKCS#1 v1.5 signatures are deterministic:
# a re-run reproduces the fixtures byte for byte.
#
# Each signature is then verified by xmlsec1 with only the pinned
# certificate (--enabled-key-data key-name,rsa, so xmlsec1 never trusts the
# certificate in KeyInfo), and a changed NameID must fail verification.
#
# Needs: xmlsec1 (Debian package xmlsec1), xmllint (libxml2-utils).
set -euo pipefail
cd "$(dirname "$0")"

KEYDIR=../../testdata/xmlsec1
KEY=$KEYDIR/idp-key.pem
cp "$KEYDIR/idp-cert.pem" idp-cert.pem

NS_P=urn:oasis:names:tc:SAML:2.0:protocol
NS_A=urn:oasis:names:tc:SAML:2.0:assertion
ID_ATTRS=(--id-attr:ID "$NS_P:Response" --id-attr:ID "$NS_A:Assertion")
XP_ASSERTION="/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"
XP_RESPONSE="/*[local-name()='Response']/*[local-name()='Signature']"
SCHEMA=/usr/share/simplesamlphp/schemas/saml-schema-protocol-2.0.xsd

RESPONSE_ID=id47069361271592781284467201
ASSERTION_ID=id4706936127210424395938672
ACS=https://sp.example.com/saml/acs
AUDIENCE=https://sp.example.com/saml/metadata
IDP=https://idp.example.org/metadata
REQ=_req-bench-1

# signature ID: an empty enveloped-signature template, Okta's layout.
signature() {
	printf '%s' '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' \
		"<ds:Reference URI=\"#$1\">" \
		'<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>'
}

# attribute NAME VALUE...: one Okta-style attribute.
attribute() {
	local name=$1 v
	shift
	printf '<saml2:Attribute Name="%s" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">' "$name"
	for v in "$@"; do
		printf '<saml2:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">%s</saml2:AttributeValue>' "$v"
	done
	printf '</saml2:Attribute>'
}

okta_attributes() {
	attribute email jane.doe@example.com
	attribute firstName Jane
	attribute lastName Doe
	attribute displayName "Jane Doe"
	attribute login jane.doe@example.com
	attribute department "Platform Engineering"
	attribute title "Staff Software Engineer"
	attribute employeeNumber 100423
	attribute groups Everyone Engineering okta-admins platform-team aws-prod-readonly github-org-members \
		jira-users confluence-users vpn-users oncall-platform
}

large_attributes() {
	attribute email frank.miller@example.com
	attribute firstName Frank
	attribute lastName Miller
	local i
	for ((i = 4; i <= 100; i++)); do
		attribute "$(printf 'custom.attribute%03d' "$i")" "$(printf 'value %03d of frank.miller, department platform' "$i")"
	done
	local groups=()
	for ((i = 1; i <= 150; i++)); do
		groups+=("$(printf 'app-group-%03d' "$i")")
	done
	attribute groups "${groups[@]}"
}

# template NAME SIGS NAMEID SESSION ATTRFUNC
template() {
	local sigs=$2 nameid=$3 session=$4 attrs=$5
	printf '<?xml version="1.0" encoding="UTF-8"?>\n'
	printf '<saml2p:Response xmlns:saml2p="%s" xmlns:xs="http://www.w3.org/2001/XMLSchema" Destination="%s" ID="%s" InResponseTo="%s" IssueInstant="2026-01-15T10:00:00Z" Version="2.0">' "$NS_P" "$ACS" "$RESPONSE_ID" "$REQ"
	printf '<saml2:Issuer xmlns:saml2="%s" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%s</saml2:Issuer>' "$NS_A" "$IDP"
	case $sigs in *response*) signature "$RESPONSE_ID" ;; esac
	printf '<saml2p:Status xmlns:saml2p="%s"><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>' "$NS_P"
	printf '<saml2:Assertion xmlns:saml2="%s" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="%s" IssueInstant="2026-01-15T10:00:00Z" Version="2.0">' "$NS_A" "$ASSERTION_ID"
	printf '<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%s</saml2:Issuer>' "$IDP"
	case $sigs in *assertion*) signature "$ASSERTION_ID" ;; esac
	printf '<saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">%s</saml2:NameID>' "$nameid"
	printf '<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData InResponseTo="%s" NotOnOrAfter="2026-01-15T10:05:00Z" Recipient="%s"/></saml2:SubjectConfirmation></saml2:Subject>' "$REQ" "$ACS"
	printf '<saml2:Conditions NotBefore="2026-01-15T09:59:30Z" NotOnOrAfter="2026-01-15T10:05:00Z"><saml2:AudienceRestriction><saml2:Audience>%s</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>' "$AUDIENCE"
	printf '<saml2:AuthnStatement AuthnInstant="2026-01-15T09:59:58Z" SessionIndex="%s" SessionNotOnOrAfter="2026-01-15T18:00:00Z"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>' "$session"
	printf '<saml2:AttributeStatement>'
	"$attrs"
	printf '</saml2:AttributeStatement></saml2:Assertion></saml2p:Response>\n'
}

# Fixtures: name, signatures (assertion, response or assertion+response: the
# Assertion is signed first, as IdPs do, so that the Response signature covers
# the finished Assertion signature), NameID, SessionIndex, attributes.
FIXTURES=(
	"okta-assertion assertion jane.doe@example.com id1768471200123.1745098763 okta_attributes"
	"okta-response response jane.doe@example.com id1768471200123.1745098763 okta_attributes"
	"okta-both assertion+response jane.doe@example.com id1768471200123.1745098763 okta_attributes"
	"large assertion frank.miller@example.com id1768471200456.2298114502 large_attributes"
)

sign() {
	xmlsec1 --sign --privkey-pem "$KEY,idp-cert.pem" "${ID_ATTRS[@]}" --node-xpath "$1" --output "$3" "$2"
}

# verify XPATH FILE [CERT]: only the pinned certificate is loaded.
verify() {
	xmlsec1 --verify --pubkey-cert-pem "${3:-idp-cert.pem}" --enabled-key-data key-name,rsa \
		"${ID_ATTRS[@]}" --node-xpath "$1" "$2" >/dev/null 2>&1
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
	read -r name sigs nameid session attrs <<<"$f"
	tpl=template-$name.xml out=signed-$name.xml
	template "$name" "$sigs" "$nameid" "$session" "$attrs" >"$tpl"
	xmllint --noout "$tpl"
	cp "$tpl" "$tmp/cur.xml"
	while IFS= read -r xp; do
		sign "$xp" "$tmp/cur.xml" "$tmp/next.xml"
		mv "$tmp/next.xml" "$tmp/cur.xml"
	done < <(xpaths "$sigs")
	mv "$tmp/cur.xml" "$out"
	if [ -f "$SCHEMA" ]; then
		xmllint --noout --nonet --schema "$SCHEMA" "$out" 2>"$tmp/xmllint.log" ||
			{ cat "$tmp/xmllint.log" >&2; exit 1; }
	fi
	while IFS= read -r xp; do
		verify "$xp" "$out" || { echo "FAIL: xmlsec1 does not verify $xp in $out" >&2; exit 1; }
		if verify "$xp" "$out" "$KEYDIR/idp2-cert.pem"; then
			echo "FAIL: $out verifies with the wrong key" >&2
			exit 1
		fi
		sed -E 's#(NameID[^>]*>)(.)#\1~#' "$out" >"$tmp/tampered.xml"
		if cmp -s "$out" "$tmp/tampered.xml" || verify "$xp" "$tmp/tampered.xml"; then
			echo "FAIL: a changed NameID in $out still verifies ($xp)" >&2
			exit 1
		fi
	done < <(xpaths "$sigs")
	echo "ok  $out  ($sigs, $(wc -c <"$out") bytes)"
done
