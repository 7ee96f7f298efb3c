package sqlite_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestLegacyConformance(t *testing.T) {
	storetest.RunLegacy(t, func(t *testing.T) storetest.LegacyStore { return mustOpen(t) })
}
