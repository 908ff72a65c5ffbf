//! Sign-up, sign-in, sessions and phones.
//!
//! The rules that matter for safety:
//! - A phone is proven only by an OTP sent to it. An unverified claim on a
//!   phone never lets anyone into an existing account; the next verified
//!   claimant takes the number over.
//! - OTPs are HMAC-hashed under the server key (bound to the phone), expire,
//!   are single use, allow `max_attempts` wrong tries (spent atomically, so
//!   parallel guesses cannot exceed it), and sending is cooled down and capped
//!   per phone (in the database, so across nodes) and per client address.
//! - Passwords are argon2id; wrong ones count towards a temporary lock.
//! - Refresh tokens rotate; a replayed one ends its session.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use plugway_domain::{
    Email, OtpCode, OtpId, PersonName, PhoneNumber, ReferralCode, Role, SessionId, TokenId, UserId,
    Username,
};
use plugway_store::{
    NewUser, OtpRecord, PasswordSetBy, RefreshTokenRecord, RefreshTokenUse, Session, StoreError,
    User,
};
use secrecy::ExposeSecret;

use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::ports::sms::SmsError;
use crate::security::tokens::TokenKind;
use crate::security::{constant_time_eq, hmac_hex, passwords};

/// The code `--dev` accepts for every phone.
const DEV_CODE: &str = "0000";

/// A pair of tokens for one session.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// Short-lived, for API calls.
    pub access: String,
    /// Long-lived, single use, for a new pair.
    pub refresh: String,
    /// The session they belong to.
    pub session: SessionId,
    /// The account they belong to.
    pub user: UserId,
    /// When the access token stops working.
    pub access_expires_at: DateTime<Utc>,
    /// When the refresh token stops working (never after its session ends).
    pub refresh_expires_at: DateTime<Utc>,
}

/// Reads a phone as typed, in the configured default region.
pub fn parse_phone(state: &App, raw: &str) -> AppResult<PhoneNumber> {
    Ok(PhoneNumber::parse(raw, state.settings.default_region)?)
}

fn otp_hash(state: &App, phone: &PhoneNumber, code: &str) -> String {
    // Bind the phone into the MAC: a code is only ever good for its own number.
    let message = format!("{}|{code}", phone.as_str());
    hmac_hex(state.otp_key.expose_secret(), message.as_bytes())
}

fn new_uuid(state: &App, now: DateTime<Utc>) -> uuid::Uuid {
    state.ids.new_uuid(now)
}

/// Whether a code may be sent to `phone` now; the 429 to return if not.
async fn check_send_allowed(state: &App, phone: &PhoneNumber, now: DateTime<Utc>) -> AppResult<()> {
    let policy = &state.settings.otp;
    if let Some(last) = state.store.latest_otp(phone).await? {
        let ready_at = last.created_at + policy.resend_cooldown;
        if now < ready_at {
            let wait = (ready_at - now).num_seconds() + 1;
            return Err(AppError::rate_limited(
                "otp_cooldown",
                format!("a code was sent moments ago; wait {wait} s before asking again"),
                u64::try_from(wait).unwrap_or(1),
            ));
        }
    }
    let hour_ago = now - Duration::hours(1);
    if state.store.count_otps_since(phone, hour_ago).await? >= policy.max_per_hour {
        return Err(AppError::rate_limited(
            "otp_hourly_limit",
            "too many codes were sent to this phone in the last hour; try later",
            3600,
        ));
    }
    Ok(())
}

/// Sends a fresh code to `phone`, within the per-address and per-phone limits.
pub async fn send_otp(state: &App, phone: &PhoneNumber, ip: IpAddr) -> AppResult<()> {
    state.limits().otp_send.check(ip, state.clock.now()).await?;
    let now = state.clock.now();
    check_send_allowed(state, phone, now).await?;
    let policy = &state.settings.otp;
    let code = OtpCode::generate(policy, &mut rand::thread_rng());
    let record = OtpRecord {
        id: OtpId(new_uuid(state, now)),
        phone: phone.clone(),
        code_hash: otp_hash(state, phone, code.expose()),
        created_at: now,
        expires_at: now + policy.ttl,
        attempts: 0,
        consumed_at: None,
    };
    state.store.insert_otp(&record).await?;
    let minutes = policy.ttl.num_minutes().max(1);
    let text = format!(
        "Your Plugway code is {}. It expires in {minutes} minutes. Never share it.",
        code.expose()
    );
    state.sms.send(phone, &text).await.map_err(sms_error)?;
    metrics::counter!("plugway_otp_sent_total").increment(1);
    Ok(())
}

/// What a client is told when an SMS could not be sent.
pub(crate) fn sms_error(e: SmsError) -> AppError {
    match e {
        SmsError::NotConfigured => AppError::unavailable(
            "sms_unavailable",
            "this server cannot send SMS (no provider is configured)",
        )
        .retry_after(60),
        e @ SmsError::Provider(_) => {
            tracing::warn!(error = %e, "SMS provider failed");
            AppError::upstream(
                "sms_failed",
                "the SMS provider did not accept the message; try again shortly",
            )
        }
    }
}

/// Checks a code typed for `phone` and spends it. `field` names the input
/// in errors ("code" for seed 001, "otp" for seed 002).
pub async fn check_otp(
    state: &App,
    phone: &PhoneNumber,
    code: &str,
    field: &'static str,
    ip: IpAddr,
) -> AppResult<()> {
    state
        .limits()
        .credential_check
        .check(ip, state.clock.now())
        .await?;
    let code = code.trim();
    if !(4..=6).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid_field(field, "must be 4 to 6 digits"));
    }
    let now = state.clock.now();
    let policy = &state.settings.otp;
    let otp = state.store.latest_otp(phone).await?.ok_or_else(|| {
        AppError::bad_request("otp_invalid", "no code was sent to this phone; request one")
    })?;
    if otp.consumed_at.is_some() {
        return Err(AppError::bad_request(
            "otp_invalid",
            "this code was already used; request a new one",
        ));
    }
    if otp.expires_at <= now {
        return Err(AppError::bad_request(
            "otp_expired",
            "the code has expired; request a new one",
        ));
    }
    let Some(tries) = state
        .store
        .take_otp_attempt(otp.id, policy.max_attempts)
        .await?
    else {
        return Err(AppError::rate_limited(
            "otp_attempts_exhausted",
            "too many wrong codes; request a new one",
            u64::try_from(policy.resend_cooldown.num_seconds()).unwrap_or(30),
        ));
    };
    let dev_bypass = state.settings.dev && code == DEV_CODE;
    let expected = otp_hash(state, phone, code);
    if !(dev_bypass || constant_time_eq(expected.as_bytes(), otp.code_hash.as_bytes())) {
        metrics::counter!("plugway_otp_failures_total").increment(1);
        let left = (policy.max_attempts - tries).max(0);
        return Err(AppError::bad_request(
            "otp_invalid",
            format!("the code is wrong; {left} tries left"),
        ));
    }
    if !state.store.consume_otp(otp.id, now).await? {
        return Err(AppError::bad_request(
            "otp_invalid",
            "this code was already used; request a new one",
        ));
    }
    Ok(())
}

/// Makes an account for a proven phone, retrying the (astronomically rare)
/// referral-code clash.
async fn create_account(
    state: &App,
    phone: &PhoneNumber,
    verified: bool,
    name: Option<&PersonName>,
    password_hash: Option<String>,
    role: Role,
) -> AppResult<User> {
    let now = state.clock.now();
    let mut last = None;
    for _ in 0..3 {
        let new = NewUser {
            id: UserId(new_uuid(state, now)),
            name: name.map(|n| n.as_str().to_owned()),
            email: None,
            role,
            password_hash: password_hash.clone(),
            referral_code: ReferralCode::generate(&mut rand::thread_rng()),
            created_at: now,
        };
        match state.store.create_user(&new, phone, verified).await {
            Ok(user) => {
                metrics::counter!("plugway_accounts_created_total").increment(1);
                return Ok(user);
            }
            Err(StoreError::Conflict(what @ plugway_store::Conflict::ReferralCode)) => {
                last = Some(what.as_str())
            }
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::conflict(
                    "phone_taken",
                    "this phone is already registered",
                ))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::internal(format!(
        "could not allocate a unique {}",
        last.unwrap_or_default()
    )))
}

/// Opens a session and issues its first token pair. With `refresh_kept`
/// (seed 002's sign-in) its client may keep the refresh token
/// ([`SpentRefresh::SignInTokenKept`]).
pub async fn start_session(
    state: &App,
    user: UserId,
    user_agent: Option<String>,
    refresh_kept: bool,
) -> AppResult<IssuedTokens> {
    let session = open_session(state, user, user_agent).await?;
    issue_pair(state, &session, session.created_at, refresh_kept).await
}

/// A new session of `user`, stored: what every sign-in starts.
async fn open_session(state: &App, user: UserId, user_agent: Option<String>) -> AppResult<Session> {
    let now = state.clock.now();
    let session = Session {
        id: SessionId(new_uuid(state, now)),
        user_id: user,
        created_at: now,
        expires_at: now + state.settings.session_ttl,
        revoked_at: None,
        user_agent,
    };
    state.store.create_session(&session).await?;
    metrics::counter!("plugway_sign_ins_total").increment(1);
    Ok(session)
}

async fn issue_pair(
    state: &App,
    session: &Session,
    now: DateTime<Utc>,
    refresh_kept: bool,
) -> AppResult<IssuedTokens> {
    let refresh = RefreshTokenRecord {
        id: TokenId(new_uuid(state, now)),
        session_id: session.id,
        user_id: session.user_id,
        created_at: now,
        expires_at: (now + state.tokens.refresh_ttl).min(session.expires_at),
        used_at: None,
    };
    state.store.insert_refresh_token(&refresh).await?;
    Ok(IssuedTokens {
        access: access_token(state, session.user_id, session.id)?,
        refresh: state.tokens.issue_refresh(
            session.user_id,
            session.id,
            refresh.id,
            now,
            refresh_kept,
        )?,
        session: session.id,
        user: session.user_id,
        access_expires_at: now + state.tokens.access_ttl,
        refresh_expires_at: refresh.expires_at,
    })
}

/// A new access token for an open session.
pub fn access_token(state: &App, user: UserId, session: SessionId) -> AppResult<String> {
    let now = state.clock.now();
    state.tokens.issue(
        TokenKind::Access,
        user,
        session,
        TokenId(new_uuid(state, now)),
        now,
    )
}

/// The account of a phone whose owner just proved it with a code; a new
/// one of `role` when no account holds it verified.
async fn account_of_proven_phone(state: &App, phone: &PhoneNumber, role: Role) -> AppResult<User> {
    match state.store.find_phone(phone).await? {
        Some(claim) if claim.verified => state
            .store
            .find_user(claim.user_id)
            .await?
            .ok_or_else(|| AppError::internal("verified phone without an account")),
        // Someone else's unverified claim (or none): the owner, now proven,
        // gets an account of their own; create_account takes the claim over.
        _ => create_account(state, phone, true, None, None, role).await,
    }
}

/// Seed 001 sign-in: a proven phone signs into its account, or gets a new one.
pub async fn sign_in_with_otp(
    state: &App,
    phone: &PhoneNumber,
    code: &str,
    ip: IpAddr,
    user_agent: Option<String>,
) -> AppResult<(User, IssuedTokens)> {
    check_otp(state, phone, code, "code", ip).await?;
    let user = account_of_proven_phone(state, phone, Role::Driver).await?;
    let tokens = start_session(state, user.id, user_agent, false).await?;
    Ok((user, tokens))
}

/// Which of seed 000's two apps signs in: each app's new accounts take its
/// role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyApp {
    /// The customer (driver) app.
    Customer,
    /// The host app.
    Host,
}

/// Seed 000 sign-in (`VerifyOtp`): a proven phone signs into its account,
/// or gets a new one of the app's role (the seed creates hosts this way;
/// their sites still wait for an admin's approval). A driver's phone is not
/// let into the host app: an admin makes an account a host. Returns the
/// account and its `authkey` (see [`authkey_holder`]).
pub async fn sign_in_for_authkey(
    state: &App,
    phone: &PhoneNumber,
    code: &str,
    ip: IpAddr,
    user_agent: Option<String>,
    app: LegacyApp,
) -> AppResult<(User, String)> {
    check_otp(state, phone, code, "otp", ip).await?;
    let role = match app {
        LegacyApp::Customer => Role::Driver,
        LegacyApp::Host => Role::Host,
    };
    let user = account_of_proven_phone(state, phone, role).await?;
    if app == LegacyApp::Host && !matches!(user.role, Role::Host | Role::Admin) {
        return Err(AppError::new(
            crate::error::ErrorKind::Forbidden,
            "not_a_host",
            "this phone belongs to a driver's account; an admin makes it a host",
        ));
    }
    let session = open_session(state, user.id, user_agent).await?;
    let now = session.created_at;
    let key = state.tokens.issue(
        TokenKind::Authkey,
        user.id,
        session.id,
        TokenId(new_uuid(state, now)),
        now,
    )?;
    Ok((user, key))
}

/// Who holds a seed 000 `authkey`, and its session: refused once the
/// session ends (sign-out, logout-all, a password change, expiry), like an
/// access token, though the key itself lives as long as a refresh token.
pub async fn authkey_holder(state: &App, key: &str) -> AppResult<(User, SessionId)> {
    session_holder(state, key, TokenKind::Authkey).await
}

/// Who holds a session-bound token of `kind` (an access token, an authkey),
/// and its session: refused (401 `session_ended`) once the session ended
/// or when the token and the session disagree about the account.
pub async fn session_holder(
    state: &App,
    token: &str,
    kind: TokenKind,
) -> AppResult<(User, SessionId)> {
    let now = state.clock.now();
    let claims = state.tokens.verify(token, kind, now)?;
    let (user_id, session_id) = (claims.user()?, claims.session()?);
    let ended =
        || AppError::unauthenticated("session_ended", "this session has ended; sign in again");
    let session = state
        .store
        .find_session(session_id)
        .await?
        .ok_or_else(ended)?;
    if session.user_id != user_id || !session.is_active(now) {
        return Err(ended());
    }
    let user = state.store.find_user(user_id).await?.ok_or_else(ended)?;
    Ok((user, session_id))
}

/// Seed 002 registration: an account with a password and an unverified
/// phone; a code goes to the phone.
pub async fn register(
    state: &App,
    phone: &PhoneNumber,
    name: &PersonName,
    password: String,
    ip: IpAddr,
) -> AppResult<User> {
    passwords::check_policy(&password)?;
    if state
        .store
        .find_phone(phone)
        .await?
        .is_some_and(|c| c.verified)
    {
        return Err(AppError::conflict(
            "phone_taken",
            "this phone is already registered",
        ));
    }
    // Refuse before creating anything if no code could be sent now.
    state.limits().otp_send.check(ip, state.clock.now()).await?;
    check_send_allowed(state, phone, state.clock.now()).await?;
    let hash = passwords::hash(password).await?;
    let user = create_account(state, phone, false, Some(name), Some(hash), Role::Driver).await?;
    send_otp(state, phone, ip).await?;
    Ok(user)
}

/// Seed 002 verification: a code proves the phone its account claimed.
pub async fn verify_phone(
    state: &App,
    phone: &PhoneNumber,
    code: &str,
    ip: IpAddr,
) -> AppResult<()> {
    let claim = state.store.find_phone(phone).await?.ok_or_else(|| {
        AppError::not_found(
            "phone_not_found",
            "no account has this phone; register first",
        )
    })?;
    check_otp(state, phone, code, "otp", ip).await?;
    if !claim.verified {
        state
            .store
            .verify_phone(claim.user_id, phone, state.clock.now())
            .await?;
    }
    Ok(())
}

/// Seed 002 password sign-in.
pub async fn sign_in_with_password(
    state: &App,
    phone: &PhoneNumber,
    password: String,
    ip: IpAddr,
    user_agent: Option<String>,
) -> AppResult<(User, IssuedTokens)> {
    state
        .limits()
        .credential_check
        .check(ip, state.clock.now())
        .await?;
    let wrong =
        || AppError::unauthenticated("invalid_credentials", "the phone or the password is wrong");
    let claim = state.store.find_phone(phone).await?;
    let user = match &claim {
        Some(c) => state.store.find_user(c.user_id).await?,
        None => None,
    };
    let user = check_password(
        state,
        user,
        password,
        wrong,
        "too many wrong passwords; password sign-in is locked for a while (OTP sign-in still works)",
    )
    .await?;
    if !claim.is_some_and(|c| c.verified) {
        return Err(AppError::forbidden(
            "verify this phone with the code sent to it before signing in",
        )
        .with_code("phone_not_verified"));
    }
    state.store.clear_failed_logins(user.id).await?;
    // Seed 002's apps keep the refresh token this gives (its refresh reply
    // carries none).
    let tokens = start_session(state, user.id, user_agent, true).await?;
    Ok((user, tokens))
}

/// Seed 003 CPO sign-in: username and password. A username that cannot
/// exist is treated as an unknown one (same answer, same time spent).
pub async fn sign_in_with_username(
    state: &App,
    username: &str,
    password: String,
    ip: IpAddr,
    user_agent: Option<String>,
) -> AppResult<(User, IssuedTokens)> {
    state
        .limits()
        .credential_check
        .check(ip, state.clock.now())
        .await?;
    let wrong = || {
        AppError::unauthenticated(
            "invalid_credentials",
            "the username or the password is wrong",
        )
    };
    let user = user_by_username(state, username).await?;
    let user = username_password(state, user, password, wrong).await?;
    let tokens = start_session(state, user.id, user_agent, false).await?;
    Ok((user, tokens))
}

/// Operator console sign-in: an admin or a host, by username or phone
/// (verified) and password. The same limits as the other password sign-ins
/// (per address, per account lock); a driver's right password is refused
/// with `console_not_allowed` (the console is not theirs). Returns the
/// account, its new session and the console cookie's token.
pub async fn sign_in_to_console(
    state: &App,
    login: &str,
    password: String,
    ip: IpAddr,
    user_agent: Option<String>,
) -> AppResult<(User, SessionId, String)> {
    state
        .limits()
        .credential_check
        .check(ip, state.clock.now())
        .await?;
    let wrong = || {
        AppError::unauthenticated(
            "invalid_credentials",
            "the username, phone or password is wrong",
        )
    };
    let login = login.trim();
    // A login with a digit and no letter is a phone; anything else a username.
    let phone_like =
        login.chars().any(|c| c.is_ascii_digit()) && !login.chars().any(|c| c.is_alphabetic());
    let user = if phone_like {
        match parse_phone(state, login) {
            Ok(phone) => match state.store.find_phone(&phone).await? {
                Some(claim) if claim.verified => state.store.find_user(claim.user_id).await?,
                _ => None,
            },
            Err(_) => None,
        }
    } else {
        user_by_username(state, login).await?
    };
    let user = username_password(state, user, password, wrong).await?;
    may_use_console(&user)?;
    let session = open_session(state, user.id, user_agent).await?;
    let now = session.created_at;
    let token = state.tokens.issue(
        TokenKind::Console,
        user.id,
        session.id,
        TokenId(new_uuid(state, now)),
        now,
    )?;
    Ok((user, session.id, token))
}

/// The account `text` names: its id, its username, or a phone it holds
/// (verified or not: an operator looking someone up). None when nothing
/// matches. (The CSV import's `site_import::find_host` takes an id or a
/// phone only, and insists on a host.)
pub async fn find_account(state: &App, text: &str) -> AppResult<Option<User>> {
    let text = text.trim();
    if let Ok(id) = text.parse::<UserId>() {
        return Ok(state.store.find_user(id).await?);
    }
    if let Some(user) = user_by_username(state, text).await? {
        return Ok(Some(user));
    }
    match parse_phone(state, text) {
        Ok(phone) => match state.store.find_phone(&phone).await? {
            Some(claim) => Ok(state.store.find_user(claim.user_id).await?),
            None => Ok(None),
        },
        Err(_) => Ok(None),
    }
}

/// Who holds a console cookie, and its session (see [`session_holder`]):
/// refused, as at sign-in, once the account may no longer use the console
/// (made a driver, or sent a temporary password).
pub async fn console_holder(state: &App, token: &str) -> AppResult<(User, SessionId)> {
    let (user, session) = session_holder(state, token, TokenKind::Console).await?;
    may_use_console(&user)?;
    Ok((user, session))
}

/// The console is for admins and hosts whose password is their own.
fn may_use_console(user: &User) -> AppResult<()> {
    if user.password_must_change {
        return Err(AppError::forbidden(
            "change your temporary password first (in the CPO portal), then sign in here",
        )
        .with_code("password_change_required"));
    }
    if !matches!(user.role, Role::Admin | Role::Host) {
        return Err(AppError::forbidden(
            "the console is for the network's admins and hosts; drivers use the app",
        )
        .with_code("console_not_allowed"));
    }
    Ok(())
}

/// Ends a session (a sign-out): every token naming it stops working.
pub async fn sign_out(state: &App, session: SessionId) -> AppResult<()> {
    state
        .store
        .revoke_session(session, state.clock.now())
        .await?;
    Ok(())
}

/// The account a username names; a name that cannot be one names none.
async fn user_by_username(state: &App, raw: &str) -> AppResult<Option<User>> {
    Ok(match Username::parse(raw) {
        Ok(name) => state.store.find_user_by_username(&name).await?,
        Err(_) => None,
    })
}

/// [`check_password`] for the username sign-ins (the CPO portal, the
/// console), clearing the failure count once it passes.
async fn username_password(
    state: &App,
    user: Option<User>,
    password: String,
    wrong: impl Fn() -> AppError,
) -> AppResult<User> {
    let user = check_password(
        state,
        user,
        password,
        wrong,
        "too many wrong passwords; sign-in is locked for a while",
    )
    .await?;
    state.store.clear_failed_logins(user.id).await?;
    Ok(user)
}

/// The password check both password sign-ins share: a locked account is
/// refused before anything is compared; the hash is always computed (a
/// dummy one for an unknown account), so the answer and its timing are the
/// same for an unknown account and a wrong password; wrong passwords count
/// towards the lock.
async fn check_password(
    state: &App,
    user: Option<User>,
    password: String,
    wrong: impl Fn() -> AppError,
    locked: &'static str,
) -> AppResult<User> {
    let now = state.clock.now();
    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|t| *t > now)
    {
        return Err(AppError::rate_limited(
            "account_locked",
            locked,
            u64::try_from((until - now).num_seconds() + 1).unwrap_or(1),
        ));
    }
    let ok = passwords::verify(
        password,
        user.as_ref().and_then(|u| u.password_hash.clone()),
    )
    .await?;
    let Some(user) = user else {
        return Err(wrong());
    };
    if !ok {
        let failures = state.store.increment_failed_logins(user.id).await?;
        if failures >= state.settings.lockout_after {
            state
                .store
                .lock_password_login(user.id, now + state.settings.lockout_for)
                .await?;
            tracing::warn!(user = %user.id, "password sign-in locked after repeated failures");
        }
        return Err(wrong());
    }
    Ok(user)
}

/// The session of a refresh token that may still be used: the session is
/// neither revoked nor expired, and neither is the token.
async fn live_session(
    state: &App,
    record: &RefreshTokenRecord,
    now: DateTime<Utc>,
) -> AppResult<Session> {
    let ended =
        || AppError::unauthenticated("session_ended", "this session has ended; sign in again");
    let session = state
        .store
        .find_session(record.session_id)
        .await?
        .ok_or_else(ended)?;
    if !session.is_active(now) || record.expires_at <= now {
        return Err(ended());
    }
    Ok(session)
}

/// What a spent refresh token presented again means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpentRefresh {
    /// Theft: the whole session ends (every face that documents rotation).
    EndsSession,
    /// Seed 002's apps keep the token their sign-in gave (its documented
    /// refresh reply has no new one): a refresh token issued by seed 002's
    /// password sign-in (marked `kept` in its signed claims), while no other
    /// token of its session was ever spent, may be presented again until it
    /// expires. Once the client presents a rotated token, the session is in
    /// rotation and any replay ends it, as with [`EndsSession`]. Tokens of
    /// every other sign-in (OTP, the CPO portal) rotate strictly.
    ///
    /// [`EndsSession`]: SpentRefresh::EndsSession
    SignInTokenKept,
}

/// Rotates a refresh token: a new access token and a new refresh token.
/// A spent token presented again ends the whole session, except as
/// `spent` allows ([`SpentRefresh::SignInTokenKept`]).
pub async fn refresh(
    state: &App,
    refresh_token: &str,
    spent: SpentRefresh,
) -> AppResult<IssuedTokens> {
    let now = state.clock.now();
    let claims = state
        .tokens
        .verify(refresh_token, TokenKind::Refresh, now)?;
    match state
        .store
        .use_refresh_token(claims.token_id()?, now)
        .await?
    {
        RefreshTokenUse::Fresh(record) => {
            let session = live_session(state, &record, now).await?;
            // Rotated tokens are never kept.
            issue_pair(state, &session, now, false).await
        }
        // A seed 002 app keeps the refresh token its sign-in gave and sends
        // it again at every refresh (its documented reply has no new one).
        // While no other token of the session was ever spent, that is what
        // this is: the token stays good until it expires, and the session
        // is checked as always. A client that presented a rotated token is
        // in rotation, and then any replay is theft.
        RefreshTokenUse::AlreadyUsed(record)
            if spent == SpentRefresh::SignInTokenKept
                && claims.kept
                && !state
                    .store
                    .other_refresh_token_spent(record.session_id, record.id)
                    .await? =>
        {
            let session = live_session(state, &record, now).await?;
            Ok(IssuedTokens {
                access: access_token(state, session.user_id, session.id)?,
                refresh: refresh_token.to_owned(),
                session: session.id,
                user: session.user_id,
                access_expires_at: now + state.tokens.access_ttl,
                refresh_expires_at: record.expires_at,
            })
        }
        RefreshTokenUse::AlreadyUsed(record) => {
            state.store.revoke_session(record.session_id, now).await?;
            tracing::warn!(session = %record.session_id, "refresh token reused: session revoked");
            metrics::counter!("plugway_refresh_reuse_total").increment(1);
            Err(AppError::unauthenticated(
                "refresh_token_reused",
                "this refresh token was already used; the session has been ended for safety",
            ))
        }
        RefreshTokenUse::Unknown => Err(AppError::unauthenticated(
            "invalid_token",
            "the token is invalid",
        )),
    }
}

/// Changes the password. Accounts that never had one (OTP sign-up) may set
/// one without the old. Every other session of the account ends.
pub async fn change_password(
    state: &App,
    user: &User,
    session: SessionId,
    old: Option<String>,
    new: String,
) -> AppResult<u64> {
    passwords::check_policy(&new)?;
    if user.password_hash.is_some() {
        let old = old.ok_or_else(|| AppError::invalid_field("old_password", "is required"))?;
        if !passwords::verify(old, user.password_hash.clone()).await? {
            return Err(AppError::unauthenticated(
                "invalid_credentials",
                "the current password is wrong",
            ));
        }
    }
    let now = state.clock.now();
    let hash = passwords::hash(new).await?;
    state
        .store
        .set_password_hash(user.id, &hash, PasswordSetBy::Owner, now)
        .await?;
    Ok(state
        .store
        .revoke_user_sessions(user.id, Some(session), now)
        .await?)
}

/// Adds a phone to an account and sends it a code.
pub async fn add_phone(state: &App, user: &User, phone: &PhoneNumber, ip: IpAddr) -> AppResult<()> {
    if let Some(claim) = state.store.find_phone(phone).await? {
        if claim.verified && claim.user_id != user.id {
            return Err(AppError::conflict(
                "phone_taken",
                "this phone belongs to another account",
            ));
        }
        if claim.verified {
            return Err(AppError::conflict(
                "phone_already_added",
                "this phone is already on your account",
            ));
        }
    }
    state.limits().otp_send.check(ip, state.clock.now()).await?;
    check_send_allowed(state, phone, state.clock.now()).await?;
    state
        .store
        .add_phone(user.id, phone, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::conflict("phone_taken", "this phone belongs to another account")
            }
            other => other.into(),
        })?;
    send_otp(state, phone, ip).await
}

/// Makes a verified phone of the account its primary one.
pub async fn make_primary_phone(state: &App, user: &User, phone: &PhoneNumber) -> AppResult<()> {
    let phones = state.store.list_phones(user.id).await?;
    let claim = phones.iter().find(|p| &p.phone == phone).ok_or_else(|| {
        AppError::not_found("phone_not_found", "this phone is not on your account")
    })?;
    if !claim.verified {
        return Err(AppError::bad_request(
            "phone_not_verified",
            "verify this phone with the code sent to it first",
        ));
    }
    Ok(state
        .store
        .make_primary_phone(user.id, phone, state.clock.now())
        .await?)
}

/// Records who referred this account (once; never oneself).
pub async fn apply_referral(state: &App, user: &User, code: &str) -> AppResult<User> {
    let code = ReferralCode::parse(code)?;
    let referrer = state
        .store
        .find_user_by_referral_code(&code)
        .await?
        .ok_or_else(|| {
            AppError::not_found(
                "referral_code_not_found",
                "no account has this referral code",
            )
        })?;
    if referrer.id == user.id {
        return Err(AppError::invalid_field("referral_code", "is your own code"));
    }
    if !state
        .store
        .set_referred_by(user.id, referrer.id, state.clock.now())
        .await?
    {
        return Err(AppError::conflict(
            "referral_already_applied",
            "a referral code was already applied",
        ));
    }
    Ok(referrer)
}

/// Replaces name and e-mail.
pub async fn update_info(
    state: &App,
    user: &User,
    name: &str,
    email: Option<&str>,
) -> AppResult<()> {
    let name = PersonName::parse(name)?;
    let email = email
        .filter(|e| !e.trim().is_empty())
        .map(Email::parse)
        .transpose()?;
    Ok(state
        .store
        .update_profile(user.id, &name, email.as_ref(), state.clock.now())
        .await?)
}
