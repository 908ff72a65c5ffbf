//! Seed 003's GraphQL API at `/graphql`: the queries `evse`, `locations`,
//! `location`, `find_ev_locations` and `find_ev_filter_locations`, with the
//! seed's snake_case argument and field names, over our sites (OCPI
//! locations) and EVSEs.
//!
//! Transport: `POST /graphql` with a JSON body (`{"query", "variables",
//! "operationName"}`, `Content-Type: application/json`, the usual body limit),
//! or `GET /graphql?query=...` for queries. One operation per request (no
//! batches). Credentials go in the `Authorization` header only, never in the
//! URL. No GraphiQL page is served; introspection works for any client.
//!
//! Routing: [`openapi_router`] is merged into [`crate::api_router`], so
//! `/graphql` is in the OpenAPI document like every other route.
//!
//! Who sees what:
//! - `evse`, `locations` and `location` take `Authorization: Bearer <token>`
//!   (a person's access token or an API key). A host sees only their own
//!   sites and EVSEs, in every approval state; an admin (person or admin key)
//!   sees everything; anyone else sees what drivers see (visible sites,
//!   approved EVSEs).
//! - `find_ev_locations` and `find_ev_filter_locations` take seed 003's
//!   `Authorization: Basic base64(<anything>:<API key>)`, or any valid Bearer
//!   credential, and always answer with what drivers see.
//!
//! Errors: the HTTP status is 200 whenever the request was a well-formed
//! GraphQL request (also when credentials are missing or wrong: each query
//! field checks them, so one reply can hold data for one field and an error
//! for another); failures are GraphQL errors with `extensions.code`:
//! `UNAUTHENTICATED` (missing, malformed or invalid credentials),
//! `BAD_USER_INPUT` (bad arguments; `extensions.field` names the argument),
//! `FORBIDDEN`, `SERVICE_UNAVAILABLE` or `INTERNAL_SERVER_ERROR`, and
//! `extensions.reason` is the REST API's error code. A body that is not
//! JSON is the REST API's usual 4xx error.
//!
//! Guards: queries nest at most [`MAX_DEPTH`] fields deep and count at most
//! [`MAX_COMPLEXITY`] fields. Introspection stays on; an operation that only
//! introspects (`__schema`, `__type`) may nest [`MAX_INTROSPECTION_DEPTH`]
//! deep, as the standard introspection query of GraphQL tools does.

mod model;

use std::sync::LazyLock;

use async_graphql::parser::types::{DocumentOperations, OperationDefinition, Selection};
use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ErrorExtensions, Object, Schema, ID,
};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::HeaderMap;
use plugway_domain::{
    Capability, Coordinates, Facility, ParkingType, PaymentType, Role, SiteId, UserId,
};
use plugway_store::{EvseListFilter, NumberKind, SiteListFilter};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{authenticate, Caller, Credential};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::routes::discovery::{build_search, SearchQuery};
use crate::AppState;
use plugway_app::network::{self, DEFAULT_RADIUS_KM, MAX_RADIUS_KM};

pub use model::{CodeItem, ConnectorNode, EvseNode, LocationNode};

/// The deepest a query may nest fields.
pub const MAX_DEPTH: usize = 12;
/// The most fields a query may select (each field counts one).
pub const MAX_COMPLEXITY: usize = 2000;
/// The deepest an introspection-only query may nest.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// The largest page of `evse` and `locations`, and the most locations the
/// `find_ev_*` queries return.
pub const MAX_LIMIT: i32 = 100;
/// The page size of `evse` and `locations` when none is given.
pub const DEFAULT_LIMIT: i32 = 20;
/// How many locations `find_ev_locations` returns when no limit is given.
pub const DEFAULT_FIND_LIMIT: i32 = 50;

/// The schema's type.
pub type PlugwaySchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// The schema with its guards.
pub fn schema() -> PlugwaySchema {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

fn introspection_schema() -> PlugwaySchema {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_INTROSPECTION_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

struct Schemas {
    main: PlugwaySchema,
    introspection: PlugwaySchema,
}

/// Built once: building walks every type of the schema.
static SCHEMAS: LazyLock<Schemas> = LazyLock::new(|| Schemas {
    main: schema(),
    introspection: introspection_schema(),
});

/// `POST /graphql` and `GET /graphql`, with their OpenAPI entries (for
/// merging into [`crate::api_router`]).
pub fn openapi_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_graphql, get_graphql))
}

/// A GraphQL request, as the JSON body of `POST /graphql`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GraphQlBody {
    /// The query document.
    pub query: String,
    /// Variables.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
    /// Which operation of the document to run.
    #[serde(default, rename = "operationName")]
    #[schema(rename = "operationName")]
    pub operation_name: Option<String>,
}

/// A GraphQL request in the query string of `GET /graphql` (queries only).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GraphQlParams {
    /// The query document.
    pub query: String,
    /// Variables, as JSON.
    pub variables: Option<String>,
    /// Which operation of the document to run.
    #[serde(rename = "operationName")]
    #[param(rename = "operationName")]
    pub operation_name: Option<String>,
}

/// A GraphQL response: `data`, and `errors` with `extensions.code`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GraphQlReply {
    /// The result, shaped like the query (null when it could not run).
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// What went wrong: `message`, `path`, `extensions.code`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Vec<serde_json::Value>>,
}

/// Seed 003's GraphQL API: `evse`, `locations`, `location` (Bearer),
/// `find_ev_locations`, `find_ev_filter_locations` (Basic with an API key as
/// the password, or Bearer). Errors come with HTTP 200 and
/// `errors[].extensions.code` (UNAUTHENTICATED, BAD_USER_INPUT, ...).
#[utoipa::path(post, path = "/graphql", tag = "graphql", request_body = GraphQlBody,
    responses((status = 200, body = GraphQlReply), (status = 400, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security((), ("bearer" = [])))]
async fn post_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<async_graphql::Request>,
) -> GraphQLResponse {
    execute(state, &headers, request).await
}

/// The GraphQL API over GET, for queries (credentials in the header, never
/// in the URL).
#[utoipa::path(get, path = "/graphql", tag = "graphql", params(GraphQlParams),
    responses((status = 200, body = GraphQlReply), (status = 400, body = ErrorBody)),
    security((), ("bearer" = [])))]
async fn get_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<GraphQLRequest, async_graphql_axum::rejection::GraphQLRejection>,
) -> Result<GraphQLResponse, ApiError> {
    let request = request
        .ok()
        .map(GraphQLRequest::into_inner)
        .filter(|r| !r.query.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                "give the GraphQL query as ?query=... (and variables as JSON in ?variables=...)",
            )
        })?;
    Ok(execute(state, &headers, request).await)
}

async fn execute(
    state: AppState,
    headers: &HeaderMap,
    mut request: async_graphql::Request,
) -> GraphQLResponse {
    let name = request.operation_name.clone();
    let introspection_only = request
        .parsed_query()
        .ok()
        .and_then(|doc| operation(&doc.operations, name.as_deref()))
        .is_some_and(only_introspects);
    let request = request.data(state).data(RequestAuth {
        credential: Credential::from_headers(headers),
        caller: OnceCell::new(),
    });
    let schema = if introspection_only {
        &SCHEMAS.introspection
    } else {
        &SCHEMAS.main
    };
    schema.execute(request).await.into()
}

fn operation<'a>(
    operations: &'a DocumentOperations,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| &op.node),
        // A named operation alone in its document needs no operationName.
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// True when every root selection is an introspection field.
fn only_introspects(op: &OperationDefinition) -> bool {
    let items = &op.selection_set.node.items;
    !items.is_empty()
        && items.iter().all(|item| match &item.node {
            Selection::Field(field) => field.node.name.node.starts_with("__"),
            _ => false,
        })
}

/// The request's credential and, once checked, the caller.
#[derive(Debug)]
struct RequestAuth {
    credential: Credential,
    caller: OnceCell<Caller>,
}

/// Which credentials a query takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    BasicOrBearer,
}

/// What a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Admin,
    Host(UserId),
    Driver,
}

impl Access {
    fn of(caller: &Caller) -> Self {
        match caller {
            _ if caller.principal().is_admin() => Self::Admin,
            Caller::Person { user, .. } if user.role == Role::Host => Self::Host(user.id),
            _ => Self::Driver,
        }
    }

    fn drivers_view(self) -> bool {
        self == Self::Driver
    }

    fn host(self) -> Option<UserId> {
        match self {
            Self::Host(id) => Some(id),
            _ => None,
        }
    }
}

fn unauthenticated(message: &str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", "UNAUTHENTICATED"))
}

/// Our error as a GraphQL error with a machine-readable code.
pub fn gql_error(e: ApiError) -> async_graphql::Error {
    let code = match e.status.as_u16() {
        400 | 422 => "BAD_USER_INPUT",
        401 => "UNAUTHENTICATED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        429 => "TOO_MANY_REQUESTS",
        503 => "SERVICE_UNAVAILABLE",
        _ => "INTERNAL_SERVER_ERROR",
    };
    let (reason, field) = (e.code, e.field);
    async_graphql::Error::new(e.message).extend_with(|_, ext| {
        ext.set("code", code);
        ext.set("reason", reason);
        if let Some(field) = &field {
            ext.set("field", field.as_ref());
        }
    })
}

fn bad_input(field: &'static str, message: impl Into<String>) -> async_graphql::Error {
    gql_error(ApiError::invalid_field(field, message))
}

/// Authenticates the request for a query that takes `scheme`.
async fn access(ctx: &Context<'_>, scheme: Scheme) -> async_graphql::Result<Access> {
    let state = ctx.data::<AppState>()?;
    let auth = ctx.data::<RequestAuth>()?;
    let token = match (&auth.credential, scheme) {
        (Credential::Bearer(token), Scheme::Bearer) => token.as_str(),
        (_, Scheme::Bearer) => return Err(unauthenticated("send Authorization: Bearer <token>")),
        (credential, Scheme::BasicOrBearer) => credential.basic_or_bearer().map_err(gql_error)?,
    };
    let caller = auth
        .caller
        .get_or_try_init(|| authenticate(state, token))
        .await
        .map_err(gql_error)?;
    Ok(Access::of(caller))
}

fn limit_arg(field: &'static str, value: Option<i32>, default: i32) -> async_graphql::Result<i64> {
    let limit = value.unwrap_or(default);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad_input(field, format!("must be from 1 to {MAX_LIMIT}")));
    }
    Ok(i64::from(limit))
}

fn offset_arg(value: Option<i32>) -> async_graphql::Result<i64> {
    let offset = value.unwrap_or(0);
    if offset < 0 {
        return Err(bad_input("offset", "must be 0 or more"));
    }
    Ok(i64::from(offset))
}

fn distance_arg(value: Option<f64>) -> async_graphql::Result<f64> {
    let km = value.unwrap_or(DEFAULT_RADIUS_KM);
    if !(km.is_finite() && km > 0.0 && km <= MAX_RADIUS_KM) {
        return Err(bad_input(
            "distance",
            format!("must be more than 0 and at most {MAX_RADIUS_KM} (km)"),
        ));
    }
    Ok(km)
}

/// Checks a list of codes and joins it for [`SearchQuery`].
fn codes<T: Copy>(
    field: &'static str,
    input: Option<Vec<String>>,
    parse: fn(&'static str, &[String]) -> Result<Vec<T>, plugway_domain::ValidationError>,
    code: fn(T) -> &'static str,
) -> async_graphql::Result<Option<String>> {
    let Some(input) = input else {
        return Ok(None);
    };
    let items = parse(field, &input).map_err(|e| gql_error(e.into()))?;
    Ok((!items.is_empty()).then(|| items.into_iter().map(code).collect::<Vec<_>>().join(",")))
}

/// The queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryRoot;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl QueryRoot {
    /// EVSEs, with their connectors and location. Bearer token. A host sees
    /// their own, an admin all, a driver the approved EVSEs of visible
    /// locations.
    #[graphql(name = "evse")]
    async fn evse(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Location name contains this (case-insensitive)")] location_name: Option<
            String,
        >,
        #[graphql(desc = "'location' or 'date_created' (default)")] order_by: Option<String>,
        #[graphql(desc = "ASC (default) or DESC")] order: Option<String>,
        #[graphql(desc = "Number of EVSEs to return (1-100, default 20)")] limit: Option<i32>,
        #[graphql(desc = "Starting EVSE to return (default 0)")] offset: Option<i32>,
    ) -> async_graphql::Result<Vec<EvseNode>> {
        let access = access(ctx, Scheme::Bearer).await?;
        let state = ctx.data::<AppState>()?;
        let order_by_location = match order_by.as_deref().map(str::trim) {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("date_created") => false,
            Some(o) if o.eq_ignore_ascii_case("location") => true,
            Some(_) => {
                return Err(bad_input(
                    "order_by",
                    "must be 'location' or 'date_created'",
                ))
            }
        };
        let descending = match order.as_deref().map(str::trim) {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("asc") => false,
            Some(o) if o.eq_ignore_ascii_case("desc") => true,
            Some(_) => return Err(bad_input("order", "must be ASC or DESC")),
        };
        let location_name = match location_name.as_deref().map(str::trim) {
            Some(name) if name.chars().count() > 120 => {
                return Err(bad_input("location_name", "must be at most 120 characters"))
            }
            Some(name) if !name.is_empty() => Some(name.to_owned()),
            _ => None,
        };
        let limit = limit_arg("limit", limit, DEFAULT_LIMIT)?;
        let offset = offset_arg(offset)?;
        let filter = EvseListFilter {
            host: access.host(),
            location_name,
            approval: None,
            visible_only: access.drivers_view(),
            order_by_location,
            descending,
        };
        let evses = state
            .store
            .list_evses(&filter, offset, limit)
            .await
            .map_err(|e| gql_error(e.into()))?;
        let mut site_ids: Vec<SiteId> = evses.iter().map(|e| e.site_id).collect();
        site_ids.sort_unstable();
        site_ids.dedup();
        let sites = state
            .store
            .find_sites(&site_ids)
            .await
            .map_err(|e| gql_error(e.into()))?;
        Ok(model::evse_nodes(evses, sites, access.drivers_view()))
    }

    /// Locations with their EVSEs, newest first. Bearer token. A host sees
    /// their own, an admin all, a driver the visible ones.
    #[graphql(name = "locations")]
    async fn locations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Number of locations to return (1-100, default 20)")] limit: Option<i32>,
        #[graphql(desc = "Starting location to return (default 0)")] offset: Option<i32>,
    ) -> async_graphql::Result<Vec<LocationNode>> {
        let access = access(ctx, Scheme::Bearer).await?;
        let state = ctx.data::<AppState>()?;
        let limit = limit_arg("limit", limit, DEFAULT_LIMIT)?;
        let offset = offset_arg(offset)?;
        let filter = SiteListFilter {
            host: access.host(),
            approval: None,
            visible_only: access.drivers_view(),
        };
        let sites = state
            .store
            .list_sites(&filter, offset, limit)
            .await
            .map_err(|e| gql_error(e.into()))?;
        let loaded = network::with_evses(state.store.as_ref(), sites, access.drivers_view())
            .await
            .map_err(|e| gql_error(e.into()))?;
        Ok(model::location_nodes(loaded, access.drivers_view()))
    }

    /// One location, or null when there is none the caller may see. Bearer
    /// token.
    #[graphql(name = "location")]
    async fn location(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Location's ID: its number or its UUID")] id: ID,
    ) -> async_graphql::Result<Option<LocationNode>> {
        let access = access(ctx, Scheme::Bearer).await?;
        let state = ctx.data::<AppState>()?;
        // The seed's integer (`location(id: 755)`, a public number) or the
        // canonical UUID.
        let uuid = match id.parse::<i64>() {
            Ok(number) => state
                .store
                .numbered_ref(NumberKind::Site, number)
                .await
                .map_err(|e| gql_error(e.into()))?
                .and_then(|r| r.parse::<uuid::Uuid>().ok()),
            Err(_) => id.parse::<uuid::Uuid>().ok(),
        };
        let Some(uuid) = uuid else {
            return Ok(None);
        };
        let id = SiteId(uuid);
        let Some(site) = state
            .store
            .find_site(id)
            .await
            .map_err(|e| gql_error(e.into()))?
        else {
            return Ok(None);
        };
        let allowed = match access {
            Access::Admin => true,
            Access::Host(host) => site.host_id == host,
            Access::Driver => site.visible,
        };
        if !allowed {
            return Ok(None);
        }
        let loaded = network::with_evses(state.store.as_ref(), vec![site], access.drivers_view())
            .await
            .map_err(|e| gql_error(e.into()))?;
        Ok(model::location_nodes(loaded, access.drivers_view()).pop())
    }

    /// Locations drivers can see: nearest first around `lat`/`lng` (within
    /// `distance` km), or newest first without a position. Basic (API key)
    /// or Bearer.
    #[graphql(name = "find_ev_locations")]
    async fn find_ev_locations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Latitude of the driver (with lng)")] lat: Option<f64>,
        #[graphql(desc = "Longitude of the driver (with lat)")] lng: Option<f64>,
        #[graphql(desc = "Radius in km around lat/lng (default 10, at most 200)")] distance: Option<
            f64,
        >,
        #[graphql(desc = "Number of locations to return (1-100, default 50)")] limit: Option<i32>,
    ) -> async_graphql::Result<Vec<LocationNode>> {
        access(ctx, Scheme::BasicOrBearer).await?;
        let state = ctx.data::<AppState>()?;
        let limit = limit_arg("limit", limit, DEFAULT_FIND_LIMIT)?;
        let radius_km = distance_arg(distance)?;
        match (lat, lng) {
            (Some(lat), Some(lng)) => {
                let center = Coordinates::new(lat, lng).map_err(|e| gql_error(e.into()))?;
                let request = plugway_app::search_index::SearchRequest {
                    center: Some(center),
                    radius_m: radius_km * 1000.0,
                    ..plugway_app::search_index::SearchRequest::default()
                };
                found(state, request, limit).await
            }
            (None, None) => {
                let filter = SiteListFilter {
                    visible_only: true,
                    ..SiteListFilter::default()
                };
                let sites = state
                    .store
                    .list_sites(&filter, 0, limit)
                    .await
                    .map_err(|e| gql_error(e.into()))?;
                let loaded = network::with_evses(state.store.as_ref(), sites, true)
                    .await
                    .map_err(|e| gql_error(e.into()))?;
                Ok(model::location_nodes(loaded, true))
            }
            _ => Err(bad_input("lat", "give both lat and lng, or neither")),
        }
    }

    /// Locations drivers can see within `distance` km of `lat`/`lng`,
    /// matching every filter given, nearest first (at most 100). Basic (API
    /// key) or Bearer.
    #[graphql(name = "find_ev_filter_locations")]
    #[allow(clippy::too_many_arguments)]
    async fn find_ev_filter_locations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Latitude, decimal degrees (14.123451)")] lat: f64,
        #[graphql(desc = "Longitude, decimal degrees (121.123451)")] lng: f64,
        #[graphql(desc = "Radius in km (default 10, at most 200)")] distance: Option<f64>,
        #[graphql(desc = "City (case-insensitive)")] city: Option<String>,
        #[graphql(desc = "Province (case-insensitive)")] province: Option<String>,
        #[graphql(desc = "Facility codes; locations with all of them")] facilities: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Capability codes; locations with all of them")] capabilities: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Payment type codes; any of them")] payment_types: Option<Vec<String>>,
        #[graphql(desc = "Parking type codes; any of them")] parking_types: Option<Vec<String>>,
        #[graphql(desc = "Number of locations to return (1-100, default 100)")] limit: Option<i32>,
    ) -> async_graphql::Result<Vec<LocationNode>> {
        access(ctx, Scheme::BasicOrBearer).await?;
        let state = ctx.data::<AppState>()?;
        let limit = limit_arg("limit", limit, MAX_LIMIT)?;
        let radius_km = distance_arg(distance)?;
        let query = SearchQuery {
            lat: Some(lat),
            lng: Some(lng),
            radius_km: Some(radius_km),
            q: None,
            standards: None,
            min_power_kw: None,
            facilities: codes(
                "facilities",
                facilities,
                Facility::parse_list,
                Facility::code,
            )?,
            capabilities: codes(
                "capabilities",
                capabilities,
                Capability::parse_list,
                Capability::code,
            )?,
            payment_types: codes(
                "payment_types",
                payment_types,
                PaymentType::parse_list,
                PaymentType::code,
            )?,
            parking_types: codes(
                "parking_types",
                parking_types,
                ParkingType::parse_list,
                ParkingType::code,
            )?,
            city,
            province,
            available_now: None,
            open_now: None,
            min_rating: None,
        };
        let request = build_search(query).map_err(gql_error)?;
        found(state, request, limit).await
    }
}

/// Runs a driver's search and loads the first `limit` hits, nearest first.
async fn found(
    state: &AppState,
    request: plugway_app::search_index::SearchRequest,
    limit: i64,
) -> async_graphql::Result<Vec<LocationNode>> {
    let (page, loaded) = network::find(state, request, 0, usize::try_from(limit).unwrap_or(0))
        .await
        .map_err(|e| gql_error(e.into()))?;
    let hits = page.hits;
    Ok(model::found_nodes(loaded.into_loaded(), &hits))
}
