package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestPasskeysConformance(t *testing.T) {
	storetest.RunPasskeys(t, func(t *testing.T) storetest.PasskeyStore { return mustOpen(t) })
}
