//! JSON batching (`POST /v1.0/$batch`, `POST /beta/$batch`): reads the batch, orders its
//! sub-requests by `dependsOn`, runs each through the application itself (so authentication,
//! permissions, error envelopes and OData behave exactly as on the route) and gathers the answers.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use axum::response::Response;
use axum::routing::post;
use axum::{Router, body};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use switchboard_domain::{Error, ErrorKind, Family};
use tower::ServiceExt;

use crate::AppState;
use crate::body::JsonObject;
use crate::context::Ctx;
use crate::error::{self, ApiError};
use crate::layers::{self, App, RequestIds};

/// Graph's limit on the requests of one batch.
const MAX_REQUESTS: usize = 20;

/// The application without the batch routes, which sub-requests are sent through. Having no
/// `$batch` route of its own, it cannot be made to recurse.
#[derive(Clone)]
pub struct Dispatcher(pub App);

/// The batch routes of both versions.
pub fn routes(dispatcher: Dispatcher) -> Router<AppState> {
    Router::new()
        .route("/v1.0/$batch", post(batch))
        .route("/beta/$batch", post(batch))
        .layer(Extension(dispatcher))
}

/// One sub-request as read from the batch, before it is run.
struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<usize>,
}

/// The batch as a whole is malformed: Graph answers 400 and runs nothing.
fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(Family::Protocol, message)
}

/// `Ctx` authenticates the batch itself: without a valid token nothing in it runs.
async fn batch(
    ctx: Ctx,
    Extension(dispatcher): Extension<Dispatcher>,
    Extension(ids): Extension<RequestIds>,
    outer: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let items = read_batch(body)?;
    let order = run_order(&items)?;

    let mut statuses: Vec<Option<u16>> = vec![None; items.len()];
    let mut answers: Vec<Option<Value>> = vec![None; items.len()];
    for index in order {
        let item = &items[index];
        let failed_dependency = item
            .depends_on
            .iter()
            .find(|&&d| !statuses[d].is_some_and(|s| (200..300).contains(&s)));
        let answer = match failed_dependency {
            Some(&d) => failed_dependency_answer(item, &items[d].id, &ids),
            None => match sub_request(item, ctx.version, &outer, &ids) {
                Ok(request) => {
                    let response = match dispatcher.0.clone().oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    answer_of(&item.id, response).await
                }
                Err(error) => error_answer(item, error, &ids),
            },
        };
        statuses[index] = answer["status"].as_u64().map(|s| s as u16);
        answers[index] = Some(answer);
    }
    // Graph may answer in any order; the request order is the friendliest one to read.
    Ok(Json(
        json!({ "responses": answers.into_iter().flatten().collect::<Vec<_>>() }),
    ))
}

/// Reads and checks the batch: every rule whose breach makes Graph refuse the whole batch.
fn read_batch(mut body: Map<String, Value>) -> Result<Vec<Item>, ApiError> {
    let requests = match body.remove("requests") {
        Some(Value::Array(requests)) => requests,
        Some(_) => return Err(malformed("The batch property 'requests' must be an array.")),
        None => {
            return Err(malformed(
                "The batch has no 'requests' property; send {\"requests\": [...]}.",
            ));
        }
    };
    if requests.is_empty() {
        return Err(malformed("The batch contains no requests."));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(malformed(format!(
            "The batch contains {} requests; at most {MAX_REQUESTS} are allowed in one batch.",
            requests.len()
        )));
    }

    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut raw_dependencies: Vec<Vec<String>> = Vec::with_capacity(requests.len());
    let mut items = Vec::with_capacity(requests.len());
    for (position, request) in requests.into_iter().enumerate() {
        let Value::Object(mut request) = request else {
            return Err(malformed(format!(
                "Request {} of the batch is not a JSON object.",
                position + 1
            )));
        };
        let id = match request.remove("id") {
            Some(Value::String(id)) if !id.trim().is_empty() => id,
            _ => {
                return Err(malformed(format!(
                    "Request {} of the batch has no 'id'; every request needs a unique string id.",
                    position + 1
                )));
            }
        };
        // Ids are compared without regard to case, as Graph does.
        if index_of.insert(id.to_lowercase(), position).is_some() {
            return Err(malformed(format!(
                "The batch contains more than one request with the id '{id}'; ids must be unique."
            )));
        }
        let method = match request.remove("method") {
            Some(Value::String(m)) => Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| malformed(format!("Request '{id}' has an invalid method '{m}'.")))?,
            _ => return Err(malformed(format!("Request '{id}' has no 'method'."))),
        };
        let url = match request.remove("url") {
            Some(Value::String(u)) if !u.trim().is_empty() => u.trim().to_string(),
            _ => return Err(malformed(format!("Request '{id}' has no 'url'."))),
        };
        let headers = match request.remove("headers") {
            None | Some(Value::Null) => Vec::new(),
            // Graph's page only says "key/value pairs"; OData's JSON batch reader takes any
            // primitive value as its text, so numbers and booleans are read, `null` is not.
            Some(Value::Object(h)) => h
                .into_iter()
                .map(|(name, value)| match value {
                    Value::String(s) => Ok((name, s)),
                    Value::Number(n) => Ok((name, n.to_string())),
                    Value::Bool(b) => Ok((name, b.to_string())),
                    _ => Err(malformed(format!(
                        "Header '{name}' of request '{id}' must be a string, number or boolean."
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(malformed(format!(
                    "The 'headers' of request '{id}' must be a JSON object."
                )));
            }
        };
        let body = request.remove("body").filter(|b| !b.is_null());
        // `depends_on` is how msgraph-sdk-python (msgraph-core 1.5) spells `dependsOn`.
        let mut dependencies = Vec::new();
        for key in ["dependsOn", "depends_on"] {
            match request.remove(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(list)) => {
                    for d in list {
                        match d {
                            Value::String(d) => dependencies.push(d),
                            _ => {
                                return Err(malformed(format!(
                                    "The '{key}' of request '{id}' must be an array of request ids."
                                )));
                            }
                        }
                    }
                }
                Some(_) => {
                    return Err(malformed(format!(
                        "The '{key}' of request '{id}' must be an array of request ids."
                    )));
                }
            }
        }
        raw_dependencies.push(dependencies);
        items.push(Item {
            id,
            method,
            url,
            headers,
            body,
            depends_on: Vec::new(),
        });
    }

    for (position, dependencies) in raw_dependencies.into_iter().enumerate() {
        for dependency in dependencies {
            let Some(&target) = index_of.get(&dependency.to_lowercase()) else {
                return Err(malformed(format!(
                    "Request '{}' depends on '{dependency}', which is not in the batch.",
                    items[position].id
                )));
            };
            if target == position {
                return Err(malformed(format!(
                    "Request '{}' depends on itself.",
                    items[position].id
                )));
            }
            if !items[position].depends_on.contains(&target) {
                items[position].depends_on.push(target);
            }
        }
    }
    Ok(items)
}

/// The order to run the items in: each after everything it depends on, otherwise in the order of
/// the batch. A cycle makes the batch malformed.
fn run_order(items: &[Item]) -> Result<Vec<usize>, ApiError> {
    let mut done = vec![false; items.len()];
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        let next = (0..items.len())
            .find(|&i| !done[i] && items[i].depends_on.iter().all(|&d| done[d]))
            .ok_or_else(|| {
                let stuck: Vec<&str> = (0..items.len())
                    .filter(|&i| !done[i])
                    .map(|i| items[i].id.as_str())
                    .collect();
                malformed(format!(
                    "The dependencies of the requests {} form a cycle.",
                    stuck.join(", ")
                ))
            })?;
        done[next] = true;
        order.push(next);
    }
    Ok(order)
}

/// Builds the sub-request `item` as the application would receive it on its own: the batch's
/// credentials and correlation id, the item's own headers and body.
fn sub_request(
    item: &Item,
    version: &str,
    outer: &HeaderMap,
    ids: &RequestIds,
) -> Result<Request, Error> {
    let uri = sub_request_uri(&item.url, version)?;
    let mut headers = HeaderMap::new();
    for (name, value) in &item.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            Error::bad_request(Family::Protocol, format!("Invalid header name '{name}'."))
        })?;
        // The batch's own token and host stand for every sub-request; framing is ours to set.
        if [
            header::AUTHORIZATION,
            header::HOST,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::CONNECTION,
        ]
        .contains(&name)
        {
            continue;
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            Error::bad_request(
                Family::Protocol,
                format!("Invalid value for header '{name}'."),
            )
        })?;
        headers.append(name, value);
    }
    for carried in [header::AUTHORIZATION, header::HOST] {
        if let Some(value) = outer.get(&carried) {
            headers.insert(carried, value.clone());
        }
    }
    let client_request_id = HeaderName::from_static("client-request-id");
    if !headers.contains_key(&client_request_id)
        && let Ok(value) = HeaderValue::from_str(&ids.client_request_id)
    {
        headers.insert(client_request_id, value);
    }

    let bytes = match &item.body {
        None => Vec::new(),
        Some(body) => body_bytes(body, &mut headers, item.headers.is_empty())?,
    };

    let mut request = Request::new(Body::from(bytes));
    *request.method_mut() = item.method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The bytes an item's `body` stands for under its `Content-Type` (which `headers` holds, and
/// which is set here for Kiota's form). `headerless`: the item came without any `headers`.
fn body_bytes(body: &Value, headers: &mut HeaderMap, headerless: bool) -> Result<Vec<u8>, Error> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default());
    let Value::String(text) = body else {
        return match content_type {
            Some(_) => Ok(serde_json::to_vec(body).unwrap_or_default()),
            None => Err(missing_content_type()),
        };
    };
    match content_type {
        // JSON written as a JSON string: the text itself. Never base64, which would turn a JSON
        // text that happens to be valid base64 (`true`, `1234`) into other bytes.
        Some(t) if is_json_media_type(t) => Ok(text.clone().into_bytes()),
        // Binary content (an image, a MIME message) travels in base64.
        Some(_) => decode_base64(text).ok_or_else(|| {
            Error::bad_request(Family::Protocol, "A string body must be base64-encoded.")
        }),
        // Kiota's BatchRequestContent drops every header of a sub-request and writes its JSON
        // body in base64: with no headers at all, a body that decodes to JSON is taken as JSON.
        None => match decode_base64(text) {
            Some(bytes) if headerless && serde_json::from_slice::<Value>(&bytes).is_ok() => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Ok(bytes)
            }
            _ => Err(missing_content_type()),
        },
    }
}

fn missing_content_type() -> Error {
    Error::bad_request(
        Family::Protocol,
        "A request with a body must carry a Content-Type header in its 'headers'.",
    )
}

/// Standard or URL-safe base64, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok())
}

fn is_json_media_type(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The path of a sub-request under the batch's version. Graph's form is relative to the version
/// (`/me/chats` or `me/chats`); the SDKs also send the version (`/v1.0/me`, the JavaScript client)
/// and absolute URLs (`http://host/v1.0/me`, msgraph-sdk-python), which are read the same way.
fn sub_request_uri(url: &str, version: &str) -> Result<Uri, Error> {
    let bad = |message: String| Error::bad_request(Family::Protocol, message);
    let mut rest = url;
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let after_scheme = &url[url.find("://").map_or(0, |i| i + 3)..];
        rest = after_scheme
            .find(['/', '?'])
            .map_or("/", |i| &after_scheme[i..]);
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let other_version = |named: &str| {
        bad(format!(
            "The request URL '{url}' names the API version '{named}', but the batch was sent to '{version}'."
        ))
    };
    let path = path.trim_start_matches('/');
    let (first, remainder) = path.split_once('/').unwrap_or((path, ""));
    let path = if first.eq_ignore_ascii_case("v1.0") || first.eq_ignore_ascii_case("beta") {
        if !first.eq_ignore_ascii_case(version) {
            return Err(other_version(first));
        }
        remainder
    } else {
        path
    };
    // The router reads `/{version}/http://host/{version}/…` as the link it embeds (the JavaScript
    // client's PageIterator sends that); the checks below must see the path that will run, or
    // `/http://x/beta/me` would run under beta in a v1.0 batch and `/http://x/v1.0/$batch` nest.
    let sent = format!("/{version}/{path}");
    let path = match layers::embedded_link(&sent) {
        Some(inner) => {
            let inner = &inner[1..];
            let (named, remainder) = inner.split_once('/').unwrap_or((inner, ""));
            if named != version {
                return Err(other_version(named));
            }
            remainder
        }
        None => path,
    };
    if path.trim_end_matches('/').eq_ignore_ascii_case("$batch") {
        return Err(bad("A batch cannot contain another batch.".to_string()));
    }
    let mut target = format!("/{version}/{path}");
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    // Graph's examples write query values unencoded (`$filter=city eq null`).
    let encoded = percent_encode_invalid(&target);
    encoded
        .parse::<Uri>()
        .map_err(|_| bad(format!("The request URL '{url}' is not a valid URL.")))
}

/// Percent-encodes the bytes a URI may not carry literally, leaving everything else as written.
fn percent_encode_invalid(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let allowed = byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&byte);
        if allowed {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One sub-response as Graph writes it in the batch answer.
async fn answer_of(id: &str, response: Response) -> Value {
    let (parts, body) = response.into_parts();
    let mut headers = Map::new();
    let mut content_type = None;
    for name in parts.headers.keys() {
        if [
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::CONNECTION,
        ]
        .contains(name)
        {
            continue;
        }
        let value = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        if name == header::CONTENT_TYPE {
            content_type = Some(value.clone());
        }
        headers.insert(display_name(name.as_str()), Value::String(value));
    }
    let bytes = body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut answer = json!({
        "id": id,
        "status": parts.status.as_u16(),
        "headers": headers,
    });
    if !bytes.is_empty() {
        let json_body = content_type
            .as_deref()
            .filter(|t| is_json_media_type(t))
            .and_then(|_| serde_json::from_slice::<Value>(&bytes).ok());
        answer["body"] = json_body.unwrap_or_else(|| Value::String(STANDARD.encode(&bytes)));
    }
    answer
}

/// A header name as Graph spells it in batch answers (`Content-Type`, `OData-Version`): the
/// JavaScript client looks up `headers["Content-Type"]` exactly to decide a body is JSON.
fn display_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            if part.eq_ignore_ascii_case("odata") {
                return "OData".to_string();
            }
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The answer for a sub-request the batch refused before running it.
fn error_answer(item: &Item, error: Error, ids: &RequestIds) -> Value {
    let status = error::status(error.kind).as_u16();
    own_answer(item, status, &error, ids)
}

/// The answer for a sub-request one of whose dependencies failed: 424, and it is not run.
fn failed_dependency_answer(item: &Item, dependency: &str, ids: &RequestIds) -> Value {
    let error = Error::new(
        ErrorKind::BadRequest,
        "FailedDependency",
        format!(
            "Request '{}' was not run because request '{dependency}', on which it depends, failed.",
            item.id
        ),
    );
    own_answer(item, 424, &error, ids)
}

/// An error answer the batch writes itself, with the headers the middleware gives every
/// sub-response it runs: its own `Request-Id`, the item's `client-request-id` (else the batch's),
/// `OData-Version`. Clients correlate and log failures by them.
fn own_answer(item: &Item, status: u16, error: &Error, ids: &RequestIds) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = item
        .headers
        .iter()
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("client-request-id"))
        .map(|(_, value)| value.as_str())
        .filter(|v| !v.is_empty() && v.len() <= 200 && HeaderValue::from_str(v).is_ok())
        .unwrap_or(&ids.client_request_id);
    json!({
        "id": item.id,
        "status": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-cache",
            "OData-Version": "4.0",
            "Request-Id": request_id,
            "Client-Request-Id": client_request_id,
        },
        "body": error::envelope(error, &request_id, client_request_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_request_urls() {
        let uri = |u: &str| sub_request_uri(u, "v1.0").map(|u| u.to_string());
        assert_eq!(uri("/me/chats").unwrap(), "/v1.0/me/chats");
        assert_eq!(uri("me/chats").unwrap(), "/v1.0/me/chats");
        assert_eq!(uri("/v1.0/me").unwrap(), "/v1.0/me");
        assert_eq!(
            uri("http://127.0.0.1:9/v1.0/me?$top=1").unwrap(),
            "/v1.0/me?$top=1"
        );
        assert_eq!(
            uri("https://graph.microsoft.com/v1.0/users").unwrap(),
            "/v1.0/users"
        );
        assert_eq!(
            uri("users?$filter=city eq null").unwrap(),
            "/v1.0/users?$filter=city%20eq%20null"
        );
        assert!(uri("/beta/me").is_err());
        // An embedded link is read as the router reads it, before the version and nesting checks.
        assert!(uri("/http://x/beta/me").is_err());
        assert!(uri("/v1.0/https://x/beta/me").is_err());
        assert!(uri("http://x/v1.0/http://x/beta/me").is_err());
        assert!(uri("/http://x/v1.0/$batch").is_err());
        assert_eq!(
            uri("/http://x/v1.0/users?$top=1").unwrap(),
            "/v1.0/users?$top=1"
        );
        assert!(uri("/$batch").is_err());
        assert!(uri("/$BATCH/").is_err());
    }

    #[test]
    fn string_bodies_by_content_type() {
        let bytes = |body: &str, content_type: Option<&str>, headerless: bool| {
            let mut headers = HeaderMap::new();
            if let Some(t) = content_type {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(t).unwrap());
            }
            body_bytes(&Value::String(body.into()), &mut headers, headerless)
                .map(|b| (String::from_utf8_lossy(&b).into_owned(), headers))
        };
        let json = Some("application/json; charset=utf-8");
        // A JSON text that is also valid base64 stays the JSON text.
        assert_eq!(bytes("true", json, false).unwrap().0, "true");
        assert_eq!(bytes("1234", json, false).unwrap().0, "1234");
        assert_eq!(bytes("e30=", json, false).unwrap().0, "e30=");
        // Other types carry base64.
        assert_eq!(bytes("aGk=", Some("text/plain"), false).unwrap().0, "hi");
        assert!(bytes("not base64!", Some("text/plain"), false).is_err());
        // Kiota: no headers at all, base64 JSON.
        let (text, headers) = bytes("e30=", None, true).unwrap();
        assert_eq!(text, "{}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        // Headers without a Content-Type are not Kiota's form; nor is base64 that is not JSON.
        assert!(bytes("e30=", None, false).is_err());
        assert!(bytes("aGk=", None, true).is_err());
    }

    #[test]
    fn header_names_as_graph_writes_them() {
        assert_eq!(display_name("content-type"), "Content-Type");
        assert_eq!(display_name("odata-version"), "OData-Version");
        assert_eq!(display_name("request-id"), "Request-Id");
    }
}
