//! Seed 003's charge point operator (CPO) accounts: an admin registers an
//! operator, which makes a host account that signs in with a username and a
//! password, together with its host profile.
//!
//! The seed's registration carries no password. Unless the admin sends one,
//! Plugway makes a random temporary password, keeps only its argon2id hash,
//! texts the password to the operator's contact number and marks it
//! must-change: until the operator changes it, their tokens can only change
//! the password or sign out (see `plugway-api`'s extractors).
//!
//! The contact number is contact data, as in `PUT /api/v1/host/profile`: the
//! operator's account does not claim it as a phone. A person who already has
//! a phone account with that number keeps it untouched (same role, no
//! profile, OTP sign-in opens it as before); the operator's account is a
//! second, separate account, and the number merely receives its password.
//! An admin asserting a number proves nothing about who holds it, so the
//! phone account is never merged, upgraded or given a password.

use plugway_domain::network::clean_text;
use plugway_domain::{Email, ReferralCode, Role, UserId, Username};
use plugway_store::{HostProfile, NewUser, PasswordSetBy, StoreError, User};

use crate::accounts::{self, sms_error};
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::security::passwords;

/// What an admin registers (seed 003's body, plus an optional password).
#[derive(Debug)]
pub struct OperatorRegistration {
    /// The sign-in name.
    pub username: String,
    /// The business (seed 003 `cpo_owner_name`).
    pub owner_name: String,
    /// Who to contact.
    pub contact_name: String,
    /// Their number; it gets the temporary password.
    pub contact_number: String,
    /// Their e-mail.
    pub contact_email: String,
    /// Whether the operator's chargers speak OCPP.
    pub ocpp_ready: bool,
    /// A password the admin chose; `None` to generate and text one.
    pub password: Option<String>,
    /// The file name of the logo the portal uploads next (`cpo/upload`).
    pub logo: Option<String>,
}

/// How long a registration's named logo waits for its upload.
pub const LOGO_CLAIM_TTL_HOURS: i64 = 24;

/// A registered operator.
#[derive(Debug)]
pub struct Registered {
    /// The new account.
    pub user: User,
    /// Whether a temporary password was texted to the contact number.
    pub password_sent: bool,
}

fn username_taken() -> AppError {
    AppError::conflict("username_taken", "this username is already taken")
}

/// Creates a person who signs in with a username and password (the
/// operator console, the CPO portal): a host, or an admin (the network's
/// first admin comes this way, from `plugway user create`). The password
/// is required here; every field is checked as for [`register`].
pub async fn create_person(
    state: &App,
    input: OperatorRegistration,
    role: Role,
) -> AppResult<User> {
    if input.password.is_none() {
        return Err(AppError::invalid_field("password", "give a password"));
    }
    if role == Role::Driver {
        return Err(AppError::invalid_field(
            "role",
            "must be admin or host (drivers sign up in the app)",
        ));
    }
    let user = register(state, input).await?.user;
    if role == Role::Admin {
        state
            .store
            .set_role(user.id, Role::Admin, state.clock.now())
            .await?;
        tracing::info!(user = %user.id, "admin account created");
        return Ok(User { role, ..user });
    }
    Ok(user)
}

/// Registers an operator: checks every field, then (for a temporary
/// password) texts it, then writes the account and its profile in one
/// transaction. Nothing is written when anything fails.
pub async fn register(state: &App, input: OperatorRegistration) -> AppResult<Registered> {
    register_as(state, input, Role::Host).await
}

async fn register_as(
    state: &App,
    input: OperatorRegistration,
    role: Role,
) -> AppResult<Registered> {
    let username = Username::parse(&input.username)?;
    let owner_name = clean_text("cpo_owner_name", &input.owner_name, 120, false)?;
    let contact_name = clean_text("contact_name", &input.contact_name, 120, false)?;
    let contact_number = clean_text("contact_number", &input.contact_number, 32, false)?;
    let contact_email = Email::parse(&input.contact_email)
        .map_err(|e| AppError::invalid_field("contact_email", e.message))?;
    let logo = match input.logo.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) if name.contains(['/', '\\']) || name.chars().count() > 255 => {
            return Err(AppError::invalid_field(
                "logo",
                "must be the logo's file name (at most 255 characters, no path)",
            ))
        }
        Some(name) => Some(name.to_owned()),
    };
    let (password, must_change, texted_to) = match input.password {
        Some(password) => {
            passwords::check_policy(&password)?;
            (password, false, None)
        }
        None => {
            // The password goes by SMS, so the number must be one we can text.
            let phone = accounts::parse_phone(state, &contact_number).map_err(|e| {
                AppError::invalid_field(
                    "contact_number",
                    format!(
                        "{}; the temporary password is sent there by SMS \
                         (write it with its country code, or send a password)",
                        e.message.trim_start_matches("phone: ")
                    ),
                )
            })?;
            (passwords::temporary(), true, Some(phone))
        }
    };
    if state
        .store
        .find_user_by_username(&username)
        .await?
        .is_some()
    {
        return Err(username_taken());
    }
    let hash = passwords::hash(password.clone()).await?;
    // The SMS goes before the account is written: a provider failure then
    // leaves nothing behind (a retry with the same username works), where
    // the other order would leave an account whose password nobody knows.
    // In the rare race that another registration takes the username in
    // between, the text names an account that was never made: it opens
    // nothing.
    if let Some(phone) = &texted_to {
        let text = format!(
            "Plugway: your charge point operator account \"{}\" is ready. \
             Temporary password: {password} - sign in and change it; until then it can do nothing else.",
            username.as_str()
        );
        state.sms.send(phone, &text).await.map_err(sms_error)?;
    }
    let now = state.clock.now();
    let mut attempts = 0;
    let user = loop {
        attempts += 1;
        let id = UserId(state.ids.new_uuid(now));
        let new = NewUser {
            id,
            name: Some(contact_name.clone()),
            email: Some(contact_email.as_str().to_owned()),
            role,
            password_hash: Some(hash.clone()),
            referral_code: ReferralCode::generate(&mut rand::thread_rng()),
            created_at: now,
        };
        let profile = HostProfile {
            user_id: id,
            owner_name: owner_name.clone(),
            contact_name: contact_name.clone(),
            contact_number: contact_number.clone(),
            contact_email: contact_email.as_str().to_owned(),
            logo: None,
            party_id: None,
            country_code: None,
            ocpp_ready: Some(input.ocpp_ready),
            created_at: now,
            updated_at: now,
        };
        match state
            .store
            .create_operator(&new, &username, must_change, &profile)
            .await
        {
            Ok(user) => break user,
            // A referral-code clash is astronomically rare; draw again.
            Err(StoreError::Conflict(plugway_store::Conflict::ReferralCode)) if attempts < 3 => {}
            Err(StoreError::Conflict(plugway_store::Conflict::Username)) => {
                return Err(username_taken())
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(file_name) = &logo {
        // The account stands either way: without the claim the operator
        // uploads the logo after signing in.
        if let Err(e) = state
            .store
            .claim_operator_logo(user.id, file_name, now)
            .await
        {
            tracing::warn!(user = %user.id, error = %e, "the registration's logo name was not kept");
        }
    }
    metrics::counter!("plugway_operators_registered_total").increment(1);
    tracing::info!(user = %user.id, username = username.as_str(), temporary = must_change,
        "charge point operator registered");
    Ok(Registered {
        user,
        password_sent: texted_to.is_some(),
    })
}

fn operator_not_found() -> AppError {
    AppError::not_found(
        "operator_not_found",
        "no charge point operator account has this id",
    )
}

/// Sends an operator a new temporary password, for one who lost the first
/// or never received it: a random password texted to the contact number of
/// its profile, its hash stored marked must-change, and every session of
/// the account ended. As at registration the text goes first: when the SMS
/// provider fails nothing changes, and the old password still works.
pub async fn send_temporary_password(state: &App, id: UserId) -> AppResult<()> {
    let user = state
        .store
        .find_user(id)
        .await?
        .filter(|u| u.username.is_some() && u.role == Role::Host)
        .ok_or_else(operator_not_found)?;
    let username = user.username.clone().ok_or_else(operator_not_found)?;
    let profile = state
        .store
        .find_host_profile(user.id)
        .await?
        .ok_or_else(operator_not_found)?;
    let phone = accounts::parse_phone(state, &profile.contact_number).map_err(|e| {
        AppError::conflict(
            "contact_number_unusable",
            format!(
                "the operator's contact number cannot take an SMS ({})",
                e.message.trim_start_matches("phone: ")
            ),
        )
    })?;
    let password = passwords::temporary();
    let hash = passwords::hash(password.clone()).await?;
    let text = format!(
        "Plugway: a new password for your charge point operator account \"{}\". \
         Temporary password: {password} - sign in and change it; until then it can do nothing else.",
        username.as_str()
    );
    state.sms.send(&phone, &text).await.map_err(sms_error)?;
    // The hash and the end of the account's sessions are one transaction.
    state
        .store
        .set_password_hash(user.id, &hash, PasswordSetBy::Admin, state.clock.now())
        .await?;
    metrics::counter!("plugway_operator_temporary_passwords_sent_total").increment(1);
    tracing::info!(user = %user.id, "operator temporary password sent");
    Ok(())
}

/// Seed 003's `cpo/upload` from the portal (before anyone signs in): the
/// uploaded file becomes the logo of the operator whose registration, in the
/// last [`LOGO_CLAIM_TTL_HOURS`] hours, named a file of this name (the
/// newest such registration; each is served once).
pub async fn attach_registered_logo(
    state: &App,
    file_name: &str,
    file: bytes::Bytes,
) -> AppResult<UserId> {
    let since = state.clock.now() - chrono::Duration::hours(LOGO_CLAIM_TTL_HOURS);
    let operator = state
        .store
        .take_operator_logo_claim(file_name.trim(), since)
        .await?
        .ok_or_else(|| {
            AppError::not_found(
                "no_registration_awaits_this_logo",
                "no registration of the last day named a logo of this file name",
            )
        })?;
    let now = state.clock.now();
    let stored = crate::images::replace_image(
        state,
        &format!("hosts/{operator}"),
        "cpo_logo",
        vec![file],
        |key| async move {
            state
                .store
                .set_host_logo(operator, Some(key.as_str()), now)
                .await
        },
    )
    .await;
    if let Err(e) = stored {
        // A file that is not an image (or a storage hiccup) must not cost
        // the registration its logo: the claim waits for another try.
        state
            .store
            .claim_operator_logo(operator, file_name.trim(), now)
            .await?;
        return Err(e);
    }
    Ok(operator)
}
