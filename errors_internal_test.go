package saml2sp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestClassErrorText checks classError's message for causes that no
// ParseResponse path produces today but wrapf allows: each class text, and
// "saml2sp:", appears once, and errors.Is/As still reach class and cause.
func TestClassErrorText(t *testing.T) {
	status := &StatusError{Codes: []string{"urn:oasis:names:tc:SAML:2.0:status:Responder"}, Message: "no"}
	inner := failf(ErrMalformed, "Issuer must contain only text")
	for _, tc := range []struct {
		name string
		err  error
		want string
		is   []error
	}{
		{name: "wrapped StatusError of the same class",
			err:  wrapf(ErrStatus, status, "LogoutResponse"),
			want: `saml2sp: IdP returned an error status: LogoutResponse: Responder ("no")`,
			is:   []error{ErrStatus}},
		{name: "wrapped StatusError of another class",
			err:  wrapf(ErrMalformed, status, "LogoutResponse"),
			want: `saml2sp: malformed message: LogoutResponse: IdP returned an error status: Responder ("no")`,
			is:   []error{ErrMalformed, ErrStatus}},
		{name: "nested wrapf of the same class",
			err:  wrapf(ErrMalformed, wrapf(ErrMalformed, inner, "Assertion"), "decrypted EncryptedAssertion"),
			want: "saml2sp: malformed message: decrypted EncryptedAssertion: Assertion: Issuer must contain only text",
			is:   []error{ErrMalformed}},
		{name: "nested wrapf of another class",
			err:  wrapf(ErrSignature, inner, "Assertion signature"),
			want: "saml2sp: signature invalid: Assertion signature: malformed message: Issuer must contain only text",
			is:   []error{ErrSignature, ErrMalformed}},
		{name: "the bare class as cause",
			err:  wrapf(ErrReplay, ErrReplay, "assertion %q", "_a"),
			want: `saml2sp: replayed message: assertion "_a"`,
			is:   []error{ErrReplay}},
		{name: "an app's cache error wrapping the class",
			err:  wrapf(ErrReplay, fmt.Errorf("%w: redis SET NX refused", ErrReplay), "assertion %q", "_a"),
			want: `saml2sp: replayed message: assertion "_a": redis SET NX refused`,
			is:   []error{ErrReplay}},
		{name: "a foreign cause is kept whole",
			err:  wrapf(ErrMalformed, errors.New("xmlsafe: saml2sp is not a prefix here"), "SAMLResponse"),
			want: "saml2sp: malformed message: SAMLResponse: xmlsafe: saml2sp is not a prefix here",
			is:   []error{ErrMalformed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q\nwant      %q", got, tc.want)
			}
			if n := strings.Count(tc.err.Error(), "saml2sp:"); n != 1 {
				t.Errorf("%q names the package %d times", tc.err.Error(), n)
			}
			for _, want := range tc.is {
				if !errors.Is(tc.err, want) {
					t.Errorf("errors.Is(%v) is false", want)
				}
			}
			var se *StatusError
			if errors.Is(tc.err, ErrStatus) && (!errors.As(tc.err, &se) || se != status) {
				t.Errorf("errors.As does not reach the *StatusError")
			}
		})
	}
}
