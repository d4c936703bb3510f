//! Application registrations as Graph's directory serves them (`microsoft.graph.application`):
//! `POST/GET /applications`, `GET/DELETE /applications/{id}`, `addPassword` and `removePassword`.
//!
//! An application's `requiredResourceAccess` for Microsoft Graph names the permissions it gets:
//! application permissions (`"type": "Role"`, the `roles` of its app-only tokens) and delegated
//! permissions (`"type": "Scope"`, what it may request for a signed-in user). Switchboard is an
//! emulator without a consent step, so what an application requires is granted at once.
//!
//! Graph names each permission by a GUID. Switchboard accepts the permission's name as its `id`
//! too (`{"id": "User.Read.All", "type": "Role"}`), and the real GUIDs of the permissions in
//! [`GRAPH_PERMISSION_IDS`].

use switchboard_odata::QueryOptions;
use switchboard_odata::schema::{Caps, EntitySchema, Property, PropertyType};

use crate::credentials::{self, HashCost};
use crate::directory::{self, DirectoryPage};
use crate::error::{Error, Family};
use crate::graph_time;
use crate::permissions::{self, ALL_APPLICATION_ROLES, ALL_DELEGATED_SCOPES};
use crate::principal::Principal;
use crate::store::Store;
use crate::tenants::{Application, ClientSecret};

/// Microsoft Graph's application id, the `resourceAppId` of Graph permissions.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// What a permission is: an application permission or a delegated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// Application permission (`"Role"`).
    Role,
    /// Delegated permission (`"Scope"`).
    Scope,
}

impl AccessKind {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Role => "Role",
            AccessKind::Scope => "Scope",
        }
    }
}

/// The GUIDs Microsoft Graph gives the permissions Switchboard knows (the same in every tenant),
/// so that registrations written for Graph work unchanged. Only ids checked against Graph's
/// published permission reference are listed; any known permission may also be named.
pub const GRAPH_PERMISSION_IDS: &[(&str, AccessKind, &str)] = &[
    (
        "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
        AccessKind::Scope,
        "User.Read",
    ),
    (
        "b4e74841-8e56-480b-be8b-910348b18b4c",
        AccessKind::Scope,
        "User.ReadWrite",
    ),
    (
        "b340eb25-3456-403f-be2f-af7a0d370277",
        AccessKind::Scope,
        "User.ReadBasic.All",
    ),
    (
        "a154be20-db9c-4678-8ab7-66f6cc099a59",
        AccessKind::Scope,
        "User.Read.All",
    ),
    (
        "df021288-bdef-4463-88db-98f22de89214",
        AccessKind::Role,
        "User.Read.All",
    ),
    (
        "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4",
        AccessKind::Scope,
        "User.ReadWrite.All",
    ),
    (
        "741f803b-c850-494e-b5df-cde7c675a1ca",
        AccessKind::Role,
        "User.ReadWrite.All",
    ),
    (
        "06da0dbc-49e2-44d2-8312-53f166ab848a",
        AccessKind::Scope,
        "Directory.Read.All",
    ),
    (
        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        AccessKind::Role,
        "Directory.Read.All",
    ),
    (
        "c5366453-9fb0-48a5-a156-24f0c49a4b84",
        AccessKind::Scope,
        "Directory.ReadWrite.All",
    ),
    (
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        AccessKind::Role,
        "Directory.ReadWrite.All",
    ),
    (
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
        AccessKind::Role,
        "Organization.Read.All",
    ),
    (
        "4908d5b9-3fb2-4b1e-9336-1888b7937185",
        AccessKind::Scope,
        "Organization.Read.All",
    ),
    (
        "2f9ee017-59c1-4f1d-9472-bd5529a7b311",
        AccessKind::Scope,
        "Domain.Read.All",
    ),
    (
        "dbb9058a-0e50-45d7-ae91-66909b5d4664",
        AccessKind::Role,
        "Domain.Read.All",
    ),
    (
        "c79f8feb-a9db-4090-85f9-90d820caa0eb",
        AccessKind::Scope,
        "Application.Read.All",
    ),
    (
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        AccessKind::Role,
        "Application.Read.All",
    ),
    (
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
        AccessKind::Scope,
        "Application.ReadWrite.All",
    ),
    (
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        AccessKind::Role,
        "Application.ReadWrite.All",
    ),
    (
        "38826093-1258-4dea-98f0-00003be2b8d0",
        AccessKind::Scope,
        "Chat.Create",
    ),
    (
        "d9c48af6-9ad9-47ad-82c3-63757137b9af",
        AccessKind::Role,
        "Chat.Create",
    ),
    (
        "9547fcb5-d03f-419d-9948-5928bbf71b0f",
        AccessKind::Scope,
        "Chat.ReadBasic",
    ),
    (
        "b2e060da-3baf-4687-9611-f4ebc0f0cbde",
        AccessKind::Role,
        "Chat.ReadBasic.All",
    ),
    (
        "f501c180-9344-439a-bca0-6cbf209fd270",
        AccessKind::Scope,
        "Chat.Read",
    ),
    (
        "6b7d71aa-70aa-4810-a8d9-5d9fb2830017",
        AccessKind::Role,
        "Chat.Read.All",
    ),
    (
        "9ff7295e-131b-4d94-90e1-69fde507ac11",
        AccessKind::Scope,
        "Chat.ReadWrite",
    ),
    (
        "294ce7c9-31ba-490a-ad7d-97a7d075e4ed",
        AccessKind::Role,
        "Chat.ReadWrite.All",
    ),
    (
        "c5a9e2b1-faf6-41d4-8875-d381aa549b24",
        AccessKind::Scope,
        "ChatMember.Read",
    ),
    (
        "a3410be2-8e48-4f32-8454-c29a7465209d",
        AccessKind::Role,
        "ChatMember.Read.All",
    ),
    (
        "dea13482-7ea6-488f-8b98-eb5bbecf033d",
        AccessKind::Scope,
        "ChatMember.ReadWrite",
    ),
    (
        "57257249-34ce-4810-a8a2-a03adf0c5693",
        AccessKind::Role,
        "ChatMember.ReadWrite.All",
    ),
    (
        "cdcdac3a-fd45-410d-83ef-554db620e5c7",
        AccessKind::Scope,
        "ChatMessage.Read",
    ),
    (
        "116b7235-7cc6-461e-b163-8e55691d839e",
        AccessKind::Scope,
        "ChatMessage.Send",
    ),
    (
        "1ca167d5-1655-44a1-8adf-1414072e1ef9",
        AccessKind::Scope,
        "AppCatalog.ReadWrite.All",
    ),
    (
        "dc149144-f292-421e-b185-5953f2e98d7f",
        AccessKind::Role,
        "AppCatalog.ReadWrite.All",
    ),
    (
        "a4b8392a-d8d1-4954-a029-8e668a39a170",
        AccessKind::Scope,
        "Mail.ReadBasic",
    ),
    (
        "693c5e45-0940-467d-9b8a-1022fb9d42ef",
        AccessKind::Role,
        "Mail.ReadBasic.All",
    ),
    (
        "570282fd-fa5c-430d-a7fd-fc8dc98a9dca",
        AccessKind::Scope,
        "Mail.Read",
    ),
    (
        "810c84a8-4a9e-49e6-bf7d-12d183f40d01",
        AccessKind::Role,
        "Mail.Read",
    ),
    (
        "024d486e-b451-40bb-833d-3e66d98c5c73",
        AccessKind::Scope,
        "Mail.ReadWrite",
    ),
    (
        "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
        AccessKind::Role,
        "Mail.ReadWrite",
    ),
    (
        "e383f46e-2787-4529-855e-0e479a3ffac0",
        AccessKind::Scope,
        "Mail.Send",
    ),
    (
        "b633e1c5-b582-4048-a93e-9f11b44c7e96",
        AccessKind::Role,
        "Mail.Send",
    ),
    // OpenID Connect scopes: always available to every application, so accepted and not stored.
    (
        "37f7f235-527c-4136-accd-4a02d197296e",
        AccessKind::Scope,
        "openid",
    ),
    (
        "14dad69e-099b-42c9-810b-d002981feec1",
        AccessKind::Scope,
        "profile",
    ),
    (
        "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
        AccessKind::Scope,
        "email",
    ),
    (
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        AccessKind::Scope,
        "offline_access",
    ),
    (
        "9c7abde0-eacd-4319-bf9e-35994b1a1717",
        AccessKind::Role,
        "Chat.ManageDeletion.All",
    ),
    (
        "bb64e6fc-6b6d-4752-aea0-dd922dbba588",
        AccessKind::Scope,
        "Chat.ManageDeletion.All",
    ),
    (
        "bf3fbf03-f35f-4e93-963e-47e4d874c37a",
        AccessKind::Scope,
        "TeamsAppInstallation.ReadForChat",
    ),
    (
        "cc7e7635-2586-41d6-adaa-a8d3bcad5ee5",
        AccessKind::Role,
        "TeamsAppInstallation.ReadForChat.All",
    ),
    (
        "0ce33576-30e8-43b7-99e5-62f8569a4002",
        AccessKind::Scope,
        "TeamsAppInstallation.ReadWriteSelfForChat",
    ),
    (
        "73a45059-f39c-4baf-9182-4954ac0e55cf",
        AccessKind::Role,
        "TeamsAppInstallation.ReadWriteSelfForChat.All",
    ),
    (
        "aa85bf13-d771-4d5d-a9e6-bca04ce44edf",
        AccessKind::Scope,
        "TeamsAppInstallation.ReadWriteForChat",
    ),
    (
        "9e19bae1-2623-4c4f-ab6e-2664615ff9a0",
        AccessKind::Role,
        "TeamsAppInstallation.ReadWriteForChat.All",
    ),
    (
        "88e58d74-d3df-44f3-ad47-e89edf4472e4",
        AccessKind::Scope,
        "AppCatalog.Read.All",
    ),
    (
        "e12dae10-5a57-4817-b79d-dfbec5348930",
        AccessKind::Role,
        "AppCatalog.Read.All",
    ),
    (
        "dfb0dd15-61de-45b2-be36-d6a69fba3c79",
        AccessKind::Role,
        "Teamwork.Migrate.All",
    ),
];

/// The OpenID Connect scopes, which need no grant.
const OPENID_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// One `resourceAccess` item as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAccess {
    /// The permission's GUID, or (Switchboard only) its name.
    pub id: String,
    /// `Role` or `Scope`, as sent.
    pub kind: String,
}

/// One `requiredResourceAccess` item: the permissions required on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredResourceAccess {
    /// The resource application (`00000003-0000-0000-c000-000000000000` for Graph).
    pub resource_app_id: String,
    /// Its permissions.
    pub access: Vec<ResourceAccess>,
}

/// The writable properties of an application, as a client sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationInput {
    /// `displayName` (required).
    pub display_name: Option<String>,
    /// `requiredResourceAccess`.
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// `web.redirectUris`.
    pub web_redirect_uris: Vec<String>,
    /// `spa.redirectUris`.
    pub spa_redirect_uris: Vec<String>,
    /// `publicClient.redirectUris`.
    pub public_client_redirect_uris: Vec<String>,
}

/// `addPassword`'s `passwordCredential`, as a client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordInput {
    /// `displayName`.
    pub display_name: Option<String>,
    /// `startDateTime`, epoch ms.
    pub start_ms: Option<i64>,
    /// `endDateTime`, epoch ms.
    pub end_ms: Option<i64>,
}

/// A secret just added: the stored credential and the only clear copy of the secret.
#[derive(Debug, Clone)]
pub struct NewPassword {
    /// The credential as stored (hashed).
    pub credential: ClientSecret,
    /// `secretText`, shown once.
    pub secret_text: String,
    /// `startDateTime`, epoch ms.
    pub start_ms: i64,
}

/// How a URL names an application: by object id (`/applications/{id}`) or by application id
/// (`/applications(appId='{appId}')`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppKey {
    /// The object id.
    ObjectId(String),
    /// The application (client) id.
    AppId(String),
}

impl AppKey {
    /// Reads the key the HTTP layer passes: `appId={appId}` for the alternate key syntax, else an
    /// object id.
    pub fn parse(key: &str) -> AppKey {
        match key.get(..6).filter(|p| p.eq_ignore_ascii_case("appId=")) {
            Some(_) => AppKey::AppId(key[6..].trim_matches('\'').to_ascii_lowercase()),
            None => AppKey::ObjectId(key.to_ascii_lowercase()),
        }
    }

    fn text(&self) -> &str {
        match self {
            AppKey::ObjectId(k) | AppKey::AppId(k) => k,
        }
    }
}

/// The OData catalogue of `microsoft.graph.application`.
pub static APPLICATION_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.application",
    key_column: "object_id",
    properties: &[
        prop("id", "object_id", true, false, false),
        prop("appId", "client_id", true, false, false),
        prop("displayName", "display_name", true, true, true),
        Property {
            name: "createdDateTime",
            column: "created_ms",
            ty: PropertyType::DateTime,
            caps: Caps {
                filter: true,
                orderby: true,
                select: true,
                search: false,
                case_insensitive: true,
            },
        },
    ],
};

const fn prop(
    name: &'static str,
    column: &'static str,
    filter: bool,
    orderby: bool,
    search: bool,
) -> Property {
    Property {
        name,
        column,
        ty: PropertyType::String,
        caps: Caps {
            filter,
            orderby,
            select: true,
            search,
            case_insensitive: true,
        },
    }
}

/// The permissions an application is granted, as Graph's `requiredResourceAccess` (GUIDs where
/// Graph's are known, names otherwise).
pub fn required_resource_access(app: &Application) -> Vec<RequiredResourceAccess> {
    let id_of = |name: &str, kind: AccessKind| {
        GRAPH_PERMISSION_IDS
            .iter()
            .find(|(_, k, n)| *k == kind && *n == name)
            .map(|(id, _, _)| id.to_string())
            .unwrap_or_else(|| name.to_string())
    };
    let mut access: Vec<ResourceAccess> = app
        .delegated_scopes
        .iter()
        .map(|s| ResourceAccess {
            id: id_of(s, AccessKind::Scope),
            kind: "Scope".into(),
        })
        .collect();
    access.extend(app.app_roles.iter().map(|r| ResourceAccess {
        id: id_of(r, AccessKind::Role),
        kind: "Role".into(),
    }));
    if access.is_empty() {
        return Vec::new();
    }
    vec![RequiredResourceAccess {
        resource_app_id: GRAPH_APP_ID.into(),
        access,
    }]
}

/// Resolves `requiredResourceAccess` to the application roles and delegated scopes to grant,
/// canonically spelt, or the 400 Graph gives for a permission it does not know.
pub fn resolve_permissions(
    required: &[RequiredResourceAccess],
) -> Result<(Vec<String>, Vec<String>), Error> {
    let (mut roles, mut scopes) = (Vec::new(), Vec::new());
    for resource in required {
        if !resource.resource_app_id.eq_ignore_ascii_case(GRAPH_APP_ID) {
            return Err(Error::bad_request(
                Family::Directory,
                format!(
                    "Switchboard serves only Microsoft Graph; requiredResourceAccess names resource '{}' (Graph is {GRAPH_APP_ID}).",
                    resource.resource_app_id
                ),
            ));
        }
        for item in &resource.access {
            let kind = match item.kind.as_str() {
                k if k.eq_ignore_ascii_case("Role") => AccessKind::Role,
                k if k.eq_ignore_ascii_case("Scope") => AccessKind::Scope,
                other => {
                    return Err(Error::bad_request(
                        Family::Directory,
                        format!(
                            "Invalid value specified for property 'type' of resource 'ResourceAccess': '{other}' (use 'Role' or 'Scope')."
                        ),
                    ));
                }
            };
            let known: &[&str] = match kind {
                AccessKind::Role => ALL_APPLICATION_ROLES,
                AccessKind::Scope => ALL_DELEGATED_SCOPES,
            };
            let by_id = GRAPH_PERMISSION_IDS
                .iter()
                .find(|(id, k, _)| *k == kind && id.eq_ignore_ascii_case(&item.id))
                .map(|(_, _, name)| *name);
            let name = by_id.or_else(|| {
                known
                    .iter()
                    .chain(OPENID_SCOPES.iter())
                    .find(|n| n.eq_ignore_ascii_case(&item.id))
                    .copied()
            });
            let name = match name {
                Some(n) if kind == AccessKind::Scope && OPENID_SCOPES.contains(&n) => continue,
                Some(n) if known.contains(&n) => n,
                _ => {
                    return Err(Error::bad_request(
                        Family::Directory,
                        format!(
                            "Unknown {} permission '{}' for Microsoft Graph: name a permission Switchboard knows (see docs/permissions.md) or its Graph id.",
                            if kind == AccessKind::Role {
                                "application"
                            } else {
                                "delegated"
                            },
                            item.id
                        ),
                    ));
                }
            };
            let list = if kind == AccessKind::Role {
                &mut roles
            } else {
                &mut scopes
            };
            if !list.iter().any(|n: &String| n == name) {
                list.push(name.to_string());
            }
        }
    }
    Ok((roles, scopes))
}

fn check_redirect_uri(uri: &str) -> Result<(), Error> {
    let ok = url_like(uri);
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            Family::Directory,
            format!(
                "Invalid value specified for property 'redirectUris' of resource 'Application': '{uri}' is not an absolute URI."
            ),
        ))
    }
}

/// `scheme:rest` with a scheme of letters, digits, `+`, `-`, `.` (native apps register custom
/// schemes such as `msal{clientId}://auth`).
fn url_like(uri: &str) -> bool {
    match uri.split_once(':') {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !uri.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// How long a secret added without `endDateTime` lives: two years, as Graph's.
const DEFAULT_SECRET_LIFETIME_MS: i64 = 2 * 365 * 24 * 3600 * 1000;

/// One page of applications.
pub type ApplicationPage = DirectoryPage<Application>;

/// The operations behind `/applications`.
pub struct Applications<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// Argon2 cost for new secrets.
    pub hash_cost: HashCost,
}

impl Applications<'_> {
    /// `GET /applications`.
    pub async fn list(
        &self,
        caller: &Principal,
        q: &QueryOptions,
        eventual: bool,
    ) -> Result<ApplicationPage, Error> {
        caller.require(&permissions::APPLICATIONS_READ)?;
        let prepared = directory::prepare(q, &APPLICATION_SCHEMA, "application", eventual)?;
        let page = self
            .store
            .list_applications(&caller.tenant_id, &prepared.query)
            .await
            .map_err(|e| Error::from(e).in_family(Family::Directory))?;
        Ok(prepared.finish(page))
    }

    /// `GET /applications/{id}`.
    pub async fn get(&self, caller: &Principal, key: &AppKey) -> Result<Application, Error> {
        caller.require(&permissions::APPLICATIONS_READ)?;
        self.find(caller, key).await
    }

    /// Looks an application up in the caller's tenant (no permission check).
    async fn find(&self, caller: &Principal, key: &AppKey) -> Result<Application, Error> {
        let found = match key {
            AppKey::AppId(client_id) => {
                self.store.application(&caller.tenant_id, client_id).await?
            }
            AppKey::ObjectId(id) => self
                .store
                .applications(&caller.tenant_id)
                .await?
                .into_iter()
                .find(|a| a.object_id.eq_ignore_ascii_case(id)),
        };
        found.ok_or_else(|| Error::not_found(Family::Directory, key.text()))
    }

    /// `POST /applications`: registers the application and grants what it requires at once.
    pub async fn create(
        &self,
        caller: &Principal,
        input: ApplicationInput,
    ) -> Result<Application, Error> {
        caller.require(&permissions::APPLICATIONS_WRITE)?;
        let display_name = match input.display_name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => {
                return Err(Error::bad_request(
                    Family::Directory,
                    "Invalid value specified for property 'displayName' of resource 'Application'.",
                ));
            }
        };
        let (app_roles, delegated_scopes) = resolve_permissions(&input.required_resource_access)?;
        let mut redirect_uris: Vec<String> = Vec::new();
        for uri in input
            .web_redirect_uris
            .iter()
            .chain(&input.spa_redirect_uris)
            .chain(&input.public_client_redirect_uris)
        {
            check_redirect_uri(uri)?;
            if !redirect_uris.contains(uri) {
                redirect_uris.push(uri.clone());
            }
        }
        let app = Application {
            tenant_id: caller.tenant_id.clone(),
            client_id: uuid::Uuid::new_v4().to_string(),
            object_id: uuid::Uuid::new_v4().to_string(),
            display_name,
            secrets: Vec::new(),
            app_roles,
            delegated_scopes,
            redirect_uris,
            spa_redirect_uris: input.spa_redirect_uris,
            public_client_redirect_uris: input.public_client_redirect_uris,
            created_ms: graph_time::now_ms(),
        };
        self.store.insert_application(&app).await?;
        Ok(app)
    }

    /// `DELETE /applications/{id}`.
    pub async fn delete(&self, caller: &Principal, key: &AppKey) -> Result<(), Error> {
        caller.require(&permissions::APPLICATIONS_WRITE)?;
        let app = self.find(caller, key).await?;
        if self
            .store
            .delete_application(&caller.tenant_id, &app.client_id)
            .await?
        {
            Ok(())
        } else {
            Err(Error::not_found(Family::Directory, key.text()))
        }
    }

    /// `POST /applications/{id}/addPassword`: a new client secret, returned in clear once.
    pub async fn add_password(
        &self,
        caller: &Principal,
        key: &AppKey,
        input: PasswordInput,
    ) -> Result<NewPassword, Error> {
        caller.require(&permissions::APPLICATIONS_WRITE)?;
        let mut app = self.find(caller, key).await?;
        let now = graph_time::now_ms();
        let start_ms = input.start_ms.unwrap_or(now);
        let end_ms = input
            .end_ms
            .unwrap_or(start_ms + DEFAULT_SECRET_LIFETIME_MS);
        if end_ms <= start_ms {
            return Err(Error::bad_request(
                Family::Directory,
                "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential': it must be after startDateTime.",
            ));
        }
        let secret_text = credentials::new_client_secret();
        let cost = self.hash_cost;
        let clear = secret_text.clone();
        // Argon2 is deliberately slow: keep it off the async worker threads.
        let hash = tokio::task::spawn_blocking(move || credentials::hash(&clear, cost))
            .await
            .map_err(|_| Error::internal("the secret hashing task failed"))?;
        let credential = ClientSecret {
            key_id: uuid::Uuid::new_v4().to_string(),
            hash,
            hint: secret_text.chars().take(3).collect(),
            created_ms: start_ms,
            display_name: input.display_name.filter(|d| !d.is_empty()),
            end_ms: Some(end_ms),
        };
        app.secrets.push(credential.clone());
        self.store.update_application(&app).await?;
        Ok(NewPassword {
            credential,
            secret_text,
            start_ms,
        })
    }

    /// `POST /applications/{id}/removePassword`.
    pub async fn remove_password(
        &self,
        caller: &Principal,
        key: &AppKey,
        key_id: &str,
    ) -> Result<(), Error> {
        caller.require(&permissions::APPLICATIONS_WRITE)?;
        let mut app = self.find(caller, key).await?;
        let before = app.secrets.len();
        app.secrets
            .retain(|s| !s.key_id.eq_ignore_ascii_case(key_id));
        if app.secrets.len() == before {
            return Err(Error::bad_request(
                Family::Directory,
                format!("No password credential with keyId '{key_id}' exists on this application."),
            ));
        }
        self.store.update_application(&app).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(items: &[(&str, &str)]) -> Vec<RequiredResourceAccess> {
        vec![RequiredResourceAccess {
            resource_app_id: GRAPH_APP_ID.into(),
            access: items
                .iter()
                .map(|(id, kind)| ResourceAccess {
                    id: id.to_string(),
                    kind: kind.to_string(),
                })
                .collect(),
        }]
    }

    #[test]
    fn permissions_by_name_or_graph_id() {
        let (roles, scopes) = resolve_permissions(&graph(&[
            ("user.read.all", "Role"),
            ("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Role"),
            ("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "Scope"),
            ("openid", "Scope"),
        ]))
        .unwrap();
        assert_eq!(roles, ["User.Read.All", "Application.ReadWrite.All"]);
        assert_eq!(scopes, ["User.Read"]);
        // A delegated permission's GUID is not an application permission.
        assert!(
            resolve_permissions(&graph(&[("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "Role")]))
                .is_err()
        );
        assert!(resolve_permissions(&graph(&[("Everything.All", "Role")])).is_err());
        assert!(resolve_permissions(&graph(&[("User.Read", "Magic")])).is_err());
    }

    #[test]
    fn every_listed_id_names_a_known_permission() {
        for (id, kind, name) in GRAPH_PERMISSION_IDS {
            assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
            let known = match kind {
                AccessKind::Role => ALL_APPLICATION_ROLES,
                AccessKind::Scope => ALL_DELEGATED_SCOPES,
            };
            assert!(
                known.contains(name) || OPENID_SCOPES.contains(name),
                "{name}"
            );
        }
    }

    #[test]
    fn alternate_key() {
        assert_eq!(AppKey::parse("appId=ABC"), AppKey::AppId("abc".into()));
        assert_eq!(AppKey::parse("5B0C"), AppKey::ObjectId("5b0c".into()));
    }
}
