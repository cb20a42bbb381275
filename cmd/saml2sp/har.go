package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
)

// HAR files (HTTP Archive 1.2, as the browsers' developer tools export
// them): only the fields that can carry a SAML message are read.
type harFile struct {
	Log *struct {
		Entries []harEntry `json:"entries"`
	} `json:"log"`
}

type harEntry struct {
	Request struct {
		Method   string       `json:"method"`
		URL      string       `json:"url"`
		PostData *harPostData `json:"postData"`
	} `json:"request"`
	Response struct {
		Status      int        `json:"status"`
		Headers     []harParam `json:"headers"`
		RedirectURL string     `json:"redirectURL"`
	} `json:"response"`
}

type harPostData struct {
	MimeType string     `json:"mimeType"`
	Text     string     `json:"text"`
	Params   []harParam `json:"params"`
}

type harParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// harMessages finds the SAML messages of a HAR file, in the order of its
// entries: in each request's URL (the Redirect binding), in its POST body
// (the POST binding), and in the Location header of its answer (a
// redirect that carries a message). A message seen in a Location header
// and again in the URL of the request that followed it is listed once.
func harMessages(data []byte) ([]*message, error) {
	var har harFile
	if err := json.Unmarshal(data, &har); err != nil {
		return nil, fmt.Errorf("the input starts with '{' but is not a HAR file: %w", err)
	}
	if har.Log == nil {
		return nil, errors.New("the input is JSON without a \"log\" object: not a HAR file")
	}
	var out []*message
	seen := map[string]*message{}
	add := func(msgs []*message) error {
		for _, m := range msgs {
			if m.InURL {
				key := m.Param + "\x00" + m.Value
				if first, dup := seen[key]; dup {
					first.Notes = append(first.Notes, "also in "+m.Source)
					continue
				}
				seen[key] = m
			}
			if len(out) == maxMessages {
				return fmt.Errorf("the HAR file holds more than %d SAML messages", maxMessages)
			}
			out = append(out, m)
		}
		return nil
	}
	for i, e := range har.Log.Entries {
		n := i + 1
		req := fmt.Sprintf("%s %s", e.Request.Method, shortURL(e.Request.URL))
		if u, err := url.Parse(e.Request.URL); err == nil && u.RawQuery != "" {
			msgs, _ := queryMessages(u.RawQuery, fmt.Sprintf("HAR entry %d: %s, query string", n, req), true)
			if err := add(msgs); err != nil {
				return nil, err
			}
		}
		if pd := e.Request.PostData; pd != nil {
			if err := add(postMessages(pd, fmt.Sprintf("HAR entry %d: %s, form body", n, req))); err != nil {
				return nil, err
			}
		}
		if loc := harLocation(e); loc != "" {
			if u, err := url.Parse(loc); err == nil && u.RawQuery != "" {
				src := fmt.Sprintf("HAR entry %d: Location header of the %d answer to %s (to %s)", n, e.Response.Status, req, withoutQuery(u))
				msgs, _ := queryMessages(u.RawQuery, src, true)
				if err := add(msgs); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// postMessages reads the messages of a POST body: its text when it is
// URL-encoded (parsed as the server parses it), else its params.
// Chromium exports params still URL-encoded, other tools decode them: a
// value with a '%' is unescaped (base64 has none).
func postMessages(pd *harPostData, source string) []*message {
	mt, _, _ := mime.ParseMediaType(pd.MimeType)
	if pd.Text != "" && (mt == "application/x-www-form-urlencoded" || mt == "") {
		if msgs, err := queryMessages(pd.Text, source, false); err == nil && len(msgs) > 0 {
			return msgs
		}
	}
	values := url.Values{}
	for _, p := range pd.Params {
		name, value := p.Name, p.Value
		if strings.Contains(name, "%") {
			if v, err := url.QueryUnescape(name); err == nil {
				name = v
			}
		}
		if strings.Contains(value, "%") {
			if v, err := url.QueryUnescape(value); err == nil {
				value = v
			}
		}
		values.Add(name, value)
	}
	return formMessages(values, source, false)
}

// harLocation returns the Location header of an entry's answer, else its
// redirectURL.
func harLocation(e harEntry) string {
	for _, h := range e.Response.Headers {
		if strings.EqualFold(h.Name, "Location") {
			return h.Value
		}
	}
	return e.Response.RedirectURL
}

// shortURL shows a URL without its query string.
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		return raw
	}
	return withoutQuery(u)
}
