-- Accounts: users, their roles in workspaces, sessions, invitations, and the audit log.
-- Keep in step with ../sqlite/0005_accounts.sql.

CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,      -- lowercased
    name           TEXT NOT NULL DEFAULT '',
    password_hash  TEXT,                      -- argon2id PHC string; NULL: signs in with GitHub only
    github_id      BIGINT UNIQUE,
    github_login   TEXT,
    created_at     BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

-- Server-side sessions. The cookie holds a random value; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash       TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE invitations (
    id            TEXT COLLATE "C" PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    token_hash    TEXT NOT NULL UNIQUE,
    created_by    TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    accepted_at   BIGINT,
    accepted_by   TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX invitations_workspace ON invitations(workspace_id);

-- Tokens act with a role; tokens made by the CLI (the operator) belong to no user.
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'editor', 'viewer'));
ALTER TABLE api_tokens ADD COLUMN user_id TEXT REFERENCES users(id) ON DELETE CASCADE;

-- Who did what, when, from where. workspace_id NULL: an account event (sign-in, sign-up).
CREATE TABLE audit_log (
    id            TEXT COLLATE "C" PRIMARY KEY,
    workspace_id  TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id       TEXT REFERENCES users(id) ON DELETE SET NULL,
    actor         TEXT NOT NULL,              -- 'user:ID', 'token:ID', 'cli', 'system'
    action        TEXT NOT NULL,              -- e.g. 'card.approve'
    target        TEXT,
    detail        TEXT NOT NULL DEFAULT '{}',
    ip            TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log(workspace_id, id);
CREATE INDEX audit_log_user ON audit_log(user_id);
