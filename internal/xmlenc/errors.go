package xmlenc

import (
	"errors"
	"fmt"
)

// ErrDecrypt is wrapped by every error of this package.
var ErrDecrypt = errors.New("xmlenc: decryption failed")

// ErrAlgorithm is wrapped, together with ErrDecrypt, by every
// *AlgorithmError.
var ErrAlgorithm = errors.New("xmlenc: algorithm not accepted")

// AlgorithmError is the error for an algorithm URI that is refused or not
// implemented. Algorithm URIs are plaintext chosen by the sender and are
// checked before any private-key operation, so its Reason may be shown to
// whoever sent the message: it reveals nothing about keys or plaintext.
type AlgorithmError struct {
	// Reason names the algorithm and what to configure at the IdP instead.
	Reason string
}

// Error returns the reason after ErrAlgorithm's text.
func (e *AlgorithmError) Error() string { return ErrAlgorithm.Error() + ": " + e.Reason }

// Unwrap makes the error match ErrAlgorithm and ErrDecrypt.
func (e *AlgorithmError) Unwrap() []error { return []error{ErrAlgorithm, ErrDecrypt} }

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDecrypt, fmt.Sprintf(format, args...))
}

func refuseAlgorithm(format string, args ...any) error {
	return &AlgorithmError{Reason: fmt.Sprintf(format, args...)}
}

// Why an algorithm is refused, and what to configure instead.
const (
	useAESGCM = "configure the IdP to encrypt assertions with AES-GCM (" + AES256GCM + ")"
	useOAEP   = "configure the IdP to transport the key with RSA-OAEP (" + RSAOAEPMGF1P + " or " + RSAOAEP + ")"
	keyWrap   = "AES key wrap needs a secret key shared with the IdP, which this SP does not have; " + useOAEP + " for the SP's certificate"
)

var refused = map[string]string{
	RSA15:            "RSA PKCS#1 v1.5 key transport (" + RSA15 + ") is refused, as it is open to Bleichenbacher's attack; " + useOAEP,
	TripleDESCBC:     "Triple-DES (" + TripleDESCBC + ") is refused; " + useAESGCM,
	NS + "kw-aes128": keyWrap,
	NS + "kw-aes192": keyWrap,
	NS + "kw-aes256": keyWrap,
}

// advice says what to configure instead of an unknown algorithm, by role.
var advice = map[string]string{
	"content-encryption":            useAESGCM,
	"key-transport":                 useOAEP,
	"OAEP digest":                   "configure the IdP to use SHA-1 or SHA-256 as the RSA-OAEP digest",
	"OAEP mask generation function": "configure the IdP to use MGF1 with SHA-1 or SHA-256",
}

// unsupported is the error for an algorithm URI the role what does not
// accept. A long URI is cut: it is the sender's text and goes into logs.
func unsupported(what, uri string) error {
	if why, ok := refused[uri]; ok {
		return refuseAlgorithm("%s", why)
	}
	const maxURI = 128
	if len(uri) > maxURI {
		uri = uri[:maxURI] + "..."
	}
	return refuseAlgorithm("%s algorithm %q is not supported; %s", what, uri, advice[what])
}
