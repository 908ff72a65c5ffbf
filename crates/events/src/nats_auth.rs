//! NATS credentials for drivers' apps, enforced by the NATS server itself.
//!
//! The server runs in operator mode (decentralized JWT auth, which
//! nats-server 2.9 has; auth callout came later): an operator vouches for a
//! Plugway account, the account vouches for users. Plugway keeps a signing
//! key of its account and mints, per driver, a user JWT that may subscribe to
//! `{prefix}.user.<id>.>` and nothing else, plus a fresh user nkey whose seed
//! proves the JWT is the driver's. Plugway itself connects as a user of the
//! same account with [`service_permissions`].
//!
//! The JWTs are written here rather than with a crate: `nats-jwt` knows no
//! operator claims nor JetStream limits, `nats-io-jwt` calls itself a work in
//! progress and builds a schema code generator; both read the clock and
//! panic on errors. The encoding follows the reference implementation
//! (github.com/nats-io/jwt, v2): header `{"typ":"JWT","alg":"ed25519-nkey"}`,
//! base64url without padding, `jti` = base32 (no padding) of SHA-512/256 of
//! the standard claims without `jti`, signature ed25519 over `header.claims`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use nkeys::{KeyPair, KeyPairType};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha512_256};

use crate::valid_subject;

/// What minting credentials or generating a server configuration fails with.
#[derive(Debug, thiserror::Error)]
pub enum NatsAuthError {
    /// A seed or public key is malformed or of the wrong kind.
    #[error("invalid nkey: {0}")]
    Key(String),
    /// A prefix or user id cannot be used in a subject.
    #[error("invalid subject token {0:?}")]
    InvalidSubject(String),
    /// A time before 1970 (or too far ahead) cannot go into a JWT.
    #[error("time out of range for a JWT")]
    Time,
    /// The claims could not be encoded.
    #[error("cannot encode claims: {0}")]
    Encode(String),
}

/// `Result` with [`NatsAuthError`].
pub type Result<T, E = NatsAuthError> = std::result::Result<T, E>;

/// Subjects one direction (publish or subscribe) allows and denies. Empty
/// lists allow everything, as in NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubjectRules {
    /// Patterns allowed; empty = all not denied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Patterns denied, winning over `allow`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl SubjectRules {
    fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }
}

/// What a NATS user may publish and subscribe to, as written in its JWT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NatsPermissions {
    /// Publishing.
    #[serde(rename = "pub", skip_serializing_if = "SubjectRules::is_empty")]
    pub publish: SubjectRules,
    /// Subscribing.
    #[serde(rename = "sub", skip_serializing_if = "SubjectRules::is_empty")]
    pub subscribe: SubjectRules,
}

/// A driver's permissions: subscribe to `{prefix}.user.<user_id>.>`, nothing
/// else, and publish nothing.
///
/// No `_INBOX.>`: a plain subscriber needs no inbox, and whoever may
/// subscribe to `_INBOX.>` reads every reply in the account, including the
/// JetStream replies that carry other users' events to Plugway. No publish
/// either: `_INBOX.>` would let a driver forge replies to Plugway's requests.
pub fn driver_permissions(prefix: &str, user_id: &str) -> Result<NatsPermissions> {
    if !valid_subject(prefix) {
        return Err(NatsAuthError::InvalidSubject(prefix.to_owned()));
    }
    // One token exactly: "a.>" or "*" would widen the grant to other users.
    if user_id.contains('.') || !valid_subject(user_id) {
        return Err(NatsAuthError::InvalidSubject(user_id.to_owned()));
    }
    Ok(NatsPermissions {
        publish: SubjectRules {
            allow: Vec::new(),
            deny: vec![">".to_owned()],
        },
        subscribe: SubjectRules {
            allow: vec![format!("{prefix}.user.{user_id}.>")],
            deny: Vec::new(),
        },
    })
}

/// Plugway's own permissions in its account: everything (empty rules).
pub fn service_permissions() -> NatsPermissions {
    NatsPermissions::default()
}

/// A NATS user's credentials: its JWT and the seed of its nkey.
#[derive(Debug, Clone)]
pub struct NatsUserCredentials {
    /// The user JWT (public: it names the user's key and permissions).
    pub jwt: String,
    /// The user's nkey seed (`SU...`): whoever has it is that user.
    pub seed: SecretString,
}

impl NatsUserCredentials {
    /// The standard `.creds` text that NATS clients and the `nats` CLI read.
    pub fn creds_file(&self) -> SecretString {
        format!(
            "-----BEGIN NATS USER JWT-----\n{}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n",
            self.jwt,
            self.seed.expose_secret()
        )
        .into()
    }

    /// The user's public key (`U...`), the JWT's subject.
    pub fn public_key(&self) -> Result<String> {
        Ok(KeyPair::from_seed(self.seed.expose_secret())
            .map_err(key_error)?
            .public_key())
    }
}

/// Mints user JWTs for Plugway's NATS account.
pub struct NatsAccountSigner {
    key: KeyPair,
    account: String,
}

impl std::fmt::Debug for NatsAccountSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsAccountSigner")
            .field("account", &self.account)
            .field("issuer", &self.key.public_key())
            .finish_non_exhaustive()
    }
}

impl NatsAccountSigner {
    /// Signs with the account's own identity key (seed `SA...`).
    pub fn from_seed(seed: &str) -> Result<Self> {
        let key = account_key(seed)?;
        Ok(Self {
            account: key.public_key(),
            key,
        })
    }

    /// Signs with one of the account's signing keys (listed in the account
    /// JWT), so the identity seed can stay offline. `account` is the
    /// account's public key (`A...`).
    pub fn from_signing_seed(account: &str, seed: &str) -> Result<Self> {
        let public = KeyPair::from_public_key(account).map_err(key_error)?;
        if public.key_pair_type() != KeyPairType::Account {
            return Err(NatsAuthError::Key(format!(
                "{account} is not an account key"
            )));
        }
        Ok(Self {
            key: account_key(seed)?,
            account: account.to_owned(),
        })
    }

    /// The account's public key.
    pub fn account_public_key(&self) -> &str {
        &self.account
    }

    /// A fresh user nkey and its JWT, issued at `issued_at` and valid until
    /// `expires_at` (`None`: until revoked). The server refuses the JWT after
    /// it expires and disconnects a user connected with it.
    pub fn user_credentials(
        &self,
        name: &str,
        permissions: &NatsPermissions,
        issued_at: SystemTime,
        expires_at: Option<SystemTime>,
    ) -> Result<NatsUserCredentials> {
        let user = KeyPair::new_user();
        let issuer = self.key.public_key();
        let claims = UserClaims {
            permissions,
            subs: NO_LIMIT,
            data: NO_LIMIT,
            payload: NO_LIMIT,
            // Only a signing key says which account it signs for.
            issuer_account: (issuer != self.account).then_some(self.account.as_str()),
            kind: "user",
            version: 2,
        };
        let jwt = encode_jwt(
            &self.key,
            &user.public_key(),
            name,
            unix_seconds(issued_at)?,
            expires_at.map(unix_seconds).transpose()?,
            &claims,
        )?;
        Ok(NatsUserCredentials {
            jwt,
            seed: user.seed().map_err(key_error)?.into(),
        })
    }
}

/// What [`nats_server_config`] needs to know.
#[derive(Debug, Clone)]
pub struct NatsServerSetup {
    /// `host:port` the server listens on for clients.
    pub listen: String,
    /// Where JetStream keeps its files.
    pub store_dir: PathBuf,
    /// The Plugway account's name, e.g. `PLUGWAY`.
    pub account_name: String,
    /// When the JWTs are issued.
    pub issued_at: SystemTime,
    /// Whether the account may use JetStream. `NatsBus` needs it (without
    /// it creating the event stream fails); `false` exists to show that.
    pub account_jetstream: bool,
}

/// A generated operator-mode server configuration and the keys behind it.
#[derive(Debug, Clone)]
pub struct GeneratedNatsServer {
    /// The nats-server configuration file's text. It holds public JWTs only.
    pub config: String,
    /// The Plugway account's public key (`A...`).
    pub account_public_key: String,
    /// The seed of the Plugway account's signing key, which Plugway keeps
    /// to mint user credentials ([`NatsAccountSigner::from_signing_seed`]).
    pub account_signing_seed: SecretString,
    /// The account's identity seed: keep offline. It can sign users too
    /// ([`NatsAccountSigner::from_seed`]), so losing it is losing the account.
    pub account_seed: SecretString,
    /// The operator's seed: keep offline; it signs new account JWTs.
    pub operator_seed: SecretString,
    /// The system account's seed: keep offline (server monitoring).
    pub system_account_seed: SecretString,
}

impl GeneratedNatsServer {
    /// The signer Plugway uses: the account's signing key.
    pub fn signer(&self) -> Result<NatsAccountSigner> {
        NatsAccountSigner::from_signing_seed(
            &self.account_public_key,
            self.account_signing_seed.expose_secret(),
        )
    }
}

/// Generates fresh operator, system account and Plugway account keys and a
/// nats-server 2.9 configuration that trusts them: operator JWT inline, both
/// account JWTs preloaded into a memory resolver, JetStream on, the Plugway
/// account with unlimited JetStream (when `setup.account_jetstream`) and a
/// separate signing key for user JWTs. The text looks like:
///
/// ```text
/// listen: "127.0.0.1:4222"
/// operator: "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...."
/// system_account: ADSYS...
/// resolver: MEMORY
/// resolver_preload: {
///   # SYS
///   ADSYS...: "eyJ..."
///   # PLUGWAY
///   ACPLUGWAY...: "eyJ..."
/// }
/// jetstream: {
///   store_dir: "/var/lib/nats"
/// }
/// ```
pub fn nats_server_config(setup: &NatsServerSetup) -> Result<GeneratedNatsServer> {
    let issued_at = unix_seconds(setup.issued_at)?;
    let operator = KeyPair::new_operator();
    let system = KeyPair::new_account();
    let account = KeyPair::new_account();
    let signing = KeyPair::new_account();

    let operator_jwt = encode_jwt(
        &operator,
        &operator.public_key(),
        "plugway-operator",
        issued_at,
        None,
        &OperatorClaims {
            system_account: &system.public_key(),
            kind: "operator",
            version: 2,
        },
    )?;
    let system_jwt = encode_jwt(
        &operator,
        &system.public_key(),
        "SYS",
        issued_at,
        None,
        &AccountClaims {
            limits: AccountLimits::unlimited(false),
            signing_keys: Vec::new(),
            kind: "account",
            version: 2,
        },
    )?;
    let account_jwt = encode_jwt(
        &operator,
        &account.public_key(),
        &setup.account_name,
        issued_at,
        None,
        &AccountClaims {
            limits: AccountLimits::unlimited(setup.account_jetstream),
            signing_keys: vec![signing.public_key()],
            kind: "account",
            version: 2,
        },
    )?;

    let store_dir = setup.store_dir.to_str().ok_or_else(|| {
        NatsAuthError::Encode("the JetStream store directory is not UTF-8".to_owned())
    })?;
    let config = format!(
        "# nats-server 2.9+ in operator mode for Plugway, generated by Plugway.\n\
         # Only public JWTs are here; keep the seeds printed with it offline,\n\
         # except the account signing seed, which Plugway needs.\n\
         listen: {listen}\n\
         operator: {operator_jwt}\n\
         system_account: {system_pk}\n\
         resolver: MEMORY\n\
         resolver_preload: {{\n  \
           # SYS\n  {system_pk}: {system_jwt}\n  \
           # {account_name}\n  {account_pk}: {account_jwt}\n\
         }}\n\
         jetstream: {{\n  store_dir: {store_dir}\n}}\n",
        listen = quote(&setup.listen)?,
        operator_jwt = quote(&operator_jwt)?,
        system_pk = system.public_key(),
        system_jwt = quote(&system_jwt)?,
        account_name = setup.account_name.replace(['\n', '\r'], " "),
        account_pk = account.public_key(),
        account_jwt = quote(&account_jwt)?,
        store_dir = quote(store_dir)?,
    );
    Ok(GeneratedNatsServer {
        config,
        account_public_key: account.public_key(),
        account_signing_seed: signing.seed().map_err(key_error)?.into(),
        account_seed: account.seed().map_err(key_error)?.into(),
        operator_seed: operator.seed().map_err(key_error)?.into(),
        system_account_seed: system.seed().map_err(key_error)?.into(),
    })
}

/// `-1` in NATS claims: no limit. Absent limits decode as 0, which for
/// subscriptions means none at all.
const NO_LIMIT: i64 = -1;

const JWT_HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

/// The registered claims, in the reference implementation's field order
/// (its `jti` is the hash of exactly these, serialized without `jti`).
#[derive(Serialize)]
struct StandardClaims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    iat: i64,
    iss: String,
    name: &'a str,
    sub: &'a str,
}

#[derive(Serialize)]
struct Claims<'a, N> {
    #[serde(flatten)]
    standard: StandardClaims<'a>,
    nats: N,
}

#[derive(Serialize)]
struct UserClaims<'a> {
    #[serde(flatten)]
    permissions: &'a NatsPermissions,
    subs: i64,
    data: i64,
    payload: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_account: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    version: u8,
}

#[derive(Serialize)]
struct AccountClaims {
    limits: AccountLimits,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signing_keys: Vec<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    version: u8,
}

#[derive(Serialize)]
struct AccountLimits {
    subs: i64,
    data: i64,
    payload: i64,
    imports: i64,
    exports: i64,
    wildcards: bool,
    conn: i64,
    leaf: i64,
    // JetStream is off for an account unless its storage limits are
    // non-zero; -1 means unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    mem_storage: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disk_storage: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    streams: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer: Option<i64>,
}

impl AccountLimits {
    fn unlimited(jetstream: bool) -> Self {
        let js = jetstream.then_some(NO_LIMIT);
        Self {
            subs: NO_LIMIT,
            data: NO_LIMIT,
            payload: NO_LIMIT,
            imports: NO_LIMIT,
            exports: NO_LIMIT,
            wildcards: true,
            conn: NO_LIMIT,
            leaf: NO_LIMIT,
            mem_storage: js,
            disk_storage: js,
            streams: js,
            consumer: js,
        }
    }
}

#[derive(Serialize)]
struct OperatorClaims<'a> {
    system_account: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    version: u8,
}

fn encode_jwt<N: Serialize>(
    issuer: &KeyPair,
    subject: &str,
    name: &str,
    issued_at: i64,
    expires: Option<i64>,
    nats: &N,
) -> Result<String> {
    let mut standard = StandardClaims {
        exp: expires,
        jti: None,
        iat: issued_at,
        iss: issuer.public_key(),
        name,
        sub: subject,
    };
    let hash = Sha512_256::digest(serde_json::to_vec(&standard).map_err(encode_error)?);
    standard.jti = Some(BASE32_NOPAD.encode(&hash));
    let claims = serde_json::to_vec(&Claims { standard, nats }).map_err(encode_error)?;
    let signed = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(JWT_HEADER.as_bytes()),
        BASE64URL_NOPAD.encode(&claims)
    );
    let signature = issuer.sign(signed.as_bytes()).map_err(key_error)?;
    Ok(format!("{signed}.{}", BASE64URL_NOPAD.encode(&signature)))
}

fn account_key(seed: &str) -> Result<KeyPair> {
    let key = KeyPair::from_seed(seed).map_err(key_error)?;
    if key.key_pair_type() != KeyPairType::Account {
        return Err(NatsAuthError::Key("not an account seed (SA...)".to_owned()));
    }
    Ok(key)
}

fn unix_seconds(time: SystemTime) -> Result<i64> {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| NatsAuthError::Time)?
        .as_secs();
    i64::try_from(seconds).map_err(|_| NatsAuthError::Time)
}

/// A quoted string for the nats-server configuration: JSON's escapes are a
/// subset of what its parser reads.
fn quote(value: &str) -> Result<String> {
    serde_json::to_string(value).map_err(encode_error)
}

fn key_error(error: nkeys::error::Error) -> NatsAuthError {
    NatsAuthError::Key(error.to_string())
}

fn encode_error(error: serde_json::Error) -> NatsAuthError {
    NatsAuthError::Encode(error.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::*;

    fn decode(jwt: &str) -> (Value, Value, Vec<u8>, String) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "header.claims.signature");
        let header =
            serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[0].as_bytes()).unwrap()).unwrap();
        let claims =
            serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
        let signature = BASE64URL_NOPAD.decode(parts[2].as_bytes()).unwrap();
        (
            header,
            claims,
            signature,
            format!("{}.{}", parts[0], parts[1]),
        )
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn driver_jwt_carries_the_claims_nats_expects_and_a_valid_signature() {
        let setup = NatsServerSetup {
            listen: "127.0.0.1:4222".to_owned(),
            store_dir: "/tmp/js".into(),
            account_name: "PLUGWAY".to_owned(),
            issued_at: at(1_700_000_000),
            account_jetstream: true,
        };
        let server = nats_server_config(&setup).unwrap();
        let signer = server.signer().unwrap();
        let permissions = driver_permissions("plugway", "u1").unwrap();
        let creds = signer
            .user_credentials(
                "driver u1",
                &permissions,
                at(1_700_000_000),
                Some(at(1_700_003_600)),
            )
            .unwrap();

        let (header, claims, signature, signed) = decode(&creds.jwt);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["alg"], "ed25519-nkey");
        assert_eq!(claims["sub"], creds.public_key().unwrap());
        assert!(claims["sub"].as_str().unwrap().starts_with('U'));
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_003_600);
        assert_eq!(claims["name"], "driver u1");
        let nats = &claims["nats"];
        assert_eq!(nats["type"], "user");
        assert_eq!(nats["version"], 2);
        assert_eq!(nats["issuer_account"], server.account_public_key.as_str());
        assert_eq!(nats["sub"]["allow"][0], "plugway.user.u1.>");
        assert!(nats["sub"].get("deny").is_none());
        assert_eq!(nats["pub"]["deny"][0], ">");
        assert!(nats["pub"].get("allow").is_none());
        assert_eq!(nats["subs"], -1);
        // Signed by the account's signing key, not its identity key.
        let issuer = claims["iss"].as_str().unwrap();
        assert_ne!(issuer, server.account_public_key);
        let signing = KeyPair::from_seed(server.account_signing_seed.expose_secret()).unwrap();
        assert_eq!(issuer, signing.public_key());
        KeyPair::from_public_key(issuer)
            .unwrap()
            .verify(signed.as_bytes(), &signature)
            .unwrap();
        // jti as the reference implementation computes it.
        let standard = serde_json::json!({
            "exp": 1_700_003_600, "iat": 1_700_000_000, "iss": issuer,
            "name": "driver u1", "sub": claims["sub"],
        });
        let ordered = format!(
            r#"{{"exp":{},"iat":{},"iss":{},"name":{},"sub":{}}}"#,
            standard["exp"], standard["iat"], standard["iss"], standard["name"], standard["sub"]
        );
        assert_eq!(
            claims["jti"],
            BASE32_NOPAD.encode(&Sha512_256::digest(ordered.as_bytes()))
        );
    }

    #[test]
    fn the_config_trusts_the_generated_operator_and_enables_jetstream_for_the_account() {
        let setup = NatsServerSetup {
            listen: "127.0.0.1:4999".to_owned(),
            store_dir: "/var/lib/nats \"js\"".into(),
            account_name: "PLUGWAY".to_owned(),
            issued_at: at(1_700_000_000),
            account_jetstream: true,
        };
        let server = nats_server_config(&setup).unwrap();
        let config = &server.config;
        assert!(config.contains("listen: \"127.0.0.1:4999\""));
        assert!(config.contains("resolver: MEMORY"));
        assert!(config.contains(r#"store_dir: "/var/lib/nats \"js\"""#));
        assert!(!config.contains(server.account_signing_seed.expose_secret()));
        assert!(!config.contains(server.operator_seed.expose_secret()));

        let jwt_after = |key: &str| -> String {
            let line = config
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{key}:")))
                .unwrap();
            let value = line.split_once(':').unwrap().1.trim();
            serde_json::from_str(value).unwrap()
        };
        let operator = KeyPair::from_seed(server.operator_seed.expose_secret()).unwrap();
        let (_, operator_claims, sig, signed) = decode(&jwt_after("operator"));
        assert_eq!(operator_claims["iss"], operator.public_key());
        assert_eq!(operator_claims["sub"], operator.public_key());
        assert_eq!(operator_claims["nats"]["type"], "operator");
        operator.verify(signed.as_bytes(), &sig).unwrap();
        let system = operator_claims["nats"]["system_account"].as_str().unwrap();
        assert!(config.contains(&format!("system_account: {system}")));

        let (_, account, sig, signed) = decode(&jwt_after(&server.account_public_key));
        operator.verify(signed.as_bytes(), &sig).unwrap();
        assert_eq!(account["iss"], operator.public_key());
        assert_eq!(account["name"], "PLUGWAY");
        assert_eq!(account["nats"]["type"], "account");
        for limit in ["mem_storage", "disk_storage", "streams", "consumer", "subs"] {
            assert_eq!(account["nats"]["limits"][limit], -1, "{limit}");
        }
        let signing = KeyPair::from_seed(server.account_signing_seed.expose_secret()).unwrap();
        assert_eq!(account["nats"]["signing_keys"][0], signing.public_key());

        let (_, sys, _, _) = decode(&jwt_after(system));
        assert!(sys["nats"]["limits"].get("disk_storage").is_none());
    }

    #[test]
    fn identity_seed_signs_without_issuer_account() {
        let account = KeyPair::new_account();
        let signer = NatsAccountSigner::from_seed(&account.seed().unwrap()).unwrap();
        assert_eq!(signer.account_public_key(), account.public_key());
        let creds = signer
            .user_credentials("svc", &service_permissions(), at(1_700_000_000), None)
            .unwrap();
        let (_, claims, _, _) = decode(&creds.jwt);
        assert_eq!(claims["iss"], account.public_key());
        assert!(claims.get("exp").is_none());
        assert!(claims["nats"].get("issuer_account").is_none());
        // Empty rules are left out: everything allowed.
        assert!(claims["nats"].get("pub").is_none());
        assert!(claims["nats"].get("sub").is_none());
        assert!(!format!("{creds:?}").contains(creds.seed.expose_secret()));
    }

    #[test]
    fn wrong_keys_and_tokens_are_refused() {
        let user = KeyPair::new_user();
        assert!(NatsAccountSigner::from_seed(&user.seed().unwrap()).is_err());
        assert!(NatsAccountSigner::from_seed("SAnotaseed").is_err());
        let account = KeyPair::new_account();
        assert!(
            NatsAccountSigner::from_signing_seed(&user.public_key(), &account.seed().unwrap())
                .is_err()
        );
        for bad in ["", "a.b", "*", ">", "a b", "u1.>"] {
            assert!(driver_permissions("plugway", bad).is_err(), "{bad:?}");
        }
        assert!(driver_permissions("plug.*", "u1").is_err());
        assert!(driver_permissions("plug.way", "u1").is_ok());
    }

    #[test]
    fn creds_file_has_the_standard_blocks() {
        let creds = NatsUserCredentials {
            jwt: "eyJhead.claims.sig".to_owned(),
            seed: "SUSEED".into(),
        };
        let text = creds.creds_file();
        let text = text.expose_secret();
        assert!(text.starts_with(
            "-----BEGIN NATS USER JWT-----\neyJhead.claims.sig\n------END NATS USER JWT------\n"
        ));
        assert!(text
            .contains("-----BEGIN USER NKEY SEED-----\nSUSEED\n------END USER NKEY SEED------\n"));
    }
}
