package saml2sp

import (
	"errors"
	"fmt"
	"strings"
)

// Failure classes. Every error returned by ParseResponse wraps exactly one
// of these (errors.Is), and its message says what was expected and what
// arrived, so an IdP administrator can act on it. Messages never contain
// the assertion itself.
var (
	// ErrTooLarge: the encoded message exceeds the configured size limit.
	ErrTooLarge = errors.New("saml2sp: message too large")
	// ErrMalformed: not base64, not well-formed XML, or not shaped like a SAML
	// message (DTDs, duplicate IDs, duplicate elements, wrong root...).
	ErrMalformed = errors.New("saml2sp: malformed message")
	// ErrSignature: no acceptable signature by a trusted IdP key.
	ErrSignature = errors.New("saml2sp: signature invalid")
	// ErrIssuer: Issuer is not the configured IdP.
	ErrIssuer = errors.New("saml2sp: wrong issuer")
	// ErrAudience: the assertion is not addressed to this SP.
	ErrAudience = errors.New("saml2sp: wrong audience")
	// ErrDestination: the Response was sent to another endpoint.
	ErrDestination = errors.New("saml2sp: wrong destination")
	// ErrRecipient: the bearer SubjectConfirmation names another endpoint or
	// is missing.
	ErrRecipient = errors.New("saml2sp: wrong or missing recipient")
	// ErrExpired: a validity window has ended.
	ErrExpired = errors.New("saml2sp: expired")
	// ErrNotYetValid: a validity window has not started.
	ErrNotYetValid = errors.New("saml2sp: not yet valid")
	// ErrInResponseTo: the Response answers a request this SP did not make
	// or is inconsistent about which one.
	ErrInResponseTo = errors.New("saml2sp: unexpected InResponseTo")
	// ErrUnsolicited: an IdP-initiated Response arrived and
	// Config.AllowIdPInitiated is false.
	ErrUnsolicited = errors.New("saml2sp: unsolicited response")
	// ErrReplay: this assertion was already used.
	ErrReplay = errors.New("saml2sp: replayed message")
	// ErrStatus: the IdP answered with a non-success status. The error is a
	// *StatusError carrying the codes.
	ErrStatus = errors.New("saml2sp: IdP returned an error status")
	// ErrSubject: the assertion has no usable Subject/NameID/AuthnStatement.
	ErrSubject = errors.New("saml2sp: unusable subject")
	// ErrUnsupported: a valid SAML feature this SP does not accept.
	ErrUnsupported = errors.New("saml2sp: unsupported")
	// ErrMetadata: IdP metadata could not be used.
	ErrMetadata = errors.New("saml2sp: invalid metadata")
	// ErrConfig: Config is incomplete or inconsistent.
	ErrConfig = errors.New("saml2sp: invalid config")
	// ErrState: the state cookie of a login or logout under way is expired
	// or does not authenticate (another StateKey: replicas or tenants that
	// do not share one), so the Response cannot be matched to the request.
	ErrState = errors.New("saml2sp: login state invalid")
	// ErrUnavailable: the SP cannot take the message now (for example every
	// verification slot of its Limiter stayed busy); the client may retry.
	// The handlers answer it with 503 Service Unavailable and Retry-After.
	ErrUnavailable = errors.New("saml2sp: temporarily unavailable")
)

func failf(class error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...)}
}

// classError keeps the failure class for errors.Is and a precise message.
type classError struct {
	class error
	msg   string
	cause error
}

// Error is the class, the message and the cause, each prefix once: a cause
// of the same class (a ReplayCache's ErrReplay, a nested wrapf) is printed
// without the class it repeats, and any other cause of this package
// without its "saml2sp: ", so that
//
//	saml2sp: replayed message: assertion "_a1": ID "_a1" was already used
//
// rather than the class twice. Only the text changes: errors.Is and
// errors.As still see the class and the whole cause.
func (e *classError) Error() string {
	return e.class.Error() + ": " + e.detail()
}

// pkgPrefix starts the text of every error of this package.
const pkgPrefix = "saml2sp: "

func (e *classError) detail() string {
	if e.cause == nil {
		return e.msg
	}
	c := e.cause.Error()
	if class := e.class.Error(); c == class {
		return e.msg
	} else if rest, ok := strings.CutPrefix(c, class+": "); ok {
		c = rest
	} else {
		c = strings.TrimPrefix(c, pkgPrefix)
	}
	return e.msg + ": " + c
}

func (e *classError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.class, e.cause}
	}
	return []error{e.class}
}

func wrapf(class, cause error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...), cause: cause}
}

// StatusError is returned when the IdP's Response carries a non-success
// status. It matches ErrStatus with errors.Is.
type StatusError struct {
	// Codes holds the top-level StatusCode followed by nested ones, e.g.
	// [urn:...:status:Responder urn:...:status:RequestDenied].
	Codes []string
	// Message is the IdP's StatusMessage, if any.
	Message string
}

// Error names the status codes by their last segment, and the IdP's
// message when there is one.
func (e *StatusError) Error() string {
	short := make([]string, len(e.Codes))
	for i, c := range e.Codes {
		short[i] = c[strings.LastIndexByte(c, ':')+1:]
	}
	msg := ErrStatus.Error() + ": " + strings.Join(short, "/")
	if e.Message != "" {
		msg += fmt.Sprintf(" (%q)", e.Message)
	}
	return msg
}

// Is makes errors.Is(err, ErrStatus) true.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }
