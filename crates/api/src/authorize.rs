//! The authorization endpoint (`/{tenant}/oauth2/v2.0/authorize`): a sign-in page for the
//! authorization-code flow (with PKCE), so a browser app can sign a user in as it would with the
//! Microsoft identity platform. The page posts `username` and `password` back to the same URL.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use switchboard_auth::IdentityError;
use switchboard_auth::endpoint::{AuthorizeError, AuthorizeRequest, TokenForm};

use crate::AppState;

/// The sign-in routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/{tenant}/oauth2/v2.0/authorize", get(show).post(submit))
}

fn parse(bytes: &[u8]) -> TokenForm {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect::<HashMap<_, _>>()
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}}\
         label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.4rem;box-sizing:border-box}}\
         button{{margin-top:1rem;padding:.5rem 1.2rem}}.error{{color:#b00020}}</style></head>\
         <body>{body}</body></html>",
        title = escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    // The page holds a credentials form: never cache it, never frame it.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn error_page(e: &IdentityError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    page(
        status,
        "Sign-in error",
        &format!(
            "<h1>Sorry, we can't sign you in</h1><p class=\"error\">AADSTS{}: {}</p>",
            e.code,
            escape(&e.description)
        ),
    )
}

/// Sends the outcome to the application's redirect URI (query string or auto-posted form).
fn respond(redirect_uri: &str, mode: &str, params: &[(&str, &str)]) -> Response {
    if mode == "form_post" {
        let inputs: String = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    escape(k),
                    escape(v)
                )
            })
            .collect();
        return page(
            StatusCode::OK,
            "Signing in",
            &format!(
                "<form method=\"post\" action=\"{}\">{inputs}<noscript><button>Continue</button></noscript></form>\
                 <script>document.forms[0].submit()</script>",
                escape(redirect_uri)
            ),
        );
    }
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => {
            return error_page(&IdentityError {
                status: 400,
                error: "invalid_request",
                code: 50011,
                description: "Invalid redirect URI.".into(),
            });
        }
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

fn redirect_error(
    redirect_uri: &str,
    mode: &str,
    state: Option<&str>,
    e: &IdentityError,
) -> Response {
    let description = format!("AADSTS{}: {}", e.code, e.description);
    let mut params = vec![
        ("error", e.error),
        ("error_description", description.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    respond(redirect_uri, mode, &params)
}

async fn check(
    state: &AppState,
    tenant: &str,
    params: &TokenForm,
) -> Result<AuthorizeRequest, Response> {
    let mode = params
        .get("response_mode")
        .map(String::as_str)
        .unwrap_or("query")
        .to_string();
    state
        .token_service
        .check_authorize(tenant, params)
        .await
        .map_err(|e| match e {
            AuthorizeError::Page(e) => error_page(&e),
            AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
            } => redirect_error(&redirect_uri, &mode, state.as_deref(), &error),
        })
}

fn form(request: &AuthorizeRequest, params: &TokenForm, message: Option<&str>) -> Response {
    let hidden: String = params
        .iter()
        .filter(|(k, _)| k.as_str() != "username" && k.as_str() != "password")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let error = message
        .map(|m| format!("<p class=\"error\">{}</p>", escape(m)))
        .unwrap_or_default();
    let hint = request.login_hint.as_deref().unwrap_or("");
    page(
        if message.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        },
        "Sign in",
        &format!(
            "<h1>Sign in</h1><p>to <strong>{app}</strong> ({tenant})</p>{error}\
             <form method=\"post\">{hidden}\
             <label for=\"username\">Username</label><input id=\"username\" name=\"username\" type=\"email\" autocomplete=\"username\" value=\"{hint}\" required autofocus>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Sign in</button></form>",
            app = escape(&request.app.display_name),
            tenant = escape(&request.tenant.domain),
            hint = escape(hint),
        ),
    )
}

/// # `GET /{tenant}/oauth2/v2.0/authorize`
/// Checks the request and shows the sign-in form.
async fn show(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse(query.unwrap_or_default().as_bytes());
    match check(&state, &tenant, &params).await {
        Ok(request) => form(&request, &params, None),
        Err(response) => response,
    }
}

/// # `POST /{tenant}/oauth2/v2.0/authorize`
/// Verifies the credentials and sends the authorization code to the redirect URI.
async fn submit(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    // The request's parameters may be in the query (a form posted to the same URL) or the body.
    let mut params = parse(query.unwrap_or_default().as_bytes());
    params.extend(parse(&body));
    let request = match check(&state, &tenant, &params).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let username = params.get("username").map(String::as_str).unwrap_or("");
    let password = params.get("password").map(String::as_str).unwrap_or("");
    match state
        .token_service
        .sign_in(&request, username, password)
        .await
    {
        Ok(code) => {
            let mut out = vec![("code", code.as_str())];
            if let Some(s) = &request.state {
                out.push(("state", s.as_str()));
            }
            respond(&request.redirect_uri, &request.response_mode, &out)
        }
        Err(e) if e.error == "invalid_grant" => form(
            &request,
            &params,
            Some("Your account or password is incorrect."),
        ),
        Err(e) => redirect_error(
            &request.redirect_uri,
            &request.response_mode,
            request.state.as_deref(),
            &e,
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
