package sqlite_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/outbox/outboxtest"
)

func TestOutboxConformance(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) outbox.Store { return mustOpen(t) })
}
