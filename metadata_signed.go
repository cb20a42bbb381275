package saml2sp

import (
	"errors"
	"fmt"
	"time"

	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// mdSignedEntities verifies the enveloped signature on data's document
// element against the pinned o.signers (MetadataSigners) and hands visit
// the EntityDescriptors of the element the verification returned: re-parsed
// from the bytes that were digested, it holds nothing the signature does
// not cover.
//
// Verification needs the document as one tree (goxmldsig canonicalizes a
// copy of it), so this path costs memory in proportion to the document
// (see MetadataSigners); it runs once per fetch.
func mdSignedEntities(data []byte, o mdOptions, now time.Time, visit func(mdEntity) error) error {
	maxSize := o.maxSizeOrDefault()
	limits := mdLimits(maxSize)
	doc, err := xmlsafe.Parse(data, limits)
	if err != nil {
		return err
	}
	root := doc.Root()
	if err := mdCheckRoot(root, root.NamespaceURI()); err != nil {
		return err
	}
	sigEl, err := xmldsig.Find(root)
	if err != nil {
		return fmt.Errorf("metadata signature: %w", err)
	}
	if sigEl == nil {
		return fmt.Errorf("the document is not signed, and MetadataSigners requires a signature by one of %d pinned certificate(s) (%s) on its %s",
			len(o.signers), mdFingerprints(o.signers), root.Tag)
	}
	id := attrValue(root, "ID")
	if id == "" {
		return fmt.Errorf("metadata signature: the signed %s has no ID for the signature to reference", root.Tag)
	}
	// SHA-1 is refused: federations sign with SHA-256 (the REFEDS and
	// eduGAIN profiles require it), and there is no opt-in here.
	sig, err := xmldsig.Check(sigEl, id, xmldsig.Policy{})
	if err != nil {
		return fmt.Errorf("metadata signature: %w", err)
	}
	bounds := xmldsig.MetadataBounds(maxSize, limits.BytesPerNode)
	verified, _, err := xmldsig.VerifyBounded(root, sig, o.signers, bounds)
	switch {
	case errors.Is(err, xmldsig.ErrUnknownKey):
		return fmt.Errorf("metadata signature: the document is signed by none of the %d pinned certificate(s) (%s): %w",
			len(o.signers), mdFingerprints(o.signers), err)
	case errors.Is(err, xmldsig.ErrNoTrustedKey):
		return fmt.Errorf("metadata signature: the document was changed after it was signed (the digest does not match): %w", err)
	case err != nil:
		return fmt.Errorf("metadata signature: %w", err)
	}
	if verified.Tag != root.Tag || verified.NamespaceURI() != mdNamespace || attrValue(verified, "ID") != id {
		return errors.New("metadata signature verified a different element")
	}
	return mdCollect(verified, mdValidity{}, now, visit)
}
