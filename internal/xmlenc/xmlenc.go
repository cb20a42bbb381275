// Package xmlenc decrypts the one form of W3C XML Encryption that SAML
// identity providers send: an xenc:EncryptedData of Type Element, its content
// encrypted with AES-GCM or AES-CBC under a random content key, that key
// transported in an xenc:EncryptedKey with RSA-OAEP.
//
// Everything else is refused rather than ignored: RSA PKCS#1 v1.5 key
// transport (Bleichenbacher's attack), Triple-DES, key agreement, key
// wrapping, and every construct that makes a processor fetch or transform
// data (xenc:CipherReference, Transforms, and every ds:RetrievalMethod but
// one). The content key is only ever looked for in three fixed places: the
// EncryptedData's ds:KeyInfo; EncryptedKey elements the caller found next to
// it; or, when the EncryptedData's KeyInfo holds exactly one
// ds:RetrievalMethod of Type EncryptedKey with a same-document "#id" URI and
// no children (the layout of Okta and OpenSAML's "peer" placement), the one
// EncryptedKey next to it that carries that Id, which must be unique in the
// whole document.
//
// RSA work is bounded: each SP key performs at most one private-key
// operation per message, on the EncryptedKey chosen for it (see Decrypt).
//
// Every failure wraps ErrDecrypt. An algorithm this package refuses or does
// not implement is an *AlgorithmError, which also wraps ErrAlgorithm: it
// names the algorithm and what to configure instead, and is found before any
// RSA operation, so it depends on nothing but what the sender chose to write
// in plaintext. The other messages say which structural rule failed (for
// logs), but never whether CBC padding, a GCM tag or the content-key length
// was wrong: those are one message.
package xmlenc

import (
	"crypto"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// Namespaces.
const (
	NS     = "http://www.w3.org/2001/04/xmlenc#"
	NS11   = "http://www.w3.org/2009/xmlenc11#"
	NSDSig = "http://www.w3.org/2000/09/xmldsig#"
)

// Algorithm identifiers.
const (
	TypeElement = NS + "Element"

	AES128CBC = NS + "aes128-cbc"
	AES192CBC = NS + "aes192-cbc"
	AES256CBC = NS + "aes256-cbc"
	AES128GCM = NS11 + "aes128-gcm"
	AES192GCM = NS11 + "aes192-gcm"
	AES256GCM = NS11 + "aes256-gcm"

	RSAOAEPMGF1P = NS + "rsa-oaep-mgf1p"
	RSAOAEP      = NS11 + "rsa-oaep"

	SHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	SHA224 = "http://www.w3.org/2001/04/xmldsig-more#sha224"
	SHA256 = NS + "sha256"
	SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	SHA512 = NS + "sha512"

	MGF1SHA1   = NS11 + "mgf1sha1"
	MGF1SHA224 = NS11 + "mgf1sha224"
	MGF1SHA256 = NS11 + "mgf1sha256"
	MGF1SHA384 = NS11 + "mgf1sha384"
	MGF1SHA512 = NS11 + "mgf1sha512"

	// Refused, named so that the error says why.
	RSA15        = NS + "rsa-1_5"
	TripleDESCBC = NS + "tripledes-cbc"
)

// dataAlgorithm is a supported content-encryption algorithm.
type dataAlgorithm struct {
	keySize int // bytes
	gcm     bool
}

var dataAlgorithms = map[string]dataAlgorithm{
	AES128CBC: {16, false}, AES192CBC: {24, false}, AES256CBC: {32, false},
	AES128GCM: {16, true}, AES192GCM: {24, true}, AES256GCM: {32, true},
}

// DataAlgorithms lists the supported content-encryption algorithms, in order
// of preference (authenticated encryption first).
var DataAlgorithms = []string{AES256GCM, AES192GCM, AES128GCM, AES256CBC, AES192CBC, AES128CBC}

// KeyTransportAlgorithms lists the supported key-transport algorithms, in
// order of preference.
var KeyTransportAlgorithms = []string{RSAOAEP, RSAOAEPMGF1P}

var digestMethods = map[string]crypto.Hash{
	SHA1: crypto.SHA1, SHA224: crypto.SHA224, SHA256: crypto.SHA256, SHA384: crypto.SHA384, SHA512: crypto.SHA512,
}

var mgfMethods = map[string]crypto.Hash{
	MGF1SHA1: crypto.SHA1, MGF1SHA224: crypto.SHA224, MGF1SHA256: crypto.SHA256, MGF1SHA384: crypto.SHA384, MGF1SHA512: crypto.SHA512,
}

// Bounds on the work one EncryptedData may cause.
const (
	// MaxEncryptedKeys bounds the EncryptedKey elements tried (each costs
	// one RSA decryption per SP key).
	MaxEncryptedKeys = 4
	maxOAEPParams    = 1024
)

// errContent is the one error for every failure after a content key was
// recovered: wrong key length, CBC padding, GCM tag, truncated ciphertext.
var errContent = fail("the content could not be decrypted with the recovered content key")

// Message is an xenc:EncryptedData and what Decrypt needs to find its
// content key.
type Message struct {
	// EncryptedData is the xenc:EncryptedData element.
	EncryptedData *etree.Element
	// Peers are the EncryptedKey elements next to it (the other children of
	// SAML's EncryptedAssertion): EncryptedKey candidates, and the only ones
	// a RetrievalMethod may name.
	Peers []*etree.Element
	// Document is the root of the received document, in which the Id a
	// RetrievalMethod names must be unique. Nil means the root of the tree
	// EncryptedData sits in; when it is another tree, the Id must be unique
	// in both.
	Document *etree.Element
	// Recipient is this SP's entity ID: an EncryptedKey whose Recipient
	// attribute names another comes after the others. Empty: no order.
	Recipient string
	// MaxSize bounds each ciphertext in bytes.
	MaxSize int
}

// Decrypt returns the plaintext of m.EncryptedData, decrypted with one of
// keys, which are tried in order.
//
// The EncryptedKey candidates are the EncryptedKey children of the
// EncryptedData's ds:KeyInfo and m.Peers, in that order, at most
// MaxEncryptedKeys in all; or, when that KeyInfo holds a RetrievalMethod,
// only the peer it names (see the package doc). Candidates whose Recipient
// names another SP come last: Recipient is a hint (XML Encryption 3.5.1), and
// an IdP that fills it with something else than our entity ID must still
// work. Every candidate's algorithms are checked before any private-key
// operation.
//
// Each key then decrypts at most one candidate, so a message costs at most
// len(keys) RSA operations however many EncryptedKeys it carries:
//
//   - the first candidate whose ds:KeyInfo names that key: an
//     X509Certificate or RSAKeyValue with its public key, an X509SKI equal
//     to its certificate's SubjectKeyId or to the SHA-1 of its public key,
//     or the X509IssuerSerial of its certificate (keys without a
//     certificate are matched by public key only);
//   - otherwise, the first candidate that names none of keys (no KeyInfo,
//     or one that names a certificate this SP does not have);
//   - otherwise none.
//
// Nothing is ever fetched: a CipherReference, a Transform, or any other
// RetrievalMethod anywhere in the EncryptedData or the peers is an error.
func Decrypt(m Message, keys []Key) ([]byte, error) {
	ed := m.EncryptedData
	if ed == nil || !is(ed, NS, "EncryptedData") {
		return nil, fail("not an xenc:EncryptedData")
	}
	for _, p := range m.Peers {
		if !is(p, NS, "EncryptedKey") {
			return nil, fail("%s is not an xenc:EncryptedKey", p.FullTag())
		}
	}
	if len(m.Peers) > MaxEncryptedKeys {
		return nil, fail("%d EncryptedKeys; at most %d are tried", len(m.Peers), MaxEncryptedKeys)
	}
	for _, el := range append([]*etree.Element{ed}, m.Peers...) {
		if err := refuseReferences(el, ed); err != nil {
			return nil, err
		}
	}
	data, err := readEncryptedData(ed, m.MaxSize)
	if err != nil {
		return nil, err
	}
	candidates := append(append([]*etree.Element{}, data.keys...), m.Peers...)
	switch {
	case len(candidates) > MaxEncryptedKeys:
		return nil, fail("%d EncryptedKeys; at most %d are tried", len(candidates), MaxEncryptedKeys)
	case data.retrieval != nil:
		ek, err := resolveRetrieval(data.retrieval, m)
		if err != nil {
			return nil, err
		}
		candidates = []*etree.Element{ek}
	case len(candidates) == 0:
		return nil, fail("no EncryptedKey in the EncryptedData's KeyInfo or next to it")
	}
	var eks, others []*encryptedKey
	for _, c := range candidates {
		ek, err := readEncryptedKey(c, m.MaxSize)
		if err != nil {
			return nil, err
		}
		if r, ok := attr(c, "Recipient"); ok && m.Recipient != "" && r != m.Recipient {
			others = append(others, ek)
			continue
		}
		eks = append(eks, ek)
	}
	eks = append(eks, others...)
	if len(keys) == 0 {
		return nil, fail("no private key to decrypt with")
	}
	plan := assign(eks, keys)
	recovered := false
	for i, k := range keys {
		if plan[i] == nil {
			continue
		}
		cek, err := plan[i].unwrap(k.Decrypter)
		if err != nil {
			continue
		}
		recovered = true
		if pt, err := data.decrypt(cek); err == nil {
			return pt, nil
		}
	}
	if recovered {
		return nil, errContent
	}
	return nil, fail("no EncryptedKey could be decrypted with any of the %d private key(s)", len(keys))
}

// refuseReferences rejects anything that would make a processor dereference
// a URI or run a transform (XSLT included), and key agreement, wherever it
// sits under root. The one exception is a RetrievalMethod child of ed's own
// KeyInfo, which resolveRetrieval checks (its children are still walked
// here, so a Transform inside it is refused).
func refuseReferences(root, ed *etree.Element) error {
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch el.Tag {
		case "RetrievalMethod":
			if !isKeyInfoRetrieval(el, ed) {
				return fail("RetrievalMethod is not followed here; the content key must be inline or next to the EncryptedData")
			}
		case "CipherReference", "Transforms", "Transform":
			return fail("%s is not followed; the content key must be inline", el.Tag)
		case "AgreementMethod", "DerivedKey", "KeyDerivationMethod":
			return refuseAlgorithm("key agreement (%s) is not supported; %s", el.Tag, useOAEP)
		}
		stack = append(stack, el.ChildElements()...)
	}
	return nil
}

// isKeyInfoRetrieval reports whether el is a ds:RetrievalMethod child of
// the ds:KeyInfo child of ed.
func isKeyInfoRetrieval(el, ed *etree.Element) bool {
	ki := el.Parent()
	return is(el, NSDSig, "RetrievalMethod") && ki != nil && is(ki, NSDSig, "KeyInfo") && ki.Parent() == ed
}

// encryptedData is a checked EncryptedData.
type encryptedData struct {
	alg        dataAlgorithm
	keys       []*etree.Element // EncryptedKey children of KeyInfo
	retrieval  *etree.Element   // the RetrievalMethod child of KeyInfo, if any
	ciphertext []byte
}

func readEncryptedData(ed *etree.Element, maxSize int) (*encryptedData, error) {
	for _, a := range ed.Attr {
		switch {
		case a.Space != "":
		case a.Key == "Type" && a.Value != TypeElement:
			return nil, fail("EncryptedData Type %q is not supported, only %s", a.Value, TypeElement)
		case a.Key == "Encoding":
			return nil, fail("EncryptedData Encoding %q is not supported", a.Value)
		}
	}
	g, err := sequence(ed,
		xmlsafe.One(NS, "EncryptionMethod"),
		xmlsafe.Optional(NSDSig, "KeyInfo"),
		xmlsafe.One(NS, "CipherData"),
		xmlsafe.Optional(NS, "EncryptionProperties"))
	if err != nil {
		return nil, err
	}
	em := g[0]
	uri, err := algorithm(em)
	if err != nil {
		return nil, err
	}
	alg, ok := dataAlgorithms[uri]
	if !ok {
		return nil, unsupported("content-encryption", uri)
	}
	if err := checkKeySize(em, alg.keySize); err != nil {
		return nil, err
	}
	d := &encryptedData{alg: alg}
	if ki := g[1]; ki != nil {
		kids, err := children(ki)
		if err != nil {
			return nil, err
		}
		for _, c := range kids {
			switch {
			case is(c, NS, "EncryptedKey"):
				d.keys = append(d.keys, c)
			case is(c, NSDSig, "RetrievalMethod"):
				if d.retrieval != nil {
					return nil, fail("KeyInfo of the EncryptedData holds more than one RetrievalMethod")
				}
				d.retrieval = c
			case is(c, NSDSig, "KeyName"):
				// A label only; the EncryptedKey says which key it needs.
			default:
				return nil, fail("KeyInfo of the EncryptedData holds %s; only EncryptedKey or one RetrievalMethod is supported", c.FullTag())
			}
		}
		if d.retrieval != nil && len(d.keys) > 0 {
			return nil, fail("KeyInfo of the EncryptedData holds both an EncryptedKey and a RetrievalMethod")
		}
	}
	if d.ciphertext, err = cipherValue(g[2], maxSize); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *encryptedData) decrypt(key []byte) ([]byte, error) {
	if len(key) != d.alg.keySize {
		return nil, errContent
	}
	if d.alg.gcm {
		return decryptGCM(key, d.ciphertext)
	}
	return decryptCBC(key, d.ciphertext)
}

// encryptedKey is a checked EncryptedKey.
type encryptedKey struct {
	digest, mgf crypto.Hash
	label       []byte
	ciphertext  []byte
	hints       keyHints // which SP key its KeyInfo names
}

func readEncryptedKey(ek *etree.Element, maxSize int) (*encryptedKey, error) {
	// Schema order; KeyInfo (how the IdP names our certificate) only
	// chooses the SP key that tries it; ReferenceList and CarriedKeyName are
	// not needed.
	g, err := sequence(ek,
		xmlsafe.One(NS, "EncryptionMethod"),
		xmlsafe.Optional(NSDSig, "KeyInfo"),
		xmlsafe.One(NS, "CipherData"),
		xmlsafe.Optional(NS, "EncryptionProperties"),
		xmlsafe.Optional(NS, "ReferenceList"),
		xmlsafe.Optional(NS, "CarriedKeyName"))
	if err != nil {
		return nil, err
	}
	em := g[0]
	uri, err := algorithm(em)
	if err != nil {
		return nil, err
	}
	if uri != RSAOAEPMGF1P && uri != RSAOAEP {
		return nil, unsupported("key-transport", uri)
	}
	k := &encryptedKey{digest: crypto.SHA1, mgf: crypto.SHA1}
	seen := map[string]bool{}
	params, err := children(em)
	if err != nil {
		return nil, err
	}
	for _, p := range params {
		if seen[p.Tag] {
			return nil, fail("EncryptionMethod has more than one %s", p.Tag)
		}
		seen[p.Tag] = true
		switch {
		case is(p, NSDSig, "DigestMethod"):
			d, err := algorithm(p)
			if err != nil {
				return nil, err
			}
			h, ok := digestMethods[d]
			if !ok {
				return nil, unsupported("OAEP digest", d)
			}
			if len(p.ChildElements()) > 0 {
				return nil, fail("DigestMethod has parameters")
			}
			k.digest = h
		case is(p, NS11, "MGF") && uri == RSAOAEP:
			m, err := algorithm(p)
			if err != nil {
				return nil, err
			}
			h, ok := mgfMethods[m]
			if !ok {
				return nil, unsupported("OAEP mask generation function", m)
			}
			if len(p.ChildElements()) > 0 {
				return nil, fail("MGF has parameters")
			}
			k.mgf = h
		case is(p, NS, "OAEPparams"):
			if k.label, err = base64Text(p, maxOAEPParams); err != nil {
				return nil, err
			}
		default:
			return nil, fail("%s EncryptionMethod has an unsupported parameter %s", uri, p.FullTag())
		}
	}
	if k.ciphertext, err = cipherValue(g[2], maxSize); err != nil {
		return nil, err
	}
	if g[1] != nil {
		k.hints = readHints(g[1])
	}
	return k, nil
}

// checkKeySize accepts an EncryptionMethod of a block cipher with no
// parameters but a KeySize that matches the algorithm.
func checkKeySize(em *etree.Element, keyBytes int) error {
	kids, err := children(em)
	if err != nil {
		return err
	}
	for i, c := range kids {
		if i > 0 || !is(c, NS, "KeySize") {
			return fail("content-encryption EncryptionMethod has an unsupported parameter %s", c.FullTag())
		}
		s, err := text(c)
		if err != nil {
			return err
		}
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err != nil || n != 8*keyBytes {
			return fail("KeySize %q does not match the algorithm's %d bits", s, 8*keyBytes)
		}
	}
	return nil
}

// cipherValue returns the decoded CipherValue of a CipherData; a
// CipherReference is refused.
func cipherValue(cd *etree.Element, maxSize int) ([]byte, error) {
	kids, err := children(cd)
	if err != nil {
		return nil, err
	}
	if len(kids) != 1 || !is(kids[0], NS, "CipherValue") {
		return nil, fail("CipherData must hold exactly one CipherValue")
	}
	b, err := base64Text(kids[0], maxSize)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fail("CipherValue is empty")
	}
	return b, nil
}

// base64Text decodes an element's text content as standard base64, white
// space ignored, refusing anything longer than max bytes.
func base64Text(el *etree.Element, max int) ([]byte, error) {
	s, err := text(el)
	if err != nil {
		return nil, err
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fail("%s is not standard base64", el.Tag)
	}
	if len(b) > max {
		return nil, fail("%s is larger than %d bytes", el.Tag, max)
	}
	return b, nil
}

// text returns the character content of an element that must hold only
// text: a comment or child element inside a value is refused.
func text(el *etree.Element) (string, error) {
	var b strings.Builder
	for _, tok := range el.Child {
		cd, ok := tok.(*etree.CharData)
		if !ok {
			return "", fail("%s must contain only text", el.Tag)
		}
		b.WriteString(cd.Data)
	}
	return b.String(), nil
}

// algorithm returns the unprefixed Algorithm attribute.
func algorithm(el *etree.Element) (string, error) {
	if v, ok := attr(el, "Algorithm"); ok {
		return v, nil
	}
	return "", fail("%s has no Algorithm", el.Tag)
}

// attr returns the unprefixed attribute key of el.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// is and children are xmlsafe's schema readers, with this package's errors.
func is(el *etree.Element, ns, local string) bool { return xmlsafe.Is(el, ns, local) }

func children(el *etree.Element) ([]*etree.Element, error) {
	kids, err := xmlsafe.Children(el)
	if err != nil {
		return nil, fail("%v", err)
	}
	return kids, nil
}

// sequence checks el's children against single-occurrence schema steps and
// returns the element of each step, nil where an optional one is absent.
func sequence(el *etree.Element, steps ...xmlsafe.Step) ([]*etree.Element, error) {
	g, err := xmlsafe.Sequence(el, steps...)
	if err != nil {
		return nil, fail("%v", err)
	}
	out := make([]*etree.Element, len(g))
	for i, els := range g {
		if len(els) > 0 {
			out[i] = els[0]
		}
	}
	return out, nil
}
