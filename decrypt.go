package saml2sp

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"sort"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// Encrypted assertions.
//
// An IdP may send the assertion as a saml:EncryptedAssertion: an
// xenc:EncryptedData (AES-GCM or AES-CBC) whose content key is carried,
// encrypted for one of this SP's certificates with RSA-OAEP, in an
// xenc:EncryptedKey. The EncryptedKey may sit inside the EncryptedData's
// ds:KeyInfo (Shibboleth, AD FS, Entra ID, SimpleSAMLphp) or next to the
// EncryptedData inside the EncryptedAssertion, as the SAML schema allows;
// it is only ever taken from those two places. Next to it, it may be named
// from the EncryptedData's KeyInfo by exactly one ds:RetrievalMethod of
// Type EncryptedKey, URI "#id" and no transforms (Okta, OpenSAML's "peer"
// placement); then that Id must be unique in the received document and only
// that EncryptedKey is tried. Every other RetrievalMethod is refused, never
// followed, as is anything else that would fetch or transform data.
// EncryptedKeys whose Recipient names another SP are tried last.
//
// Order of checks:
//
//   - The Response signature, when present, is verified first, over the
//     ciphertext. The EncryptedAssertion is then taken from the verified
//     Response, so what is decrypted is exactly what the IdP signed.
//   - The algorithms of every EncryptedKey considered are checked, then
//     the EncryptedAssertion is decrypted with the SP keys in turn
//     (Config.Key, NextKey, PreviousKeys), each trying at most one
//     EncryptedKey: the first whose KeyInfo names the key's certificate or
//     public key, else the first that names none of the SP keys. A
//     Response thus costs at most one RSA operation per SP key, however
//     many EncryptedKeys it carries.
//   - The plaintext is parsed by the same hardened parser, with the same
//     limits, as the Response, inside the namespace declarations in scope at
//     the EncryptedAssertion (IdPs serialize the assertion without the
//     declarations it inherits). In a signed Response those are the
//     declarations of the verified Response: one the signature does not
//     cover (exclusive c14n drops a declaration that nothing outside the
//     ciphertext uses) does not count. It must be exactly one
//     saml:Assertion, and its IDs must not repeat one of the Response.
//   - That Assertion goes through the same shape, inventory and signature
//     checks as a plain one: its own signature, when present, must verify;
//     when the Response is unsigned it must be present, because anyone can
//     encrypt for the SP's public certificate (encryption is not
//     authentication).
//
// A refused or unsupported algorithm (Triple-DES, RSA PKCS#1 v1.5, key
// agreement, anything unknown) is not a secret: its URI is plaintext the
// sender chose, and it is checked before any RSA operation. It returns an
// ErrUnsupported error that names the algorithm and what to configure at the
// IdP instead. Every other failure to decrypt (RetrievalMethod, structure,
// wrong key, bad CBC padding, GCM tag mismatch, truncated ciphertext) returns
// one error, errDecryption. While nothing authenticates the ciphertext (an
// unsigned Response), every later failure up to the Assertion's signature
// check returns that same error too: a client that alters CBC ciphertext
// must not learn whether the padding, the XML or the signature was wrong
// (Jager and Somorovsky, "How to Break XML Encryption", 2011). The reason is
// logged at debug level only. A remaining timing difference between a padding
// failure and a parse failure is not hidden: IdPs that can should use AES-GCM
// or sign the Response.
//
// Not supported: EncryptedID and EncryptedAttribute (a Subject with an
// EncryptedID is refused, an EncryptedAttribute is skipped), key agreement
// and key wrapping, and, with no opt-in, RSA PKCS#1 v1.5 and Triple-DES.

// ErrDecryption is matched, together with ErrMalformed, by the one error
// ParseResponse returns for every EncryptedAssertion it cannot decrypt (and,
// in an unsigned Response, verify). The reason is logged at debug level.
// An algorithm this SP does not accept is reported otherwise, as
// ErrUnsupported with the algorithm named.
var ErrDecryption = errors.New("saml2sp: EncryptedAssertion could not be decrypted")

// errDecryption is that one error.
var errDecryption error = decryptionError{}

type decryptionError struct{}

func (decryptionError) Error() string {
	return ErrMalformed.Error() + ": EncryptedAssertion could not be decrypted and verified with any SP key; the reason is logged at debug level"
}

func (decryptionError) Unwrap() []error { return []error{ErrMalformed, ErrDecryption} }

// decryptedRoot is the element the plaintext is parsed inside; it carries
// the namespace declarations in scope at the EncryptedAssertion.
const decryptedRoot = "saml2sp-decrypted"

// algorithmRefused is the error for an EncryptedAssertion that uses an
// algorithm this SP does not accept. It is returned as it is, never turned
// into errDecryption: it depends only on algorithm URIs, plaintext the
// sender chose, and is found before any RSA operation.
type algorithmRefused struct{ error }

func (e algorithmRefused) Unwrap() error { return e.error }

// decryptionFailed logs why an EncryptedAssertion was refused and returns
// the one error a client sees.
func (sp *SP) decryptionFailed(ctx context.Context, reason error) error {
	var refused algorithmRefused
	if errors.Is(reason, ErrDecryption) || errors.As(reason, &refused) {
		return reason
	}
	sp.cfg.Logger.DebugContext(ctx, "saml2sp: EncryptedAssertion refused", "reason", reason.Error(),
		"sp", sp.cfg.EntityID, "idp", sp.cfg.IdP.EntityID, "sp_keys", len(sp.decrypters))
	if sp.diag != nil {
		sp.diag.decryptionReason = reason
	}
	return errDecryption
}

// checkCanDecrypt explains what to change when an EncryptedAssertion
// arrives at an SP without a key that can decrypt it.
func (sp *SP) checkCanDecrypt() error {
	if len(sp.decrypters) > 0 {
		return nil
	}
	if sp.cfg.Key != nil {
		return failf(ErrUnsupported, "Response carries an EncryptedAssertion but Config.Key (%T) cannot decrypt; switch off assertion encryption at the IdP or configure an RSA SP key", sp.cfg.Key)
	}
	return failf(ErrUnsupported, "Response carries an EncryptedAssertion but this SP has no key; switch off assertion encryption at the IdP or configure an SP key (Config.Key and Certificate, published in the SP metadata)")
}

// openEncryptedAssertion decrypts env.encrypted, taken from the verified
// Response when there is one, and sets env.assertion and env.assertSig to
// the decrypted Assertion and its Signature, after the same shape and
// inventory checks as a received Assertion. It returns how the caller must
// report its later failures (up to the Assertion's signature check): as
// themselves when the Response signature authenticated the ciphertext,
// otherwise as the one decryption error.
func (sp *SP) openEncryptedAssertion(ctx context.Context, env *envelope, verifiedResponse *etree.Element) (func(error) error, error) {
	if err := sp.checkCanDecrypt(); err != nil {
		return nil, err
	}
	report := func(err error) error { return err }
	ea := env.encrypted
	if verifiedResponse != nil {
		if ea = onlyChild(verifiedResponse, nsAssertion, "EncryptedAssertion"); ea == nil {
			return nil, failf(ErrMalformed, "verified Response does not carry exactly one EncryptedAssertion")
		}
	} else {
		report = func(err error) error { return sp.decryptionFailed(ctx, err) }
	}
	a, err := sp.decryptAssertion(ctx, ea, env.response, env.ids, env.xmlsecIDs)
	if err != nil {
		return nil, report(err)
	}
	sig, err := locateAssertion(a)
	if err != nil {
		return nil, report(err)
	}
	if err := checkInventory(a, a, sig); err != nil {
		return nil, report(err)
	}
	env.assertion, env.assertSig = a, sig
	return report, nil
}

// decryptAssertion decrypts ea and returns the Assertion it holds, parsed
// and checked like a received document; received is the root of the
// received document (where a RetrievalMethod's Id must be unique).
// Decryption failures come back as errDecryption, a refused algorithm as
// algorithmRefused; failures after decryption (parse, shape) as themselves.
func (sp *SP) decryptAssertion(ctx context.Context, ea, received *etree.Element, outerIDs, outerXMLSecIDs map[string]*etree.Element) (*etree.Element, error) {
	g, err := sequence(ea, one(xmlenc.NS, "EncryptedData"), many(xmlenc.NS, "EncryptedKey"))
	if err != nil {
		return nil, sp.decryptionFailed(ctx, err)
	}
	plaintext, err := xmlenc.Decrypt(xmlenc.Message{
		EncryptedData: g[0][0],
		Peers:         g[1],
		Document:      received,
		Recipient:     sp.cfg.EntityID,
		MaxSize:       sp.cfg.MaxResponseSize,
	}, sp.decrypters)
	var alg *xmlenc.AlgorithmError
	switch {
	case errors.As(err, &alg):
		return nil, algorithmRefused{failf(ErrUnsupported, "EncryptedAssertion: %s", alg.Reason)}
	case err != nil:
		return nil, sp.decryptionFailed(ctx, err)
	}
	sp.trace(ctx, "in", "decrypted Assertion", plaintext)

	doc, err := xmlsafe.Parse(wrapInScope(ea, plaintext), xmlsafe.DefaultLimits)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "decrypted EncryptedAssertion")
	}
	kids, err := children(doc.Root())
	if err != nil {
		return nil, failf(ErrMalformed, "decrypted EncryptedAssertion holds text besides the Assertion")
	}
	for _, tok := range doc.Root().Child {
		if _, ok := tok.(*etree.Comment); ok {
			return nil, failf(ErrMalformed, "decrypted EncryptedAssertion holds a comment besides the Assertion")
		}
	}
	if len(kids) != 1 {
		return nil, failf(ErrMalformed, "decrypted EncryptedAssertion holds %d elements; exactly one Assertion is accepted", len(kids))
	}
	a := kids[0]
	if !is(a, nsAssertion, "Assertion") {
		return nil, failf(ErrMalformed, "decrypted EncryptedAssertion holds %s, not a SAML 2.0 Assertion", a.FullTag())
	}
	// One ID, one element, across the Response and what it encrypted, as in
	// a single document; the same for XML-DSig/XML Encryption Id values,
	// and no value may be an ID on one side and an Id on the other.
	for _, inner := range []map[string]*etree.Element{doc.IDs, doc.XMLSecIDs} {
		for id := range inner {
			_, asID := outerIDs[id]
			_, asXMLSecID := outerXMLSecIDs[id]
			if asID || asXMLSecID {
				return nil, failf(ErrMalformed, "ID %q of the decrypted Assertion also appears in the Response", id)
			}
		}
	}
	return a, nil
}

// wrapInScope returns plaintext inside a root element that declares the
// namespaces in scope at el (the nearest declaration of each prefix wins;
// the plaintext's own declarations override them).
func wrapInScope(el *etree.Element, plaintext []byte) []byte {
	decls := map[string]string{} // prefix ("" = default) -> URI
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			var prefix string
			switch {
			case a.Space == "xmlns":
				prefix = a.Key
			case a.Space == "" && a.Key == "xmlns":
				prefix = ""
			default:
				continue
			}
			if _, ok := decls[prefix]; !ok {
				decls[prefix] = a.Value
			}
		}
	}
	prefixes := make([]string, 0, len(decls))
	for p := range decls {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	var b bytes.Buffer
	b.WriteString("<" + decryptedRoot)
	for _, p := range prefixes {
		if p == "" {
			if decls[p] == "" {
				continue
			}
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(" xmlns:" + p + `="`)
		}
		_ = xml.EscapeText(&b, []byte(decls[p]))
		b.WriteString(`"`)
	}
	b.WriteString(">")
	b.Write(plaintext)
	b.WriteString("</" + decryptedRoot + ">")
	return b.Bytes()
}

// onlyChild returns the single child element {ns}local of el, or nil when
// there is none or more than one.
func onlyChild(el *etree.Element, ns, local string) *etree.Element {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			if found != nil {
				return nil
			}
			found = c
		}
	}
	return found
}
