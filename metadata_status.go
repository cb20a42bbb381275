package saml2sp

import "time"

// MetadataStatus is the state of the metadata document an IdP was read
// from, for an admin page ("metadata last refreshed at ...").
type MetadataStatus struct {
	// URL of the document.
	URL string
	// Checked is when a fetch last succeeded, a 304 Not Modified
	// included; zero until the first fetch by the MetadataCache or the
	// MetadataRefresher (a refresher that started from metadata the app
	// fetched itself has not fetched yet).
	Checked time.Time
	// Err is why the last fetch failed, nil when it succeeded: the
	// metadata of Checked stays in force meanwhile.
	Err error
	// NextRefresh is when the document is due to be fetched again.
	NextRefresh time.Time
}

// MetadataStatus reports the state of the document idp was read from,
// and false when idp did not come from a MetadataCache or a
// MetadataRefresher (pasted metadata, manual fields, FetchMetadata).
func (idp *IdentityProvider) MetadataStatus() (MetadataStatus, bool) {
	if idp == nil || idp.source == nil {
		return MetadataStatus{}, false
	}
	d := idp.source
	d.mu.Lock()
	defer d.mu.Unlock()
	return MetadataStatus{URL: d.src.URL, Checked: d.checked, Err: d.err, NextRefresh: d.refreshAt}, true
}
