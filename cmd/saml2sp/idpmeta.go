package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"

	"github.com/saml2sp/saml2sp"
)

// Every use of the library's metadata parsing and fetching is in this
// file, so that changes to those functions touch the CLI in one place.

// isURL reports whether a metadata source is a URL rather than a file.
func isURL(src string) bool {
	return hasPrefixFold(src, "http://") || hasPrefixFold(src, "https://")
}

// loadIdP reads the IdP an SP trusts as an app does: FetchMetadata for a
// URL (https, or http on this machine), ParseMetadata for a file.
func loadIdP(ctx context.Context, src string) (*saml2sp.IdentityProvider, error) {
	if isURL(src) {
		return saml2sp.FetchMetadata(ctx, nil, src)
	}
	data, err := readMetadataFile(src)
	if err != nil {
		return nil, err
	}
	return saml2sp.ParseMetadata(data)
}

// readMetadataFile reads a metadata file, up to the library's bound.
func readMetadataFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte more than the bound, so that the library reports the size.
	return io.ReadAll(io.LimitReader(f, saml2sp.MaxMetadataSize+1))
}

// metadataDocument is a metadata document as metadata check sees it.
type metadataDocument struct {
	// data is the document; nil when it could not be read or fetched.
	data []byte
	// fetchErr is FetchMetadata's error for a URL (nil: it accepted the
	// IdP).
	fetchErr error
}

// readMetadataDocument reads a metadata file, or fetches a URL with
// FetchMetadata (its rules on https, redirects and size apply) while
// keeping the body it read, so that what is checked is exactly what the
// library fetched.
func readMetadataDocument(ctx context.Context, src string) (*metadataDocument, error) {
	if !isURL(src) {
		data, err := readMetadataFile(src)
		if err != nil {
			return nil, err
		}
		return &metadataDocument{data: data}, nil
	}
	tee := &teeTransport{base: http.DefaultTransport}
	client := &http.Client{Timeout: saml2sp.DefaultMetadataTimeout, Transport: tee}
	_, err := saml2sp.FetchMetadata(ctx, client, src)
	doc := &metadataDocument{fetchErr: err}
	if tee.complete && tee.status >= 200 && tee.status <= 299 && tee.body.Len() <= saml2sp.MaxMetadataSize {
		doc.data = tee.body.Bytes()
	}
	if doc.data == nil && err != nil {
		return nil, err
	}
	return doc, nil
}

// parseMetadataEntities is the library's view of every IdP in a document.
func parseMetadataEntities(data []byte) ([]*saml2sp.IdentityProvider, error) {
	return saml2sp.ParseMetadataEntities(data)
}

// teeTransport keeps a copy of the last response body read through it
// (up to one byte over the metadata bound).
type teeTransport struct {
	base     http.RoundTripper
	status   int
	body     bytes.Buffer
	complete bool // the body was read to its end
}

func (t *teeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.status, t.complete = resp.StatusCode, false
	t.body.Reset()
	resp.Body = &teeBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

type teeBody struct {
	io.ReadCloser
	t *teeTransport
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := saml2sp.MaxMetadataSize + 1 - b.t.body.Len(); room > 0 {
		b.t.body.Write(p[:min(n, room)])
	}
	if err == io.EOF {
		b.t.complete = true
	}
	return n, err
}
