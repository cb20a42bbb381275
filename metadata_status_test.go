package saml2sp

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetadataStatus: an IdP from a MetadataCache reports when its
// document was last fetched, and why a later fetch failed while its
// metadata stays in force; one configured by hand has no status.
func TestMetadataStatus(t *testing.T) {
	srv := newMDMetadataServer(t)
	clock := newMDClock()
	cache := newTestCache(srv, clock, nil)
	doc, _, _, _ := mdTwoIdPs(t)
	srv.set("/md", doc)
	src := MetadataSource{URL: srv.URL + "/md"}
	fetchedAt := clock.Now()
	idp, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)

	st, ok := idp.MetadataStatus()
	require.True(t, ok)
	assert.Equal(t, src.URL, st.URL)
	assert.True(t, st.Checked.Equal(fetchedAt), "checked at the fetch: %v", st.Checked)
	assert.NoError(t, st.Err)
	assert.True(t, st.NextRefresh.After(fetchedAt), "a refresh is due later: %v", st.NextRefresh)

	srv.set("/md", "<not-metadata/>")
	clock.Advance(2 * DefaultMinFetchInterval)
	idp.keyMiss()
	cache.settle(src)
	st, ok = idp.MetadataStatus()
	require.True(t, ok)
	require.Error(t, st.Err, "the failed fetch is reported")
	assert.True(t, st.Checked.Equal(fetchedAt), "the last success stays: %v", st.Checked)
	same, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	assert.Same(t, idp, same, "the metadata in force stays")

	_, ok = (&IdentityProvider{EntityID: "https://idp.example.com"}).MetadataStatus()
	assert.False(t, ok, "pasted metadata or manual fields have no document to report on")
	_, ok = (*IdentityProvider)(nil).MetadataStatus()
	assert.False(t, ok)
}
