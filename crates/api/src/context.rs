//! The per-request context every Graph handler takes: the authenticated caller, the API version,
//! the base URL for links, the parsed OData query options and the headers that change Graph's
//! behaviour. Authentication happens here, once, before any handler runs.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use switchboard_domain::{Error, Family, Principal};
use switchboard_odata::{Limits, QueryOptions};

use crate::AppState;
use crate::error::ApiError;

/// Everything a Graph handler needs to know about its request.
pub struct Ctx {
    /// The authenticated caller.
    pub principal: Principal,
    /// `v1.0` or `beta`.
    pub version: &'static str,
    /// Scheme and authority for absolute links, e.g. `http://127.0.0.1:5555`.
    pub base: String,
    /// The request path as the client sent it (for next links).
    pub path: String,
    /// Parsed system query options.
    pub query: QueryOptions,
    /// `ConsistencyLevel: eventual` was sent.
    pub eventual: bool,
    /// The `Prefer` header's preferences as sent (`include-unknown-enum-members`, …); compare with `prefers`.
    pub prefer: Vec<String>,
}

impl Ctx {
    /// `{base}/{version}/$metadata#{fragment}`.
    pub fn context(&self, fragment: &str) -> String {
        format!("{}/{}/$metadata#{fragment}", self.base, self.version)
    }

    /// Whether the client sent `Prefer: {name}` (case-insensitive).
    pub fn prefers(&self, name: &str) -> bool {
        self.prefer.iter().any(|p| p.eq_ignore_ascii_case(name))
    }

    /// The absolute URL of a resource path under this version (`users/{id}` → `http://…/v1.0/users/{id}`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.base, self.version)
    }
}

/// The base URL: the configured public URL, else the request's `Host` with the listener's scheme.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(public) = &state.config.public_url {
        return public.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// The bearer token of a request, or the 401 Graph answers without one.
pub fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::unauthenticated("Access token is empty."))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::unauthenticated("Access token is empty."));
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = state
            .tokens
            .validate(bearer(&parts.headers)?, state.store.as_ref())
            .await?;
        let original = parts
            .extensions
            .get::<OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let path = original.path().to_string();
        let version = if path.starts_with("/beta") {
            "beta"
        } else {
            "v1.0"
        };
        let query = QueryOptions::parse(parts.uri.query().unwrap_or(""), &Limits::default())
            .map_err(|e| ApiError(Error::bad_request(Family::Protocol, e.to_string())))?;
        let eventual = parts
            .headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
        let prefer = parts
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        Ok(Ctx {
            principal,
            version,
            base: base_url(state, &parts.headers),
            path,
            query,
            eventual,
            prefer,
        })
    }
}
