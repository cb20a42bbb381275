package saml2sp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultMetadataTimeout bounds FetchMetadata when the caller's context has
// no deadline, and is the timeout of the client it uses when given none.
const DefaultMetadataTimeout = 30 * time.Second

// FetchMetadata downloads an IdP's metadata from metadataURL and parses it
// with ParseMetadata.
//
// client nil means a client with a DefaultMetadataTimeout timeout. If ctx has
// no deadline, DefaultMetadataTimeout applies. Only http and https URLs are
// fetched; redirects to other schemes, and from https down to http, are
// refused. The body may be at most MaxMetadataSize bytes. Every error wraps
// ErrMetadata and says what was fetched and what came back: the HTTP status
// and the start of the body for a non-2xx answer, the Content-Type when the
// body is an HTML page or not XML (a login page or a wrong URL, typically).
//
// Trust in the returned certificates rests on the transport: use an https
// URL. The metadata's own signature is not verified (see ParseMetadata).
// metadataURL is fetched as given; apps that let untrusted users supply it
// should pass a client whose dialer refuses internal addresses.
func FetchMetadata(ctx context.Context, client *http.Client, metadataURL string) (*IdentityProvider, error) {
	return mdFetch(ctx, client, metadataURL, DefaultMetadataTimeout)
}

func mdFetch(ctx context.Context, client *http.Client, metadataURL string, timeout time.Duration) (*IdentityProvider, error) {
	u, err := url.Parse(metadataURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: metadata URL %s is not an absolute http or https URL", ErrMetadata, mdQuote(metadataURL))
	}
	shown := u.Redacted()
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	c := *client
	c.CheckRedirect = mdCheckRedirect(client.CheckRedirect)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: fetching %s: %w", ErrMetadata, shown, err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the URL
		}
		return nil, fmt.Errorf("%w: fetching %s: %w", ErrMetadata, shown, err)
	}
	defer resp.Body.Close()
	if final := resp.Request.URL.Redacted(); final != shown {
		shown += " (redirected to " + final + ")"
	}
	ctype := resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		head := make([]byte, 200)
		n, _ := io.ReadFull(resp.Body, head)
		return nil, fmt.Errorf("%w: fetching %s: HTTP status %s (Content-Type %q), body starts %q",
			ErrMetadata, shown, resp.Status, ctype, mdPrintableASCII(head[:n]))
	}
	if resp.ContentLength > MaxMetadataSize {
		return nil, fmt.Errorf("%w: fetching %s: response body of %d bytes exceeds the %d MiB limit for metadata",
			ErrMetadata, shown, resp.ContentLength, MaxMetadataSize>>20)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: fetching %s: reading the response body: %w", ErrMetadata, shown, err)
	}
	if len(body) > MaxMetadataSize {
		return nil, fmt.Errorf("%w: fetching %s: response body exceeds the %d MiB limit for metadata",
			ErrMetadata, shown, MaxMetadataSize>>20)
	}
	if what := mdSniffNonMetadata(ctype, body); what != "" {
		return nil, fmt.Errorf("%w: fetching %s: got %s (Content-Type %q), not SAML metadata; check the metadata URL (body starts %q)",
			ErrMetadata, shown, what, ctype, mdPrintableASCII(body[:min(len(body), 200)]))
	}
	idp, err := mdParseSingle(body, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: fetched from %s (Content-Type %q): %w", ErrMetadata, shown, ctype, err)
	}
	return idp, nil
}

// mdCheckRedirect refuses redirects to schemes other than http and https
// and from https to http, then defers to the caller's policy (or Go's
// default of at most 10 redirects).
func mdCheckRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		switch prev := via[len(via)-1].URL; {
		case req.URL.Scheme != "http" && req.URL.Scheme != "https":
			return fmt.Errorf("refusing redirect to %s: not an http or https URL", mdQuote(req.URL.Redacted()))
		case prev.Scheme == "https" && req.URL.Scheme == "http":
			return fmt.Errorf("refusing redirect from https to %s: metadata must not be downgraded to plain http", req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// mdSniffNonMetadata describes a body that cannot be metadata, or returns "".
func mdSniffNonMetadata(contentType string, body []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "text/html" || mt == "application/xhtml+xml" {
		return "an HTML page"
	}
	trimmed := strings.TrimLeft(string(body[:min(len(body), 512)]), "\ufeff \t\r\n")
	lower := strings.ToLower(trimmed)
	switch {
	case trimmed == "":
		return "an empty body"
	case strings.HasPrefix(lower, "<!doctype html") || strings.HasPrefix(lower, "<html"):
		return "an HTML page"
	case trimmed[0] != '<':
		return "a body that is not XML"
	}
	return ""
}

// mdPrintableASCII makes untrusted bytes safe to put in an error message and a
// log line: runs of whitespace become one space, other bytes outside
// printable ASCII become '?'.
func mdPrintableASCII(b []byte) string {
	var sb strings.Builder
	space := false
	for _, c := range b {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if !space {
				sb.WriteByte(' ')
			}
			space = true
			continue
		case c > 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			sb.WriteByte('?')
		}
		space = false
	}
	return strings.TrimSpace(sb.String())
}
