package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/outbox/outboxtest"
	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestOutboxConformance(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) outbox.Store { return mustOpen(t) })
}

func TestOutboxPurge(t *testing.T) {
	storetest.RunOutboxPurge(t, func(t *testing.T) storetest.OutboxPurgeStore { return mustOpen(t) })
}
