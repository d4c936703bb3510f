//! The domain's one error type: what went wrong, in Graph's words (its `error.code` and message),
//! and which kind of failure it is, from which the HTTP layer derives the status.

use std::fmt;

/// Graph's workloads spell the same failure with different codes (`Request_ResourceNotFound` in
/// the directory, `NotFound` in Teams, `ErrorItemNotFound` in Outlook), so each error names the
/// family whose vocabulary it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Users, organization, domains, applications.
    Directory,
    /// Chats, chat messages, members, installed apps.
    Teams,
    /// Mail messages and folders.
    Outlook,
    /// Protocol-level failures shared by every route (routing, query options, bodies).
    Protocol,
}

/// The class of a failure; the HTTP layer maps each to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is malformed or breaks a rule of the resource.
    BadRequest,
    /// 401: no valid token.
    Unauthenticated,
    /// 403: the token lacks the permission, or the caller has no right to the object.
    Forbidden,
    /// 404: no such object (or one the caller may not know exists).
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 409: the object conflicts with an existing one.
    Conflict,
    /// 412: an `If-Match` precondition failed.
    PreconditionFailed,
    /// 413: the request body is larger than allowed.
    PayloadTooLarge,
    /// 415: the body has a media type the route does not take.
    UnsupportedMediaType,
    /// 501: a valid request for something Switchboard does not implement.
    NotImplemented,
    /// 503: the store is overloaded or shutting down; the client may retry.
    Unavailable,
    /// 500: a bug or an I/O failure on our side.
    Internal,
}

/// A domain error: kind, Graph's `error.code`, and a developer-facing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The class of failure (decides the HTTP status).
    pub kind: ErrorKind,
    /// Graph's `error.code` for this failure in its workload.
    pub code: &'static str,
    /// Graph's `error.message`, or the closest honest equivalent.
    pub message: String,
}

impl Error {
    /// An error with an explicit code.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind,
            code,
            message: message.into(),
        }
    }

    /// 400 in the family's vocabulary.
    pub fn bad_request(family: Family, message: impl Into<String>) -> Self {
        let code = match family {
            Family::Directory => "Request_BadRequest",
            Family::Teams | Family::Protocol => "BadRequest",
            Family::Outlook => "ErrorInvalidRequest",
        };
        Error::new(ErrorKind::BadRequest, code, message)
    }

    /// 404 for an object the caller named by `id`.
    pub fn not_found(family: Family, id: &str) -> Self {
        match family {
            Family::Directory => Error::new(
                ErrorKind::NotFound,
                "Request_ResourceNotFound",
                format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            ),
            Family::Outlook => Error::new(
                ErrorKind::NotFound,
                "ErrorItemNotFound",
                "The specified object was not found in the store.",
            ),
            Family::Teams | Family::Protocol => Error::new(
                ErrorKind::NotFound,
                "NotFound",
                format!("Resource '{id}' was not found."),
            ),
        }
    }

    /// 403 for a token that lacks the permission the route needs.
    pub fn insufficient_privileges(family: Family) -> Self {
        match family {
            Family::Directory => Error::new(
                ErrorKind::Forbidden,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            Family::Outlook => Error::new(
                ErrorKind::Forbidden,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
            Family::Teams | Family::Protocol => Error::new(
                ErrorKind::Forbidden,
                "Forbidden",
                "Missing role permissions on the request. API requires one of the permissions listed for this operation.",
            ),
        }
    }

    /// Re-spells a generic 400 in a workload's vocabulary (the store reports query errors
    /// without knowing which workload asked).
    pub fn in_family(self, family: Family) -> Self {
        if self.kind == ErrorKind::BadRequest && self.code == "BadRequest" {
            Error::bad_request(family, self.message)
        } else {
            self
        }
    }

    /// 401 with Graph's gateway code.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Error::new(
            ErrorKind::Unauthenticated,
            "InvalidAuthenticationToken",
            message,
        )
    }

    /// 500 for a failure that is ours, not the client's.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, "InternalServerError", message)
    }

    /// 503: the store could not take the request now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unavailable, "ServiceNotAvailable", message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::InvalidQuery(q) => Error::bad_request(Family::Protocol, q.to_string()),
            StoreError::Conflict(what) => Error::new(ErrorKind::Conflict, "Conflict", what),
            StoreError::Unavailable(what) => Error::unavailable(what),
            StoreError::Internal(what) => Error::internal(what),
        }
    }
}
