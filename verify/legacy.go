package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
)

// LegacyIssuer describes a second issuer whose tokens are accepted during a migration (for
// example the Auth0 tenant users are moving away from). Its tokens are verified with its own
// keys, issuer and audience, and marked Claims.Legacy.
type LegacyIssuer struct {
	Issuer   string // exact "iss"
	JWKSURL  string // its key set
	Audience string // required "aud"
	// Typ is the header type its access tokens carry; default "JWT" (what Auth0 and most
	// providers use; Gatehouse's own tokens are "at+jwt").
	Typ string
}

// WithAdditionalIssuer accepts tokens of a legacy issuer too (the dual-validation phase of a
// migration). Revocation of its tokens works by jti only: they name no Gatehouse session.
func WithAdditionalIssuer(l LegacyIssuer) Option {
	return func(o *options) { o.legacy = append(o.legacy, l) }
}

type legacyIssuer struct {
	cfg  LegacyIssuer
	keys *keySet
}

// verifyLegacy verifies t as a token of one of the legacy issuers, chosen by its (not yet
// trusted) "iss": the issuer's own keys and checks then decide.
func (v *Verifier) verifyLegacy(ctx context.Context, t *jws.Token, now time.Time) (*Claims, bool, error) {
	for _, l := range v.legacy {
		if t.Claims.Issuer != l.cfg.Issuer {
			continue
		}
		key, ok := l.keys.Key(t.Header.Kid)
		if !ok {
			l.keys.refreshUnknown(ctx)
			if key, ok = l.keys.Key(t.Header.Kid); !ok {
				return nil, true, ErrUnknownKey
			}
		}
		if err := t.Verify(key); err != nil {
			return nil, true, mapErr(err)
		}
		if err := jws.Validate(t, jws.Expected{Issuer: l.cfg.Issuer, Audience: l.cfg.Audience, Typ: l.cfg.Typ, Now: now, Leeway: v.opt.leeway}); err != nil {
			return nil, true, mapErr(err)
		}
		c, err := claimsOf(t)
		if err != nil {
			return nil, true, err
		}
		c.Legacy = true
		return c, true, nil
	}
	return nil, false, nil
}

// VerifySession checks an opaque Gatehouse session token (the __Host-gh_session cookie that
// services on the same site receive) by introspection, with the credential given to
// WithRevocationFeed. Answers are cached for a few seconds, and the revocation feed is honoured
// on cached answers too.
func (v *Verifier) VerifySession(ctx context.Context, token string) (*Claims, error) {
	if v.opt.feedCred == "" {
		return nil, errors.New("verify: VerifySession needs a credential (WithRevocationFeed)")
	}
	if token == "" || len(token) > 512 || strings.ContainsAny(token, " \t\r\n") {
		return nil, ErrMalformed
	}
	now := v.opt.now()
	key := sha256.Sum256([]byte("session\x00" + token))
	v.sessMu.Lock()
	e, ok := v.sessions[key]
	v.sessMu.Unlock()
	if !ok || now.Sub(e.at) >= sessionCacheTTL {
		c, err := v.introspect(ctx, token, now)
		if err != nil {
			return nil, err
		}
		e = sessionEntry{claims: c, at: now}
		v.sessMu.Lock()
		if len(v.sessions) >= v.opt.cacheSize {
			clear(v.sessions)
		}
		v.sessions[key] = e
		v.sessMu.Unlock()
	}
	if e.claims == nil {
		return nil, ErrRevoked // introspection said inactive
	}
	if now.After(e.claims.Expiry) {
		return nil, ErrExpired
	}
	return e.claims, v.checkRevoked(e.claims, now)
}

// sessionCacheTTL bounds how long an introspection answer is reused.
const sessionCacheTTL = 5 * time.Second

type sessionEntry struct {
	claims *Claims // nil: inactive
	at     time.Time
}

func (v *Verifier) introspect(ctx context.Context, token string, now time.Time) (*Claims, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", v.issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+v.opt.feedCred)
	res, err := v.opt.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return nil, errors.New("verify: introspection answered " + res.Status)
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(io.LimitReader(res.Body, 1<<16)); err != nil {
		return nil, err
	}
	var r struct {
		Active    bool   `json:"active"`
		TokenType string `json:"token_type"`
		Sub       string `json:"sub"`
		SID       string `json:"sid"`
		Exp       int64  `json:"exp"`
		ClientID  string `json:"client_id"`
	}
	if err := json.Unmarshal(body.Bytes(), &r); err != nil {
		return nil, err
	}
	if !r.Active || r.TokenType != "session" {
		return nil, nil
	}
	return &Claims{Issuer: v.issuer, Subject: r.Sub, SessionID: r.SID, ClientID: r.ClientID, Expiry: time.Unix(r.Exp, 0)}, nil
}
