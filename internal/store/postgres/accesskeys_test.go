package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestAccessKeysConformance(t *testing.T) {
	storetest.RunAccessKeys(t, func(t *testing.T) storetest.AccessKeyStore { return mustOpen(t) })
}
