package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestEventRetention(t *testing.T) {
	storetest.RunEventRetention(t, func(t *testing.T) storetest.EventStore { return mustOpen(t) })
}
