//! The certificate authority that signs charging stations' certificates
//! (OCPP 2.0.1 A02/A03, and the 1.6 Security Whitepaper's SignCertificate):
//! a station sends a certificate signing request (CSR) for its own identity,
//! Plugway signs it with the CA it is configured with (`[ocpp] ca_cert`,
//! `ca_key`) and sends the chain back with CertificateSigned. The same CA's
//! certificate is what security profile 3 checks client certificates
//! against.

use std::path::Path;

use chrono::{DateTime, Utc};
use rcgen::{
    CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    SerialNumber,
};

/// How long a station's certificate is valid.
pub const STATION_CERT_DAYS: i64 = 365;

/// What a station's certificate is for (OCPP 2.0.1 CertificateSigningUse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateUse {
    /// Its client certificate towards the CSMS (security profile 3).
    ChargingStation,
    /// Its ISO 15118 server certificate towards cars.
    V2g,
}

/// Why a CSR was not signed (the station is answered Rejected, with this
/// as the reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// Not a CSR, or its signature does not verify.
    #[error("not a valid certificate signing request")]
    InvalidCsr,
    /// Its subject's common name is not the station's identity.
    #[error("the request is for {0:?}, not this station's identity")]
    WrongIdentity(String),
    /// Signing failed on our side.
    #[error("signing failed: {0}")]
    Internal(String),
}

impl SignError {
    /// The `statusInfo.reasonCode` told to the station.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::InvalidCsr => "InvalidCSR",
            Self::WrongIdentity(_) => "InvalidIdentity",
            Self::Internal(_) => "InternalError",
        }
    }
}

/// The CA that signs stations' certificates.
pub struct StationCa {
    issuer: rcgen::Certificate,
    key: KeyPair,
    /// The CA certificate as configured (PEM), appended to every chain.
    chain_pem: String,
    /// Its subject, for logs.
    subject: String,
}

impl std::fmt::Debug for StationCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StationCa")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

fn text(value: &DnValue) -> Option<String> {
    match value {
        DnValue::Utf8String(s) => Some(s.clone()),
        DnValue::PrintableString(s) => Some(s.as_str().to_owned()),
        DnValue::Ia5String(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn offset_time(t: DateTime<Utc>) -> Result<time::OffsetDateTime, SignError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map_err(|e| SignError::Internal(e.to_string()))
}

impl StationCa {
    /// The CA from its certificate and private key, both PEM.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| format!("the CA key: {e}"))?;
        let der = pem::parse(cert_pem).map_err(|e| format!("the CA certificate: {e}"))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(der.contents())
            .map_err(|e| format!("the CA certificate: {e}"))?;
        if parsed.public_key().raw != key.public_key_der().as_slice() {
            return Err("the CA key is not the CA certificate's key".to_owned());
        }
        let params = CertificateParams::from_ca_cert_pem(cert_pem)
            .map_err(|e| format!("the CA certificate: {e}"))?;
        let subject = params
            .distinguished_name
            .get(&DnType::CommonName)
            .and_then(text)
            .unwrap_or_default();
        // Rebuilt with the same name and key: only used as the issuer of
        // what it signs (name, key identifier, key), not sent anywhere.
        let issuer = params
            .self_signed(&key)
            .map_err(|e| format!("the CA certificate and key do not match: {e}"))?;
        Ok(Self {
            issuer,
            key,
            chain_pem: cert_pem.trim().to_owned() + "\n",
            subject,
        })
    }

    /// The CA from PEM files.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, String> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        Self::from_pem(&read(cert)?, &read(key)?)
    }

    /// The CA certificate (PEM), as stations and TLS clients trust it.
    pub fn certificate_pem(&self) -> &str {
        &self.chain_pem
    }

    /// Signs `csr_pem` for the station `identity` (its subject's common name
    /// must be that identity, so a station cannot get a certificate that
    /// names another), valid from `now` for [`STATION_CERT_DAYS`]; the
    /// chain, leaf first, then the CA.
    ///
    /// Of the request only the key (proved by the request's signature) and
    /// the identity are taken: the certificate is built here, with the
    /// station's id as its only name, so a station cannot ask for extra
    /// names (alternative DNS names, organisations) or a CA's powers, and
    /// extensions its firmware adds to the request do not get in the way.
    pub fn sign(
        &self,
        csr_pem: &str,
        identity: &str,
        usage: CertificateUse,
        serial: [u8; 16],
        now: DateTime<Utc>,
    ) -> Result<String, SignError> {
        use x509_parser::prelude::FromDer as _;
        let der = pem::parse(csr_pem).map_err(|_| SignError::InvalidCsr)?;
        let (_, request) =
            x509_parser::certification_request::X509CertificationRequest::from_der(der.contents())
                .map_err(|_| SignError::InvalidCsr)?;
        request
            .verify_signature()
            .map_err(|_| SignError::InvalidCsr)?;
        let info = &request.certification_request_info;
        let mut names = info.subject.iter_common_name();
        let cn = names
            .next()
            .and_then(|n| n.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        if cn != identity || names.next().is_some() {
            return Err(SignError::WrongIdentity(cn));
        }
        let key = rcgen::SubjectPublicKeyInfo::from_der(info.subject_pki.raw)
            .map_err(|_| SignError::InvalidCsr)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, identity);
        params.not_before = offset_time(now - chrono::Duration::minutes(5))?;
        params.not_after = offset_time(now + chrono::Duration::days(STATION_CERT_DAYS))?;
        // Positive (top bit clear), 16 random bytes: unique per CA.
        let mut serial = serial;
        if let Some(first) = serial.first_mut() {
            *first &= 0x7f;
        }
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.extended_key_usages = vec![match usage {
            CertificateUse::ChargingStation => ExtendedKeyUsagePurpose::ClientAuth,
            CertificateUse::V2g => ExtendedKeyUsagePurpose::ServerAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        let signed = params
            .signed_by(&key, &self.issuer, &self.key)
            .map_err(|e| SignError::Internal(e.to_string()))?;
        Ok(format!("{}{}", signed.pem(), self.chain_pem))
    }
}

/// The subject common name of a DER certificate (a station's client
/// certificate: its identity).
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let name = cert.subject().iter_common_name().next()?;
    name.as_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA, as an operator would make one.
    pub(crate) fn test_ca() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "Plugway Test Station CA");
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn csr(cn: &str) -> String {
        let key = KeyPair::generate().unwrap();
        // Names beyond its id, which it must not get.
        let mut params = CertificateParams::new(vec!["csms.example.com".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Acme CPO");
        params.serialize_request(&key).unwrap().pem().unwrap()
    }

    #[test]
    fn a_station_gets_a_certificate_for_its_own_identity_only() {
        let (cert, key) = test_ca();
        let ca = StationCa::from_pem(&cert, &key).unwrap();
        let now = Utc::now();
        let chain = ca
            .sign(
                &csr("CS-1"),
                "CS-1",
                CertificateUse::ChargingStation,
                [7; 16],
                now,
            )
            .unwrap();
        let pems = pem::parse_many(&chain).unwrap();
        assert_eq!(pems.len(), 2, "leaf, then the CA");
        assert_eq!(common_name(pems[0].contents()).as_deref(), Some("CS-1"));
        assert_eq!(
            common_name(pems[1].contents()).as_deref(),
            Some("Plugway Test Station CA")
        );
        let (_, leaf) = x509_parser::parse_x509_certificate(pems[0].contents()).unwrap();
        assert_eq!(
            leaf.issuer()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            "Plugway Test Station CA"
        );
        assert!(!leaf.is_ca());
        assert!(
            leaf.subject_alternative_name().unwrap().is_none(),
            "no names but its id"
        );
        assert_eq!(leaf.subject().iter().count(), 1, "{}", leaf.subject());
        assert_eq!(
            ca.sign(
                &csr("CS-2"),
                "CS-1",
                CertificateUse::ChargingStation,
                [8; 16],
                now
            ),
            Err(SignError::WrongIdentity("CS-2".to_owned()))
        );
        assert_eq!(
            ca.sign("not a csr", "CS-1", CertificateUse::V2g, [9; 16], now),
            Err(SignError::InvalidCsr)
        );
        let other_key = KeyPair::generate().unwrap().serialize_pem();
        let mismatch = StationCa::from_pem(&cert, &other_key).unwrap_err();
        assert!(
            mismatch.contains("not the CA certificate's key"),
            "{mismatch}"
        );
    }
}
