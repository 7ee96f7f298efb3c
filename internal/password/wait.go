package password

import "time"

// WaitObserver receives, for each caller granted a hashing slot, how long it waited from
// asking for the slot to getting it, and its lane: "priority" or "normal" (see Admission).
// Callers shed or timed out are not reported (the queue depth and ErrBusy show those).
type WaitObserver func(lane string, waited time.Duration)

// ObserveWait reports every slot grant to o (nil stops reporting). Safe to call at any time.
func (h *Hasher) ObserveWait(o WaitObserver) {
	if o == nil {
		h.waitObs.Store(nil)
		return
	}
	h.waitObs.Store(&o)
}

func (a Admission) lane() string {
	if a.Priority {
		return "priority"
	}
	return "normal"
}
