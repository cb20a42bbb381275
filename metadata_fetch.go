package saml2sp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultMetadataTimeout bounds FetchMetadata when the caller's context has
// no deadline, and is the timeout of the client it uses when given none.
const DefaultMetadataTimeout = 30 * time.Second

// FetchMetadata downloads an IdP's metadata from metadataURL and parses it
// with ParseMetadata.
//
// client nil means a client with a DefaultMetadataTimeout timeout. If ctx has
// no deadline, DefaultMetadataTimeout applies. The body may be at most
// MaxMetadataSize bytes, or what MetadataMaxSize says. Every error wraps
// ErrMetadata and says what was fetched and what came back: the HTTP status
// and the start of the body for a non-2xx answer, the Content-Type when the
// body is an HTML page or not XML (a login page or a wrong URL, typically).
//
// Unless MetadataSigners is given, trust in the returned certificates rests
// on the transport, since the metadata's own signature is not verified (see
// ParseMetadata): whoever can change the metadata in transit can put in
// their own signing key and sign in as anyone. So the URL must be https.
// Plain http is fetched only from this machine, for development IdPs: the
// host must be "localhost" or a loopback address (127.0.0.0/8, ::1) and the
// connection must really go to a loopback address (a client whose proxy or
// resolver sends it elsewhere is refused), since such traffic never
// crosses a network. Anything else on http needs the InsecureAllowHTTP
// option, or MetadataSigners. Redirects follow the same rule, and are
// refused to schemes other than http and https and from https down to
// http, with or without the options.
//
// metadataURL is fetched as given. Apps that let untrusted users supply it
// (a tenant's admin, in a multi-tenant app) should pass a client whose
// dialer refuses internal addresses: see RefuseInternalAddress.
func FetchMetadata(ctx context.Context, client *http.Client, metadataURL string, opts ...MetadataOption) (*IdentityProvider, error) {
	o := mdOptionsOf(opts)
	resp, err := mdGet(ctx, client, metadataURL, DefaultMetadataTimeout, o, mdValidators{})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	idp, err := mdParseSingle(mdReader(resp.body, o, now), now)
	if err != nil {
		return nil, resp.parseError(err)
	}
	return idp, nil
}

// FetchMetadataEntity is FetchMetadata for one identity provider of a
// document that lists several, such as a federation's aggregate: it parses
// the body with ParseMetadataEntity. An aggregate usually needs
// MetadataMaxSize, and should be verified with MetadataSigners.
func FetchMetadataEntity(ctx context.Context, client *http.Client, metadataURL, entityID string, opts ...MetadataOption) (*IdentityProvider, error) {
	o := mdOptionsOf(opts)
	resp, err := mdGet(ctx, client, metadataURL, DefaultMetadataTimeout, o, mdValidators{})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	idp, err := mdParseEntity(mdReader(resp.body, o, now), entityID, now)
	if err != nil {
		return nil, resp.parseError(err)
	}
	return idp, nil
}

// mdValidators are the HTTP validators of a document fetched before; a
// fetch that sends them may get 304 Not Modified instead of the body.
type mdValidators struct {
	etag, lastModified string
}

// mdResponse is a fetched metadata document.
type mdResponse struct {
	body        []byte
	contentType string
	shown       string // the URL, redacted, and where it redirected to
	validators  mdValidators
	notModified bool // 304: the document fetched before is still current
}

// parseError reports a body that does not parse.
func (r *mdResponse) parseError(err error) error {
	return fmt.Errorf("%w: fetched from %s (Content-Type %q): %w", ErrMetadata, r.shown, r.contentType, err)
}

// mdGet fetches the document at metadataURL with the rules of FetchMetadata,
// within timeout unless ctx has a deadline; with validators, it may come
// back notModified instead.
func mdGet(ctx context.Context, client *http.Client, metadataURL string, timeout time.Duration, o mdOptions, cond mdValidators) (*mdResponse, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	maxSize := o.maxSizeOrDefault()
	u, err := url.Parse(metadataURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: metadata URL %s is not an absolute http or https URL", ErrMetadata, mdQuote(metadataURL))
	}
	shown := u.Redacted()
	anyHTTP := o.insecureHTTP || len(o.signers) > 0
	if u.Scheme == "http" && !anyHTTP && !mdLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%w: metadata URL %s is plain http, so anyone on the network path could swap in their own signing key; "+
			"use https (plain http is fetched only from localhost or a loopback address, unless InsecureAllowHTTP or MetadataSigners is given)", ErrMetadata, shown)
	}
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	var peer *mdPeer
	if !anyHTTP {
		peer = new(mdPeer)
		ctx = httptrace.WithClientTrace(ctx, peer.trace())
	}
	c := *client
	c.CheckRedirect = mdCheckRedirect(client.CheckRedirect, peer)
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
	if cond.etag != "" {
		req.Header.Set("If-None-Match", cond.etag)
	}
	if cond.lastModified != "" {
		req.Header.Set("If-Modified-Since", cond.lastModified)
	}
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
	if err := peer.check(resp.Request.URL); err != nil {
		return nil, fmt.Errorf("%w: fetching %s: %w", ErrMetadata, shown, err)
	}
	out := &mdResponse{contentType: resp.Header.Get("Content-Type"), shown: shown}
	if resp.StatusCode == http.StatusNotModified && cond != (mdValidators{}) {
		out.notModified, out.validators = true, cond
		return out, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		head := make([]byte, 200)
		n, _ := io.ReadFull(resp.Body, head)
		return nil, fmt.Errorf("%w: fetching %s: HTTP status %s (Content-Type %q), body starts %q",
			ErrMetadata, shown, resp.Status, out.contentType, mdPrintableASCII(head[:n]))
	}
	if resp.ContentLength > int64(maxSize) {
		return nil, fmt.Errorf("%w: fetching %s: response body of %d bytes exceeds the %s limit for metadata",
			ErrMetadata, shown, resp.ContentLength, mdSizeText(maxSize))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxSize)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: fetching %s: reading the response body: %w", ErrMetadata, shown, err)
	}
	if len(body) > maxSize {
		return nil, fmt.Errorf("%w: fetching %s: response body exceeds the %s limit for metadata",
			ErrMetadata, shown, mdSizeText(maxSize))
	}
	if what := mdSniffNonMetadata(out.contentType, body); what != "" {
		return nil, fmt.Errorf("%w: fetching %s: got %s (Content-Type %q), not SAML metadata; check the metadata URL (body starts %q)",
			ErrMetadata, shown, what, out.contentType, mdPrintableASCII(body[:min(len(body), 200)]))
	}
	out.body = body
	out.validators = mdValidators{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	return out, nil
}

// mdCheckRedirect refuses redirects to schemes other than http and https,
// from https to http, and, unless peer is nil (InsecureAllowHTTP), to plain
// http off this machine or after a plain http answer that came from
// elsewhere; then it defers to the caller's policy (or Go's default of at
// most 10 redirects).
func mdCheckRedirect(next func(*http.Request, []*http.Request) error, peer *mdPeer) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		insecureHTTP := peer == nil
		if err := peer.check(via[len(via)-1].URL); err != nil {
			return err
		}
		switch prev := via[len(via)-1].URL; {
		case req.URL.Scheme != "http" && req.URL.Scheme != "https":
			return fmt.Errorf("refusing redirect to %s: not an http or https URL", mdQuote(req.URL.Redacted()))
		case prev.Scheme == "https" && req.URL.Scheme == "http":
			return fmt.Errorf("refusing redirect from https to %s: metadata must not be downgraded to plain http", req.URL.Redacted())
		case req.URL.Scheme == "http" && !insecureHTTP && !mdLoopbackHost(req.URL.Hostname()):
			return fmt.Errorf("refusing redirect to plain http %s off this machine (allowed only with InsecureAllowHTTP)", req.URL.Redacted())
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

// mdLoopbackHost reports whether host (without port or brackets) is
// "localhost" or a loopback IP address. Other names ending in .localhost
// are not: Go's resolver may ask DNS for them.
func mdLoopbackHost(host string) bool {
	if equalFoldASCII(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// mdPeer holds plain http to this machine: it records the peer address of
// the connection each request of a fetch used (httptrace's GotConn, which
// net/http's Transport reports, on a reused connection too), and check
// refuses an answer to a plain http request whose connection did not go to
// a loopback address: a name that resolved elsewhere, or a proxy on
// another machine. The requests are GETs that carry nothing secret; what
// is refused is trusting the answer. A Transport that reports no
// connection is refused too (fail closed). Requests of one fetch run one
// after the other, so the last connection is the one that answered.
type mdPeer struct {
	mu   sync.Mutex
	last net.Addr
}

func (p *mdPeer) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.last = info.Conn.RemoteAddr()
	}}
}

// check judges the answer to the request for u, and forgets the peer. A nil
// p (InsecureAllowHTTP) accepts everything.
func (p *mdPeer) check(u *url.URL) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	last := p.last
	p.last = nil
	p.mu.Unlock()
	if u.Scheme != "http" {
		return nil
	}
	if last == nil {
		return errors.New("plain http metadata must come from this machine, but the client's Transport does not report which address it connected to (allowed only with InsecureAllowHTTP)")
	}
	if ap, err := netip.ParseAddrPort(last.String()); err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("plain http metadata must come from this machine, but the connection went to %s, not a loopback address (allowed only with InsecureAllowHTTP)", last)
	}
	return nil
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
