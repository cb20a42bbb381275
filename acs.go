package saml2sp

import "context"

// ParseResponse verifies a SAMLResponse form value (base64, as posted to the
// ACS; line breaks allowed) and returns the assertion it carries.
func (sp *SP) ParseResponse(ctx context.Context, samlResponse string, requestIDs []string) (*Assertion, error) {
	return nil, ErrUnsupported // implemented next
}
