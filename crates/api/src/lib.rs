//! Switchboard's HTTP layer: Graph's routes under `/v1.0` and `/beta`, the identity platform's
//! endpoints, the extractors that authenticate and parse each request, and the one place where
//! errors become Graph's JSON envelope.
//!
//! Layout: one module per resource family (`users`, `organization`, …) owning its routes;
//! `context` (the per-request extractor), `body` (request bodies), `odata` (responses),
//! `error` and `layers` (the middleware stack, URL normalisation); `batch` (`$batch`, which runs
//! sub-requests through that same stack).

mod applications;
mod authorize;
mod batch;
mod body;
mod chat_messages;
mod chats;
mod context;
mod discovery;
mod error;
mod identity;
mod layers;
mod mail;
mod odata;
mod organization;
mod renderings;
mod teams_apps;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use switchboard_auth::{TokenIssuer, TokenService};
use switchboard_domain::Store;
use switchboard_domain::credentials::HashCost;

pub use renderings::MessageRenderings;

pub use error::ApiError;
pub use layers::{App, app};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The externally visible base URL (`https://graph.example.org`); when unset, links are built
    /// from the request's `Host`.
    pub public_url: Option<String>,
    /// The listener speaks TLS: links built from the request's `Host` use `https://`.
    pub tls: bool,
    /// Largest request body accepted, bytes.
    pub max_body_bytes: usize,
    /// Argon2 cost for passwords set through the API.
    pub hash_cost: HashCost,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Token issuing and validation.
    pub tokens: Arc<TokenIssuer>,
    /// The token endpoint.
    pub token_service: Arc<TokenService>,
    /// HTTP settings.
    pub config: Arc<ApiConfig>,
    /// Chat messages rendered as JSON, by version.
    pub renderings: Arc<MessageRenderings>,
}

/// The Graph routes of one API version (mounted at `/v1.0` and at `/beta`).
fn graph_routes() -> Router<AppState> {
    Router::new()
        .merge(users::routes())
        .merge(applications::routes())
        .merge(organization::routes())
        .merge(chats::routes())
        .nest("/me", chats::routes())
        .nest("/users/{uid}", chats::routes())
        .merge(chat_messages::routes())
        .nest("/me", chat_messages::routes())
        .nest("/users/{uid}", chat_messages::routes())
        .merge(teams_apps::routes())
        .nest("/me", mail::routes())
        .nest("/users/{uid}", mail::routes())
}

/// Every route, before the middleware stack; the `$batch` routes when given their dispatcher.
pub fn routes(state: AppState, batch: Option<batch::Dispatcher>) -> Router {
    let max_body = state.config.max_body_bytes;
    let mut router = Router::new()
        .nest("/v1.0", graph_routes())
        .nest("/beta", graph_routes());
    if let Some(dispatcher) = batch {
        router = router.merge(batch::routes(dispatcher));
    }
    router
        .merge(identity::routes())
        .merge(authorize::routes())
        .merge(discovery::routes())
        .fallback(error::unknown_route)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
