package httpapi

import "time"

// SetStreamHeartbeat shortens the revocation stream's heartbeat for tests.
func SetStreamHeartbeat(d time.Duration) (restore func()) {
	old := streamHeartbeat
	streamHeartbeat = d
	return func() { streamHeartbeat = old }
}
