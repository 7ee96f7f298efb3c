package audit

// Event types of the cross-domain handoff (docs/cross-domain.md). API, like the others: never
// rename one.
const (
	HandoffStarted   = "handoff.started"
	HandoffCompleted = "handoff.completed"
	HandoffRefused   = "handoff.refused"
)
