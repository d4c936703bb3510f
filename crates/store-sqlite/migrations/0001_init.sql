-- Tenants, application registrations, signing keys and the user directory.
-- Instants are UTC epoch milliseconds (INTEGER); lists are JSON arrays (TEXT).

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    domain        TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX tenants_domain ON tenants (domain COLLATE NOCASE);

CREATE TABLE applications (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    client_id         TEXT NOT NULL,
    object_id         TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    secrets           TEXT NOT NULL,
    app_roles         TEXT NOT NULL,
    delegated_scopes  TEXT NOT NULL,
    redirect_uris     TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
) STRICT;

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    private_pkcs8  BLOB NOT NULL,
    created_ms     INTEGER NOT NULL,
    activate_ms    INTEGER NOT NULL,
    retire_ms      INTEGER
) STRICT;

CREATE TABLE users (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    display_name           TEXT NOT NULL,
    user_principal_name    TEXT NOT NULL,
    mail                   TEXT,
    given_name             TEXT,
    surname                TEXT,
    job_title              TEXT,
    business_phones        TEXT NOT NULL DEFAULT '[]',
    mobile_phone           TEXT,
    office_location        TEXT,
    preferred_language     TEXT,
    account_enabled        INTEGER NOT NULL,
    mail_nickname          TEXT NOT NULL,
    password_hash          TEXT,
    force_change_password  INTEGER NOT NULL,
    created_ms             INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_upn ON users (tenant_id, user_principal_name COLLATE NOCASE);
CREATE INDEX users_tenant_id ON users (tenant_id, id);
CREATE INDEX users_display_name ON users (tenant_id, display_name, id);
