package saml2sptest

import (
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// signatureMethods and digestMethods map the XML-DSig algorithm URIs that
// Response.SignatureAlgorithm and Response.DigestAlgorithm accept (also by
// their short name after '#') to their hash.
var (
	signatureMethods = map[string]crypto.Hash{
		dsig.RSASHA1SignatureMethod:     crypto.SHA1,
		dsig.RSASHA256SignatureMethod:   crypto.SHA256,
		dsig.RSASHA384SignatureMethod:   crypto.SHA384,
		dsig.RSASHA512SignatureMethod:   crypto.SHA512,
		dsig.ECDSASHA1SignatureMethod:   crypto.SHA1,
		dsig.ECDSASHA256SignatureMethod: crypto.SHA256,
		dsig.ECDSASHA384SignatureMethod: crypto.SHA384,
		dsig.ECDSASHA512SignatureMethod: crypto.SHA512,
	}
	digestMethods = map[string]crypto.Hash{
		"http://www.w3.org/2000/09/xmldsig#sha1":        crypto.SHA1,
		"http://www.w3.org/2001/04/xmlenc#sha256":       crypto.SHA256,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
		"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
	}
)

// sign adds an enveloped signature of el, as r asks, as the child right
// after el's Issuer. el must declare every namespace it uses: it is
// canonicalized detached (exclusive c14n), as verifiers do.
func (idp *IdP) sign(el *etree.Element, r Response) error {
	if idp.Key == nil || idp.Certificate == nil {
		return errors.New("saml2sptest: IdP has no Key or Certificate to sign with")
	}
	ctx, err := dsig.NewSigningContext(idp.Key, [][]byte{idp.Certificate.Raw})
	if err != nil {
		return fmt.Errorf("saml2sptest: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if r.SignatureAlgorithm != "" {
		method, _, ok := lookup(r.SignatureAlgorithm, signatureMethods)
		if !ok {
			return fmt.Errorf("saml2sptest: unknown SignatureAlgorithm %q", r.SignatureAlgorithm)
		}
		if err := ctx.SetSignatureMethod(method); err != nil {
			return fmt.Errorf("saml2sptest: %w", err)
		}
	}
	signHash, digestHash := ctx.Hash, crypto.SHA256
	if r.DigestAlgorithm != "" {
		var ok bool
		if _, digestHash, ok = lookup(r.DigestAlgorithm, digestMethods); !ok {
			return fmt.Errorf("saml2sptest: unknown DigestAlgorithm %q", r.DigestAlgorithm)
		}
	}

	// goxmldsig uses one hash for the digest and the signature: digest with
	// DigestAlgorithm, then sign SignedInfo again if SignatureAlgorithm
	// differs. Canonicalization rewrites its input, hence the copy.
	ctx.Hash = digestHash
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	if err != nil {
		return fmt.Errorf("saml2sptest: signing: %w", err)
	}
	if signHash != digestHash {
		ctx.Hash = signHash
		if err := resign(ctx, sig); err != nil {
			return fmt.Errorf("saml2sptest: signing: %w", err)
		}
	}
	if r.OmitKeyInfo {
		sig.RemoveChild(sig.SelectElement("ds:KeyInfo"))
	}

	// The schema puts the Signature right after the Issuer; tests that
	// remove the Issuer get it first.
	at := 0
	if issuer := el.SelectElement("Issuer"); issuer != nil {
		at = issuer.Index() + 1
	}
	el.InsertChildAt(at, sig)
	return nil
}

// resign sets sig's SignatureMethod to the one of ctx.Hash and signs its
// SignedInfo again.
func resign(ctx *dsig.SigningContext, sig *etree.Element) error {
	signedInfo := sig.SelectElement("ds:SignedInfo")
	signedInfo.SelectElement("ds:SignatureMethod").
		CreateAttr(dsig.AlgorithmAttr, ctx.GetSignatureMethodIdentifier())
	nsCtx, err := etreeutils.NSBuildParentContext(signedInfo)
	if err != nil {
		return err
	}
	detached, err := etreeutils.NSDetatch(nsCtx, signedInfo)
	if err != nil {
		return err
	}
	canonical, err := ctx.Canonicalizer.Canonicalize(detached)
	if err != nil {
		return err
	}
	value, err := ctx.SignString(string(canonical))
	if err != nil {
		return err
	}
	sig.SelectElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	return nil
}

// lookup returns the URI in table that equals name or ends in "#"+name,
// and its hash.
func lookup(name string, table map[string]crypto.Hash) (string, crypto.Hash, bool) {
	for uri, h := range table {
		if uri == name || strings.HasSuffix(uri, "#"+name) {
			return uri, h, true
		}
	}
	return "", 0, false
}
