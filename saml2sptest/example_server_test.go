package saml2sptest_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// A development IdP over HTTP beside the app, for the app's tests or for
// clicking through the flows by hand (the example app runs one): the IdP
// knows the SP's endpoints, the SP trusts the IdP's metadata. Here the
// default user alice logs in, SP-initiated, as a browser would: the IdP's
// pages are forms, submitted here with a cookie-jar client (a browser's
// JavaScript submits the auto-posting one). Never use it in production:
// anyone can sign in to it as anyone.
func ExampleNewServer() {
	idpServer := httptest.NewUnstartedServer(nil)
	defer idpServer.Close()
	appServer := httptest.NewUnstartedServer(nil)
	defer appServer.Close()

	ep, err := saml2sp.EndpointsAt("http://" + appServer.Listener.Addr().String() + "/saml/")
	if err != nil {
		log.Fatal(err)
	}
	// The IdP answers the SPs registered with it; nil users means
	// DefaultUsers (alice, bob, carol).
	idp, err := saml2sptest.NewServer("http://"+idpServer.Listener.Addr().String()+"/idp/", nil,
		saml2sptest.DevSP{EntityID: ep.EntityID, ACSURL: ep.ACSURL, SLOURL: ep.SLOURL})
	if err != nil {
		log.Fatal(err)
	}
	idpServer.Config.Handler = idp.Handler()
	idpServer.Start()

	// The app under test trusts the IdP through its metadata URL (plain
	// http is accepted from a loopback address only).
	trusted, err := saml2sp.FetchMetadata(context.Background(), http.DefaultClient, idp.MetadataURL())
	if err != nil {
		log.Fatal(err)
	}
	cfg := saml2sp.Config{IdP: trusted}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			fmt.Println("OnLogin:", l.Assertion.NameID, l.Assertion.Attribute("groups"))
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnLogout: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Logout) error { return nil },
		CurrentSubject: func(r *http.Request) (saml2sp.LogoutSubject, bool) {
			return saml2sp.LogoutSubject{}, false
		},
	}))
	mux.HandleFunc("/reports", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the reports page")
	})
	appServer.Config.Handler = mux
	appServer.Start()

	jar, err := cookiejar.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	browser := &http.Client{Jar: jar}

	// The app's login start redirects to the IdP's login page.
	page := devPage(browser.Get(ep.LoginURL + "?return_to=/reports"))
	var users []string
	for _, m := range devUsers.FindAllStringSubmatch(page.body, -1) {
		users = append(users, m[1])
	}
	fmt.Println("IdP login page, a button for each of", users)
	// Alice's button. The IdP answers with a form that posts the Response
	// to the app's ACS, which starts her session and sends her on.
	action, fields := page.form()
	fields.Set("username", "alice")
	page = devPage(browser.PostForm(action, fields))
	action, fields = page.form()
	fmt.Println("the IdP posts a SAMLResponse to the ACS:", action == ep.ACSURL && fields.Has("SAMLResponse"))
	page = devPage(browser.PostForm(action, fields))
	fmt.Println("the browser lands on", page.url.Path+":", page.body)
	// Output:
	// IdP login page, a button for each of [alice bob carol]
	// the IdP posts a SAMLResponse to the ACS: true
	// OnLogin: alice@example.com [engineering Dogs & cats]
	// the browser lands on /reports: the reports page
}

// A page as the browser got it.
type devBrowserPage struct {
	url  *url.URL
	body string
}

// devPage reads a response's page.
func devPage(res *http.Response, err error) devBrowserPage {
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		log.Fatal(err)
	}
	return devBrowserPage{url: res.Request.URL, body: string(b)}
}

var (
	devUsers       = regexp.MustCompile(`value="([^"]+)">Sign in as`)
	devFormAction  = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	devHiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// form returns the absolute action and the hidden fields of the page's
// form.
func (p devBrowserPage) form() (string, url.Values) {
	m := devFormAction.FindStringSubmatch(p.body)
	if m == nil {
		log.Fatalf("no form in %s", p.body)
	}
	action, err := p.url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		log.Fatal(err)
	}
	fields := url.Values{}
	for _, h := range devHiddenField.FindAllStringSubmatch(p.body, -1) {
		fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return action.String(), fields
}
