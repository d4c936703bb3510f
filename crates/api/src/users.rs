//! `/users` and `/me`: the user directory's routes and the user's JSON.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use switchboard_domain::graph_time;
use switchboard_domain::users::{
    DEFAULT_PROPERTIES, Directory, DirectoryQueryMode, USER_SCHEMA, UserInput, UserRecord,
};
use switchboard_domain::{Error, Family};

use crate::AppState;
use crate::body::{BodyReader, JsonObject};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::odata;

/// The routes of the user directory.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/$count", get(count))
        .route("/users/{id}", get(read).patch(update).delete(remove))
        .route("/me", get(me))
}

fn directory(state: &AppState) -> Directory<'_> {
    Directory {
        store: state.store.as_ref(),
        hash_cost: state.config.hash_cost,
    }
}

/// Every property of a user, in Graph's order.
fn full_json(u: &UserRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("businessPhones".into(), json!(u.business_phones));
    m.insert("displayName".into(), json!(u.display_name));
    m.insert("givenName".into(), json!(u.given_name));
    m.insert("jobTitle".into(), json!(u.job_title));
    m.insert("mail".into(), json!(u.mail));
    m.insert("mobilePhone".into(), json!(u.mobile_phone));
    m.insert("officeLocation".into(), json!(u.office_location));
    m.insert("preferredLanguage".into(), json!(u.preferred_language));
    m.insert("surname".into(), json!(u.surname));
    m.insert("userPrincipalName".into(), json!(u.user_principal_name));
    m.insert("id".into(), json!(u.id));
    m.insert("accountEnabled".into(), json!(u.account_enabled));
    m.insert("mailNickname".into(), json!(u.mail_nickname));
    m.insert(
        "createdDateTime".into(),
        json!(graph_time::seconds(u.created_ms)),
    );
    m.insert("deletedDateTime".into(), Value::Null);
    // Graph never returns the password; the profile reads as null.
    m.insert("passwordProfile".into(), Value::Null);
    m
}

/// The user as Graph returns it: the default property set, or the `$select`ed properties.
pub fn user_json(u: &UserRecord, select: Option<&[&str]>) -> Map<String, Value> {
    odata::project(full_json(u), select.unwrap_or(DEFAULT_PROPERTIES))
}

fn selection(ctx: &Ctx) -> Result<Option<Vec<&'static str>>, ApiError> {
    match &ctx.query.select {
        None => Ok(None),
        Some(paths) => USER_SCHEMA
            .resolve_select(paths)
            .map(Some)
            .map_err(|e| ApiError::bad_request(Family::Directory, e.to_string())),
    }
}

fn mode(ctx: &Ctx) -> DirectoryQueryMode {
    DirectoryQueryMode {
        eventual: ctx.eventual,
    }
}

/// # `GET /users`
/// Lists the tenant's users, one page at a time.
async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let select = selection(&ctx)?;
    let page = directory(&state)
        .list(&ctx.principal, &ctx.query, mode(&ctx))
        .await?;
    let items = page
        .items
        .iter()
        .map(|u| Value::Object(user_json(u, select.as_deref())))
        .collect();
    let fragment = odata::fragment("users", select.as_deref());
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

/// # `GET /users/$count`
/// The number of users matching `$filter`/`$search`, as plain text (advanced query mode only).
async fn count(State(state): State<AppState>, mut ctx: Ctx) -> Result<Response, ApiError> {
    if !ctx.eventual {
        return Err(ApiError(Error::new(
            switchboard_domain::ErrorKind::BadRequest,
            "Request_BadRequest",
            "Count is not supported without the header 'ConsistencyLevel: eventual'.",
        )));
    }
    ctx.query.count = Some(true);
    ctx.query.top = Some(1);
    let page = directory(&state)
        .list(&ctx.principal, &ctx.query, mode(&ctx))
        .await?;
    let mut response = page.count.unwrap_or(0).to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    Ok(response)
}

/// # `GET /users/{id | userPrincipalName}`
async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let select = selection(&ctx)?;
    let user = directory(&state).get(&ctx.principal, &id).await?;
    let fragment = odata::fragment("users", select.as_deref());
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, &fragment, user_json(&user, select.as_deref())),
    ))
}

/// # `GET /me`
/// The signed-in user (delegated tokens only).
async fn me(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    if ctx.principal.user_id().is_none() {
        return Err(ApiError::bad_request(
            Family::Protocol,
            "/me request is only valid with delegated authentication flow.",
        ));
    }
    let select = selection(&ctx)?;
    let user = directory(&state).me(&ctx.principal).await?;
    let fragment = odata::fragment("users", select.as_deref());
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, &fragment, user_json(&user, select.as_deref())),
    ))
}

/// Reads the writable user properties from a body; `ignored` are the server-owned ones.
fn read_input(body: JsonObject) -> Result<UserInput, ApiError> {
    let mut r = BodyReader::new(body.0, "microsoft.graph.user", Family::Directory);
    let flat = |f: Option<Option<String>>| f.map(|v| v.filter(|s| !s.is_empty()));
    let mut input = UserInput {
        account_enabled: r.boolean("accountEnabled")?.flatten(),
        display_name: r.string("displayName")?.flatten(),
        mail_nickname: r.string("mailNickname")?.flatten(),
        user_principal_name: r.string("userPrincipalName")?.flatten(),
        mail: flat(r.string("mail")?),
        given_name: flat(r.string("givenName")?),
        surname: flat(r.string("surname")?),
        job_title: flat(r.string("jobTitle")?),
        business_phones: r.strings("businessPhones")?,
        mobile_phone: flat(r.string("mobilePhone")?),
        office_location: flat(r.string("officeLocation")?),
        preferred_language: flat(r.string("preferredLanguage")?),
        ..UserInput::default()
    };
    if let Some(mut profile) = r.object("passwordProfile", "microsoft.graph.passwordProfile")? {
        input.password = profile.string("password")?.flatten();
        input.force_change_password = profile.boolean("forceChangePasswordNextSignIn")?.flatten();
        profile.boolean("forceChangePasswordNextSignInWithMfa")?;
        profile.finish(&[])?;
    }
    r.finish(&["id", "createdDateTime", "deletedDateTime"])?;
    Ok(input)
}

/// # `POST /users`
async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let input = read_input(body)?;
    let user = directory(&state).create(&ctx.principal, input).await?;
    let location = ctx.url(&format!("users/{}", user.id));
    Ok(odata::created(
        odata::entity(&ctx, "users", user_json(&user, None)),
        &location,
    ))
}

/// # `PATCH /users/{id}`
/// Directory objects answer 204, unlike Outlook's 200.
async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    let input = read_input(body)?;
    directory(&state).update(&ctx.principal, &id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /users/{id}`
async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    directory(&state).delete(&ctx.principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
