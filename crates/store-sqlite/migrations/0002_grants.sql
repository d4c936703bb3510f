-- Authorization codes and refresh tokens. Only a SHA-256 of each opaque value is stored, so a
-- leaked database does not leak usable grants.

CREATE TABLE auth_grants (
    id_hash                TEXT PRIMARY KEY,
    kind                   TEXT NOT NULL,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    client_id              TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    scopes                 TEXT NOT NULL,
    redirect_uri           TEXT,
    code_challenge         TEXT,
    code_challenge_method  TEXT,
    nonce                  TEXT,
    family                 TEXT NOT NULL,
    created_ms             INTEGER NOT NULL,
    expires_ms             INTEGER NOT NULL,
    used_ms                INTEGER,
    revoked                INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX auth_grants_family ON auth_grants (family);
CREATE INDEX auth_grants_expiry ON auth_grants (expires_ms);
