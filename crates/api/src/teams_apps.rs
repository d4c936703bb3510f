//! Teams apps: the app catalogue (`/appCatalogs/teamsApps`, publishing from a zipped app
//! manifest or a JSON body), apps installed in chats (`/chats/{id}/installedApps`, also under
//! `/me` and `/users/{id}`) and the installation's `chat` reference (`…/chat/$ref`), with their
//! JSON. See `docs/teams-apps.md`.

use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use switchboard_domain::chats::{Owner, urlencode};
use switchboard_domain::graph_time::millis;
use switchboard_domain::teams_apps::{
    AppInput, Catalog, ChatApps, DEFINITION_SCHEMA, DefinitionRecord, INSTALLATION_SCHEMA,
    InstallInput, InstalledApp, ResourceSpecificPermission, TEAMS_APP_SCHEMA, TeamsAppRecord,
    manifest_input, navigation_key, permission,
};
use switchboard_domain::{Error, ErrorKind, Family};

use crate::AppState;
use crate::body::{BodyReader, JsonObject};
use crate::chats::{Params, chat_json, owner, param};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::odata;

/// The catalogue routes, and the installed-app routes mounted like the chats' (at `/`, `/me` and
/// `/users/{uid}`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/appCatalogs/teamsApps", get(list_apps).post(publish))
        .route(
            "/appCatalogs/teamsApps/{app}",
            get(read_app).delete(delete_app),
        )
        .route(
            "/appCatalogs/teamsApps/{app}/appDefinitions",
            get(list_definitions).post(publish_version),
        )
        .route(
            "/appCatalogs/teamsApps/{app}/appDefinitions/{definition}",
            get(read_definition),
        )
        .merge(chat_routes())
        .nest("/me", chat_routes())
        .nest("/users/{uid}", chat_routes())
}

fn chat_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/chats/{chat}/installedApps",
            get(list_installed).post(install),
        )
        .route(
            "/chats/{chat}/installedApps/{installation}",
            get(read_installed).delete(uninstall),
        )
        .route(
            "/chats/{chat}/installedApps/{installation}/upgrade",
            post(upgrade),
        )
        .route(
            "/chats/{chat}/installedApps/{installation}/chat",
            get(bound_chat),
        )
        .route(
            "/chats/{chat}/installedApps/{installation}/chat/$ref",
            post(bind).put(bind).delete(unbind),
        )
}

const TEAMS: Family = Family::Teams;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(TEAMS, message)
}

fn catalog(state: &AppState) -> Catalog<'_> {
    Catalog {
        store: state.store.as_ref(),
    }
}

fn chat_apps(state: &AppState) -> ChatApps<'_> {
    ChatApps {
        store: state.store.as_ref(),
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

// --- JSON ---

/// A catalogue app (`teamsApp`) as Graph returns it.
fn app_json(a: &TeamsAppRecord) -> Map<String, Value> {
    object(json!({
        "id": a.id,
        "externalId": a.external_id,
        "displayName": a.display_name,
        "distributionMethod": a.distribution_method,
    }))
}

fn permission_set(p: &[ResourceSpecificPermission]) -> Value {
    json!({ "resourceSpecificPermissions": p })
}

/// A `teamsAppDefinition`: v1.0 spells `shortDescription`, beta `shortdescription` (and adds
/// `azureADAppId`), as Graph's payloads do.
fn definition_json(ctx: &Ctx, d: &DefinitionRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id));
    m.insert("teamsAppId".into(), json!(d.teams_app_id));
    if ctx.version == "beta" {
        m.insert("azureADAppId".into(), json!(d.azure_ad_app_id));
    }
    m.insert("displayName".into(), json!(d.display_name));
    m.insert("version".into(), json!(d.version));
    m.insert("publishingState".into(), json!(d.publishing_state));
    let short = if ctx.version == "beta" {
        "shortdescription"
    } else {
        "shortDescription"
    };
    m.insert(short.into(), json!(d.short_description));
    m.insert("description".into(), json!(d.description));
    m.insert("lastModifiedDateTime".into(), json!(millis(d.modified_ms)));
    m.insert(
        "createdBy".into(),
        d.created_by.clone().unwrap_or(Value::Null),
    );
    m.insert(
        "authorization".into(),
        json!({ "clientAppId": d.azure_ad_app_id, "requiredPermissionSet": permission_set(&d.required_permissions) }),
    );
    m
}

/// `$select` names of a definition, mapped to this version's spelling.
fn project_definition(
    ctx: &Ctx,
    full: Map<String, Value>,
    select: Option<&[&'static str]>,
) -> Map<String, Value> {
    match select {
        None => full,
        Some(names) => {
            let spelled: Vec<&str> = names
                .iter()
                .map(|n| {
                    if *n == "shortDescription" && ctx.version == "beta" {
                        "shortdescription"
                    } else {
                        n
                    }
                })
                .collect();
            odata::project(full, &spelled)
        }
    }
}

// --- the catalogue ---

/// `$expand` on catalogue apps: `appDefinitions`, optionally with a nested `$select`.
struct AppExpand {
    definitions: Option<Option<Vec<&'static str>>>,
}

fn app_expand(ctx: &Ctx) -> Result<AppExpand, ApiError> {
    let mut out = AppExpand { definitions: None };
    for item in &ctx.query.expand {
        if !item.path.eq_ignore_ascii_case("appDefinitions") {
            return Err(bad(format!(
                "Expanding '{}' is not supported on teamsApps; expand 'appDefinitions'.",
                item.path
            )));
        }
        let o = &item.options;
        if o.has_more_than_select() {
            return Err(bad(
                "Only $select is supported inside $expand=appDefinitions(…).",
            ));
        }
        let select = match &o.select {
            None => None,
            Some(paths) => Some(
                DEFINITION_SCHEMA
                    .resolve_select(paths)
                    .map_err(|e| bad(e.to_string()))?,
            ),
        };
        out.definitions = Some(select);
    }
    Ok(out)
}

fn app_select(ctx: &Ctx) -> Result<Option<Vec<&'static str>>, ApiError> {
    match &ctx.query.select {
        None => Ok(None),
        Some(paths) => TEAMS_APP_SCHEMA
            .resolve_select(paths)
            .map(Some)
            .map_err(|e| bad(e.to_string())),
    }
}

fn apps_fragment(select: Option<&[&str]>, e: &AppExpand) -> String {
    let mut parts: Vec<String> = select
        .map(|s| s.iter().map(|n| n.to_string()).collect())
        .unwrap_or_default();
    if e.definitions.is_some() {
        parts.push("appDefinitions()".into());
    }
    if parts.is_empty() {
        "appCatalogs/teamsApps".into()
    } else {
        format!("appCatalogs/teamsApps({})", parts.join(","))
    }
}

async fn render_apps(
    state: &AppState,
    ctx: &Ctx,
    apps: &[TeamsAppRecord],
    select: Option<&[&str]>,
    e: &AppExpand,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let definitions = match &e.definitions {
        Some(_) => catalog(state).definitions_of(apps).await?,
        None => Vec::new(),
    };
    Ok(apps
        .iter()
        .map(|a| {
            let full = app_json(a);
            let mut m = match select {
                Some(names) => odata::project(full, names),
                None => full,
            };
            if let Some(def_select) = &e.definitions {
                let items = definitions
                    .iter()
                    .filter(|d| d.teams_app_id == a.id)
                    .map(|d| {
                        Value::Object(project_definition(
                            ctx,
                            definition_json(ctx, d),
                            def_select.as_deref(),
                        ))
                    })
                    .collect();
                m.insert("appDefinitions".into(), Value::Array(items));
            }
            m
        })
        .collect())
}

/// # `GET /appCatalogs/teamsApps`
async fn list_apps(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let select = app_select(&ctx)?;
    let e = app_expand(&ctx)?;
    let page = catalog(&state).list(&ctx.principal, &ctx.query).await?;
    let items = render_apps(&state, &ctx, &page.items, select.as_deref(), &e)
        .await?
        .into_iter()
        .map(Value::Object)
        .collect();
    let fragment = apps_fragment(select.as_deref(), &e);
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(
            &ctx,
            &fragment,
            items,
            page.count,
            page.skiptoken.as_deref(),
        ),
    ))
}

/// # `GET /appCatalogs/teamsApps/{id}`
async fn read_app(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let select = app_select(&ctx)?;
    let e = app_expand(&ctx)?;
    let app = catalog(&state)
        .get(&ctx.principal, param(&params, "app"))
        .await?;
    let body = render_apps(
        &state,
        &ctx,
        std::slice::from_ref(&app),
        select.as_deref(),
        &e,
    )
    .await?
    .pop()
    .unwrap_or_default();
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, &apps_fragment(select.as_deref(), &e), body),
    ))
}

fn definitions_fragment(app_id: &str, select: Option<&[&str]>) -> String {
    odata::fragment(
        &format!("appCatalogs/teamsApps('{app_id}')/appDefinitions"),
        select,
    )
}

fn definition_select(ctx: &Ctx) -> Result<Option<Vec<&'static str>>, ApiError> {
    if !ctx.query.expand.is_empty() {
        return Err(bad(
            "$expand is not supported on appDefinitions (bot is not implemented).",
        ));
    }
    match &ctx.query.select {
        None => Ok(None),
        Some(paths) => DEFINITION_SCHEMA
            .resolve_select(paths)
            .map(Some)
            .map_err(|e| bad(e.to_string())),
    }
}

/// # `GET /appCatalogs/teamsApps/{id}/appDefinitions`
async fn list_definitions(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let select = definition_select(&ctx)?;
    let app_id = param(&params, "app");
    let definitions = catalog(&state).definitions(&ctx.principal, app_id).await?;
    let items = definitions
        .iter()
        .map(|d| {
            Value::Object(project_definition(
                &ctx,
                definition_json(&ctx, d),
                select.as_deref(),
            ))
        })
        .collect();
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(
            &ctx,
            &definitions_fragment(app_id, select.as_deref()),
            items,
            None,
            None,
        ),
    ))
}

/// # `GET /appCatalogs/teamsApps/{id}/appDefinitions/{definition-id}`
async fn read_definition(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let select = definition_select(&ctx)?;
    let app_id = param(&params, "app");
    let d = catalog(&state)
        .definition(&ctx.principal, app_id, param(&params, "definition"))
        .await?;
    let body = project_definition(&ctx, definition_json(&ctx, &d), select.as_deref());
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, &definitions_fragment(app_id, select.as_deref()), body),
    ))
}

/// Most bytes of `manifest.json` read out of a package.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// A publish request body: a zipped Teams app package (`application/zip`, Graph's way) or
/// Switchboard's JSON convenience body.
enum AppPackage {
    Zip(Bytes),
    Json(Map<String, Value>),
}

impl FromRequest<AppState> for AppPackage {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if content_type == "application/zip" || content_type == "application/x-zip-compressed" {
            let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
                if rejection.status().as_u16() == 413 {
                    ApiError(Error::new(
                        ErrorKind::PayloadTooLarge,
                        "RequestEntityTooLarge",
                        "The request body is larger than the server accepts.",
                    ))
                } else {
                    ApiError::bad_request(Family::Protocol, rejection.body_text())
                }
            })?;
            return Ok(AppPackage::Zip(bytes));
        }
        if content_type == "application/json"
            || (content_type.starts_with("application/") && content_type.ends_with("+json"))
        {
            return Ok(AppPackage::Json(
                JsonObject::from_request(req, state).await?.0,
            ));
        }
        Err(ApiError(Error::new(
            ErrorKind::UnsupportedMediaType,
            "UnsupportedMediaType",
            format!(
                "The content type '{content_type}' is not supported; send a Teams app package as 'application/zip' (or JSON, see docs/teams-apps.md)."
            ),
        )))
    }
}

/// Reads `manifest.json` (at the package's root) out of a zipped Teams app package.
fn read_manifest(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("The app package is not a valid zip archive ({e}).")))?;
    let index = (0..archive.len())
        .find(|&i| {
            archive
                .name_for_index(i)
                .is_some_and(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case("manifest.json")))
        })
        .ok_or_else(|| bad("The app package has no manifest.json at its root."))?;
    let file = archive.by_index(index).map_err(|e| {
        bad(format!(
            "Cannot read manifest.json from the app package ({e})."
        ))
    })?;
    let mut text = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| {
            bad(format!(
                "Cannot read manifest.json from the app package ({e})."
            ))
        })?;
    if text.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(bad("manifest.json is larger than 1 MiB."));
    }
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
    serde_json::from_slice(text).map_err(|e| bad(format!("manifest.json is not valid JSON ({e}).")))
}

/// Reads what a publish request says about the app.
fn app_input(package: AppPackage) -> Result<AppInput, ApiError> {
    match package {
        AppPackage::Zip(bytes) => Ok(manifest_input(&read_manifest(&bytes)?)?),
        AppPackage::Json(map) => {
            let mut r = BodyReader::new(map, "microsoft.graph.teamsApp", TEAMS);
            let display_name = r.string("displayName")?.flatten();
            let external_id = r.string("externalId")?.flatten();
            let version = r.string("version")?.flatten();
            let short = r.string("shortDescription")?.flatten();
            let short_lower = r.string("shortdescription")?.flatten();
            let description = r.string("description")?.flatten();
            r.finish(&["id", "distributionMethod"])?;
            Ok(AppInput {
                external_id,
                display_name,
                version,
                short_description: short.or(short_lower),
                description,
                ..AppInput::default()
            })
        }
    }
}

/// Graph's `requiresReview=true` submits an app for an administrator's review; not implemented.
fn refuse_review(ctx: &Ctx) -> Result<(), ApiError> {
    let review =
        ctx.query.raw.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("requiresReview") && v.eq_ignore_ascii_case("true")
        });
    if review {
        return Err(ApiError(Error::new(
            ErrorKind::NotImplemented,
            "NotImplemented",
            "Submitting apps for review (requiresReview=true) is not implemented; apps are published directly.",
        )));
    }
    Ok(())
}

/// # `POST /appCatalogs/teamsApps`
/// Publishes an app to the tenant's catalogue (`distributionMethod` `organization`).
async fn publish(
    State(state): State<AppState>,
    ctx: Ctx,
    package: AppPackage,
) -> Result<Response, ApiError> {
    refuse_review(&ctx)?;
    let input = app_input(package)?;
    let (app, _) = catalog(&state).publish(&ctx.principal, input).await?;
    let location = ctx.url(&format!("appCatalogs/teamsApps/{}", app.id));
    Ok(odata::created(
        odata::entity(&ctx, "appCatalogs/teamsApps", app_json(&app)),
        &location,
    ))
}

/// # `POST /appCatalogs/teamsApps/{id}/appDefinitions`
/// Publishes a new version of an app (Graph's "update teamsApp").
async fn publish_version(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    package: AppPackage,
) -> Result<Response, ApiError> {
    refuse_review(&ctx)?;
    let app_id = param(&params, "app");
    let input = app_input(package)?;
    let d = catalog(&state)
        .publish_version(&ctx.principal, app_id, input)
        .await?;
    let location = ctx.url(&format!(
        "appCatalogs/teamsApps/{app_id}/appDefinitions/{}",
        d.id
    ));
    Ok(odata::created(
        odata::entity(
            &ctx,
            &definitions_fragment(app_id, None),
            definition_json(&ctx, &d),
        ),
        &location,
    ))
}

/// # `DELETE /appCatalogs/teamsApps/{id}`
async fn delete_app(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    catalog(&state)
        .delete(&ctx.principal, param(&params, "app"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- installed apps ---

/// `$expand` and `$select` on installations.
struct InstallView {
    select: Option<Vec<&'static str>>,
    app: bool,
    definition: bool,
    bot: bool,
}

fn install_view(ctx: &Ctx) -> Result<InstallView, ApiError> {
    let select = match &ctx.query.select {
        None => None,
        Some(paths) => Some(
            INSTALLATION_SCHEMA
                .resolve_select(paths)
                .map_err(|e| bad(e.to_string()))?,
        ),
    };
    let mut out = InstallView {
        select,
        app: false,
        definition: false,
        bot: false,
    };
    for item in &ctx.query.expand {
        let o = &item.options;
        let others = o.select.is_some()
            || o.filter.is_some()
            || !o.orderby.is_empty()
            || o.top.is_some()
            || o.skip.is_some()
            || o.count.is_some()
            || o.search.is_some();
        match item.path.to_ascii_lowercase().as_str() {
            "teamsapp" if !others && o.expand.is_empty() => out.app = true,
            "teamsappdefinition" if !others => {
                out.definition = true;
                for nested in &o.expand {
                    if !nested.path.eq_ignore_ascii_case("bot") {
                        return Err(bad(format!(
                            "Expanding '{}' is not supported on teamsAppDefinition; expand 'bot'.",
                            nested.path
                        )));
                    }
                    out.bot = true;
                }
            }
            _ => {
                return Err(bad(format!(
                    "Expanding '{}' is not supported on installedApps; expand 'teamsApp' or 'teamsAppDefinition' (with an optional $expand=bot).",
                    item.path
                )));
            }
        }
    }
    Ok(out)
}

/// An installation as Graph returns it: the `id`, `consentedPermissionSet` only when selected,
/// and the expanded navigations.
fn installation_json(ctx: &Ctx, i: &InstalledApp, v: &InstallView) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(i.installation.id));
    if v.select
        .as_ref()
        .is_some_and(|s| s.contains(&"consentedPermissionSet"))
    {
        m.insert(
            "consentedPermissionSet".into(),
            permission_set(&i.installation.permissions),
        );
    }
    if v.app {
        m.insert("teamsApp".into(), Value::Object(app_json(&i.app)));
    }
    if v.definition {
        let mut d = definition_json(ctx, &i.definition);
        if v.bot {
            d.insert("bot".into(), Value::Null);
        }
        m.insert("teamsAppDefinition".into(), Value::Object(d));
    }
    m
}

/// `chats('…')/installedApps`, with the owner's prefix and the selection and expansions.
fn installed_fragment(ctx: &Ctx, owner: &Owner, chat_id: &str, v: &InstallView) -> String {
    let set = match owner {
        Owner::Caller => format!("chats('{}')/installedApps", urlencode(chat_id)),
        Owner::Me => format!(
            "users('{}')/chats('{}')/installedApps",
            ctx.principal.user_id().unwrap_or_default(),
            urlencode(chat_id)
        ),
        Owner::User(uid) => format!(
            "users('{uid}')/chats('{}')/installedApps",
            urlencode(chat_id)
        ),
    };
    let mut parts: Vec<String> = v
        .select
        .as_ref()
        .map(|s| s.iter().map(|n| n.to_string()).collect())
        .unwrap_or_default();
    if v.app {
        parts.push("teamsApp()".into());
    }
    if v.definition {
        parts.push(if v.bot {
            "teamsAppDefinition(bot())".into()
        } else {
            "teamsAppDefinition()".into()
        });
    }
    if parts.is_empty() {
        set
    } else {
        format!("{set}({})", parts.join(","))
    }
}

/// # `GET /chats/{chat-id}/installedApps`
async fn list_installed(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let v = install_view(&ctx)?;
    let page = chat_apps(&state)
        .list(&ctx.principal, &owner, chat_id, &ctx.query)
        .await?;
    let items = page
        .items
        .iter()
        .map(|i| Value::Object(installation_json(&ctx, i, &v)))
        .collect();
    let fragment = installed_fragment(&ctx, &owner, chat_id, &v);
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(
            &ctx,
            &fragment,
            items,
            page.count,
            page.skiptoken.as_deref(),
        ),
    ))
}

/// # `GET /chats/{chat-id}/installedApps/{installation-id}`
async fn read_installed(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let v = install_view(&ctx)?;
    let i = chat_apps(&state)
        .get(
            &ctx.principal,
            &owner,
            chat_id,
            param(&params, "installation"),
        )
        .await?;
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(
            &ctx,
            &installed_fragment(&ctx, &owner, chat_id, &v),
            installation_json(&ctx, &i, &v),
        ),
    ))
}

/// Reads `consentedPermissionSet` (`{"resourceSpecificPermissions": [{"permissionValue", "permissionType"}]}`).
fn permission_set_input(
    r: &mut BodyReader,
) -> Result<Option<Vec<ResourceSpecificPermission>>, ApiError> {
    let Some(mut set) = r.object(
        "consentedPermissionSet",
        "microsoft.graph.teamsAppPermissionSet",
    )?
    else {
        return Ok(None);
    };
    let items = set
        .take_array("resourceSpecificPermissions")?
        .unwrap_or_default();
    set.finish(&[])?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(map) = item else {
            return Err(bad("Each resource-specific permission must be an object."));
        };
        let mut p = BodyReader::new(
            map,
            "microsoft.graph.teamsAppResourceSpecificPermission",
            TEAMS,
        );
        let value = p.string("permissionValue")?.flatten();
        let kind = p.string("permissionType")?.flatten();
        p.finish(&[])?;
        out.push(permission(kind.as_deref(), value.as_deref())?);
    }
    Ok(Some(out))
}

/// # `POST /chats/{chat-id}/installedApps`
/// 201 with the installation (Graph documents no body; the SDKs accept either) and its `Location`.
async fn install(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let teams_app_bind = match body.0.get("teamsApp@odata.bind") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("'teamsApp@odata.bind' must be a string.")),
    };
    let mut r = BodyReader::new(body.0, "microsoft.graph.teamsAppInstallation", TEAMS);
    let permissions = permission_set_input(&mut r)?;
    r.finish(&["id"])?;
    let installed = chat_apps(&state)
        .install(
            &ctx.principal,
            &owner,
            chat_id,
            InstallInput {
                teams_app_bind,
                permissions,
            },
        )
        .await?;
    let v = InstallView {
        select: None,
        app: false,
        definition: false,
        bot: false,
    };
    let location = ctx.url(&format!(
        "chats/{}/installedApps/{}",
        urlencode(chat_id),
        installed.installation.id
    ));
    Ok(odata::created(
        odata::entity(
            &ctx,
            &installed_fragment(&ctx, &owner, chat_id, &v),
            installation_json(&ctx, &installed, &v),
        ),
        &location,
    ))
}

/// An optional JSON object body: absent (no bytes) is `None`.
struct OptionalJson(Option<Map<String, Value>>);

impl FromRequest<AppState> for OptionalJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|t| {
                t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
            });
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| ApiError::bad_request(Family::Protocol, r.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !json_type {
            return Err(ApiError(Error::new(
                ErrorKind::UnsupportedMediaType,
                "UnsupportedMediaType",
                "The request body must be 'application/json'.",
            )));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(OptionalJson(Some(map))),
            _ => Err(ApiError::bad_request(
                Family::Protocol,
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )),
        }
    }
}

/// # `POST /chats/{chat-id}/installedApps/{installation-id}/upgrade`
/// To the app's newest published version; an optional `consentedPermissionSet` replaces the
/// consented permissions.
async fn upgrade(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: OptionalJson,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&ctx, &params);
    let permissions = match body.0 {
        None => None,
        Some(map) => {
            let mut r = BodyReader::new(map, "microsoft.graph.teamsAppInstallation", TEAMS);
            let p = permission_set_input(&mut r)?;
            r.finish(&[])?;
            p
        }
    };
    chat_apps(&state)
        .upgrade(
            &ctx.principal,
            &owner,
            param(&params, "chat"),
            param(&params, "installation"),
            permissions,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /chats/{chat-id}/installedApps/{installation-id}`
async fn uninstall(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&ctx, &params);
    chat_apps(&state)
        .remove(
            &ctx.principal,
            &owner,
            param(&params, "chat"),
            param(&params, "installation"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `GET /chats/{chat-id}/installedApps/{installation-id}/chat`
async fn bound_chat(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let view = chat_apps(&state)
        .bound_chat(
            &ctx.principal,
            &owner,
            param(&params, "chat"),
            param(&params, "installation"),
        )
        .await?;
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, "chats", chat_json(&view.chat, view.me.as_ref())),
    ))
}

/// Properties of a chat a `$ref` body may carry besides its `id` (the seed page sends a chat).
const CHAT_PROPERTIES: &[&str] = &[
    "tenantId",
    "topic",
    "createdDateTime",
    "lastUpdatedDateTime",
    "chatType",
    "webUrl",
    "viewpoint",
    "onlineMeetingInfo",
    "isHiddenForAllMembers",
];

/// The chat a `$ref` body names: `{"@odata.id": "<chat URL>"}`, or a chat object with its `id`.
fn referenced_chat(mut body: Map<String, Value>) -> Result<String, ApiError> {
    match body.remove("@odata.id") {
        Some(Value::String(url)) => {
            let r = BodyReader::new(body, "microsoft.graph.chat", TEAMS);
            r.finish(&[])?;
            navigation_key(&url, "chats").ok_or_else(|| {
                bad(format!("Invalid reference '{url}': '@odata.id' must name a chat, e.g. https://graph.microsoft.com/v1.0/chats('19:…@thread.v2')."))
            })
        }
        Some(_) => Err(bad("'@odata.id' must be a string (the URL of a chat).")),
        None => {
            let mut r = BodyReader::new(body, "microsoft.graph.chat", TEAMS);
            let id = r.string("id")?.flatten().filter(|id| !id.trim().is_empty());
            r.finish(CHAT_PROPERTIES)?;
            id.ok_or_else(|| {
                bad("A reference needs '@odata.id' (the URL of a chat) or a chat with its 'id'.")
            })
        }
    }
}

/// # `POST|PUT /chats/{chat-id}/installedApps/{installation-id}/chat/$ref`
/// Binds the installation's `chat` navigation to another chat (see docs/teams-apps.md).
async fn bind(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&ctx, &params);
    let target = referenced_chat(body.0)?;
    chat_apps(&state)
        .bind(
            &ctx.principal,
            &owner,
            param(&params, "chat"),
            param(&params, "installation"),
            &target,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /chats/{chat-id}/installedApps/{installation-id}/chat/$ref`
async fn unbind(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&ctx, &params);
    chat_apps(&state)
        .unbind(
            &ctx.principal,
            &owner,
            param(&params, "chat"),
            param(&params, "installation"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
