package mfa_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/mfa/mfatest"
)

// The fakes keep the contracts the real stores keep, so that the service tests above prove
// something about the real thing.
func TestFakesConform(t *testing.T) {
	mfatest.RunStore(t, func(*testing.T) mfa.Store { return newMemStore() })
	mfatest.RunUsedCodes(t, func(*testing.T) mfa.UsedCodes { return newMemUsed() }, true)
	mfatest.RunChallengeStore(t, func(*testing.T) mfa.ChallengeStore { return newMemChallenges() })
}
