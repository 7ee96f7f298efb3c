package oidc

import "testing"

func TestCheckBackchannelURI(t *testing.T) {
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://rp.example/bcl", true},
		{"https://rp.example/bcl?tenant=1", true},
		{"http://127.0.0.1:8080/bcl", true},
		{"http://[::1]/bcl", true},
		{"http://rp.example/bcl", false},
		{"http://localhost/bcl", false},
		{"https://rp.example/bcl#frag", false},
		{"https://user:pw@rp.example/bcl", false},
		{"/bcl", false},
		{"ftp://rp.example/bcl", false},
	} {
		if err := CheckBackchannelURI(tc.uri); (err == nil) != tc.ok {
			t.Errorf("CheckBackchannelURI(%q) = %v, want ok %v", tc.uri, err, tc.ok)
		}
	}
	sp := ClientSpec{Name: "x", Type: Public, RedirectURIs: []string{"https://rp.example/cb"}, BackchannelLogoutURI: "http://rp.example/bcl"}
	if sp.validate() == nil {
		t.Fatal("a client with an http back-channel URI was accepted")
	}
}
