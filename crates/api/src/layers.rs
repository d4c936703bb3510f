//! The middleware stack, in one place: URL normalisation (before routing), request ids, the Graph
//! error envelope on every non-2xx answer, Graph's standard headers, and panic containment.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::Layer;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;

use crate::AppState;
use crate::error::{self, ApiError};

/// The request's correlation ids, for handlers and for error envelopes.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// Our id for this request (`request-id`).
    pub request_id: String,
    /// The client's id (`client-request-id`), or ours when it sent none.
    pub client_request_id: String,
}

/// The whole application: normalisation in front of the router and its middleware.
pub type App = tower::util::MapRequest<Router, fn(Request) -> Request>;

/// Builds the application for `state`.
pub fn app(state: AppState) -> App {
    // `$batch` sends its sub-requests through the same stack, built without the batch routes.
    let without_batch = stack(crate::routes(state.clone(), None));
    stack(crate::routes(
        state,
        Some(crate::batch::Dispatcher(without_batch)),
    ))
}

/// The middleware stack around `router`.
fn stack(router: Router) -> App {
    let router = router
        .layer(CatchPanicLayer::custom(|_| {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }))
        .layer(middleware::from_fn(graph_envelope));
    MapRequestLayer::new(normalize as fn(Request) -> Request).layer(router)
}

/// Segment names Graph treats case-insensitively, in their canonical spelling.
const CANONICAL_SEGMENTS: &[&str] = &[
    "users",
    "me",
    "organization",
    "domains",
    "chats",
    "messages",
    "members",
    "installedApps",
    "mailFolders",
    "childFolders",
    "lastMessagePreview",
    "appCatalogs",
    "teamsApps",
    "sendMail",
    "$count",
    "$value",
    "$ref",
    "$batch",
    "$metadata",
    "getAllMessages",
    "delta",
    "softDelete",
    "undoSoftDelete",
    "setReaction",
    "unsetReaction",
    "appDefinitions",
    "upgrade",
];

/// Rewrites OData URL forms to the plain paths the router knows: `/users('id')` → `/users/id`,
/// case-insensitive segment names → canonical, `microsoft.graph.send` → `send`, no trailing `/`.
fn normalize(mut request: Request) -> Request {
    let uri = request.uri();
    let path = uri.path();
    if !path.starts_with("/v1.0") && !path.starts_with("/beta") {
        return request;
    }
    let original = path;
    let path = embedded_link(path).unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let (segment, alternate) = split_alternate_key(segment);
        let (name, key) = match segment.find("('").or_else(|| segment.find("(%27")) {
            Some(open) if segment.ends_with("')") || segment.ends_with("%27)") => {
                let quote = if segment[open..].starts_with("('") {
                    2
                } else {
                    4
                };
                let close = if segment.ends_with("')") { 2 } else { 4 };
                let inner = &segment[open + quote..segment.len() - close];
                (&segment[..open], Some(inner.replace("''", "'")))
            }
            _ => (segment, None),
        };
        let name = name
            .strip_prefix("microsoft.graph.")
            .or_else(|| name.strip_prefix("graph."))
            .unwrap_or(name);
        // Function calls without parameters, as Kiota writes them: `getAllMessages()` → `getAllMessages`.
        let name = name.strip_suffix("()").unwrap_or(name);
        let name = CANONICAL_SEGMENTS
            .iter()
            .find(|c| c.eq_ignore_ascii_case(name))
            .copied()
            .unwrap_or(name);
        out.push('/');
        out.push_str(name);
        if let Some(key) = key {
            out.push('/');
            out.push_str(&key);
        }
        if let Some(alternate) = alternate {
            out.push('/');
            out.push_str(&alternate);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    if out != original {
        let rebuilt = match uri.query() {
            Some(q) => format!("{out}?{q}"),
            None => out,
        };
        if let Ok(new_uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = new_uri;
        }
    }
    request
}

/// The Graph client v3's `PageIterator` hands `@odata.nextLink` to `client.api()`, which takes an
/// `http://` link for a path (it knows only `https://` ones) and sends
/// `/v1.0/http://host:port/v1.0/users?$skiptoken=…`: the path the link names is what was meant.
/// Any origin is read so, as the links' origin may be `--public-url`; this server answers it.
pub(crate) fn embedded_link(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/v1.0/")
        .or_else(|| path.strip_prefix("/beta/"))?;
    let rest = rest
        .strip_prefix("http://")
        .or_else(|| rest.strip_prefix("https://"))?;
    let inner = &rest[rest.find('/')?..];
    (inner.starts_with("/v1.0/") || inner.starts_with("/beta/")).then_some(inner)
}

/// Graph's alternate-key syntax for applications: `applications(appId='{appId}')` is read as the
/// segment `applications` followed by the key `appId={appId}`, which the route understands.
fn split_alternate_key(segment: &str) -> (&str, Option<String>) {
    let lower = segment.to_ascii_lowercase();
    let Some(open) = lower.find("(appid=") else {
        return (segment, None);
    };
    if !segment.ends_with(')') {
        return (segment, None);
    }
    let value = &segment[open + "(appid=".len()..segment.len() - 1];
    let value = value
        .strip_prefix('\'')
        .or_else(|| value.strip_prefix("%27"))
        .unwrap_or(value);
    let value = value
        .strip_suffix('\'')
        .or_else(|| value.strip_suffix("%27"))
        .unwrap_or(value);
    (&segment[..open], Some(format!("appId={value}")))
}

static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
static CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// Assigns request ids, and turns every error answer into Graph's envelope with them.
async fn graph_envelope(mut request: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = request
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let ids = RequestIds {
        request_id,
        client_request_id,
    };
    request.extensions_mut().insert(ids.clone());
    let is_identity =
        !request.uri().path().starts_with("/v1.0") && !request.uri().path().starts_with("/beta");

    let mut response = next.run(request).await;
    let status = response.status();
    if !status.is_success() && !is_identity || response.extensions().get::<ApiError>().is_some() {
        let error = match response.extensions_mut().remove::<ApiError>() {
            Some(e) => Some(e.0),
            // Answers axum produced itself (405, 413 from a body limit, a caught panic).
            None if !is_json(&response) && status.as_u16() >= 400 => {
                Some(error::for_status(status))
            }
            None => None,
        };
        if let Some(error) = error {
            if error.kind == switchboard_domain::ErrorKind::Internal {
                tracing::error!(request_id = %ids.request_id, "{}", error.message);
            }
            let body = error::envelope(&error, &ids.request_id, &ids.client_request_id);
            let mut fresh = (error::status(error.kind), axum::Json(body)).into_response();
            if error.kind == switchboard_domain::ErrorKind::Unauthenticated {
                fresh.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
                );
            }
            response = fresh;
        }
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert(REQUEST_ID.clone(), v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids.client_request_id) {
        headers.insert(CLIENT_REQUEST_ID.clone(), v);
    }
    headers.insert(
        HeaderName::from_static("odata-version"),
        HeaderValue::from_static("4.0"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn is_json(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(path: &str) -> String {
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        normalize(req).uri().to_string()
    }

    #[test]
    fn key_syntax_and_case() {
        assert_eq!(norm("/v1.0/users('abc')"), "/v1.0/users/abc");
        assert_eq!(
            norm("/v1.0/Users/x/MailFolders('inbox')/messages?$top=1"),
            "/v1.0/users/x/mailFolders/inbox/messages?$top=1"
        );
        assert_eq!(
            norm("/v1.0/me/messages/1/microsoft.graph.send"),
            "/v1.0/me/messages/1/send"
        );
        assert_eq!(norm("/v1.0/users('it''s')"), "/v1.0/users/it's");
        assert_eq!(norm("/v1.0/users/"), "/v1.0/users");
        assert_eq!(
            norm("/v1.0/users/u/chats/getAllMessages()/delta()?$top=5"),
            "/v1.0/users/u/chats/getAllMessages/delta?$top=5"
        );
        assert_eq!(
            norm("/v1.0/chats/c/messages/1/microsoft.graph.SetReaction"),
            "/v1.0/chats/c/messages/1/setReaction"
        );
        assert_eq!(
            norm("/tenant/oauth2/v2.0/token"),
            "/tenant/oauth2/v2.0/token"
        );
        assert_eq!(
            norm("/v1.0/applications(appId='5b0c')"),
            "/v1.0/applications/appId=5b0c"
        );
        assert_eq!(
            norm("/v1.0/applications(appId=%275b0c%27)/addPassword"),
            "/v1.0/applications/appId=5b0c/addPassword"
        );
        assert_eq!(
            norm("/v1.0/http://127.0.0.1:8080/beta/users?$skiptoken=x"),
            "/beta/users?$skiptoken=x"
        );
        assert_eq!(
            norm("/v1.0/https://sb.example/v1.0/Chats('19:a')/members"),
            "/v1.0/chats/19:a/members"
        );
        assert_eq!(norm("/v1.0/http://host/users"), "/v1.0/http:/host/users");
    }
}
