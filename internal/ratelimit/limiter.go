package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// Names of the limits, reported in Decision.Limit. They are API (audit reasons and metrics
// labels are built from them): never rename one.
const (
	LimitIP        = "ip"         // sign-in attempts from one client IP, any account
	LimitAccountIP = "account_ip" // sign-in attempts on one account from one IP (lockout)
	LimitAccount   = "account"    // sign-in attempts on one account from IPs it does not know (lockout)
	LimitSignup    = "signup"     // sign-ups from one client IP
	LimitSignupAll = "signup_all" // sign-ups from everywhere (the global cap)
)

// Limits lists every limit name, for metrics.
var Limits = []string{LimitIP, LimitAccountIP, LimitAccount, LimitSignup, LimitSignupAll}

// Policy is the set of limits on the sign-in paths. Zero fields take the values of
// DefaultPolicy.
//
// The scheme, and why an attacker cannot use it to lock a user out for good:
//
//   - Every sign-in attempt takes a token from PerIP first; a refused attempt stops there, so
//     one IP cannot drain anybody's account buckets faster than PerIP allows. This bounds
//     credential stuffing from one address and the password-hashing work it costs us.
//   - Every attempt then takes a token from each PerAccountIP tier of (account, IP). The
//     tiers refill ever more slowly, so a guesser on one IP is slowed progressively (with the
//     defaults: 5 guesses, then one a minute, then one every 10 minutes, then one an hour).
//     These buckets belong to one IP: a guesser elsewhere does not touch the user's own.
//   - Attempts from an IP the account has not signed in from within KnownFor also take a
//     token from PerAccount, shared by all IPs. It caps a guesser who spreads over many IPs
//     (a botnet) to PerAccount.Burst guesses and then one every PerAccount.Per, however many
//     addresses he has. Because IPs the user has signed in from recently skip this bucket,
//     draining it does not lock the user out on their usual networks; it delays only sign-ins
//     from new networks while the attack lasts. A later device-cookie scheme can widen
//     "known" beyond the IP.
//   - A successful sign-in refills the account's tiers for that IP and makes the IP known.
//
// An attempt is charged to the account's buckets when its password is about to be checked,
// not when it fails, so concurrent guesses waiting for the password hasher cannot slip past
// a check whose failures are not counted yet: the caller first checks (CheckLogin: the
// per-IP token and a look at the account buckets), then waits for a hashing slot, and only
// with the slot in hand charges the account (ChargeLogin) and hashes. An attempt turned away
// before its password was checked (the hasher was saturated, the store failed) therefore
// costs the account nothing: a user who retries after a 503 does not lock themselves out.
// The price is that a successful sign-in from an unknown IP spends one PerAccount token.
type Policy struct {
	// PerIP limits sign-in attempts from one client IP, whatever the account.
	PerIP Limit
	// PerAccountIP are the lockout tiers of one (account, IP) pair, fastest first: an attempt
	// needs a token in every tier.
	PerAccountIP []Limit
	// PerAccount limits attempts on one account from IPs that are not known for it.
	PerAccount Limit
	// KnownFor is how long a successful sign-in makes its IP known for the account, exempt
	// from PerAccount. Negative disables the exemption: every IP is subject to PerAccount.
	KnownFor time.Duration
	// Signup limits sign-ups from one client IP.
	Signup Limit
	// SignupAll limits sign-ups from all IPs together, so that sign-ups spread over many
	// addresses (a botnet creating accounts) cannot outrun it.
	SignupAll Limit
}

// DefaultPolicy returns the default limits:
//
//   - PerIP 20, then 1 per 3 s (1,200 attempts an hour): room for a busy NAT, little for a
//     credential-stuffing run, and a trickle of hashing work next to the ~70 hashes a second
//     two cores do.
//   - PerAccountIP 5 then 1/min; 10 then 1/10 min; 20 then 1/h. A user who mistypes waits a
//     minute; one IP gets about 44 guesses on an account in its first day, then 24 a day.
//   - PerAccount 50, then 1 per 5 min: a botnet gets 50 guesses on an account, then 12 an
//     hour (about 290 a day) whatever its size.
//   - KnownFor 30 days.
//   - Signup 10, then 1 per 5 min (12 an hour) from one IP.
//   - SignupAll 60, then 2 a second (7,200 an hour) from everywhere.
func DefaultPolicy() Policy {
	return Policy{
		PerIP: Limit{Burst: 20, Per: 3 * time.Second},
		PerAccountIP: []Limit{
			{Burst: 5, Per: time.Minute},
			{Burst: 10, Per: 10 * time.Minute},
			{Burst: 20, Per: time.Hour},
		},
		PerAccount: Limit{Burst: 50, Per: 5 * time.Minute},
		KnownFor:   30 * 24 * time.Hour,
		Signup:     Limit{Burst: 10, Per: 5 * time.Minute},
		SignupAll:  Limit{Burst: 60, Per: 500 * time.Millisecond},
	}
}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.PerIP == (Limit{}) {
		p.PerIP = d.PerIP
	}
	if p.PerAccountIP == nil {
		p.PerAccountIP = d.PerAccountIP
	}
	if p.PerAccount == (Limit{}) {
		p.PerAccount = d.PerAccount
	}
	if p.KnownFor == 0 {
		p.KnownFor = d.KnownFor
	}
	if p.Signup == (Limit{}) {
		p.Signup = d.Signup
	}
	if p.SignupAll == (Limit{}) {
		p.SignupAll = d.SignupAll
	}
	return p
}

// Validate returns every problem of p (after defaults are applied), joined.
func (p Policy) Validate() error {
	p = p.withDefaults()
	var errs []error
	check := func(name string, l Limit) {
		if err := l.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	check("per_ip", p.PerIP)
	if len(p.PerAccountIP) == 0 {
		errs = append(errs, errors.New("per_account_ip: want at least one tier"))
	}
	for i, l := range p.PerAccountIP {
		check(fmt.Sprintf("per_account_ip[%d]", i), l)
	}
	check("per_account", p.PerAccount)
	check("signup", p.Signup)
	check("signup_all", p.SignupAll)
	if p.KnownFor > maxWindow {
		errs = append(errs, fmt.Errorf("known_for %s: above %s", p.KnownFor, maxWindow))
	}
	return errors.Join(errs...)
}

// Decision is the answer to a rate-limit check.
type Decision struct {
	// Allowed reports whether the attempt may go ahead.
	Allowed bool
	// Locked reports that an account bucket refused the attempt (LimitAccountIP or
	// LimitAccount): the caller records audit.UserLocked rather than a plain rate limit.
	Locked bool
	// Limit names the limit that refused the attempt (LimitIP, ...), or for an allowed
	// attempt with LockoutStarts the bucket it emptied; otherwise empty when Allowed. When
	// several refused, it is the one that frees last.
	Limit string
	// RetryAfter is how long until the attempt would be allowed; zero when Allowed.
	RetryAfter time.Duration
	// Known reports (CheckLogin) that the client IP signed in to the account within
	// Policy.KnownFor: a sign-in that is likely the owner's, which the caller may admit to
	// the password hasher ahead of others; pass it on to ChargeLogin.
	Known bool
	// LockoutStarts reports (ChargeLogin) that this attempt took the last token of an
	// account bucket: if it fails, the next attempts are refused, and the caller records
	// the one audit.UserLocked event of this lockout.
	LockoutStarts bool
}

// Limiter applies a Policy to the sign-in and sign-up paths. Its methods are safe for
// concurrent use.
//
// Buckets are keyed by the client IP as given (pass BucketKey of ClientIP) and by the
// account, which the caller normalizes (users.NormalizeEmail) and the Limiter hashes: keys
// in a shared store carry no e-mail addresses. Keys exist for unknown accounts exactly as for
// real ones, so limits tell nothing about which accounts exist.
//
// Every Store error is returned as is, with a Decision that does not allow: the caller fails
// closed (503 temporarily_unavailable), never lets an attempt through unmetered.
type Limiter struct {
	store Store
	p     Policy
	known Limit // the one-token bucket that marks an IP known; see markKnown
	now   func() time.Time

	refused [5]atomic.Uint64 // per entry of Limits
}

// NewLimiter returns a Limiter applying p (zero fields defaulted) over store. now is the
// clock (time.Now in production).
func NewLimiter(store Store, p Policy, now func() time.Time) (*Limiter, error) {
	if store == nil || now == nil {
		return nil, errors.New("ratelimit: NewLimiter needs a store and a clock")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	l := &Limiter{store: store, p: p, now: now}
	if p.KnownFor > 0 {
		l.known = Limit{Burst: 1, Per: p.KnownFor}
	}
	return l, nil
}

// Policy returns the effective policy (defaults applied).
func (l *Limiter) Policy() Policy { return l.p }

// Key prefixes, one per kind of bucket. A Redis store adds its own namespace in front.
const (
	prefixIP        = "ip:"
	prefixAccountIP = "aip" // + tier number + ":"
	prefixAccount   = "acct:"
	prefixKnown     = "known:"
	prefixSignup    = "signup:"
	keySignupAll    = "signupall:*"
)

// accountID is the account as it appears in keys: 128 bits of SHA-256 in hex.
func accountID(account string) string {
	sum := sha256.Sum256([]byte(account))
	return hex.EncodeToString(sum[:16])
}

type bucket struct {
	key   string
	limit Limit
	name  string // LimitAccountIP or LimitAccount
}

// CheckLogin decides whether a sign-in attempt on account from ip may go on to the password
// check. It charges the per-IP bucket and looks at the account's buckets without charging
// them. Call it before waiting for the password hasher; once a hashing slot is held, charge
// the account with ChargeLogin (passing Decision.Known), then report the outcome with
// LoginSucceeded or LoginFailed.
func (l *Limiter) CheckLogin(ctx context.Context, ip, account string) (Decision, error) {
	now := l.now()
	r, err := l.store.Allow(ctx, prefixIP+ip, l.p.PerIP, now)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: per-ip bucket: %w", err)
	}
	if !r.Allowed {
		return l.refuse(Decision{Limit: LimitIP, RetryAfter: r.RetryAfter}), nil
	}
	id := accountID(account)
	known, err := l.isKnown(ctx, id, ip, now)
	if err != nil {
		return Decision{}, err
	}
	// Looking at every bucket before any is charged means an attempt refused by a slow tier
	// does not also spend a token of a fast one.
	d, err := l.locked(ctx, l.accountBuckets(id, ip, known), now, l.store.Peek)
	if err != nil {
		return Decision{}, err
	}
	d.Known = known
	if !d.Allowed {
		return l.refuse(d), nil
	}
	return d, nil
}

// ChargeLogin charges a sign-in attempt to the account's buckets (see Policy); known is
// CheckLogin's Decision.Known. Call it when the password will certainly be checked (the
// hashing slot is held), and not at all when it will not. A concurrent attempt may have
// taken the last token since CheckLogin looked: the charge is then refused (and the tokens
// already taken stay spent, the strict side), and the password must not be checked.
func (l *Limiter) ChargeLogin(ctx context.Context, ip, account string, known bool) (Decision, error) {
	now := l.now()
	buckets := l.accountBuckets(accountID(account), ip, known)
	d := Decision{Allowed: true, Known: known}
	for _, b := range buckets {
		r, err := l.store.Allow(ctx, b.key, b.limit, now)
		if err != nil {
			return Decision{}, fmt.Errorf("ratelimit: %s bucket: %w", b.name, err)
		}
		switch {
		case !r.Allowed && (d.Allowed || r.RetryAfter > d.RetryAfter):
			d = Decision{Locked: true, Limit: b.name, RetryAfter: r.RetryAfter, Known: known}
		case r.Allowed && r.Remaining == 0 && d.Allowed:
			d.LockoutStarts, d.Limit = true, b.name
		}
	}
	if !d.Allowed {
		return l.refuse(d), nil
	}
	return d, nil
}

func (l *Limiter) accountBuckets(id, ip string, known bool) []bucket {
	buckets := make([]bucket, 0, len(l.p.PerAccountIP)+1)
	for i, lim := range l.p.PerAccountIP {
		buckets = append(buckets, bucket{key: tierKey(i, id, ip), limit: lim, name: LimitAccountIP})
	}
	if !known {
		buckets = append(buckets, bucket{key: prefixAccount + id, limit: l.p.PerAccount, name: LimitAccount})
	}
	return buckets
}

// refuse counts a refusal by d.Limit and returns d.
func (l *Limiter) refuse(d Decision) Decision {
	for i, name := range Limits {
		if name == d.Limit {
			l.refused[i].Add(1)
		}
	}
	return d
}

// Refused returns how many attempts the named limit (one of Limits) has refused since the
// Limiter was made: a monotonic counter, for a Prometheus counter per limit. Refusals are
// counted, not audited one by one (see accounts).
func (l *Limiter) Refused(limit string) uint64 {
	for i, name := range Limits {
		if name == limit {
			return l.refused[i].Load()
		}
	}
	return 0
}

// locked applies op (Peek or Allow) to every bucket and returns a refusal naming the bucket
// that frees last, if any refused.
func (l *Limiter) locked(ctx context.Context, buckets []bucket, now time.Time,
	op func(context.Context, string, Limit, time.Time) (Result, error)) (Decision, error) {
	d := Decision{Allowed: true}
	for _, b := range buckets {
		r, err := op(ctx, b.key, b.limit, now)
		if err != nil {
			return Decision{}, fmt.Errorf("ratelimit: %s bucket: %w", b.name, err)
		}
		if !r.Allowed && (d.Allowed || r.RetryAfter > d.RetryAfter) {
			d = Decision{Locked: true, Limit: b.name, RetryAfter: r.RetryAfter}
		}
	}
	return d, nil
}

// LoginFailed records that an attempt charged by ChargeLogin failed (wrong password, unknown
// account, disabled user). ChargeLogin already charged the attempt to every bucket, so
// nothing more is taken and the store is not touched: a failure costs exactly one token per
// bucket. Callers still report every outcome, so that the charging point can move without
// changing them.
func (l *Limiter) LoginFailed(ctx context.Context, ip, account string) error {
	return nil
}

// LoginSucceeded records a successful sign-in: it refills the account's tiers for ip and
// makes ip known for the account for Policy.KnownFor. The PerAccount token the attempt spent
// is not returned (GCRA has no refund); a user signing in from a known IP spends none.
//
// If the store has no room to remember the IP (ErrFull), the sign-in stands and the IP
// simply stays unknown, which is the strict side.
func (l *Limiter) LoginSucceeded(ctx context.Context, ip, account string) error {
	id := accountID(account)
	for i := range l.p.PerAccountIP {
		if err := l.store.Reset(ctx, tierKey(i, id, ip)); err != nil {
			return fmt.Errorf("ratelimit: reset account_ip bucket: %w", err)
		}
	}
	if err := l.markKnown(ctx, id, ip); err != nil && !errors.Is(err, ErrFull) {
		return fmt.Errorf("ratelimit: mark ip known: %w", err)
	}
	return nil
}

// CheckSignup decides whether a sign-up from ip may go ahead, and charges it: first to the
// IP's bucket, then to the global one (so that one IP's refused attempts do not drain the
// global cap).
func (l *Limiter) CheckSignup(ctx context.Context, ip string) (Decision, error) {
	now := l.now()
	r, err := l.store.Allow(ctx, prefixSignup+ip, l.p.Signup, now)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: signup bucket: %w", err)
	}
	if !r.Allowed {
		return l.refuse(Decision{Limit: LimitSignup, RetryAfter: r.RetryAfter}), nil
	}
	if r, err = l.store.Allow(ctx, keySignupAll, l.p.SignupAll, now); err != nil {
		return Decision{}, fmt.Errorf("ratelimit: global signup bucket: %w", err)
	}
	if !r.Allowed {
		return l.refuse(Decision{Limit: LimitSignupAll, RetryAfter: r.RetryAfter}), nil
	}
	return Decision{Allowed: true}, nil
}

func tierKey(tier int, id, ip string) string {
	return prefixAccountIP + strconv.Itoa(tier+1) + ":" + id + ":" + ip
}

// A known IP is stored as a bucket of one token per KnownFor that a successful sign-in
// empties: the IP is known while that bucket is empty. Expressing the marker as a bucket
// keeps Store at three operations that one GCRA script implements, and gives the marker
// its expiry for free.

func (l *Limiter) isKnown(ctx context.Context, id, ip string, now time.Time) (bool, error) {
	if l.known == (Limit{}) {
		return false, nil
	}
	r, err := l.store.Peek(ctx, prefixKnown+id+":"+ip, l.known, now)
	if err != nil {
		return false, fmt.Errorf("ratelimit: known-ip marker: %w", err)
	}
	return !r.Allowed, nil
}

// markKnown (re)starts the marker: reset, then take its one token, so that every success
// extends it to a full KnownFor.
func (l *Limiter) markKnown(ctx context.Context, id, ip string) error {
	if l.known == (Limit{}) {
		return nil
	}
	key := prefixKnown + id + ":" + ip
	if err := l.store.Reset(ctx, key); err != nil {
		return err
	}
	_, err := l.store.Allow(ctx, key, l.known, l.now())
	return err
}
