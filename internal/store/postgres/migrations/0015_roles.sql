-- Roles (internal/roles): named sets of scopes, assigned to users by an administrator.
-- scopes is space-separated. sessions.requested_scope is what a first-party sign-in asked
-- for; each access token gets the part of it the user's roles grant at that time.
CREATE TABLE roles (
    name       TEXT COLLATE "C" PRIMARY KEY,
    scopes     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE user_roles (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT COLLATE "C" NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles(role);
ALTER TABLE sessions ADD COLUMN requested_scope TEXT NOT NULL DEFAULT '';
