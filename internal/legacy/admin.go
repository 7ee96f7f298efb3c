package legacy

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// Actor is who makes an administrative change, for its audit event.
type Actor struct {
	IP        string
	UserAgent string
}

// Create registers a legacy issuer (defaults applied, see Issuer.Normalize).
func (s *Service) Create(ctx context.Context, is *Issuer, a Actor) error {
	if err := is.Normalize(); err != nil {
		return err
	}
	now := s.now()
	is.ID, is.CreatedAt, is.UpdatedAt = secret.NewID(), now, now
	if err := s.store.CreateLegacyIssuer(ctx, is); err != nil {
		return err
	}
	return s.record(ctx, EventIssuerCreated, is.ID, a)
}

// Get returns a legacy issuer by id.
func (s *Service) Get(ctx context.Context, id string) (*Issuer, error) {
	return s.store.LegacyIssuerByID(ctx, id)
}

// List returns every legacy issuer.
func (s *Service) List(ctx context.Context) ([]*Issuer, error) { return s.store.ListLegacyIssuers(ctx) }

// Update replaces the settings of the issuer is.ID (defaults applied). Cached keys of the
// issuer are dropped when its key source or algorithms change.
func (s *Service) Update(ctx context.Context, is *Issuer, a Actor) error {
	old, err := s.store.LegacyIssuerByID(ctx, is.ID)
	if err != nil {
		return err
	}
	if err := is.Normalize(); err != nil {
		return err
	}
	is.CreatedAt, is.UpdatedAt = old.CreatedAt, s.now()
	if err := s.store.UpdateLegacyIssuer(ctx, is); err != nil {
		return err
	}
	if old.Issuer != is.Issuer {
		s.keys.forget(old.Issuer)
	}
	return s.record(ctx, EventIssuerUpdated, is.ID, a)
}

// Delete removes a legacy issuer: its tokens are no longer exchanged. Identities linked to
// it stay (the user_identities rows), so registering it again restores the mapping.
func (s *Service) Delete(ctx context.Context, id string, a Actor) error {
	old, err := s.store.LegacyIssuerByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteLegacyIssuer(ctx, id); err != nil {
		return err
	}
	s.keys.forget(old.Issuer)
	return s.record(ctx, EventIssuerDeleted, id, a)
}

// record writes an admin event; the issuer's id goes in the reason (ids are not secrets).
func (s *Service) record(ctx context.Context, typ, id string, a Actor) error {
	return s.audit.Record(ctx, audit.Event{Type: typ, Actor: "admin", IP: a.IP, UserAgent: a.UserAgent, Outcome: audit.Success, Reason: "legacy_issuer:" + id})
}
