//! Request bodies: the JSON extractor (media type, size, syntax) and a reader that takes a
//! resource's properties one by one with Graph's rules: wrong types are 400s, unknown properties
//! are 400s naming them, server-owned properties and `@odata` annotations are accepted and ignored.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};
use switchboard_domain::{Error, ErrorKind, Family};

use crate::AppState;
use crate::error::ApiError;

/// A JSON object request body.
pub struct JsonObject(pub Map<String, Value>);

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status().as_u16() == 413 {
                ApiError(Error::new(
                    ErrorKind::PayloadTooLarge,
                    "RequestEntityTooLarge",
                    "The request body is larger than the server accepts.",
                ))
            } else {
                ApiError::bad_request(Family::Protocol, rejection.body_text())
            }
        })?;
        match content_type.as_deref() {
            Some("application/json") => {}
            Some(t) if t.starts_with("application/") && t.ends_with("+json") => {}
            other => {
                return Err(ApiError(Error::new(
                    ErrorKind::UnsupportedMediaType,
                    "UnsupportedMediaType",
                    format!(
                        "The content type '{}' is not supported; send 'application/json'.",
                        other.unwrap_or("")
                    ),
                )));
            }
        }
        let malformed = || {
            ApiError::bad_request(
                Family::Protocol,
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            _ => Err(malformed()),
        }
    }
}

/// Reads the properties of one resource out of a request body.
pub struct BodyReader {
    map: Map<String, Value>,
    type_name: &'static str,
    family: Family,
}

/// `None`: absent; `Some(None)`: explicit `null`; `Some(Some(v))`: a value.
pub type Field<T> = Option<Option<T>>;

impl BodyReader {
    /// A reader over `map` for the Graph type `type_name` (e.g. `microsoft.graph.user`).
    pub fn new(map: Map<String, Value>, type_name: &'static str, family: Family) -> BodyReader {
        BodyReader {
            map,
            type_name,
            family,
        }
    }

    fn wrong_type(&self, name: &str, expected: &str) -> ApiError {
        ApiError::bad_request(
            self.family,
            format!(
                "Invalid value for property '{name}' of type '{}': expected {expected}.",
                self.type_name
            ),
        )
    }

    /// A string property.
    pub fn string(&mut self, name: &str) -> Result<Field<String>, ApiError> {
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(_) => Err(self.wrong_type(name, "a string")),
        }
    }

    /// A boolean property.
    pub fn boolean(&mut self, name: &str) -> Result<Field<bool>, ApiError> {
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Bool(b)) => Ok(Some(Some(b))),
            Some(_) => Err(self.wrong_type(name, "a boolean")),
        }
    }

    /// A collection of strings (`null` is read as empty).
    pub fn strings(&mut self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(self.wrong_type(name, "a collection of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.wrong_type(name, "a collection of strings")),
        }
    }

    /// A collection property, as raw JSON items (`null` is read as absent).
    pub fn take_array(&mut self, name: &str) -> Result<Option<Vec<Value>>, ApiError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.wrong_type(name, "a collection")),
        }
    }

    /// A complex-typed property, as a nested reader.
    pub fn object(
        &mut self,
        name: &str,
        type_name: &'static str,
    ) -> Result<Option<BodyReader>, ApiError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(BodyReader::new(map, type_name, self.family))),
            Some(_) => Err(self.wrong_type(name, "an object")),
        }
    }

    /// A collection of complex-typed values, as nested readers (`null` is read as empty).
    pub fn objects(
        &mut self,
        name: &str,
        type_name: &'static str,
    ) -> Result<Option<Vec<BodyReader>>, ApiError> {
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(map) => Ok(BodyReader::new(map, type_name, self.family)),
                    _ => Err(self.wrong_type(name, "a collection of objects")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.wrong_type(name, "a collection of objects")),
        }
    }

    /// Ends reading: server-owned properties in `ignored` and instance annotations
    /// (`@odata.type`, `x@odata.bind`, …) are accepted; anything else is an unknown property.
    pub fn finish(self, ignored: &[&str]) -> Result<(), ApiError> {
        for key in self.map.keys() {
            if key.contains('@') || ignored.contains(&key.as_str()) {
                continue;
            }
            let message = match self.family {
                Family::Directory => {
                    format!(
                        "Property '{key}' does not exist as a declared property or extension property."
                    )
                }
                _ => format!(
                    "The property '{key}' does not exist on type '{}'. Make sure to only use property names that are defined by the type.",
                    self.type_name
                ),
            };
            return Err(ApiError::bad_request(self.family, message));
        }
        Ok(())
    }
}
