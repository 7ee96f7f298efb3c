package sqlite_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestUserImportConformance(t *testing.T) {
	storetest.RunUserImport(t, func(t *testing.T) storetest.UserImportStore { return mustOpen(t) })
}
