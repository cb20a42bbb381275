package saml2sptest

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlenc"
)

// Encryption chooses the algorithms of an EncryptedAssertion (see
// Response.Encrypt). Each field takes an XML Encryption URI or its short
// name, the part after '#'. The zero value is what most IdPs send today:
// AES-256-GCM, the key transported with rsa-oaep-mgf1p and SHA-1.
type Encryption struct {
	// Data encrypts the assertion: aes128-cbc, aes192-cbc, aes256-cbc,
	// aes128-gcm, aes192-gcm or aes256-gcm (default).
	Data string
	// KeyTransport encrypts the content key for the SP's certificate:
	// rsa-oaep-mgf1p (default) or rsa-oaep (XML Encryption 1.1).
	KeyTransport string
	// Digest is the OAEP DigestMethod: sha1 (default), sha224, sha256,
	// sha384 or sha512.
	Digest string
	// MGF is the mask generation function of rsa-oaep: mgf1sha1 (default),
	// mgf1sha224, mgf1sha256, mgf1sha384 or mgf1sha512.
	MGF string
	// OAEPParams, when set, is the OAEP label, sent as xenc:OAEPparams.
	OAEPParams []byte
	// OktaLayout puts the EncryptedKey next to the EncryptedData in the
	// EncryptedAssertion, as Okta (and OpenSAML's "peer" key placement)
	// does: the EncryptedData's KeyInfo holds only
	// <ds:RetrievalMethod Type="...#EncryptedKey" URI="#id"/>, and the
	// EncryptedKey, with that Id, ends with a ReferenceList back to the
	// EncryptedData. By default the EncryptedKey sits inside the
	// EncryptedData's KeyInfo.
	OktaLayout bool
}

var (
	dataAlgorithms = []string{
		xmlenc.AES128CBC, xmlenc.AES192CBC, xmlenc.AES256CBC,
		xmlenc.AES128GCM, xmlenc.AES192GCM, xmlenc.AES256GCM,
	}
	keyTransports = []string{xmlenc.RSAOAEPMGF1P, xmlenc.RSAOAEP}
	oaepDigests   = []string{xmlenc.SHA1, xmlenc.SHA224, xmlenc.SHA256, xmlenc.SHA384, xmlenc.SHA512}
	mgfs          = []string{xmlenc.MGF1SHA1, xmlenc.MGF1SHA224, xmlenc.MGF1SHA256, xmlenc.MGF1SHA384, xmlenc.MGF1SHA512}
)

// encryptAssertion returns a saml:EncryptedAssertion holding a, encrypted
// for cert as e says, with the EncryptedKey inside the EncryptedData's
// KeyInfo or, with e.OktaLayout, next to it. a must declare every namespace
// it uses (assertion does).
func encryptAssertion(a *etree.Element, cert *x509.Certificate, e Encryption) (*etree.Element, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("saml2sptest: Encrypt needs an RSA certificate, got a %T key", cert.PublicKey)
	}
	opts := xmlenc.EncryptOptions{OAEPParams: e.OAEPParams, Certificate: cert}
	for _, f := range []struct {
		name, value string
		uris        []string
		out         *string
	}{
		{"Data", e.Data, dataAlgorithms, &opts.Data},
		{"KeyTransport", e.KeyTransport, keyTransports, &opts.KeyTransport},
		{"Digest", e.Digest, oaepDigests, &opts.Digest},
		{"MGF", e.MGF, mgfs, &opts.MGF},
	} {
		if f.value == "" {
			continue
		}
		uri, ok := lookupURI(f.value, f.uris)
		if !ok {
			return nil, fmt.Errorf("saml2sptest: unknown Encryption.%s %q", f.name, f.value)
		}
		*f.out = uri
	}

	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalAttrVal = true
	doc.WriteSettings.CanonicalText = true
	doc.SetRoot(a.Copy())
	var plaintext bytes.Buffer
	if _, err := doc.WriteTo(&plaintext); err != nil {
		return nil, err
	}
	ed, err := xmlenc.Encrypt(plaintext.Bytes(), pub, opts)
	if err != nil {
		return nil, fmt.Errorf("saml2sptest: %w", err)
	}
	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.CreateAttr("xmlns:saml", nsAssertion)
	ea.AddChild(ed)
	if e.OktaLayout {
		oktaLayout(ea, ed)
	}
	return ea, nil
}

// oktaLayout moves the EncryptedKey out of ed's KeyInfo to follow ed in
// ea, and names it from there with a RetrievalMethod.
func oktaLayout(ea, ed *etree.Element) {
	edID, ekID := newID("_"), newID("_")
	ki := ed.SelectElement("KeyInfo")
	ek := ki.SelectElement("EncryptedKey")
	ki.RemoveChild(ek)
	rm := ki.CreateElement("ds:RetrievalMethod")
	rm.CreateAttr("Type", xmlenc.TypeEncryptedKey)
	rm.CreateAttr("URI", "#"+ekID)
	ed.CreateAttr("Id", edID)
	// Detached from ed and its KeyInfo, the EncryptedKey declares the
	// prefixes it used from them.
	ek.CreateAttr("xmlns:xenc", xmlenc.NS)
	ek.CreateAttr("xmlns:ds", xmlenc.NSDSig)
	ek.CreateAttr("Id", ekID)
	ek.CreateElement("xenc:ReferenceList").CreateElement("xenc:DataReference").CreateAttr("URI", "#"+edID)
	ea.AddChild(ek)
}

// lookupURI returns the URI in uris that equals name or ends in "#"+name.
func lookupURI(name string, uris []string) (string, bool) {
	for _, u := range uris {
		if u == name || strings.HasSuffix(u, "#"+name) {
			return u, true
		}
	}
	return "", false
}
