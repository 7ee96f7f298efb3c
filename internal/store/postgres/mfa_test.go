package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestMFAConformance(t *testing.T) {
	db := mustOpen(t) // one database for the suites: they name distinct users and keys
	storetest.RunMFA(t, func(t *testing.T) storetest.MFAStore { return db })
}
