package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxSkew is the clock difference between this machine and the database or Redis above which
// doctor complains: token lifetimes, refresh grace and rate limits all read clocks, and the
// verifiers' leeway is 30 s.
const maxSkew = 5 * time.Second

// doctor checks what a deployment needs and prints one line per check, "ok" or "FAIL" with
// what is wrong; it exits non-zero when anything failed. It changes nothing (the embedded
// store is opened as the server would, which applies pending SQLite migrations).
func doctor(ctx context.Context, e runEnv) error {
	failed := 0
	report := func(name string, err error, ok string) {
		if err != nil {
			failed++
			fmt.Fprintf(e.stdout, "FAIL  %-14s %v\n", name, err)
			return
		}
		fmt.Fprintf(e.stdout, "ok    %-14s %s\n", name, ok)
	}
	cfg, _, err := loadConfig("doctor", append([]string{"--auto-migrate", "false"}, e.args...), e.getenv)
	report("config", err, "every setting is valid")
	if err != nil {
		return errors.New("doctor: configuration is invalid")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := open(ctx, cfg, newLogger(e.stderr, "error"))
	report("store", err, "opened "+storeName(cfg))
	if err != nil {
		return errors.New("doctor: the store cannot be opened")
	}
	defer a.Close()
	report("store write", a.db.Ready(ctx), "a heartbeat row was committed")
	if st, ok := a.db.(interface {
		ServerTime(context.Context) (time.Time, error)
	}); ok {
		report("database clock", skew(ctx, st.ServerTime), "within "+maxSkew.String()+" of this machine")
	}
	if a.redis != nil {
		err := a.redis.Ping(ctx)
		report("redis", err, "answers")
		if err == nil {
			report("redis clock", skew(ctx, a.redis.ServerTime), "within "+maxSkew.String()+" of this machine")
		}
	}
	if list, err := a.keys.List(ctx); err != nil || len(list) > 0 {
		if err == nil {
			_, err = a.keys.Signer(ctx)
		}
		report("signing keys", err, "the key-encryption key opens the active signing key")
		if err == nil {
			report("key rotation", rotationState(ctx, a), "a key is active and its successor is on schedule")
		}
	} else {
		report("signing keys", nil, "none yet: the server creates them when it first starts")
	}
	if failed > 0 {
		return fmt.Errorf("doctor: %d check(s) failed", failed)
	}
	return nil
}

func storeName(cfg Config) string {
	if cfg.DatabaseURL != "" {
		return "PostgreSQL"
	}
	return "SQLite in " + cfg.DataDir
}

func skew(ctx context.Context, serverTime func(context.Context) (time.Time, error)) error {
	t0 := time.Now()
	st, err := serverTime(ctx)
	if err != nil {
		return err
	}
	local := t0.Add(time.Since(t0) / 2)
	if d := st.Sub(local).Abs(); d > maxSkew {
		return fmt.Errorf("clocks differ by %s (at most %s): run NTP on every machine", d.Round(time.Millisecond), maxSkew)
	}
	return nil
}

// rotationState fails when no key is active or the active key is older than the rotation
// period plus a day with no successor published: the periodic maintenance is not running.
func rotationState(ctx context.Context, a *app) error {
	list, err := a.keys.List(ctx)
	if err != nil {
		return err
	}
	var active, next bool
	var activeSince time.Time
	for _, k := range list {
		switch k.State {
		case "active":
			active, activeSince = true, k.ActiveAt
		case "published":
			next = true
		}
	}
	if !active {
		return errors.New("no active signing key")
	}
	if age := time.Since(activeSince); !next && age > time.Duration(a.cfg.KeyRotation)+24*time.Hour {
		return fmt.Errorf("the active key is %s old and no successor is published: is a server running its maintenance?", age.Round(time.Hour))
	}
	return nil
}
