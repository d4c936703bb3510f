//! Teams apps: the tenant's app catalogue (`teamsApp` and its `teamsAppDefinition`s, published from
//! a Teams app manifest) and apps installed in chats (`teamsAppInstallation`), with the system
//! event messages that installing, upgrading and removing an app post in the chat, and the
//! installation's `chat` reference (`…/installedApps/{id}/chat/$ref`, see `docs/teams-apps.md`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard_odata::QueryOptions;
use switchboard_odata::schema::{Caps, EntitySchema, Property, PropertyType, Relation};
use switchboard_odata::sql::{SortKey, compile_orderby};

use crate::chat_messages::{self, NewMessage};
use crate::chats::{ChatView, Chats, Owner};
use crate::error::{Error, ErrorKind, Family};
use crate::graph_time::now_ms;
use crate::paging;
use crate::permissions;
use crate::principal::{Principal, PrincipalKind};
use crate::store::{ListQuery, Store, StoreError};

/// `distributionMethod` of apps published to the tenant's own catalogue.
pub const ORGANIZATION: &str = "organization";
/// `publishingState` of a definition that users can install.
pub const PUBLISHED: &str = "published";

/// An app of the tenant's catalogue (`microsoft.graph.teamsApp`).
#[derive(Debug, Clone, PartialEq)]
pub struct TeamsAppRecord {
    /// The catalogue's id (a GUID).
    pub id: String,
    /// The tenant whose catalogue holds it.
    pub tenant_id: String,
    /// `externalId`: the `id` of the app's manifest.
    pub external_id: Option<String>,
    /// `displayName`, from the newest definition.
    pub display_name: String,
    /// `distributionMethod`: `organization`.
    pub distribution_method: String,
    /// When it was published, epoch ms.
    pub created_ms: i64,
}

/// A resource-specific permission (`teamsAppResourceSpecificPermission`): what an app asks for in
/// its manifest, and what an installation was consented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpecificPermission {
    /// `delegated` or `application`.
    pub permission_type: String,
    /// E.g. `ChatMessage.Read.Chat`.
    pub permission_value: String,
}

/// One version of an app (`microsoft.graph.teamsAppDefinition`).
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionRecord {
    /// base64 of `{teamsAppId}##{version}##{PublishingState}`.
    pub id: String,
    /// `teamsAppId`.
    pub teams_app_id: String,
    /// `version` (`MAJOR.MINOR.PATCH`).
    pub version: String,
    /// `displayName` (the manifest's `name.short`).
    pub display_name: String,
    /// `shortDescription` (the manifest's `description.short`).
    pub short_description: Option<String>,
    /// `description` (the manifest's `description.full`).
    pub description: Option<String>,
    /// `publishingState`: `published`.
    pub publishing_state: String,
    /// `createdBy` (an identitySet), as Graph JSON.
    pub created_by: Option<Value>,
    /// When it was published, epoch ms.
    pub created_ms: i64,
    /// `lastModifiedDateTime`, epoch ms.
    pub modified_ms: i64,
    /// `authorization.clientAppId` (beta `azureADAppId`): the manifest's `webApplicationInfo.id`.
    pub azure_ad_app_id: Option<String>,
    /// `authorization.requiredPermissionSet`: the manifest's resource-specific permissions.
    pub required_permissions: Vec<ResourceSpecificPermission>,
}

/// An app installed in a chat, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallationRecord {
    /// base64 of `{chatId}##{teamsAppId}`.
    pub id: String,
    /// The chat it is installed in.
    pub chat_id: String,
    /// The catalogue app.
    pub teams_app_id: String,
    /// The installed definition.
    pub definition_id: String,
    /// The chat its `chat` navigation refers to; the chat it was installed in until rebound,
    /// `None` once unbound.
    pub bound_chat_id: Option<String>,
    /// `consentedPermissionSet.resourceSpecificPermissions`.
    pub permissions: Vec<ResourceSpecificPermission>,
    /// When it was installed, epoch ms.
    pub created_ms: i64,
}

/// An installation with its catalogue app and installed definition.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledApp {
    /// The installation.
    pub installation: InstallationRecord,
    /// Its app.
    pub app: TeamsAppRecord,
    /// Its installed definition.
    pub definition: DefinitionRecord,
}

/// Graph's installation id for an app in a chat.
pub fn installation_id(chat_id: &str, teams_app_id: &str) -> String {
    STANDARD.encode(format!("{chat_id}##{teams_app_id}"))
}

/// Graph's definition id: base64 of `{teamsAppId}##{version}##{PublishingState}`, the state
/// spelled as in the ids Graph hands out (`…##1.0.2##Published`).
pub fn definition_id(teams_app_id: &str, version: &str, publishing_state: &str) -> String {
    let mut state = publishing_state.to_string();
    if let Some(first) = state.get(..1).map(str::to_ascii_uppercase) {
        state.replace_range(..1, &first);
    }
    STANDARD.encode(format!("{teams_app_id}##{version}##{state}"))
}

/// The catalogue: what `$filter`, `$orderby` and `$select` may name on `teamsApps`.
pub static TEAMS_APP_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.teamsApp",
    key_column: "id",
    properties: &[
        app_prop("id", "id", PropertyType::String, false),
        app_prop("externalId", "external_id", PropertyType::String, false),
        app_prop("displayName", "display_name", PropertyType::String, true),
        app_prop(
            "distributionMethod",
            "distribution_method",
            PropertyType::Enum(&["store", "organization", "sideloaded"]),
            false,
        ),
        Property {
            name: "appDefinitions",
            column: "id",
            ty: PropertyType::EntityCollection(&DEFINITIONS_RELATION),
            caps: Caps {
                filter: true,
                ..Caps::NONE
            },
        },
    ],
};

const fn app_prop(
    name: &'static str,
    column: &'static str,
    ty: PropertyType,
    orderby: bool,
) -> Property {
    Property {
        name,
        column,
        ty,
        caps: Caps {
            filter: true,
            orderby,
            select: true,
            search: false,
            case_insensitive: true,
        },
    }
}

static DEFINITIONS_RELATION: Relation = Relation {
    table: "teams_app_definitions",
    parent_column: "id",
    child_column: "teams_app_id",
    schema: &DEFINITION_SCHEMA,
};

/// An app's definitions, for `appDefinitions/any(d: d/version eq '1.0.0')` and `$select` inside
/// `$expand=appDefinitions(…)`.
pub static DEFINITION_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.teamsAppDefinition",
    key_column: "id",
    properties: &[
        def_prop("id", "id", true),
        def_prop("teamsAppId", "teams_app_id", true),
        def_prop("displayName", "display_name", true),
        def_prop("version", "version", true),
        def_prop("publishingState", "publishing_state", true),
        def_prop("shortDescription", "short_description", true),
        def_prop("description", "description", true),
        def_prop("lastModifiedDateTime", "modified_ms", false),
        def_prop("createdBy", "created_by", false),
        def_prop("authorization", "required_permissions", false),
        def_prop("azureADAppId", "azure_ad_app_id", false),
        def_prop("bot", "id", false),
    ],
};

const fn def_prop(name: &'static str, column: &'static str, filter: bool) -> Property {
    Property {
        name,
        column,
        ty: PropertyType::String,
        caps: Caps {
            filter,
            orderby: false,
            select: true,
            search: false,
            case_insensitive: true,
        },
    }
}

/// A chat's installed apps: what `$filter` and `$select` may name (through the view that joins
/// each installation with its app and definition).
pub static INSTALLATION_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.teamsAppInstallation",
    key_column: "id",
    properties: &[
        inst_prop("id", "id", true, true),
        inst_prop("consentedPermissionSet", "permissions", false, true),
        inst_prop("teamsApp/id", "teams_app_id", true, false),
        inst_prop("teamsApp/externalId", "app_external_id", true, false),
        inst_prop("teamsApp/displayName", "app_display_name", true, false),
        inst_prop(
            "teamsApp/distributionMethod",
            "app_distribution_method",
            true,
            false,
        ),
        inst_prop("teamsAppDefinition/id", "definition_id", true, false),
        inst_prop("teamsAppDefinition/teamsAppId", "teams_app_id", true, false),
        inst_prop(
            "teamsAppDefinition/version",
            "definition_version",
            true,
            false,
        ),
        inst_prop(
            "teamsAppDefinition/displayName",
            "definition_display_name",
            true,
            false,
        ),
    ],
};

const fn inst_prop(
    name: &'static str,
    column: &'static str,
    filter: bool,
    select: bool,
) -> Property {
    Property {
        name,
        column,
        ty: PropertyType::String,
        caps: Caps {
            filter,
            orderby: false,
            select,
            search: false,
            case_insensitive: true,
        },
    }
}

/// What publishing an app (or a new version of one) says about it: read from a manifest or from
/// Switchboard's JSON convenience body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppInput {
    /// The manifest's `id` (`externalId`); the JSON body may leave it out (a GUID is made up).
    pub external_id: Option<String>,
    /// The manifest's `name.short`.
    pub display_name: Option<String>,
    /// The manifest's `version`; the JSON body may leave it out (`1.0.0`).
    pub version: Option<String>,
    /// The manifest's `description.short`.
    pub short_description: Option<String>,
    /// The manifest's `description.full`.
    pub description: Option<String>,
    /// The manifest's `webApplicationInfo.id`.
    pub azure_ad_app_id: Option<String>,
    /// The manifest's `authorization.permissions.resourceSpecific`.
    pub required_permissions: Vec<ResourceSpecificPermission>,
}

const TEAMS: Family = Family::Teams;

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request(TEAMS, message)
}

fn conflict(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Conflict, "Conflict", message)
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Forbidden, "Forbidden", message)
}

/// Reads a Teams app manifest (`manifest.json` of an app package): `id`, `version`, `name.short`,
/// `description.short`/`full`, `webApplicationInfo.id` and
/// `authorization.permissions.resourceSpecific`.
pub fn manifest_input(manifest: &Value) -> Result<AppInput, Error> {
    let Value::Object(m) = manifest else {
        return Err(bad("manifest.json must hold a JSON object."));
    };
    let text = |v: Option<&Value>, what: &str| -> Result<Option<String>, Error> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("The manifest's '{what}' must be a string."))),
        }
    };
    let name = m.get("name");
    let description = m.get("description");
    let permissions = match m
        .get("authorization")
        .and_then(|a| a.get("permissions"))
        .and_then(|p| p.get("resourceSpecific"))
    {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let value = text(
                    item.get("name"),
                    "authorization.permissions.resourceSpecific[].name",
                )?;
                let kind = text(
                    item.get("type"),
                    "authorization.permissions.resourceSpecific[].type",
                )?;
                permission(kind.as_deref(), value.as_deref())
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(bad(
                "The manifest's 'authorization.permissions.resourceSpecific' must be an array.",
            ));
        }
    };
    let input = AppInput {
        external_id: text(m.get("id"), "id")?,
        display_name: text(name.and_then(|n| n.get("short")), "name.short")?,
        version: text(m.get("version"), "version")?,
        short_description: text(
            description.and_then(|d| d.get("short")),
            "description.short",
        )?,
        description: text(description.and_then(|d| d.get("full")), "description.full")?,
        azure_ad_app_id: text(
            m.get("webApplicationInfo").and_then(|w| w.get("id")),
            "webApplicationInfo.id",
        )?,
        required_permissions: permissions,
    };
    if input.external_id.is_none() {
        return Err(bad("The manifest has no 'id'."));
    }
    if input.version.is_none() {
        return Err(bad("The manifest has no 'version'."));
    }
    if input.display_name.is_none() {
        return Err(bad("The manifest has no 'name.short'."));
    }
    Ok(input)
}

/// A resource-specific permission from its type and value, the type matched case-insensitively
/// (manifests say `Application`, Graph's docs send `Delegated`).
pub fn permission(
    kind: Option<&str>,
    value: Option<&str>,
) -> Result<ResourceSpecificPermission, Error> {
    let value = value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| bad("Each resource-specific permission needs a value."))?;
    let kind = match kind.map(str::to_ascii_lowercase).as_deref() {
        Some("delegated") => "delegated",
        Some("application") => "application",
        Some(other) => {
            return Err(bad(format!(
                "Invalid permissionType '{other}': expected 'delegated' or 'application'."
            )));
        }
        None => {
            return Err(bad(
                "Each resource-specific permission needs a permissionType.",
            ));
        }
    };
    Ok(ResourceSpecificPermission {
        permission_type: kind.to_string(),
        permission_value: value.to_string(),
    })
}

/// `MAJOR.MINOR.PATCH`, as the Teams manifest schema requires.
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let parts: Vec<&str> = text.split('.').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |s: &str| {
        (!s.is_empty()
            && s.len() <= 9
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0')))
        .then(|| s.parse().ok())
        .flatten()
    };
    Some((num(a)?, num(b)?, num(c)?))
}

/// Checks what a manifest or JSON body says with the Teams manifest schema's rules.
struct Checked {
    external_id: String,
    display_name: String,
    version: String,
    short_description: Option<String>,
    description: Option<String>,
    azure_ad_app_id: Option<String>,
    required_permissions: Vec<ResourceSpecificPermission>,
}

fn check(input: AppInput) -> Result<Checked, Error> {
    let display_name = input
        .display_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("An app needs a display name (the manifest's 'name.short')."))?;
    if display_name.chars().count() > 30 {
        return Err(bad(
            "The app's display name (the manifest's 'name.short') is longer than 30 characters.",
        ));
    }
    let external_id = match input.external_id {
        Some(id) if !id.trim().is_empty() && id.len() <= 64 && !id.contains('/') => id,
        Some(id) => {
            return Err(bad(format!(
                "Invalid externalId (the manifest's 'id') '{id}': 1 to 64 characters, no '/'."
            )));
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let version = input.version.unwrap_or_else(|| "1.0.0".to_string());
    if parse_version(&version).is_none() {
        return Err(bad(format!(
            "Invalid version '{version}': a Teams app version is MAJOR.MINOR.PATCH, e.g. 1.0.0."
        )));
    }
    if input
        .short_description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 80)
    {
        return Err(bad(
            "The short description (the manifest's 'description.short') is longer than 80 characters.",
        ));
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 4000)
    {
        return Err(bad(
            "The description (the manifest's 'description.full') is longer than 4000 characters.",
        ));
    }
    Ok(Checked {
        external_id,
        display_name,
        version,
        short_description: input.short_description,
        description: input.description,
        azure_ad_app_id: input.azure_ad_app_id.filter(|a| !a.is_empty()),
        required_permissions: input.required_permissions,
    })
}

/// Who published a definition (`createdBy`, an identitySet).
fn created_by(caller: &Principal) -> Value {
    match &caller.kind {
        PrincipalKind::User { user_id, .. } => {
            json!({ "application": null, "device": null, "user": { "id": user_id, "displayName": null } })
        }
        PrincipalKind::App { .. } => {
            json!({ "application": { "id": caller.client_id, "displayName": null }, "device": null, "user": null })
        }
    }
}

fn initiator(caller: &Principal) -> Value {
    match &caller.kind {
        PrincipalKind::User { user_id, .. } => {
            chat_messages::initiator(Some((user_id, &caller.tenant_id)), None)
        }
        PrincipalKind::App { .. } => chat_messages::initiator(None, Some((&caller.client_id, ""))),
    }
}

/// The event detail installing, upgrading or removing an app posts (`kind`: `Installed`,
/// `Upgraded`, `Removed`).
fn app_event(kind: &str, app_id: &str, display_name: &str, caller: &Principal) -> Value {
    json!({
        "@odata.type": format!("#microsoft.graph.teamsApp{kind}EventMessageDetail"),
        "teamsAppId": app_id,
        "teamsAppDisplayName": display_name,
        "initiator": initiator(caller),
    })
}

/// One page of the catalogue.
#[derive(Debug, Clone)]
pub struct TeamsAppPage {
    /// The apps.
    pub items: Vec<TeamsAppRecord>,
    /// `@odata.count`, when asked for.
    pub count: Option<u64>,
    /// `$skiptoken` of the next page.
    pub skiptoken: Option<String>,
}

const MAX_PAGE: u64 = 100;

/// The app catalogue's operations (`/appCatalogs/teamsApps`).
pub struct Catalog<'a> {
    /// The store.
    pub store: &'a dyn Store,
}

impl Catalog<'_> {
    /// `GET /appCatalogs/teamsApps`.
    pub async fn list(&self, caller: &Principal, q: &QueryOptions) -> Result<TeamsAppPage, Error> {
        caller.require(&permissions::CATALOG_READ)?;
        if q.skip.is_some() || q.search.is_some() {
            return Err(bad("$skip and $search are not supported on teamsApps."));
        }
        let top = q.top.unwrap_or(MAX_PAGE);
        if top == 0 {
            return Err(bad("$top must be at least 1."));
        }
        let mut order =
            compile_orderby(&q.orderby, &TEAMS_APP_SCHEMA).map_err(|e| bad(e.to_string()))?;
        let mut full = order.clone();
        full.push(SortKey {
            column: TEAMS_APP_SCHEMA.key_column,
            descending: false,
        });
        let after = match &q.skiptoken {
            Some(t) => {
                Some(paging::decode(&full, t).ok_or_else(|| bad("The $skiptoken is invalid."))?)
            }
            None => None,
        };
        let query = ListQuery {
            filter: q.filter.as_ref(),
            search: None,
            order: std::mem::take(&mut order),
            after,
            limit: top.min(MAX_PAGE) as usize,
            count: q.count == Some(true),
        };
        let page = self
            .store
            .teams_apps(&caller.tenant_id, &query)
            .await
            .map_err(|e| Error::from(e).in_family(TEAMS))?;
        Ok(TeamsAppPage {
            skiptoken: page.next.map(|c| paging::encode(&full, &c)),
            count: page.count,
            items: page.items,
        })
    }

    /// `GET /appCatalogs/teamsApps/{id}`.
    pub async fn get(&self, caller: &Principal, app_id: &str) -> Result<TeamsAppRecord, Error> {
        caller.require(&permissions::CATALOG_READ)?;
        self.app(caller, app_id).await
    }

    async fn app(&self, caller: &Principal, app_id: &str) -> Result<TeamsAppRecord, Error> {
        self.store
            .teams_app(&caller.tenant_id, app_id)
            .await?
            .ok_or_else(|| Error::not_found(TEAMS, app_id))
    }

    /// The definitions of several apps (for `$expand=appDefinitions`), oldest first per app.
    pub async fn definitions_of(
        &self,
        apps: &[TeamsAppRecord],
    ) -> Result<Vec<DefinitionRecord>, Error> {
        let ids: Vec<String> = apps.iter().map(|a| a.id.clone()).collect();
        Ok(self.store.app_definitions(&ids).await?)
    }

    /// `GET /appCatalogs/teamsApps/{id}/appDefinitions`.
    pub async fn definitions(
        &self,
        caller: &Principal,
        app_id: &str,
    ) -> Result<Vec<DefinitionRecord>, Error> {
        caller.require(&permissions::CATALOG_READ)?;
        let app = self.app(caller, app_id).await?;
        self.definitions_of(std::slice::from_ref(&app)).await
    }

    /// `GET /appCatalogs/teamsApps/{id}/appDefinitions/{definition-id}`.
    pub async fn definition(
        &self,
        caller: &Principal,
        app_id: &str,
        definition_id: &str,
    ) -> Result<DefinitionRecord, Error> {
        self.definitions(caller, app_id)
            .await?
            .into_iter()
            .find(|d| d.id == definition_id)
            .ok_or_else(|| Error::not_found(TEAMS, definition_id))
    }

    /// `POST /appCatalogs/teamsApps`: publishes an app to the tenant's catalogue.
    pub async fn publish(
        &self,
        caller: &Principal,
        input: AppInput,
    ) -> Result<(TeamsAppRecord, DefinitionRecord), Error> {
        caller.require(&permissions::CATALOG_WRITE)?;
        let c = check(input)?;
        let now = now_ms();
        let app = TeamsAppRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: caller.tenant_id.clone(),
            external_id: Some(c.external_id.clone()),
            display_name: c.display_name.clone(),
            distribution_method: ORGANIZATION.into(),
            created_ms: now,
        };
        let definition = new_definition(caller, &app.id, c, now);
        match self.store.insert_teams_app(&app, &definition).await {
            Ok(()) => Ok((app, definition)),
            Err(StoreError::Conflict(_)) => Err(conflict(format!(
                "An app with externalId '{}' is already in the tenant's app catalogue; publish a new version at /appCatalogs/teamsApps/{{id}}/appDefinitions.",
                app.external_id.unwrap_or_default()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /appCatalogs/teamsApps/{id}/appDefinitions`: publishes a new version of an app. The
    /// manifest's `id` must be the app's `externalId`, its version higher than every published one.
    pub async fn publish_version(
        &self,
        caller: &Principal,
        app_id: &str,
        input: AppInput,
    ) -> Result<DefinitionRecord, Error> {
        caller.require(&permissions::CATALOG_WRITE)?;
        let app = self.app(caller, app_id).await?;
        let external = input.external_id.clone();
        let c = check(AppInput {
            external_id: external.clone().or_else(|| app.external_id.clone()),
            ..input
        })?;
        if app
            .external_id
            .as_deref()
            .is_some_and(|e| !e.eq_ignore_ascii_case(&c.external_id))
        {
            return Err(bad(format!(
                "The manifest's id '{}' is not this app's externalId '{}'.",
                c.external_id,
                app.external_id.unwrap_or_default()
            )));
        }
        let existing = self.definitions_of(std::slice::from_ref(&app)).await?;
        let newest = existing
            .iter()
            .filter_map(|d| parse_version(&d.version))
            .max();
        let wanted = parse_version(&c.version);
        if existing.iter().any(|d| d.version == c.version) {
            return Err(conflict(format!(
                "Version {} of this app is already in the catalogue.",
                c.version
            )));
        }
        if newest.is_some() && wanted <= newest {
            return Err(bad(format!(
                "The new version {} must be higher than the newest published version.",
                c.version
            )));
        }
        let definition = new_definition(caller, &app.id, c, now_ms());
        match self
            .store
            .insert_app_definition(&caller.tenant_id, &definition)
            .await
        {
            Ok(true) => Ok(definition),
            Ok(false) => Err(Error::not_found(TEAMS, app_id)),
            Err(StoreError::Conflict(_)) => Err(conflict(format!(
                "Version {} of this app is already in the catalogue.",
                definition.version
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /appCatalogs/teamsApps/{id}`: removes the app, and with it every installation of
    /// it (each chat gets the `teamsAppRemoved` event), in one transaction.
    pub async fn delete(&self, caller: &Principal, app_id: &str) -> Result<(), Error> {
        caller.require(&permissions::CATALOG_WRITE)?;
        let app = self.app(caller, app_id).await?;
        let detail = app_event("Removed", &app.id, &app.display_name, caller);
        // The chat id is filled in by the store, for each chat the app is installed in.
        let template = chat_messages::system_event("", &caller.tenant_id, detail, now_ms());
        if !self
            .store
            .delete_teams_app(&caller.tenant_id, app_id, &template)
            .await?
        {
            return Err(Error::not_found(TEAMS, app_id));
        }
        Ok(())
    }
}

fn new_definition(caller: &Principal, app_id: &str, c: Checked, now: i64) -> DefinitionRecord {
    DefinitionRecord {
        id: definition_id(app_id, &c.version, PUBLISHED),
        teams_app_id: app_id.to_string(),
        version: c.version,
        display_name: c.display_name,
        short_description: c.short_description,
        description: c.description,
        publishing_state: PUBLISHED.into(),
        created_by: Some(created_by(caller)),
        created_ms: now,
        modified_ms: now,
        azure_ad_app_id: c.azure_ad_app_id,
        required_permissions: c.required_permissions,
    }
}

/// An install request, as read by the HTTP layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallInput {
    /// `teamsApp@odata.bind`: `…/appCatalogs/teamsApps/{id}` or `…/teamsApps('{id}')`.
    pub teams_app_bind: Option<String>,
    /// `consentedPermissionSet.resourceSpecificPermissions`.
    pub permissions: Option<Vec<ResourceSpecificPermission>>,
}

/// One page of a chat's installed apps.
#[derive(Debug, Clone)]
pub struct InstalledAppPage {
    /// The installations.
    pub items: Vec<InstalledApp>,
    /// `@odata.count`, when asked for.
    pub count: Option<u64>,
    /// `$skiptoken` of the next page.
    pub skiptoken: Option<String>,
}

/// The key a navigation URL names after its `segment` segment (`…/chats('key')`,
/// `…/chats(%27key%27)`, `…/chats/key`), absolute or relative, percent-encoded or not; `None`
/// when it names something else (no such segment, no key, or more path after the key).
pub fn navigation_key(url: &str, segment: &str) -> Option<String> {
    let url = url.trim();
    let url = url.split(['?', '#']).next().unwrap_or("");
    let lower = url.to_ascii_lowercase();
    let seg = segment.to_ascii_lowercase();
    let mut found = None;
    let mut from = 0;
    while let Some(i) = lower[from..].find(&seg).map(|i| i + from) {
        let boundary_before = i == 0 || lower.as_bytes()[i - 1] == b'/';
        let next = lower.as_bytes().get(i + seg.len()).copied();
        if boundary_before && matches!(next, Some(b'(') | Some(b'/')) {
            found = Some(i + seg.len());
        }
        from = i + 1;
    }
    let rest = &url[found?..];
    let key = if let Some(inner) = rest.strip_prefix("('").and_then(|r| r.strip_suffix("')")) {
        percent_decode(&inner.replace("''", "'"))
    } else if let Some(inner) = rest
        .strip_prefix("(%27")
        .and_then(|r| r.strip_suffix("%27)"))
    {
        percent_decode(inner).replace("''", "'")
    } else if let Some(inner) = rest.strip_prefix('/') {
        percent_decode(inner.strip_suffix('/').unwrap_or(inner))
    } else {
        return None;
    };
    (!key.is_empty() && !key.contains('/') && !key.contains('\'')).then_some(key)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The apps installed in chats (`/chats/{id}/installedApps`, also under `/me` and `/users/{id}`).
pub struct ChatApps<'a> {
    /// The store.
    pub store: &'a dyn Store,
}

impl ChatApps<'_> {
    fn chats(&self) -> Chats<'_> {
        Chats { store: self.store }
    }

    /// `GET /chats/{id}/installedApps`.
    pub async fn list(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        q: &QueryOptions,
    ) -> Result<InstalledAppPage, Error> {
        caller.require(&permissions::CHAT_APPS_READ)?;
        self.chats().visible(caller, owner, chat_id).await?;
        if q.skip.is_some() || q.search.is_some() || !q.orderby.is_empty() {
            return Err(bad(
                "$skip, $search and $orderby are not supported on installedApps.",
            ));
        }
        let top = q.top.unwrap_or(MAX_PAGE);
        if top == 0 {
            return Err(bad("$top must be at least 1."));
        }
        let full = [SortKey {
            column: INSTALLATION_SCHEMA.key_column,
            descending: false,
        }];
        let after = match &q.skiptoken {
            Some(t) => {
                Some(paging::decode(&full, t).ok_or_else(|| bad("The $skiptoken is invalid."))?)
            }
            None => None,
        };
        let query = ListQuery {
            filter: q.filter.as_ref(),
            search: None,
            order: Vec::new(),
            after,
            limit: top.min(MAX_PAGE) as usize,
            count: q.count == Some(true),
        };
        let page = self
            .store
            .installed_apps(chat_id, &query)
            .await
            .map_err(|e| Error::from(e).in_family(TEAMS))?;
        Ok(InstalledAppPage {
            skiptoken: page.next.map(|c| paging::encode(&full, &c)),
            count: page.count,
            items: page.items,
        })
    }

    async fn find(&self, chat_id: &str, installation: &str) -> Result<InstalledApp, Error> {
        self.store
            .installed_app(chat_id, installation)
            .await?
            .ok_or_else(|| Error::not_found(TEAMS, installation))
    }

    /// `GET /chats/{id}/installedApps/{installation-id}`.
    pub async fn get(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        installation: &str,
    ) -> Result<InstalledApp, Error> {
        caller.require(&permissions::CHAT_APPS_READ)?;
        self.chats().visible(caller, owner, chat_id).await?;
        self.find(chat_id, installation).await
    }

    /// `POST /chats/{id}/installedApps`: installs the newest published definition of a catalogue
    /// app and posts `teamsAppInstalled` in the chat.
    pub async fn install(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        input: InstallInput,
    ) -> Result<InstalledApp, Error> {
        caller.require(&permissions::CHAT_APPS_WRITE)?;
        self.chats().visible(caller, owner, chat_id).await?;
        let bind = input
            .teams_app_bind
            .as_deref()
            .ok_or_else(|| bad("Installing an app needs 'teamsApp@odata.bind'."))?;
        let app_id = navigation_key(bind, "teamsApps").ok_or_else(|| bad(format!("Invalid 'teamsApp@odata.bind' value '{bind}': expected …/appCatalogs/teamsApps/{{id}}.")))?;
        let app = self
            .store
            .teams_app(&caller.tenant_id, &app_id)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    "NotFound",
                    format!("The app '{app_id}' is not in the tenant's app catalogue."),
                )
            })?;
        let definition = self.newest(&app).await?;
        let now = now_ms();
        let installation = InstallationRecord {
            id: installation_id(chat_id, &app.id),
            chat_id: chat_id.to_string(),
            teams_app_id: app.id.clone(),
            definition_id: definition.id.clone(),
            bound_chat_id: Some(chat_id.to_string()),
            permissions: input.permissions.unwrap_or_default(),
            created_ms: now,
        };
        let event = chat_messages::system_event(
            chat_id,
            &caller.tenant_id,
            app_event("Installed", &app.id, &definition.display_name, caller),
            now,
        );
        match self.store.install_app(&installation, &event).await {
            Ok(true) => Ok(InstalledApp {
                installation,
                app,
                definition,
            }),
            Ok(false) => Err(Error::not_found(TEAMS, &app_id)),
            Err(StoreError::Conflict(_)) => Err(conflict(format!(
                "The app '{}' is already installed in this chat.",
                app.id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn newest(&self, app: &TeamsAppRecord) -> Result<DefinitionRecord, Error> {
        self.store
            .app_definitions(std::slice::from_ref(&app.id))
            .await?
            .into_iter()
            .filter(|d| d.publishing_state == PUBLISHED)
            .max_by_key(|d| (parse_version(&d.version), d.created_ms))
            .ok_or_else(|| {
                bad(format!(
                    "The app '{}' has no published version to install.",
                    app.id
                ))
            })
    }

    /// `POST /chats/{id}/installedApps/{installation-id}/upgrade`: moves the installation to the
    /// app's newest published definition (posting `teamsAppUpgraded`), and replaces the consented
    /// permissions when given. Already at the newest: nothing is posted.
    pub async fn upgrade(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        installation: &str,
        permissions: Option<Vec<ResourceSpecificPermission>>,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_APPS_WRITE)?;
        self.chats().visible(caller, owner, chat_id).await?;
        let current = self.find(chat_id, installation).await?;
        let newest = self.newest(&current.app).await?;
        let event = (newest.id != current.definition.id).then(|| {
            chat_messages::system_event(
                chat_id,
                &caller.tenant_id,
                app_event("Upgraded", &current.app.id, &newest.display_name, caller),
                now_ms(),
            )
        });
        if event.is_none() && permissions.is_none() {
            return Ok(());
        }
        if !self
            .store
            .upgrade_installed_app(
                chat_id,
                installation,
                &newest.id,
                permissions.as_deref(),
                event.as_ref(),
            )
            .await?
        {
            return Err(Error::not_found(TEAMS, installation));
        }
        Ok(())
    }

    /// `DELETE /chats/{id}/installedApps/{installation-id}`: uninstalls, posting `teamsAppRemoved`.
    pub async fn remove(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        installation: &str,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_APPS_WRITE)?;
        self.chats().visible(caller, owner, chat_id).await?;
        let current = self.find(chat_id, installation).await?;
        let detail = app_event(
            "Removed",
            &current.app.id,
            &current.definition.display_name,
            caller,
        );
        let event = chat_messages::system_event(chat_id, &caller.tenant_id, detail, now_ms());
        if !self
            .store
            .remove_installed_app(chat_id, installation, &event)
            .await?
        {
            return Err(Error::not_found(TEAMS, installation));
        }
        Ok(())
    }

    /// `GET /chats/{id}/installedApps/{installation-id}/chat`: the chat the installation is bound
    /// to, as the viewer sees it. 404 once unbound, or when the viewer is not in the bound chat.
    pub async fn bound_chat(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        installation: &str,
    ) -> Result<ChatView, Error> {
        caller.require(&permissions::CHAT_APPS_READ)?;
        let view = self.chats().visible(caller, owner, chat_id).await?;
        let current = self.find(chat_id, installation).await?;
        let unbound = || {
            Error::new(
                ErrorKind::NotFound,
                "NotFound",
                format!("The installation '{installation}' is not bound to a chat."),
            )
        };
        let bound = current.installation.bound_chat_id.ok_or_else(unbound)?;
        let chat = self
            .store
            .chat(&caller.tenant_id, &bound)
            .await?
            .ok_or_else(unbound)?;
        let me = match &view.me {
            Some(me) => Some(
                self.store
                    .member(&chat.id, &me.user_id)
                    .await?
                    .ok_or_else(unbound)?,
            ),
            None => None,
        };
        Ok(ChatView { chat, me })
    }

    /// `POST`/`PUT /chats/{id}/installedApps/{installation-id}/chat/$ref`: binds the installation
    /// to the chat `reference` names (an `@odata.id` URL or a bare chat id). The chat must be in
    /// the caller's tenant (else 404) and, for a signed-in viewer, one they are a member of (else
    /// 403).
    pub async fn bind(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        installation: &str,
        target_chat_id: &str,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_APPS_WRITE)?;
        let view = self.chats().visible(caller, owner, chat_id).await?;
        self.find(chat_id, installation).await?;
        let target = self
            .store
            .chat(&caller.tenant_id, target_chat_id)
            .await?
            .ok_or_else(|| Error::not_found(TEAMS, target_chat_id))?;
        if let Some(me) = &view.me
            && self.store.member(&target.id, &me.user_id).await?.is_none()
        {
            return Err(forbidden(format!(
                "The chat '{}' cannot be referenced: the user is not a member of it.",
                target.id
            )));
        }
        if !self
            .store
            .bind_installed_app(chat_id, installation, Some(&target.id))
            .await?
        {
            return Err(Error::not_found(TEAMS, installation));
        }
        Ok(())
    }

    /// `DELETE /chats/{id}/installedApps/{installation-id}/chat/$ref`: unbinds (404 when unbound).
    pub async fn unbind(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        installation: &str,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_APPS_WRITE)?;
        self.chats().visible(caller, owner, chat_id).await?;
        let current = self.find(chat_id, installation).await?;
        if current.installation.bound_chat_id.is_none() {
            return Err(Error::new(
                ErrorKind::NotFound,
                "NotFound",
                format!("The installation '{installation}' is not bound to a chat."),
            ));
        }
        if !self
            .store
            .bind_installed_app(chat_id, installation, None)
            .await?
        {
            return Err(Error::not_found(TEAMS, installation));
        }
        Ok(())
    }
}

/// The event a store posts in `chat_id` from a template made with an empty chat id.
pub fn event_in(template: &NewMessage, chat_id: &str) -> NewMessage {
    let mut event = template.clone();
    event.record.chat_id = chat_id.to_string();
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_graphs() {
        let d = definition_id("00001016-de05-492e-9106-4828fc8a8687", "1.0.2", PUBLISHED);
        assert_eq!(
            String::from_utf8(STANDARD.decode(&d).unwrap()).unwrap(),
            "00001016-de05-492e-9106-4828fc8a8687##1.0.2##Published"
        );
        let i = installation_id("19:abc@thread.v2", "app-1");
        assert_eq!(
            String::from_utf8(STANDARD.decode(&i).unwrap()).unwrap(),
            "19:abc@thread.v2##app-1"
        );
    }

    #[test]
    fn chat_references() {
        let id = "19:1c5b01696d2e4a179c292bc9cf04e63b@thread.v2";
        for url in [
            format!("https://graph.microsoft.com/beta/chats('{id}')"),
            format!("https://graph.microsoft.com/v1.0/chats/{id}"),
            "https://graph.microsoft.com/v1.0/chats/19%3A1c5b01696d2e4a179c292bc9cf04e63b%40thread.v2".to_string(),
            "chats(%2719%3A1c5b01696d2e4a179c292bc9cf04e63b%40thread.v2%27)".to_string(),
            format!("/users/8b081ef6-4792-4def-b2c9-c363a1bf41d5/chats/{id}/"),
            format!("http://127.0.0.1:1/v1.0/Chats('{id}')"),
        ] {
            assert_eq!(navigation_key(&url, "chats").as_deref(), Some(id), "{url}");
        }
        for url in [
            format!("https://graph.microsoft.com/v1.0/chats/{id}/members"),
            "https://graph.microsoft.com/v1.0/users('x')".to_string(),
            "https://graph.microsoft.com/v1.0/chats".to_string(),
            "https://graph.microsoft.com/v1.0/chats/".to_string(),
            "https://graph.microsoft.com/v1.0/chats('')".to_string(),
            "mychats/19:x".to_string(),
        ] {
            assert_eq!(navigation_key(&url, "chats"), None, "{url}");
        }
        assert_eq!(
            navigation_key(
                "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/abc",
                "teamsApps"
            )
            .as_deref(),
            Some("abc")
        );
        assert_eq!(
            navigation_key("appCatalogs/teamsApps('abc')", "teamsApps").as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn manifests() {
        let m = json!({
            "id": "f3d0c5c2-2c2e-4f0e-9b52-1a2b3c4d5e6f", "version": "1.2.3",
            "name": { "short": "Tasks", "full": "Contoso Tasks" },
            "description": { "short": "Track tasks", "full": "Track your team's tasks." },
            "webApplicationInfo": { "id": "a-b-c" },
            "authorization": { "permissions": { "resourceSpecific": [{ "name": "ChatMessage.Read.Chat", "type": "Application" }] } }
        });
        let input = manifest_input(&m).unwrap();
        assert_eq!(input.display_name.as_deref(), Some("Tasks"));
        assert_eq!(input.required_permissions[0].permission_type, "application");
        assert!(manifest_input(&json!({ "version": "1.0.0", "name": { "short": "x" } })).is_err());
        assert!(
            check(AppInput {
                version: Some("1.0".into()),
                display_name: Some("x".into()),
                ..AppInput::default()
            })
            .is_err()
        );
        assert!(
            check(AppInput {
                display_name: Some("x".repeat(31)),
                ..AppInput::default()
            })
            .is_err()
        );
        assert!(parse_version("1.10.0") > parse_version("1.9.9"));
        assert_eq!(parse_version("01.0.0"), None);
    }
}
