//! Roaming partners and the credentials handshake (OCPI 2.2.1, module
//! "credentials"), in both directions:
//!
//! - **They register with us.** `plugway ocpi invite` issues token A. The
//!   party calls our versions with it and POSTs its credentials (its token
//!   B, its versions URL, its roles). We call its versions with B, keep its
//!   2.2.1 endpoints, and answer with our credentials: a new token C, which
//!   it uses from then on. Token A dies.
//! - **We register with them.** `plugway ocpi connect` takes their versions
//!   URL and the token A they issued. We call their versions and details
//!   with A, make a token B for them, and POST our credentials; their
//!   answer carries the token C we use from then on.
//!
//! Tokens that grant access to us are kept only as SHA-256 digests (they
//! are 256 random bits, so a digest lookup is as good as a slow hash); the
//! token we present to a party is kept as the party issued it, since we
//! must send it.

use plugway_domain::secret::secret_digest;
use plugway_domain::{OcpiPartyId, UserId};
use plugway_ocpi::{Credentials, InterfaceRole, ModuleId, Validate, Version, VersionDetails};
use plugway_store::{Conflict, OcpiParty, PartyConnection, PartyRole, PartyState, StoreError};
use serde_json::Value;

use crate::context::App;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::ports::ocpi::{OcpiCallError, OcpiMethod, OcpiReply, OcpiRequest, OcpiRoute};
use crate::security::random_secret;

/// The codes the OCPI face turns into OCPI statuses (and the admin API
/// into its own errors).
pub mod codes {
    /// A POST to credentials from a party that is already registered (405).
    pub const ALREADY_REGISTERED: &str = "ocpi_already_registered";
    /// A PUT or DELETE to credentials from a party that is not (405).
    pub const NOT_REGISTERED: &str = "ocpi_not_registered";
    /// The partner's API could not be used (3001).
    pub const PARTNER_UNUSABLE: &str = "ocpi_partner_unusable";
    /// The partner speaks no 2.2.1 (3002).
    pub const UNSUPPORTED_VERSION: &str = "ocpi_unsupported_version";
    /// The partner's 2.2.1 lacks a module we need (3003).
    pub const NO_MATCHING_ENDPOINTS: &str = "ocpi_no_matching_endpoints";
    /// An OCPI object or parameter breaks a rule (2001).
    pub const INVALID: &str = "ocpi_invalid";
}

/// A new invitation: the party, and token A, which exists nowhere else.
#[derive(Debug)]
pub struct Invitation {
    /// The invited party.
    pub party: OcpiParty,
    /// Token A, to hand to the party out of band.
    pub token: String,
}

/// An OCPI object or parameter that breaks a rule: OCPI status 2001.
pub fn invalid(what: impl std::fmt::Display) -> AppError {
    AppError::bad_request(codes::INVALID, what.to_string())
}

fn unusable(message: impl Into<String>) -> AppError {
    AppError::upstream(codes::PARTNER_UNUSABLE, message)
}

fn name_of(input: Option<&str>, fallback: &str) -> AppResult<String> {
    let name = input
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(fallback);
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid_field(
            "name",
            "must be at most 100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Issues a token A for a party that will register with us.
pub async fn invite(app: &App, name: Option<&str>) -> AppResult<Invitation> {
    let name = name_of(name, "invited party")?;
    let now = app.clock.now();
    let token = random_secret();
    let party = OcpiParty {
        id: OcpiPartyId(app.ids.new_uuid(now)),
        name,
        state: PartyState::Invited,
        incoming_token_hash: Some(secret_digest(&token)),
        outgoing_token: None,
        versions_url: None,
        endpoints_json: "[]".into(),
        roles: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    app.store.insert_ocpi_party(&party).await?;
    tracing::info!(party = %party.id, name = party.name, "OCPI party invited");
    Ok(Invitation { party, token })
}

/// A party that presented a token of its own.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The party.
    pub party: OcpiParty,
    /// The token as it matched: only its digest is stored, so this is the
    /// one place it can be read back (the credentials module's GET).
    pub token: String,
}

/// The live party whose token this is. OCPI 2.2.1 sends the token base64
/// encoded; 2.1.1 and some 2.2 implementations send it raw, which 2.2.1
/// asks receivers to accept too: the decoded form is tried first.
pub async fn authenticate(app: &App, presented: &str) -> AppResult<Option<Authenticated>> {
    use base64::Engine as _;
    let presented = presented.trim();
    if presented.is_empty() || presented.len() > 512 {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(presented)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|t| !t.is_empty());
    for candidate in decoded.iter().map(String::as_str).chain([presented]) {
        if let Some(party) = app
            .store
            .find_ocpi_party_by_token(&secret_digest(candidate))
            .await?
        {
            if party.state != PartyState::Unregistered {
                return Ok(Some(Authenticated {
                    party,
                    token: candidate.to_owned(),
                }));
            }
        }
    }
    Ok(None)
}

/// The role `party` plays under the party code `cc`/`pid`: a party reads
/// and writes objects only under its own codes (403 otherwise).
pub async fn own_role(
    app: &App,
    party: &OcpiParty,
    cc: &str,
    pid: &str,
    role: plugway_ocpi::Role,
) -> AppResult<PartyRole> {
    match app.store.find_party_role(cc, pid, role.as_str()).await? {
        Some((holder, held)) if holder == party.id => Ok(held),
        _ => Err(AppError::forbidden(format!(
            "{cc}/{pid} is not a {} party code of yours: use your own codes",
            role.as_str()
        ))),
    }
}

/// Our credentials object around `token`.
pub fn our_credentials(app: &App, token: String) -> Credentials {
    Credentials {
        token,
        url: app.settings.ocpi.versions_url(),
        roles: app.settings.ocpi.roles(),
    }
}

/// A party's 2.2.1 endpoints, as stored.
pub fn endpoints(party: &OcpiParty) -> VersionDetails {
    VersionDetails {
        version: plugway_ocpi::VERSION.into(),
        endpoints: serde_json::from_str(&party.endpoints_json).unwrap_or_default(),
    }
}

/// The URL of a party's module in a role, if it offers it.
pub fn endpoint(party: &OcpiParty, module: ModuleId, role: InterfaceRole) -> Option<String> {
    endpoints(party).endpoint(module, role).map(str::to_owned)
}

/// Makes one call to a partner, with fresh request and correlation ids.
pub async fn call(
    app: &App,
    method: OcpiMethod,
    url: &str,
    token: &str,
    body: Option<Value>,
    correlation_id: &str,
    route: Option<OcpiRoute>,
) -> AppResult<OcpiReply> {
    let request_id = app.ids.new_uuid(app.clock.now()).to_string();
    app.ocpi
        .call(OcpiRequest {
            method,
            url,
            token,
            body,
            route,
            request_id,
            correlation_id: correlation_id.to_owned(),
        })
        .await
        .map_err(|e| {
            // The details stay in our log: echoing a partner-chosen URL's
            // answer (or why it failed) back to the caller would make us a
            // window onto whatever that URL reaches.
            tracing::warn!(url, error = %e, "an OCPI call failed");
            match e {
                OcpiCallError::Unreachable(_) => unusable(format!("{url} could not be reached")),
                OcpiCallError::NotOcpi(_) => unusable(format!("{url} did not answer as OCPI")),
            }
        })
}

fn expect_success(reply: &OcpiReply, what: &str) -> AppResult<()> {
    if reply.succeeded() {
        Ok(())
    } else {
        Err(unusable(format!(
            "{what}: HTTP {}, OCPI status {} ({})",
            reply.http_status,
            reply.status_code,
            reply.status_message.as_deref().unwrap_or("no message")
        )))
    }
}

/// Reads a party's versions with `token`, picks 2.2.1 and reads its
/// details: the endpoints we will call.
async fn discover(
    app: &App,
    versions_url: &str,
    token: &str,
    correlation: &str,
) -> AppResult<VersionDetails> {
    plugway_ocpi::versions::url("url", versions_url).map_err(invalid)?;
    let reply = call(
        app,
        OcpiMethod::Get,
        versions_url,
        token,
        None,
        correlation,
        None,
    )
    .await?;
    expect_success(&reply, "their versions")?;
    let versions: Vec<Version> = serde_json::from_value(reply.data)
        .map_err(|e| unusable(format!("their versions are not a list of versions: {e}")))?;
    let Some(version) = versions.iter().find(|v| v.version == plugway_ocpi::VERSION) else {
        return Err(AppError::upstream(
            codes::UNSUPPORTED_VERSION,
            format!(
                "the party offers {:?}; Plugway speaks OCPI {}",
                versions
                    .iter()
                    .map(|v| v.version.as_str())
                    .collect::<Vec<_>>(),
                plugway_ocpi::VERSION
            ),
        ));
    };
    let reply = call(
        app,
        OcpiMethod::Get,
        &version.url,
        token,
        None,
        correlation,
        None,
    )
    .await?;
    expect_success(&reply, "their 2.2.1 details")?;
    let details: VersionDetails = serde_json::from_value(reply.data)
        .map_err(|e| unusable(format!("their 2.2.1 details do not read: {e}")))?;
    details
        .validate()
        .map_err(|e| unusable(format!("their 2.2.1 details: {e}")))?;
    Ok(details)
}

/// The store's roles for a party's credentials: codes upper-cased, and a
/// new host account for each CPO role (used only when its code has none).
fn party_roles(app: &App, credentials: &Credentials) -> Vec<PartyRole> {
    let now = app.clock.now();
    credentials
        .roles
        .iter()
        .map(|r| PartyRole {
            country_code: r.country_code.to_ascii_uppercase(),
            party_code: r.party_id.to_ascii_uppercase(),
            role: r.role.as_str().to_owned(),
            name: r.business_details.name.trim().to_owned(),
            host_id: (r.role == plugway_ocpi::Role::Cpo).then(|| UserId(app.ids.new_uuid(now))),
        })
        .collect()
}

/// Refuses roles under our own party code: a partner cannot speak for us.
fn check_not_ours(app: &App, credentials: &Credentials) -> AppResult<()> {
    let ours = &app.settings.ocpi;
    if let Some(role) = credentials.roles.iter().find(|r| {
        r.country_code.eq_ignore_ascii_case(&ours.country_code)
            && r.party_id.eq_ignore_ascii_case(&ours.party_id)
    }) {
        return Err(invalid(format!(
            "roles: {}/{} is this platform's own party code",
            role.country_code, role.party_id
        )));
    }
    Ok(())
}

/// Why storing a handshake failed: a party code another holds, or the
/// party no longer in the state the handshake began from.
fn connect_refused(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => not_registered(),
        StoreError::Conflict(Conflict::OcpiPartyCode) => AppError::conflict(
            "ocpi_party_code_taken",
            "roles: one of these party codes and roles belongs to another connected partner",
        ),
        StoreError::Conflict(Conflict::PartyId) => AppError::conflict(
            "ocpi_party_code_taken",
            "roles: a charge point operator of this platform already uses this party code",
        ),
        other => other.into(),
    }
}

/// Checks a party's credentials, reads its endpoints with its token, and
/// stores the connection with a new token for it; answers our credentials.
async fn accept(app: &App, party: &OcpiParty, credentials: Credentials) -> AppResult<Credentials> {
    let from = party.state;
    credentials.validate().map_err(invalid)?;
    check_not_ours(app, &credentials)?;
    let correlation = app.ids.new_uuid(app.clock.now()).to_string();
    let details = discover(app, &credentials.url, &credentials.token, &correlation).await?;
    let token_c = random_secret();
    let connection = PartyConnection {
        incoming_token_hash: secret_digest(&token_c),
        outgoing_token: credentials.token.clone(),
        versions_url: credentials.url.clone(),
        endpoints_json: serde_json::to_string(&details.endpoints).map_err(AppError::internal)?,
        roles: party_roles(app, &credentials),
    };
    app.store
        .connect_ocpi_party(party.id, from, &connection, app.clock.now())
        .await
        .map_err(connect_refused)?;
    Ok(our_credentials(app, token_c))
}

/// A party registers with us (POST credentials, with token A).
pub async fn register(
    app: &App,
    party: &OcpiParty,
    credentials: Credentials,
) -> AppResult<Credentials> {
    if party.state != PartyState::Invited {
        return Err(AppError::new(
            ErrorKind::Conflict,
            codes::ALREADY_REGISTERED,
            "this party is registered already: update its credentials with PUT",
        ));
    }
    let ours = accept(app, party, credentials).await?;
    metrics::counter!("plugway_ocpi_registrations_total").increment(1);
    tracing::info!(party = %party.id, "OCPI party registered with us");
    Ok(ours)
}

/// A registered party renews its credentials (PUT): new tokens both ways.
pub async fn update(
    app: &App,
    party: &OcpiParty,
    credentials: Credentials,
) -> AppResult<Credentials> {
    if party.state != PartyState::Connected {
        return Err(not_registered());
    }
    let ours = accept(app, party, credentials).await?;
    tracing::info!(party = %party.id, "OCPI party renewed its credentials");
    Ok(ours)
}

fn not_registered() -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        codes::NOT_REGISTERED,
        "this party is not registered: register with POST first",
    )
}

/// A registered party unregisters (DELETE): no token of it works any more.
pub async fn unregister(app: &App, party: &OcpiParty) -> AppResult<()> {
    if party.state != PartyState::Connected {
        return Err(not_registered());
    }
    app.store
        .unregister_ocpi_party(party.id, app.clock.now())
        .await?;
    tracing::info!(party = %party.id, "OCPI party unregistered");
    Ok(())
}

/// Registers us with a party that gave us `token_a`: the whole handshake.
/// When it fails, nothing of the party stays usable.
pub async fn connect(
    app: &App,
    versions_url: &str,
    token_a: &str,
    name: Option<&str>,
) -> AppResult<OcpiParty> {
    let token_a = token_a.trim();
    if token_a.is_empty() || token_a.len() > 64 {
        return Err(AppError::invalid_field(
            "token",
            "give the token A the party issued (at most 64 characters)",
        ));
    }
    let correlation = app.ids.new_uuid(app.clock.now()).to_string();
    let details = discover(app, versions_url, token_a, &correlation).await?;
    let Some(credentials_url) = details
        .endpoints
        .iter()
        .find(|e| e.identifier == ModuleId::Credentials)
        .map(|e| e.url.clone())
    else {
        return Err(AppError::upstream(
            codes::NO_MATCHING_ENDPOINTS,
            "the party's 2.2.1 has no credentials endpoint",
        ));
    };
    // The party calls our versions with token B while it answers our POST,
    // so B must work before we send it.
    let invitation = invite(app, Some(&name_of(name, "partner")?)).await?;
    let party = invitation.party;
    let outcome = async {
        let ours = our_credentials(app, invitation.token.clone());
        let body = serde_json::to_value(&ours).map_err(AppError::internal)?;
        let reply = call(
            app,
            OcpiMethod::Post,
            &credentials_url,
            token_a,
            Some(body),
            &correlation,
            None,
        )
        .await?;
        expect_success(&reply, "their credentials endpoint")?;
        let theirs: Credentials = serde_json::from_value(reply.data)
            .map_err(|e| unusable(format!("their credentials do not read: {e}")))?;
        theirs
            .validate()
            .map_err(|e| unusable(format!("their credentials: {e}")))?;
        check_not_ours(app, &theirs)?;
        // Their answer may name other versions; read them with token C,
        // which also proves C works.
        let details = discover(app, &theirs.url, &theirs.token, &correlation).await?;
        let connection = PartyConnection {
            incoming_token_hash: secret_digest(&invitation.token),
            outgoing_token: theirs.token.clone(),
            versions_url: theirs.url.clone(),
            endpoints_json: serde_json::to_string(&details.endpoints)
                .map_err(AppError::internal)?,
            roles: party_roles(app, &theirs),
        };
        app.store
            .connect_ocpi_party(party.id, PartyState::Invited, &connection, app.clock.now())
            .await
            .map_err(connect_refused)
    }
    .await;
    match outcome {
        Ok(connected) => {
            metrics::counter!("plugway_ocpi_connections_total").increment(1);
            tracing::info!(party = %connected.id, url = versions_url, "registered with an OCPI party");
            Ok(connected)
        }
        Err(e) => {
            // Token B must not outlive a failed handshake.
            if let Err(cleanup) = app
                .store
                .unregister_ocpi_party(party.id, app.clock.now())
                .await
            {
                tracing::warn!(party = %party.id, error = %cleanup, "a failed OCPI handshake left its party behind");
            }
            Err(e)
        }
    }
}

/// Every party, newest first.
pub async fn list(app: &App) -> AppResult<Vec<OcpiParty>> {
    Ok(app.store.list_ocpi_parties().await?)
}

/// A party by id.
pub async fn find(app: &App, id: OcpiPartyId) -> AppResult<OcpiParty> {
    app.store
        .find_ocpi_party(id)
        .await?
        .ok_or_else(|| AppError::not_found("ocpi_party_not_found", "no OCPI party has this id"))
}

/// An admin ends a partnership: tells the party (DELETE on its credentials
/// endpoint with the token it gave us, best effort) and stops every token.
pub async fn disconnect(app: &App, id: OcpiPartyId) -> AppResult<OcpiParty> {
    let party = find(app, id).await?;
    if party.state == PartyState::Unregistered {
        return Ok(party);
    }
    if let (Some(url), Some(token)) = (
        endpoint(&party, ModuleId::Credentials, InterfaceRole::Receiver)
            .or_else(|| endpoint(&party, ModuleId::Credentials, InterfaceRole::Sender)),
        party.outgoing_token.as_deref(),
    ) {
        let correlation = app.ids.new_uuid(app.clock.now()).to_string();
        match call(
            app,
            OcpiMethod::Delete,
            &url,
            token,
            None,
            &correlation,
            None,
        )
        .await
        {
            Ok(reply) if reply.succeeded() => {}
            Ok(reply) => tracing::warn!(party = %party.id, status = reply.status_code,
                "the party did not take our unregistration; its tokens are void here anyway"),
            Err(e) => tracing::warn!(party = %party.id, error = %e,
                "the party could not be told of our unregistration; its tokens are void here anyway"),
        }
    }
    app.store
        .unregister_ocpi_party(party.id, app.clock.now())
        .await?;
    find(app, id).await
}
