#!/usr/bin/env bash
# Regenerates every encrypted-*.xml and refused-*.xml in this directory from
# the template-*.xml Responses: signs the Assertion with xmlsec1 (IdP key from
# ../xmlsec1), encrypts it for the SP certificate here, then signs the
# Response when the template has a Response signature, the order IdPs use.
#
# Two independent encryptors, neither of them this repo's Go code:
#  - xmlsec1 --encrypt, for every content algorithm with rsa-oaep-mgf1p. For
#    Okta's layout (the EncryptedKey next to the EncryptedData, named by a
#    ds:RetrievalMethod) xmlsec1 encrypts with the EncryptedKey, already
#    carrying its Id and ReferenceList, inside KeyInfo, where xmlsec1 fills
#    it in; the script then moves that element, unchanged, after the
#    EncryptedData and puts the RetrievalMethod in its place (xmlsec1
#    cannot fill in an EncryptedKey that a RetrievalMethod names).
#    xmlsec1 1.2.x implements neither XML Encryption 1.1 rsa-oaep nor an OAEP
#    DigestMethod other than SHA-1, so
#  - openssl (pkeyutl for RSA-OAEP with any digest and MGF1 hash, enc for
#    AES-CBC) builds the rsa-oaep (xenc11) and mgf1p+SHA-256 fixtures.
#    `openssl enc` has no GCM, so those use CBC; its PKCS#7 padding is a valid
#    ISO 10126 padding.
#
# Every fixture is then checked: xmlsec1 decrypts the xmlsec1-made ones and
# verifies the decrypted Assertion's signature against the pinned IdP
# certificate; openssl decrypts the content key of the openssl-made ones;
# xmlsec1 verifies every Response signature; xmllint validates against the
# SAML schema when /usr/share/simplesamlphp/schemas is installed (minus the
# xenc11:MGF elements: no XML Encryption 1.1 schema is installed).
#
# Needs: xmlsec1, openssl, xmllint, base64, awk. Ciphertexts are random, so
# every run changes every fixture. The SP keys are created only when missing.
set -euo pipefail
cd "$(dirname "$0")"

IDP=../xmlsec1
NS_P=urn:oasis:names:tc:SAML:2.0:protocol
NS_A=urn:oasis:names:tc:SAML:2.0:assertion
ID_ATTRS=(--id-attr:ID "$NS_P:Response" --id-attr:ID "$NS_A:Assertion")
XP_ASSERTION="//*[local-name()='Assertion']"
XP_ASSERTION_SIG="//*[local-name()='Assertion']/*[local-name()='Signature']"
XP_RESPONSE_SIG="/*[local-name()='Response']/*[local-name()='Signature']"
SCHEMA=/usr/share/simplesamlphp/schemas/saml-schema-protocol-2.0.xsd
XENC=http://www.w3.org/2001/04/xmlenc#
XENC11=http://www.w3.org/2009/xmlenc11#

# Fixtures: name template sp-key tool content-algorithm key-transport
# [digest [mgf]]. Templates: simplesamlphp (Assertion signed, saml: declared
# only on the Response), adfs (Assertion and Response signed), shibboleth
# (only the Response signed), okta (Assertion and Response signed; tool
# xmlsec1-okta writes Okta's RetrievalMethod layout). digest and mgf are short names (sha256,
# mgf1sha256); "-" leaves the element out (the default, SHA-1).
FIXTURES=(
	"encrypted-aes128-cbc simplesamlphp sp xmlsec1 aes128-cbc rsa-oaep-mgf1p sha1"
	"encrypted-aes192-cbc simplesamlphp sp xmlsec1 aes192-cbc rsa-oaep-mgf1p -"
	"encrypted-aes256-cbc-adfs adfs sp xmlsec1 aes256-cbc rsa-oaep-mgf1p sha1"
	"encrypted-aes128-gcm-shibboleth shibboleth sp xmlsec1 aes128-gcm rsa-oaep-mgf1p sha1"
	"encrypted-aes192-gcm simplesamlphp sp xmlsec1 aes192-gcm rsa-oaep-mgf1p -"
	"encrypted-aes256-gcm simplesamlphp sp xmlsec1 aes256-gcm rsa-oaep-mgf1p sha1"
	"encrypted-oaepparams simplesamlphp sp xmlsec1-oaepparams aes256-gcm rsa-oaep-mgf1p sha1"
	"encrypted-previous-key simplesamlphp sp2 xmlsec1 aes256-gcm rsa-oaep-mgf1p sha1"
	"encrypted-xenc11-sha256-mgf1sha256 simplesamlphp sp openssl aes256-cbc rsa-oaep sha256 mgf1sha256"
	"encrypted-xenc11-sha512-mgf1sha1 simplesamlphp sp openssl aes128-cbc rsa-oaep sha512 mgf1sha1"
	"encrypted-xenc11-sha256-default-mgf simplesamlphp sp openssl aes192-cbc rsa-oaep sha256 -"
	"encrypted-xenc11-sha1-mgf1sha384 adfs sp openssl aes256-cbc rsa-oaep - mgf1sha384"
	"encrypted-mgf1p-sha256 simplesamlphp sp openssl aes256-cbc rsa-oaep-mgf1p sha256"
	"encrypted-aes256-cbc-okta okta sp xmlsec1-okta aes256-cbc rsa-oaep-mgf1p sha1"
	"refused-rsa-1_5 simplesamlphp sp xmlsec1 aes128-cbc rsa-1_5 -"
	"refused-tripledes simplesamlphp sp xmlsec1 tripledes-cbc rsa-oaep-mgf1p sha1"
)

# newcert NAME CN: an RSA-2048 key and a self-signed certificate valid
# 2020-01-01..2050-01-01 (see ../xmlsec1/generate.sh).
newcert() {
	local name=$1 cn=$2
	[ -f "$name-key.pem" ] && [ -f "$name-cert.pem" ] && return
	echo "generating test key $name-key.pem / $name-cert.pem"
	local tmp
	tmp=$(mktemp -d)
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name-key.pem" 2>/dev/null
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
keyUsage = critical,digitalSignature,keyEncipherment
subjectKeyIdentifier = hash
EOF
	openssl ca -batch -config "$tmp/ca.cnf" -selfsign -keyfile "$name-key.pem" \
		-in "$tmp/req.csr" -startdate 20200101000000Z -enddate 20500101000000Z -notext \
		-out "$name-cert.pem" 2>/dev/null
	rm -rf "$tmp"
}

newcert sp "saml2sp test SP (test only, not secret)"
newcert sp2 "saml2sp test SP previous key (test only, not secret)"

data_uri() {
	case $1 in
	*-gcm) echo "$XENC11$1" ;;
	*) echo "$XENC$1" ;;
	esac
}
kt_uri() {
	case $1 in
	rsa-oaep) echo "${XENC11}rsa-oaep" ;;
	*) echo "$XENC$1" ;;
	esac
}
digest_uri() {
	case $1 in
	sha1) echo http://www.w3.org/2000/09/xmldsig#sha1 ;;
	sha256 | sha512) echo "$XENC$1" ;;
	sha224 | sha384) echo "http://www.w3.org/2001/04/xmldsig-more#$1" ;;
	*) echo "unknown digest $1" >&2 && return 1 ;;
	esac
}
session_key() {
	case $1 in
	aes128-*) echo aes-128 ;;
	aes192-*) echo aes-192 ;;
	aes256-*) echo aes-256 ;;
	tripledes-cbc) echo des-192 ;;
	esac
}

# method_params KT DIGEST MGF OAEPPARAMS: the EncryptedKey's EncryptionMethod
# children in schema order (OAEPparams, DigestMethod, MGF).
method_params() {
	local out=""
	[ -n "$4" ] && out+="<xenc:OAEPparams>$4</xenc:OAEPparams>"
	[ "$2" != - ] && out+="<ds:DigestMethod Algorithm=\"$(digest_uri "$2")\"/>"
	[ "${3:--}" != - ] && out+="<xenc11:MGF xmlns:xenc11=\"$XENC11\" Algorithm=\"$XENC11$3\"/>"
	printf '%s' "$out"
}

# encrypted_data DATA-URI KT-URI PARAMS KEY-CIPHERVALUE DATA-CIPHERVALUE
# [EK-KEYINFO]: the EncryptedData, EncryptedKey inside KeyInfo, as IdPs write
# it. Empty CipherValues make an xmlsec1 template.
encrypted_data() {
	cat <<EOF
<xenc:EncryptedData xmlns:xenc="$XENC" Type="${XENC}Element">
      <xenc:EncryptionMethod Algorithm="$1"/>
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <xenc:EncryptedKey>
          <xenc:EncryptionMethod Algorithm="$2">$3</xenc:EncryptionMethod>${6:-}
          <xenc:CipherData>
            <xenc:CipherValue>$4</xenc:CipherValue>
          </xenc:CipherData>
        </xenc:EncryptedKey>
      </ds:KeyInfo>
      <xenc:CipherData>
        <xenc:CipherValue>$5</xenc:CipherValue>
      </xenc:CipherData>
    </xenc:EncryptedData>
EOF
}

# encrypted_data_okta DATA-URI KT-URI PARAMS: the xmlsec1 template for
# Okta's layout, before the move: as encrypted_data, with Ids, the
# EncryptedKey declaring its own prefixes (it leaves the elements that
# declare them) and naming the certificate, and a ReferenceList.
OKTA_ED_ID=_3f8b2a6c9d1e4f7a0b5c8d2e6f9a1b4c
OKTA_EK_ID=_7c2e9f4a1b6d3e8f0a5b2c7d4e9f1a6b
encrypted_data_okta() {
	cat <<EOF
<xenc:EncryptedData xmlns:xenc="$XENC" Id="$OKTA_ED_ID" Type="${XENC}Element">
      <xenc:EncryptionMethod Algorithm="$1"/>
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <xenc:EncryptedKey xmlns:xenc="$XENC" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="$OKTA_EK_ID">
          <xenc:EncryptionMethod Algorithm="$2">$3</xenc:EncryptionMethod>
          <ds:KeyInfo><ds:X509Data/></ds:KeyInfo>
          <xenc:CipherData>
            <xenc:CipherValue></xenc:CipherValue>
          </xenc:CipherData>
          <xenc:ReferenceList>
            <xenc:DataReference URI="#$OKTA_ED_ID"/>
          </xenc:ReferenceList>
        </xenc:EncryptedKey>
      </ds:KeyInfo>
      <xenc:CipherData>
        <xenc:CipherValue></xenc:CipherValue>
      </xenc:CipherData>
    </xenc:EncryptedData>
EOF
}

# okta_move IN OUT: moves the EncryptedKey lines out of the EncryptedData's
# KeyInfo to follow the EncryptedData, replaced by a RetrievalMethod.
okta_move() {
	awk -v id="$OKTA_EK_ID" -v type="${XENC}EncryptedKey" '
		/<xenc:EncryptedKey[ >]/ {inkey = 1; print "        <ds:RetrievalMethod Type=\"" type "\" URI=\"#" id "\"/>"}
		inkey {sub(/^    /, ""); key = key $0 "\n"}
		!inkey {print}
		/<\/xenc:EncryptedKey>/ {inkey = 0}
		/<\/xenc:EncryptedData>/ {printf "%s", key}' "$1" >"$2"
	grep -q 'RetrievalMethod' "$2" && [ "$(grep -c '<xenc:EncryptedKey' "$2")" = 1 ] ||
		{ echo "FAIL: okta_move did not move the EncryptedKey" >&2; exit 1; }
}

# assertion_lines FILE: the Assertion element's lines, as the IdP serialized
# it (without the namespace declarations it inherits).
assertion_lines() {
	awk '/^[[:space:]]*<([A-Za-z0-9]+:)?Assertion[ >]/ {p = 1} p {print} /^[[:space:]]*<\/([A-Za-z0-9]+:)?Assertion>/ {p = 0}' "$1"
}

# replace_assertion FILE REPLACEMENT-FILE OUT
replace_assertion() {
	awk -v repl="$2" '
		/^[[:space:]]*<([A-Za-z0-9]+:)?Assertion[ >]/ {skip = 1; while ((getline line < repl) > 0) print line}
		!skip {print}
		/^[[:space:]]*<\/([A-Za-z0-9]+:)?Assertion>/ {skip = 0}' "$1" >"$3"
}

hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${FIXTURES[@]}"; do
	read -r name tpl key tool data kt digest mgf <<<"$f"
	out=$name.xml
	cp "template-$tpl.xml" "$tmp/cur.xml"
	signs_assertion= signs_response=
	case $tpl in
	simplesamlphp) signs_assertion=1 ;;
	adfs | okta) signs_assertion=1 signs_response=1 ;;
	shibboleth) signs_response=1 ;;
	esac
	if [ -n "$signs_assertion" ]; then
		xmlsec1 --sign --privkey-pem "$IDP/idp-key.pem,$IDP/idp-cert.pem" "${ID_ATTRS[@]}" \
			--node-xpath "$XP_ASSERTION_SIG" --output "$tmp/next.xml" "$tmp/cur.xml"
		mv "$tmp/next.xml" "$tmp/cur.xml"
	fi

	# AD FS names the SP certificate in the EncryptedKey's KeyInfo (xmlsec1
	# fills in an empty X509Data itself).
	ekinfo=
	if [ "$tpl" = adfs ]; then
		cert=
		[ "$tool" = openssl ] && cert="<ds:X509Certificate>$(grep -v '^-----' "$key-cert.pem" | tr -d '\n')</ds:X509Certificate>"
		ekinfo="
          <ds:KeyInfo><ds:X509Data>$cert</ds:X509Data></ds:KeyInfo>"
	fi
	case $tool in
	xmlsec1*)
		oaepparams=
		[ "$tool" = xmlsec1-oaepparams ] && oaepparams=$(printf 'saml2sp OAEP label' | base64 -w0)
		encrypted_data "$(data_uri "$data")" "$(kt_uri "$kt")" "$(method_params "$kt" "$digest" "${mgf:--}" "$oaepparams")" "" "" "$ekinfo" >"$tmp/enc-template.xml"
		if [ "$tool" = xmlsec1-okta ]; then
			encrypted_data_okta "$(data_uri "$data")" "$(kt_uri "$kt")" "$(method_params "$kt" "$digest" "${mgf:--}" "")" >"$tmp/enc-template.xml"
		fi
		xmlsec1 --encrypt --pubkey-cert-pem "$key-cert.pem" --session-key "$(session_key "$data")" \
			--xml-data "$tmp/cur.xml" --node-xpath "$XP_ASSERTION" --output "$tmp/next.xml" "$tmp/enc-template.xml"
		if [ "$tool" = xmlsec1-okta ]; then
			mv "$tmp/next.xml" "$tmp/inline.xml"
			okta_move "$tmp/inline.xml" "$tmp/next.xml"
		fi
		;;
	openssl)
		bytes=$(($(session_key "$data" | sed 's/aes-//') / 8))
		assertion_lines "$tmp/cur.xml" >"$tmp/assertion.xml"
		openssl rand "$bytes" >"$tmp/key.bin"
		openssl rand 16 >"$tmp/iv.bin"
		openssl enc "-$(session_key "$data")-cbc" -K "$(hex "$tmp/key.bin")" -iv "$(hex "$tmp/iv.bin")" \
			-in "$tmp/assertion.xml" -out "$tmp/ct.bin"
		md=$digest
		[ "$md" = - ] && md=sha1
		mgfmd=${mgf:--}
		case $kt:$mgfmd in
		rsa-oaep-mgf1p:*) mgfmd=sha1 ;;
		rsa-oaep:-) mgfmd=sha1 ;;
		*) mgfmd=${mgfmd#mgf1} ;;
		esac
		openssl pkeyutl -encrypt -certin -inkey "$key-cert.pem" -pkeyopt rsa_padding_mode:oaep \
			-pkeyopt "rsa_oaep_md:$md" -pkeyopt "rsa_mgf1_md:$mgfmd" -in "$tmp/key.bin" -out "$tmp/key.enc"
		# Check the transport with the private key before using it.
		openssl pkeyutl -decrypt -inkey "$key-key.pem" -pkeyopt rsa_padding_mode:oaep \
			-pkeyopt "rsa_oaep_md:$md" -pkeyopt "rsa_mgf1_md:$mgfmd" -in "$tmp/key.enc" | cmp -s - "$tmp/key.bin" ||
			{ echo "FAIL: openssl does not decrypt its own content key for $out" >&2; exit 1; }
		{
			printf '    '
			encrypted_data "$(data_uri "$data")" "$(kt_uri "$kt")" "$(method_params "$kt" "$digest" "${mgf:--}" "")" \
				"$(base64 -w0 "$tmp/key.enc")" "$(cat "$tmp/iv.bin" "$tmp/ct.bin" | base64 -w0)" "$ekinfo"
		} >"$tmp/encrypted.xml"
		replace_assertion "$tmp/cur.xml" "$tmp/encrypted.xml" "$tmp/next.xml"
		;;
	esac
	mv "$tmp/next.xml" "$tmp/cur.xml"

	if [ -n "$signs_response" ]; then
		xmlsec1 --sign --privkey-pem "$IDP/idp-key.pem,$IDP/idp-cert.pem" "${ID_ATTRS[@]}" \
			--node-xpath "$XP_RESPONSE_SIG" --output "$tmp/next.xml" "$tmp/cur.xml"
		mv "$tmp/next.xml" "$tmp/cur.xml"
		xmlsec1 --verify --pubkey-cert-pem "$IDP/idp-cert.pem" --enabled-key-data key-name,rsa \
			"${ID_ATTRS[@]}" --node-xpath "$XP_RESPONSE_SIG" "$tmp/cur.xml" >/dev/null 2>&1 ||
			{ echo "FAIL: xmlsec1 does not verify the Response signature of $out" >&2; exit 1; }
	fi
	mv "$tmp/cur.xml" "$out"

	if [ -f "$SCHEMA" ]; then
		# The schemas installed have no XML Encryption 1.1 schema, which the
		# strict wildcard of EncryptionMethod would need for xenc11:MGF: the
		# copy validated leaves that one element out.
		sed 's#<xenc11:MGF [^>]*/>##' "$out" >"$tmp/schema.xml"
		xmllint --noout --nonet --schema "$SCHEMA" "$tmp/schema.xml" 2>"$tmp/xmllint.log" ||
			{ cat "$tmp/xmllint.log" >&2; exit 1; }
	fi
	if [ "$tool" != openssl ]; then
		# xmlsec1 follows Okta's RetrievalMethod once told that Id is the
		# EncryptedKey's ID attribute.
		xmlsec1 --decrypt --privkey-pem "$key-key.pem" --id-attr:Id "$XENC:EncryptedKey" \
			--output "$tmp/plain.xml" "$out" 2>"$tmp/xmlsec1.log" ||
			{ cat "$tmp/xmlsec1.log" >&2; echo "FAIL: xmlsec1 does not decrypt $out" >&2; exit 1; }
		if [ -n "$signs_assertion" ]; then
			xmlsec1 --verify --pubkey-cert-pem "$IDP/idp-cert.pem" --enabled-key-data key-name,rsa \
				"${ID_ATTRS[@]}" --node-xpath "$XP_ASSERTION_SIG" "$tmp/plain.xml" >/dev/null 2>&1 ||
				{ echo "FAIL: the decrypted Assertion of $out does not verify" >&2; exit 1; }
		fi
	fi
	echo "ok  $out  ($tpl, $tool, $data, $kt ${digest:-} ${mgf:-})"
done
