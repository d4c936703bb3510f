//! The identity platform's endpoints, outside the Graph version prefixes: the token endpoint,
//! the signing keys (JWKS) and the OpenID Connect discovery document.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::json;
use switchboard_auth::IdentityError;
use switchboard_auth::tokens::issuer;
use switchboard_domain::graph_time;

use crate::AppState;
use crate::context::base_url;

/// The identity platform's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/discovery/keys", get(keys))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
}

fn identity_error(e: IdentityError) -> Response {
    let now = graph_time::now_ms();
    let stamp = graph_time::seconds(now).replace('T', " ");
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "error": e.error,
        "error_description": format!("AADSTS{}: {}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}", e.code, e.description),
        "error_codes": [e.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
    });
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(body)).into_response()
}

fn bad_request(description: &str) -> Response {
    identity_error(IdentityError {
        status: 400,
        error: "invalid_request",
        code: 900144,
        description: description.into(),
    })
}

/// # `POST /{tenant}/oauth2/v2.0/token`
/// Issues access tokens (form-encoded request, JSON answer).
async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return bad_request("The request body must be application/x-www-form-urlencoded.");
    }
    let mut form: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        form.insert(k.into_owned(), v.into_owned());
    }
    // RFC 6749 §2.3.1: client credentials may come in an HTTP Basic header instead.
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return bad_request("The Authorization header is not valid HTTP Basic credentials.");
        };
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        form.entry("client_id".into())
            .or_insert_with(|| unescape(id));
        form.insert("client_secret".into(), unescape(secret));
    }
    match state
        .token_service
        .token(&tenant, &form, &base_url(&state, &headers))
        .await
    {
        Ok(answer) => {
            let mut response = (StatusCode::OK, axum::Json(answer)).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store, no-cache"),
            );
            response
        }
        Err(e) => identity_error(e),
    }
}

/// # `GET /{tenant}/discovery/v2.0/keys`
/// Each key names the issuer of this tenant's discovery document, as the identity platform does.
async fn keys(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tenant_id = match state.store.tenant(&tenant).await {
        Ok(Some(t)) => t.id,
        _ => tenant,
    };
    let issuer = format!("{}/{tenant_id}/v2.0", base_url(&state, &headers));
    axum::Json(state.tokens.ring().jwks(&issuer)).into_response()
}

/// # `GET /{tenant}/v2.0/.well-known/openid-configuration`
async fn openid_configuration(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(Some(t)) = state.store.tenant(&tenant).await else {
        return identity_error(IdentityError {
            status: 400,
            error: "invalid_tenant",
            code: 90002,
            description: format!("Tenant '{tenant}' not found."),
        });
    };
    let base = base_url(&state, &headers);
    let root = format!("{base}/{}", t.id);
    axum::Json(json!({
        "token_endpoint": format!("{root}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": format!("{root}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{root}/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{root}/oauth2/v2.0/authorize"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{root}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": base.trim_start_matches("http://").trim_start_matches("https://"),
        "access_token_issuer": issuer(&t.id),
    }))
    .into_response()
}
