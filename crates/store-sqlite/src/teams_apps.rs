//! SQL for the Teams app catalogue (apps and their definitions) and apps installed in chats.

use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_domain::StoreError;
use switchboard_domain::chat_messages::NewMessage;
use switchboard_domain::store::{ListQuery, Page};
use switchboard_domain::teams_apps::{
    DefinitionRecord, INSTALLATION_SCHEMA, InstallationRecord, InstalledApp,
    ResourceSpecificPermission, TEAMS_APP_SCHEMA, TeamsAppRecord, event_in,
};
use switchboard_odata::sql::SqlValue;

use crate::internal;
use crate::query::{self, Collection};

const APP_COLUMNS: &str =
    "a.id, a.tenant_id, a.external_id, a.display_name, a.distribution_method, a.created_ms";

fn app_row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<TeamsAppRecord> {
    Ok(TeamsAppRecord {
        id: r.get(o)?,
        tenant_id: r.get(o + 1)?,
        external_id: r.get(o + 2)?,
        display_name: r.get(o + 3)?,
        distribution_method: r.get(o + 4)?,
        created_ms: r.get(o + 5)?,
    })
}

const DEFINITION_COLUMNS: &str = "d.id, d.teams_app_id, d.version, d.display_name, d.short_description, d.description, \
    d.publishing_state, d.created_by, d.created_ms, d.modified_ms, d.azure_ad_app_id, d.required_permissions";

fn permissions(text: Option<String>) -> Vec<ResourceSpecificPermission> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn permissions_text(p: &[ResourceSpecificPermission]) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "[]".into())
}

fn definition_row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<DefinitionRecord> {
    Ok(DefinitionRecord {
        id: r.get(o)?,
        teams_app_id: r.get(o + 1)?,
        version: r.get(o + 2)?,
        display_name: r.get(o + 3)?,
        short_description: r.get(o + 4)?,
        description: r.get(o + 5)?,
        publishing_state: r.get(o + 6)?,
        created_by: r
            .get::<_, Option<String>>(o + 7)?
            .and_then(|t| serde_json::from_str(&t).ok()),
        created_ms: r.get(o + 8)?,
        modified_ms: r.get(o + 9)?,
        azure_ad_app_id: r.get(o + 10)?,
        required_permissions: permissions(r.get(o + 11)?),
    })
}

/// Installation columns, then [`APP_COLUMNS`], then [`DEFINITION_COLUMNS`].
const INSTALLED_COLUMNS: &str = "v.id, v.chat_id, v.teams_app_id, v.definition_id, v.bound_chat_id, v.permissions, v.created_ms, \
    a.id, a.tenant_id, a.external_id, a.display_name, a.distribution_method, a.created_ms, \
    d.id, d.teams_app_id, d.version, d.display_name, d.short_description, d.description, \
    d.publishing_state, d.created_by, d.created_ms, d.modified_ms, d.azure_ad_app_id, d.required_permissions";

const INSTALLED_FROM: &str = "chat_installed_app_view AS v JOIN teams_apps AS a ON a.id = v.teams_app_id \
    JOIN teams_app_definitions AS d ON d.id = v.definition_id";

fn installed_row(r: &Row<'_>) -> rusqlite::Result<InstalledApp> {
    Ok(InstalledApp {
        installation: InstallationRecord {
            id: r.get(0)?,
            chat_id: r.get(1)?,
            teams_app_id: r.get(2)?,
            definition_id: r.get(3)?,
            bound_chat_id: r.get(4)?,
            permissions: permissions(r.get(5)?),
            created_ms: r.get(6)?,
        },
        app: app_row_at(r, 7)?,
        definition: definition_row_at(r, 13)?,
    })
}

pub fn list_apps(
    c: &Connection,
    tenant_id: &str,
    q: &ListQuery<'_>,
) -> Result<Page<TeamsAppRecord>, StoreError> {
    let collection = Collection {
        schema: &TEAMS_APP_SCHEMA,
        from: "teams_apps AS a",
        alias: "a",
        columns: APP_COLUMNS,
        base_where: "a.tenant_id = ?1",
        base_params: vec![SqlValue::Text(tenant_id.to_string())],
    };
    query::page(c, &collection, q, |r| app_row_at(r, 0))
}

pub fn app(
    c: &Connection,
    tenant_id: &str,
    app_id: &str,
) -> Result<Option<TeamsAppRecord>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {APP_COLUMNS} FROM teams_apps AS a WHERE a.id = ?1 AND a.tenant_id = ?2"
    ))
    .map_err(internal)?
    .query_row(params![app_id, tenant_id], |r| app_row_at(r, 0))
    .optional()
    .map_err(internal)
}

pub fn definitions(
    c: &Connection,
    app_ids: &[String],
) -> Result<Vec<DefinitionRecord>, StoreError> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {DEFINITION_COLUMNS} FROM teams_app_definitions AS d WHERE d.teams_app_id = ?1 ORDER BY d.created_ms, d.id"
        ))
        .map_err(internal)?;
    let mut out = Vec::new();
    for id in app_ids {
        let rows = stmt
            .query_map(params![id], |r| definition_row_at(r, 0))
            .map_err(internal)?;
        for row in rows {
            out.push(row.map_err(internal)?);
        }
    }
    Ok(out)
}

fn insert_definition(c: &Connection, d: &DefinitionRecord) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO teams_app_definitions (id, teams_app_id, version, display_name, short_description, description,
            publishing_state, created_by, created_ms, modified_ms, azure_ad_app_id, required_permissions)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .map_err(internal)?
    .execute(params![
        d.id,
        d.teams_app_id,
        d.version,
        d.display_name,
        d.short_description,
        d.description,
        d.publishing_state,
        d.created_by.as_ref().map(|v| v.to_string()),
        d.created_ms,
        d.modified_ms,
        d.azure_ad_app_id,
        permissions_text(&d.required_permissions)
    ])
    .map_err(internal)?;
    Ok(())
}

pub fn insert_app(
    c: &Connection,
    a: &TeamsAppRecord,
    d: &DefinitionRecord,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO teams_apps (id, tenant_id, external_id, display_name, distribution_method, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(internal)?
    .execute(params![a.id, a.tenant_id, a.external_id, a.display_name, a.distribution_method, a.created_ms])
    .map_err(internal)?;
    insert_definition(c, d)
}

pub fn add_definition(
    c: &Connection,
    tenant_id: &str,
    d: &DefinitionRecord,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached("UPDATE teams_apps SET display_name = ?3 WHERE id = ?1 AND tenant_id = ?2")
        .map_err(internal)?
        .execute(params![d.teams_app_id, tenant_id, d.display_name])
        .map_err(internal)?;
    if n == 0 {
        return Ok(false);
    }
    insert_definition(c, d)?;
    Ok(true)
}

pub fn delete_app(
    c: &Connection,
    tenant_id: &str,
    app_id: &str,
    event: &NewMessage,
) -> Result<bool, StoreError> {
    if app(c, tenant_id, app_id)?.is_none() {
        return Ok(false);
    }
    let chats: Vec<String> = c
        .prepare_cached(
            "SELECT chat_id FROM chat_installed_apps WHERE teams_app_id = ?1 ORDER BY chat_id",
        )
        .map_err(internal)?
        .query_map(params![app_id], |r| r.get(0))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    for chat in &chats {
        crate::chat_messages::insert(c, &event_in(event, chat))?;
    }
    for sql in [
        "DELETE FROM chat_installed_apps WHERE teams_app_id = ?1",
        "DELETE FROM teams_app_definitions WHERE teams_app_id = ?1",
        "DELETE FROM teams_apps WHERE id = ?1",
    ] {
        c.prepare_cached(sql)
            .map_err(internal)?
            .execute(params![app_id])
            .map_err(internal)?;
    }
    Ok(true)
}

pub fn list_installed(
    c: &Connection,
    chat_id: &str,
    q: &ListQuery<'_>,
) -> Result<Page<InstalledApp>, StoreError> {
    let collection = Collection {
        schema: &INSTALLATION_SCHEMA,
        from: INSTALLED_FROM,
        alias: "v",
        columns: INSTALLED_COLUMNS,
        base_where: "v.chat_id = ?1",
        base_params: vec![SqlValue::Text(chat_id.to_string())],
    };
    query::page(c, &collection, q, installed_row)
}

pub fn installed(
    c: &Connection,
    chat_id: &str,
    installation_id: &str,
) -> Result<Option<InstalledApp>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {INSTALLED_COLUMNS} FROM {INSTALLED_FROM} WHERE v.id = ?1 AND v.chat_id = ?2"
    ))
    .map_err(internal)?
    .query_row(params![installation_id, chat_id], installed_row)
    .optional()
    .map_err(internal)
}

pub fn install(
    c: &Connection,
    i: &InstallationRecord,
    event: &NewMessage,
) -> Result<bool, StoreError> {
    // The app may have left the catalogue since the domain read it.
    let exists: Option<i64> = c
        .prepare_cached("SELECT 1 FROM teams_app_definitions WHERE id = ?1 AND teams_app_id = ?2")
        .map_err(internal)?
        .query_row(params![i.definition_id, i.teams_app_id], |r| r.get(0))
        .optional()
        .map_err(internal)?;
    if exists.is_none() {
        return Ok(false);
    }
    c.prepare_cached(
        "INSERT INTO chat_installed_apps (id, chat_id, teams_app_id, definition_id, bound_chat_id, permissions, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(internal)?
    .execute(params![i.id, i.chat_id, i.teams_app_id, i.definition_id, i.bound_chat_id, permissions_text(&i.permissions), i.created_ms])
    .map_err(internal)?;
    crate::chat_messages::insert(c, event)?;
    Ok(true)
}

pub fn upgrade(
    c: &Connection,
    chat_id: &str,
    installation_id: &str,
    definition_id: &str,
    permissions: Option<&[ResourceSpecificPermission]>,
    event: Option<&NewMessage>,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE chat_installed_apps SET definition_id = ?3, permissions = coalesce(?4, permissions) WHERE id = ?1 AND chat_id = ?2",
        )
        .map_err(internal)?
        .execute(params![installation_id, chat_id, definition_id, permissions.map(permissions_text)])
        .map_err(internal)?;
    if n == 0 {
        return Ok(false);
    }
    if let Some(event) = event {
        crate::chat_messages::insert(c, event)?;
    }
    Ok(true)
}

pub fn remove(
    c: &Connection,
    chat_id: &str,
    installation_id: &str,
    event: &NewMessage,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached("DELETE FROM chat_installed_apps WHERE id = ?1 AND chat_id = ?2")
        .map_err(internal)?
        .execute(params![installation_id, chat_id])
        .map_err(internal)?;
    if n == 0 {
        return Ok(false);
    }
    crate::chat_messages::insert(c, event)?;
    Ok(true)
}

pub fn bind(
    c: &Connection,
    chat_id: &str,
    installation_id: &str,
    bound: Option<&str>,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE chat_installed_apps SET bound_chat_id = ?3 WHERE id = ?1 AND chat_id = ?2",
        )
        .map_err(internal)?
        .execute(params![installation_id, chat_id, bound])
        .map_err(internal)?;
    Ok(n > 0)
}
