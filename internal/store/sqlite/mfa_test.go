package sqlite_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestMFAConformance(t *testing.T) {
	storetest.RunMFA(t, func(t *testing.T) storetest.MFAStore { return mustOpen(t) })
}
