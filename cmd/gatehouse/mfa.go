package main

import (
	"crypto/hkdf"
	"crypto/sha256"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis"
)

// wireMFA enables second factors on acc: TOTP seeds sealed under the KEK, mfa_tokens in the
// store, accepted codes remembered in Redis when configured (every instance sees them at
// once; a Redis outage then fails TOTP sign-ins closed) or else in the store's one-time
// code table, and the per-user attempt limit and adaptive signals in the rate-limit buckets
// (shared through Redis).
func wireMFA(cfg Config, acc *accounts.Service, db storage, rc *redis.Client, buckets ratelimit.Store, kek []byte, now func() time.Time) error {
	attempts, err := mfa.NewAttempts(buckets, nil, now)
	if err != nil {
		return err
	}
	var used mfa.UsedCodes = db
	if rc != nil {
		used = rc
	}
	issuer := "Gatehouse"
	if u, err := url.Parse(cfg.Issuer); err == nil && u.Hostname() != "" {
		issuer = u.Hostname() // the name authenticator apps show; never with a port (':')
	}
	totp, err := mfa.New(mfa.Config{Issuer: issuer, KEK: kek}, db, used, attempts, now)
	if err != nil {
		return err
	}
	deviceKey, err := hkdf.Key(sha256.New, kek, nil, "gatehouse device cookie v1", 32)
	if err != nil {
		return err
	}
	return acc.WithMFA(accounts.MFAConfig{Policy: cfg.MFA, TOTP: totp, Challenges: mfa.NewChallenges(db, now),
		Signals: buckets, DeviceKey: deviceKey})
}
