//! `/applications`: application registrations (create, list, read, delete) and their client
//! secrets (`addPassword`, `removePassword`), with the application's JSON.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use switchboard_domain::applications::{
    AppKey, ApplicationInput, Applications, PasswordInput, RequiredResourceAccess, ResourceAccess,
    required_resource_access,
};
use switchboard_domain::tenants::{Application, ClientSecret};
use switchboard_domain::{Family, graph_time};

use crate::AppState;
use crate::body::{BodyReader, JsonObject};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::odata;

/// The routes of application registrations.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications", get(list).post(create))
        .route("/applications/{id}", get(read).delete(remove))
        .route("/applications/{id}/addPassword", post(add_password))
        .route("/applications/{id}/removePassword", post(remove_password))
}

fn applications(state: &AppState) -> Applications<'_> {
    Applications {
        store: state.store.as_ref(),
        hash_cost: state.config.hash_cost,
    }
}

/// Every property Switchboard returns for an application, in Graph's order.
const PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "appId",
    "createdDateTime",
    "description",
    "displayName",
    "identifierUris",
    "isFallbackPublicClient",
    "notes",
    "signInAudience",
    "tags",
    "appRoles",
    "keyCredentials",
    "passwordCredentials",
    "publicClient",
    "requiredResourceAccess",
    "spa",
    "web",
];

/// A password credential as Graph returns it; `secretText` only right after `addPassword`.
fn password_json(s: &ClientSecret, secret_text: Option<&str>) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": s.display_name,
        "endDateTime": s.end_ms.map(graph_time::seconds),
        "hint": s.hint,
        "keyId": s.key_id,
        "secretText": secret_text,
        "startDateTime": graph_time::seconds(s.created_ms),
    })
}

fn rra_json(required: &[RequiredResourceAccess]) -> Value {
    Value::Array(
        required
            .iter()
            .map(|r| {
                json!({
                    "resourceAppId": r.resource_app_id,
                    "resourceAccess": r.access.iter().map(|a| json!({ "id": a.id, "type": a.kind })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// The application as Graph returns it (the `$select`ed properties, or all).
fn application_json(app: &Application, select: Option<&[&str]>) -> Map<String, Value> {
    let web: Vec<&String> = app
        .redirect_uris
        .iter()
        .filter(|u| {
            !app.spa_redirect_uris.contains(u) && !app.public_client_redirect_uris.contains(u)
        })
        .collect();
    let mut m = Map::new();
    m.insert("id".into(), json!(app.object_id));
    m.insert("deletedDateTime".into(), Value::Null);
    m.insert("appId".into(), json!(app.client_id));
    m.insert(
        "createdDateTime".into(),
        json!(graph_time::seconds(app.created_ms)),
    );
    m.insert("description".into(), Value::Null);
    m.insert("displayName".into(), json!(app.display_name));
    m.insert("identifierUris".into(), json!([]));
    m.insert("isFallbackPublicClient".into(), Value::Null);
    m.insert("notes".into(), Value::Null);
    m.insert("signInAudience".into(), json!("AzureADMyOrg"));
    m.insert("tags".into(), json!([]));
    // The roles the application defines for others (none), not the permissions it holds.
    m.insert("appRoles".into(), json!([]));
    m.insert("keyCredentials".into(), json!([]));
    m.insert(
        "passwordCredentials".into(),
        Value::Array(app.secrets.iter().map(|s| password_json(s, None)).collect()),
    );
    m.insert(
        "publicClient".into(),
        json!({ "redirectUris": app.public_client_redirect_uris }),
    );
    m.insert(
        "requiredResourceAccess".into(),
        rra_json(&required_resource_access(app)),
    );
    m.insert(
        "spa".into(),
        json!({ "redirectUris": app.spa_redirect_uris }),
    );
    m.insert(
        "web".into(),
        json!({
            "homePageUrl": null,
            "logoutUrl": null,
            "redirectUris": web,
            "implicitGrantSettings": { "enableAccessTokenIssuance": false, "enableIdTokenIssuance": false },
        }),
    );
    odata::project(m, select.unwrap_or(PROPERTIES))
}

fn selection(ctx: &Ctx) -> Result<Option<Vec<&'static str>>, ApiError> {
    let Some(paths) = &ctx.query.select else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for path in paths {
        if path == "*" {
            return Ok(None);
        }
        let name = PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(path)).ok_or_else(|| {
            ApiError::bad_request(
                Family::Directory,
                format!("Could not find a property named '{path}' on type 'microsoft.graph.application'."),
            )
        })?;
        if !out.contains(name) {
            out.push(*name);
        }
    }
    Ok(Some(out))
}

/// # `GET /applications`
async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let select = selection(&ctx)?;
    let page = applications(&state)
        .list(&ctx.principal, &ctx.query, ctx.eventual)
        .await?;
    let items = page
        .items
        .iter()
        .map(|a| Value::Object(application_json(a, select.as_deref())))
        .collect();
    let fragment = odata::fragment("applications", select.as_deref());
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

/// # `GET /applications/{id}` (also `/applications(appId='{appId}')`)
async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let select = selection(&ctx)?;
    let app = applications(&state)
        .get(&ctx.principal, &AppKey::parse(&id))
        .await?;
    let fragment = odata::fragment("applications", select.as_deref());
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, &fragment, application_json(&app, select.as_deref())),
    ))
}

fn redirect_uris(
    r: &mut BodyReader,
    name: &str,
    type_name: &'static str,
) -> Result<Vec<String>, ApiError> {
    let Some(mut platform) = r.object(name, type_name)? else {
        return Ok(Vec::new());
    };
    let uris = platform.strings("redirectUris")?.unwrap_or_default();
    platform.finish(&[
        "homePageUrl",
        "logoutUrl",
        "implicitGrantSettings",
        "redirectUriSettings",
    ])?;
    Ok(uris)
}

/// Reads the writable properties of an application. Properties Switchboard stores nothing for
/// (`description`, `tags`, `signInAudience`, …) are accepted and ignored.
fn read_input(body: JsonObject) -> Result<ApplicationInput, ApiError> {
    let mut r = BodyReader::new(body.0, "microsoft.graph.application", Family::Directory);
    let mut input = ApplicationInput {
        display_name: r.string("displayName")?.flatten(),
        web_redirect_uris: redirect_uris(&mut r, "web", "microsoft.graph.webApplication")?,
        spa_redirect_uris: redirect_uris(&mut r, "spa", "microsoft.graph.spaApplication")?,
        public_client_redirect_uris: redirect_uris(
            &mut r,
            "publicClient",
            "microsoft.graph.publicClientApplication",
        )?,
        ..ApplicationInput::default()
    };
    for mut resource in r
        .objects(
            "requiredResourceAccess",
            "microsoft.graph.requiredResourceAccess",
        )?
        .unwrap_or_default()
    {
        let resource_app_id = resource
            .string("resourceAppId")?
            .flatten()
            .unwrap_or_default();
        let mut access = Vec::new();
        for mut item in resource
            .objects("resourceAccess", "microsoft.graph.resourceAccess")?
            .unwrap_or_default()
        {
            access.push(ResourceAccess {
                id: item.string("id")?.flatten().unwrap_or_default(),
                kind: item.string("type")?.flatten().unwrap_or_default(),
            });
            item.finish(&[])?;
        }
        resource.finish(&[])?;
        input.required_resource_access.push(RequiredResourceAccess {
            resource_app_id,
            access,
        });
    }
    r.finish(&[
        "id",
        "appId",
        "createdDateTime",
        "deletedDateTime",
        "description",
        "notes",
        "tags",
        "signInAudience",
        "identifierUris",
        "isFallbackPublicClient",
        "appRoles",
        "keyCredentials",
        "passwordCredentials",
        "info",
        "api",
        "optionalClaims",
        "parentalControlSettings",
        "groupMembershipClaims",
    ])?;
    Ok(input)
}

/// # `POST /applications`
async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let input = read_input(body)?;
    let app = applications(&state).create(&ctx.principal, input).await?;
    let location = ctx.url(&format!("applications/{}", app.object_id));
    Ok(odata::created(
        odata::entity(&ctx, "applications", application_json(&app, None)),
        &location,
    ))
}

/// # `DELETE /applications/{id}`
async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    applications(&state)
        .delete(&ctx.principal, &AppKey::parse(&id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /applications/{id}/addPassword`
/// Answers 200 with the new `passwordCredential`, its `secretText` shown this once.
async fn add_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let mut input = PasswordInput::default();
    {
        let mut r = BodyReader::new(body.0, "microsoft.graph.addPassword", Family::Directory);
        if let Some(mut credential) =
            r.object("passwordCredential", "microsoft.graph.passwordCredential")?
        {
            input.display_name = credential.string("displayName")?.flatten();
            let instant = |c: &mut BodyReader, name: &str| -> Result<Option<i64>, ApiError> {
                match c.string(name)?.flatten() {
                    None => Ok(None),
                    Some(text) => graph_time::parse(&text).map(Some).ok_or_else(|| {
                        ApiError::bad_request(
                            Family::Directory,
                            format!("Invalid value specified for property '{name}' of resource 'PasswordCredential'."),
                        )
                    }),
                }
            };
            input.start_ms = instant(&mut credential, "startDateTime")?;
            input.end_ms = instant(&mut credential, "endDateTime")?;
            credential.finish(&["customKeyIdentifier", "hint", "keyId", "secretText"])?;
        }
        r.finish(&[])?;
    }
    let added = applications(&state)
        .add_password(&ctx.principal, &AppKey::parse(&id), input)
        .await?;
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(ctx.context("microsoft.graph.passwordCredential")),
    );
    if let Value::Object(fields) = password_json(&added.credential, Some(&added.secret_text)) {
        body.extend(fields);
    }
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// # `POST /applications/{id}/removePassword`
async fn remove_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    let mut r = BodyReader::new(body.0, "microsoft.graph.removePassword", Family::Directory);
    let key_id = r.string("keyId")?.flatten().unwrap_or_default();
    r.finish(&[])?;
    if uuid::Uuid::try_parse(&key_id).is_err() {
        return Err(ApiError::bad_request(
            Family::Directory,
            "Invalid value specified for property 'keyId' of resource 'RemovePassword': a GUID is required.",
        ));
    }
    applications(&state)
        .remove_password(&ctx.principal, &AppKey::parse(&id), &key_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
