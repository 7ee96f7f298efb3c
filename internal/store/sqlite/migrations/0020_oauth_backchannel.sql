-- OpenID Connect Back-Channel Logout 1.0 (docs/oidc.md): where a client is told that a
-- session it holds has ended, and whether the logout token must carry the sid.
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0;
