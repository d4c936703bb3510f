//! MSAL's discovery endpoints: instance discovery (`/common/discovery/instance`) and user-realm
//! discovery (`/common/userrealm/{user}`), answered for this server as the identity platform
//! answers them for its own hosts.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::collections::HashMap;

use crate::AppState;
use crate::context::base_url;

/// The discovery routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/common/discovery/instance", get(instance))
        .route("/common/userrealm/{user}", get(user_realm))
}

/// # `GET /common/discovery/instance`
async fn instance(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let base = base_url(&state, &headers);
    let host = base.split("://").nth(1).unwrap_or(&base).to_string();
    // The tenant comes from the authorization endpoint the client names, as the real service does.
    let tenant = q
        .get("authorization_endpoint")
        .and_then(|a| url::Url::parse(a).ok())
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next().map(str::to_string))
        })
        .unwrap_or_else(|| "common".into());
    axum::Json(json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{ "preferred_network": host, "preferred_cache": host, "aliases": [host] }]
    }))
    .into_response()
}

/// # `GET /common/userrealm/{user}`
/// Every account here is a managed (cloud) account of the tenant that owns its domain.
async fn user_realm(State(state): State<AppState>, Path(user): Path<String>) -> Response {
    let domain = user
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let known = matches!(state.store.tenant(&domain).await, Ok(Some(_)));
    axum::Json(json!({
        "ver": "1.0",
        "account_type": if known { "Managed" } else { "Unknown" },
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    }))
    .into_response()
}
