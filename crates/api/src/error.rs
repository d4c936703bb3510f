//! The HTTP layer's error type and the Graph error envelope. Handlers return [`ApiError`]; it
//! travels in the response's extensions to the outer layer (see `layers`), which writes the
//! envelope with the request's ids: this is the one place errors meet the wire.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard_domain::graph_time;
use switchboard_domain::{Error, ErrorKind, Family};

/// A failed request: a domain error on its way to the wire.
#[derive(Debug, Clone)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl From<switchboard_domain::StoreError> for ApiError {
    fn from(e: switchboard_domain::StoreError) -> Self {
        ApiError(e.into())
    }
}

impl ApiError {
    /// 400 in a family's vocabulary.
    pub fn bad_request(family: Family, message: impl Into<String>) -> Self {
        ApiError(Error::bad_request(family, message))
    }
}

/// The HTTP status of each kind of failure.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The body is written by the outer layer, which knows the request's ids.
        let mut response = status(self.0.kind).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The Graph error envelope for `error`, with the request's correlation ids.
pub fn envelope(error: &Error, request_id: &str, client_request_id: &str) -> serde_json::Value {
    json!({
        "error": {
            "code": error.code,
            "message": error.message,
            "innerError": {
                "date": graph_time::error_date(graph_time::now_ms()),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    })
}

/// The error for a response produced outside our handlers (axum's own 405, a panic caught…).
pub fn for_status(status: StatusCode) -> Error {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => Error::new(
            ErrorKind::MethodNotAllowed,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => Error::new(
            ErrorKind::PayloadTooLarge,
            "RequestEntityTooLarge",
            "The request body is larger than the server accepts.",
        ),
        StatusCode::NOT_FOUND => Error::new(ErrorKind::NotFound, "NotFound", "Resource not found."),
        s if s.is_client_error() => Error::bad_request(Family::Protocol, "The request is invalid."),
        _ => Error::internal("An internal server error occurred. The failure has been logged."),
    }
}

/// The fallback for paths no route serves.
pub async fn unknown_route(uri: Uri) -> ApiError {
    let segment = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .find(|s| !matches!(*s, "v1.0" | "beta" | ""))
        .unwrap_or("")
        .to_string();
    ApiError(Error::new(
        ErrorKind::NotFound,
        "NotFound",
        format!("Resource not found for the segment '{segment}'."),
    ))
}
