package verify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRequireACRAndAuthAge(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	claims := func(acr string, auth time.Time) *Claims {
		raw, _ := json.Marshal(map[string]any{"acr": acr})
		return &Claims{AuthTime: auth, Raw: raw}
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name      string
		h         http.Handler
		c         *Claims
		status    int
		challenge string
	}{
		{"acr matches", RequireACR("urn:gatehouse:acr:mfa", "urn:gatehouse:acr:phr")(ok), claims("urn:gatehouse:acr:phr", now), 204, ""},
		{"acr too weak", RequireACR("urn:gatehouse:acr:mfa")(ok), claims("urn:gatehouse:acr:pwd", now), 401, `acr_values="urn:gatehouse:acr:mfa"`},
		{"no acr", RequireACR("urn:gatehouse:acr:mfa")(ok), &Claims{}, 401, "insufficient_user_authentication"},
		{"no claims", RequireACR("x")(ok), nil, 401, "insufficient_user_authentication"},
		{"recent", requireAuthAge(10*time.Minute, func() time.Time { return now })(ok), claims("", now.Add(-9*time.Minute)), 204, ""},
		{"too old", requireAuthAge(10*time.Minute, func() time.Time { return now })(ok), claims("", now.Add(-11*time.Minute)), 401, "max_age=600"},
		{"no auth_time", requireAuthAge(10*time.Minute, func() time.Time { return now })(ok), claims("", time.Time{}), 401, "max_age=600"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.c != nil {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, tc.c))
			}
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			h := w.Header().Get("WWW-Authenticate")
			if tc.challenge != "" && (!strings.Contains(h, tc.challenge) || !strings.Contains(h, `error="insufficient_user_authentication"`)) {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", h, tc.challenge)
			}
		})
	}
}
