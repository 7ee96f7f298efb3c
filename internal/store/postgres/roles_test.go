package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestRolesConformance(t *testing.T) {
	storetest.RunRoles(t, func(t *testing.T) storetest.RoleStore { return mustOpen(t) })
}
