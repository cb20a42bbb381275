package saml2sp

import (
	"net/http"
	"net/url"
	"strings"
)

// maxReturnTo bounds a return path chosen by the app's own login link. A
// RelayState chosen by the IdP is bounded by maxRelayState (SAML bindings
// 3.4.3 and 3.5.3 allow 80 bytes).
const (
	maxReturnTo   = 1024
	maxRelayState = 80
)

// safeReturnTo returns p if it is a same-origin path that is safe to
// redirect to, and "" otherwise. It refuses absolute URLs
// (https://evil), scheme-relative ones (//evil), the backslash variants
// browsers treat as slashes (/\evil), any scheme (javascript:), control
// characters (CR/LF header injection) and anything longer than max.
func safeReturnTo(p string, max int) string {
	if p == "" || len(p) > max || p[0] != '/' {
		return ""
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return ""
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return ""
	}
	// Browsers decode %2F and %5C in some positions; refuse an encoded
	// slash or backslash right after the leading slash.
	if lower := strings.ToLower(p); strings.HasPrefix(lower, "/%2f") || strings.HasPrefix(lower, "/%5c") {
		return ""
	}
	return p
}

// returnToParam reads the return_to parameter of a login or logout start
// (query, or a small form body) and returns it if safe, else "/".
func returnToParam(w http.ResponseWriter, r *http.Request) string {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	}
	if p := safeReturnTo(r.FormValue("return_to"), maxReturnTo); p != "" {
		return p
	}
	return "/"
}
