package outboxtest

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
)

func TestMemory(t *testing.T) {
	Run(t, func(*testing.T) outbox.Store { return NewMemory() })
}
