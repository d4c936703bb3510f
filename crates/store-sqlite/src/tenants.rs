//! SQL for tenants, application registrations and signing keys.

use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_domain::StoreError;
use switchboard_domain::applications::APPLICATION_SCHEMA;
use switchboard_domain::store::{ListQuery, Page};
use switchboard_domain::tenants::{Application, Grant, GrantKind, Redeemed, SigningKey, Tenant};
use switchboard_odata::sql::SqlValue;

use crate::internal;
use crate::query::{self, Collection};

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn from_json<T: serde::de::DeserializeOwned>(text: String) -> rusqlite::Result<T> {
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn tenant_row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        display_name: r.get(1)?,
        domain: r.get(2)?,
        created_ms: r.get(3)?,
    })
}

pub fn insert_tenant(c: &Connection, t: &Tenant) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO tenants (id, display_name, domain, created_ms) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(internal)?
    .execute(params![t.id, t.display_name, t.domain, t.created_ms])
    .map_err(internal)?;
    Ok(())
}

pub fn all_tenants(c: &Connection) -> Result<Vec<Tenant>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT id, display_name, domain, created_ms FROM tenants ORDER BY created_ms, id",
        )
        .map_err(internal)?;
    stmt.query_map([], tenant_row)
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)
}

pub fn tenant(c: &Connection, key: &str) -> Result<Option<Tenant>, StoreError> {
    c.prepare_cached(
        "SELECT id, display_name, domain, created_ms FROM tenants WHERE id = ?1 OR domain = ?1 COLLATE NOCASE",
    )
    .map_err(internal)?
    .query_row(params![key.to_ascii_lowercase()], tenant_row)
    .optional()
    .map_err(internal)
}

const APP_COLUMNS: &str = "tenant_id, client_id, object_id, display_name, secrets, app_roles, delegated_scopes, redirect_uris, created_ms, \
    spa_redirect_uris, public_client_redirect_uris";
/// The same columns, qualified for collection queries (`applications AS a`).
const APP_COLUMNS_QUALIFIED: &str = "a.tenant_id, a.client_id, a.object_id, a.display_name, a.secrets, a.app_roles, a.delegated_scopes, \
    a.redirect_uris, a.created_ms, a.spa_redirect_uris, a.public_client_redirect_uris";

fn app_row(r: &Row<'_>) -> rusqlite::Result<Application> {
    Ok(Application {
        tenant_id: r.get(0)?,
        client_id: r.get(1)?,
        object_id: r.get(2)?,
        display_name: r.get(3)?,
        secrets: from_json(r.get(4)?)?,
        app_roles: from_json(r.get(5)?)?,
        delegated_scopes: from_json(r.get(6)?)?,
        redirect_uris: from_json(r.get(7)?)?,
        created_ms: r.get(8)?,
        spa_redirect_uris: from_json(r.get(9)?)?,
        public_client_redirect_uris: from_json(r.get(10)?)?,
    })
}

pub fn insert_application(c: &Connection, a: &Application) -> Result<(), StoreError> {
    c.prepare_cached(&format!("INSERT INTO applications ({APP_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"))
        .map_err(internal)?
        .execute(params![
            a.tenant_id,
            a.client_id,
            a.object_id,
            a.display_name,
            json(&a.secrets),
            json(&a.app_roles),
            json(&a.delegated_scopes),
            json(&a.redirect_uris),
            a.created_ms,
            json(&a.spa_redirect_uris),
            json(&a.public_client_redirect_uris)
        ])
        .map_err(internal)?;
    Ok(())
}

pub fn update_application(c: &Connection, a: &Application) -> Result<(), StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE applications SET display_name = ?3, secrets = ?4, app_roles = ?5, delegated_scopes = ?6, redirect_uris = ?7,
                spa_redirect_uris = ?8, public_client_redirect_uris = ?9
             WHERE tenant_id = ?1 AND client_id = ?2",
        )
        .map_err(internal)?
        .execute(params![
            a.tenant_id,
            a.client_id,
            a.display_name,
            json(&a.secrets),
            json(&a.app_roles),
            json(&a.delegated_scopes),
            json(&a.redirect_uris),
            json(&a.spa_redirect_uris),
            json(&a.public_client_redirect_uris)
        ])
        .map_err(internal)?;
    if n == 0 {
        return Err(StoreError::Internal(format!(
            "no application {}",
            a.client_id
        )));
    }
    Ok(())
}

pub fn application(
    c: &Connection,
    tenant_id: &str,
    client_id: &str,
) -> Result<Option<Application>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE tenant_id = ?1 AND client_id = ?2"
    ))
    .map_err(internal)?
    .query_row(params![tenant_id, client_id.to_ascii_lowercase()], app_row)
    .optional()
    .map_err(internal)
}

pub fn signing_keys(c: &Connection) -> Result<Vec<SigningKey>, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT kid, private_pkcs8, created_ms, activate_ms, retire_ms FROM signing_keys ORDER BY created_ms, kid")
        .map_err(internal)?;
    stmt.query_map([], |r| {
        Ok(SigningKey {
            kid: r.get(0)?,
            private_pkcs8: r.get(1)?,
            created_ms: r.get(2)?,
            activate_ms: r.get(3)?,
            retire_ms: r.get(4)?,
        })
    })
    .map_err(internal)?
    .collect::<Result<_, _>>()
    .map_err(internal)
}

pub fn insert_signing_key(c: &Connection, k: &SigningKey) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO signing_keys (kid, private_pkcs8, created_ms, activate_ms, retire_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(internal)?
    .execute(params![k.kid, k.private_pkcs8, k.created_ms, k.activate_ms, k.retire_ms])
    .map_err(internal)?;
    Ok(())
}

/// A page of a tenant's applications (`GET /applications`).
pub fn list_applications(
    c: &Connection,
    tenant_id: &str,
    q: &ListQuery<'_>,
) -> Result<Page<Application>, StoreError> {
    let collection = Collection {
        schema: &APPLICATION_SCHEMA,
        from: "applications AS a",
        alias: "a",
        columns: APP_COLUMNS_QUALIFIED,
        base_where: "a.tenant_id = ?1",
        base_params: vec![SqlValue::Text(tenant_id.to_string())],
    };
    query::page(c, &collection, q, app_row)
}

pub fn delete_application(
    c: &Connection,
    tenant_id: &str,
    client_id: &str,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached("DELETE FROM applications WHERE tenant_id = ?1 AND client_id = ?2")
        .map_err(internal)?
        .execute(params![tenant_id, client_id.to_ascii_lowercase()])
        .map_err(internal)?;
    Ok(n > 0)
}

pub fn set_signing_key_retire(
    c: &Connection,
    kid: &str,
    retire_ms: Option<i64>,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached("UPDATE signing_keys SET retire_ms = ?2 WHERE kid = ?1")
        .map_err(internal)?
        .execute(params![kid, retire_ms])
        .map_err(internal)?;
    Ok(n > 0)
}

pub fn applications(c: &Connection, tenant_id: &str) -> Result<Vec<Application>, StoreError> {
    let mut stmt = c
        .prepare_cached(&format!("SELECT {APP_COLUMNS} FROM applications WHERE tenant_id = ?1 ORDER BY created_ms, client_id"))
        .map_err(internal)?;
    stmt.query_map(params![tenant_id], app_row)
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)
}

pub fn insert_grant(c: &Connection, g: &Grant) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO auth_grants (id_hash, kind, tenant_id, client_id, user_id, scopes, redirect_uri, code_challenge,
            code_challenge_method, nonce, family, created_ms, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .map_err(internal)?
    .execute(params![
        g.id_hash,
        g.kind.as_str(),
        g.tenant_id,
        g.client_id,
        g.user_id,
        g.scopes,
        g.redirect_uri,
        g.code_challenge,
        g.code_challenge_method,
        g.nonce,
        g.family,
        g.created_ms,
        g.expires_ms
    ])
    .map_err(internal)?;
    // Housekeeping rides along with writes: spent or expired grants older than a day go.
    c.prepare_cached("DELETE FROM auth_grants WHERE expires_ms < ?1")
        .map_err(internal)?
        .execute(params![g.created_ms - 24 * 3600 * 1000])
        .map_err(internal)?;
    Ok(())
}

pub fn redeem_grant(
    c: &Connection,
    kind: GrantKind,
    id_hash: &str,
    now: i64,
) -> Result<Redeemed, StoreError> {
    let found = c
        .prepare_cached(
            "SELECT id_hash, tenant_id, client_id, user_id, scopes, redirect_uri, code_challenge, code_challenge_method,
                nonce, family, created_ms, expires_ms, used_ms, revoked
             FROM auth_grants WHERE id_hash = ?1 AND kind = ?2",
        )
        .map_err(internal)?
        .query_row(params![id_hash, kind.as_str()], |r| {
            Ok((
                Grant {
                    id_hash: r.get(0)?,
                    kind,
                    tenant_id: r.get(1)?,
                    client_id: r.get(2)?,
                    user_id: r.get(3)?,
                    scopes: r.get(4)?,
                    redirect_uri: r.get(5)?,
                    code_challenge: r.get(6)?,
                    code_challenge_method: r.get(7)?,
                    nonce: r.get(8)?,
                    family: r.get(9)?,
                    created_ms: r.get(10)?,
                    expires_ms: r.get(11)?,
                },
                r.get::<_, Option<i64>>(12)?,
                r.get::<_, bool>(13)?,
            ))
        })
        .optional()
        .map_err(internal)?;
    let Some((grant, used, revoked)) = found else {
        return Ok(Redeemed::Unknown);
    };
    if used.is_some() || revoked {
        // A spent grant presented again means it leaked: revoke everything issued from it.
        c.prepare_cached("UPDATE auth_grants SET revoked = 1 WHERE family = ?1")
            .map_err(internal)?
            .execute(params![grant.family])
            .map_err(internal)?;
        return Ok(Redeemed::Reused);
    }
    if grant.expires_ms <= now {
        return Ok(Redeemed::Expired);
    }
    c.prepare_cached("UPDATE auth_grants SET used_ms = ?2 WHERE id_hash = ?1")
        .map_err(internal)?
        .execute(params![id_hash, now])
        .map_err(internal)?;
    Ok(Redeemed::Granted(grant))
}
