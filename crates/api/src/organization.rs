//! `/organization` and `/domains`: the tenant as Graph describes it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};
use switchboard_domain::tenants::Tenant;
use switchboard_domain::{Error, Family, graph_time, permissions};

use crate::AppState;
use crate::context::Ctx;
use crate::error::ApiError;
use crate::odata;

/// The routes of the tenant's description.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization", get(organizations))
        .route("/organization/{id}", get(organization))
        .route("/domains", get(domains))
        .route("/domains/{id}", get(domain))
}

async fn tenant(state: &AppState, ctx: &Ctx) -> Result<Tenant, ApiError> {
    state
        .store
        .tenant(&ctx.principal.tenant_id)
        .await?
        .ok_or_else(|| {
            ApiError(Error::not_found(
                Family::Directory,
                &ctx.principal.tenant_id,
            ))
        })
}

fn organization_json(t: &Tenant) -> Map<String, Value> {
    let value = json!({
        "id": t.id,
        "deletedDateTime": null,
        "businessPhones": [],
        "city": null,
        "country": null,
        "countryLetterCode": null,
        "createdDateTime": graph_time::seconds(t.created_ms),
        "displayName": t.display_name,
        "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": null,
        "onPremisesSyncEnabled": null,
        "postalCode": null,
        "preferredLanguage": "en",
        "privacyProfile": null,
        "state": null,
        "street": null,
        "tenantType": "AAD",
        "technicalNotificationMails": [],
        "assignedPlans": [],
        "provisionedPlans": [],
        "verifiedDomains": [{
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": true,
            "isInitial": true,
            "name": t.domain,
            "type": "Managed"
        }]
    });
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn domain_json(t: &Tenant) -> Map<String, Value> {
    let value = json!({
        "authenticationType": "Managed",
        "availabilityStatus": null,
        "id": t.domain,
        "isAdminManaged": true,
        "isDefault": true,
        "isInitial": true,
        "isRoot": true,
        "isVerified": true,
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": 2147483647,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        "state": null
    });
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// # `GET /organization`
async fn organizations(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(&permissions::ORGANIZATION_READ)?;
    let t = tenant(&state, &ctx).await?;
    let items = vec![Value::Object(organization_json(&t))];
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(&ctx, "organization", items, None, None),
    ))
}

/// # `GET /organization/{id}`
async fn organization(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ctx.principal.require(&permissions::ORGANIZATION_READ)?;
    let t = tenant(&state, &ctx).await?;
    if !t.id.eq_ignore_ascii_case(&id) {
        return Err(ApiError(Error::not_found(Family::Directory, &id)));
    }
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, "organization", organization_json(&t)),
    ))
}

/// # `GET /domains`
async fn domains(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(&permissions::DOMAINS_READ)?;
    let t = tenant(&state, &ctx).await?;
    let items = vec![Value::Object(domain_json(&t))];
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(&ctx, "domains", items, None, None),
    ))
}

/// # `GET /domains/{id}`
async fn domain(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ctx.principal.require(&permissions::DOMAINS_READ)?;
    let t = tenant(&state, &ctx).await?;
    if !t.domain.eq_ignore_ascii_case(&id) {
        return Err(ApiError(Error::not_found(Family::Directory, &id)));
    }
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, "domains", domain_json(&t)),
    ))
}
