package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestAccountTokensConformance(t *testing.T) {
	storetest.RunAccountTokens(t, func(t *testing.T) storetest.AccountTokenStore { return mustOpen(t) })
}
