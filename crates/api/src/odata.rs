//! Graph's response shapes: `@odata.context`, collections with `@odata.count` and an absolute
//! `@odata.nextLink`, `$select` projection, and Graph's JSON content type.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::context::Ctx;

/// Graph's content type for OData payloads.
pub const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A JSON answer with Graph's content type.
pub fn json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    response
}

/// A JSON answer with Graph's content type, serialized straight from `body` (no `Value` tree):
/// the same bytes [`json`] writes for the equivalent `Value`.
pub fn json_from(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
            response
        }
        Err(e) => crate::error::ApiError(switchboard_domain::Error::internal(format!(
            "the answer could not be written: {e}"
        )))
        .into_response(),
    }
}

/// A 201 with the entity (serialized as by [`json_from`]) and its `Location`.
pub fn created_from(body: &impl Serialize, location: &str) -> Response {
    let mut response = json_from(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// A collection page as [`collection`] writes it, with items serialized straight from `T`.
pub struct Collection<'a, T> {
    context: String,
    count: Option<u64>,
    next_link: Option<String>,
    items: &'a [T],
}

impl<'a, T: Serialize> Collection<'a, T> {
    /// Context, count, items and the link to the next page.
    pub fn new(
        ctx: &Ctx,
        fragment: &str,
        items: &'a [T],
        count: Option<u64>,
        skiptoken: Option<&str>,
    ) -> Collection<'a, T> {
        Collection {
            context: ctx.context(fragment),
            count,
            next_link: skiptoken.map(|token| next_link(ctx, "$skiptoken", token)),
            items,
        }
    }
}

impl<T: Serialize> Serialize for Collection<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("@odata.context", &self.context)?;
        if let Some(count) = self.count {
            map.serialize_entry("@odata.count", &count)?;
        }
        if let Some(link) = &self.next_link {
            map.serialize_entry("@odata.nextLink", link)?;
        }
        map.serialize_entry("value", self.items)?;
        map.end()
    }
}

/// A 201 with the entity and its `Location`.
pub fn created(body: Value, location: &str) -> Response {
    let mut response = json(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Keeps only the selected properties (in the order given), `id` always included.
pub fn project(full: Map<String, Value>, select: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for name in select {
        if let Some(v) = full.get(*name) {
            out.insert((*name).to_string(), v.clone());
        }
    }
    if !out.contains_key("id")
        && let Some(id) = full.get("id")
    {
        out.insert("id".into(), id.clone());
    }
    out
}

/// The context fragment of a collection or entity set, with a `$select` list when there is one.
pub fn fragment(set: &str, select: Option<&[&str]>) -> String {
    match select {
        Some(props) => format!("{set}({})", props.join(",")),
        None => set.to_string(),
    }
}

/// A single entity with its context.
pub fn entity(ctx: &Ctx, fragment: &str, body: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::String(ctx.context(&format!("{fragment}/$entity"))),
    );
    out.extend(body);
    Value::Object(out)
}

/// A collection page: context, count, items and the link to the next page.
pub fn collection(
    ctx: &Ctx,
    fragment: &str,
    items: Vec<Value>,
    count: Option<u64>,
    skiptoken: Option<&str>,
) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::String(ctx.context(fragment)),
    );
    if let Some(count) = count {
        out.insert("@odata.count".into(), Value::from(count));
    }
    if let Some(token) = skiptoken {
        out.insert(
            "@odata.nextLink".into(),
            Value::String(next_link(ctx, "$skiptoken", token)),
        );
    }
    out.insert("value".into(), Value::Array(items));
    Value::Object(out)
}

/// The request's own URL with every query option kept except the continuation, which is replaced.
pub fn next_link(ctx: &Ctx, option: &str, token: &str) -> String {
    let mut query: Vec<String> = ctx
        .query
        .raw
        .iter()
        .filter(|(name, _)| {
            let bare = name.trim_start_matches('$');
            !bare.eq_ignore_ascii_case("skiptoken")
                && !bare.eq_ignore_ascii_case("skip")
                && !bare.eq_ignore_ascii_case("deltatoken")
        })
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    query.push(format!("{option}={}", encode(token)));
    format!("{}{}?{}", ctx.base, ctx.path, query.join("&"))
}

/// Percent-encodes a query component, keeping `$` and the characters OData leaves readable.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b','
            | b'('
            | b')'
            | b'\''
            | b':'
            | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
