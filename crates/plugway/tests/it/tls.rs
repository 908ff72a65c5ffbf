//! OCPP security profiles 2 and 3: the same port serves HTTPS and WSS with
//! a configured certificate (plain HTTP on it gets nowhere), and takes a
//! station's client certificate from the station CA as its credential.

use crate::Server;

#[tokio::test]
async fn tls_serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let mut server = Server::start(
        dir.path(),
        &["--tls-cert", "cert.pem", "--tls-key", "key.pem"],
    );
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let health = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // The OCPP endpoint is there too (a plain GET is not an upgrade: refused, not missing).
    let ocpp = client
        .get(format!("https://localhost:{port}/ocpp/CP1"))
        .send()
        .await
        .unwrap();
    assert_ne!(ocpp.status().as_u16(), 404);
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_err(),
        "no plain HTTP on a TLS port"
    );
    assert!(server.terminate().success());
}

/// A station CA (certificate, key), and the certificates it issues for
/// stations (certificate and key, PEM), as an operator's PKI would.
pub(crate) struct Pki {
    pub(crate) ca_cert: rcgen::Certificate,
    pub(crate) ca_key: rcgen::KeyPair,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Acme Station CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_cert = params.self_signed(&ca_key).unwrap();
        Self { ca_cert, ca_key }
    }

    fn issue(&self, cn: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.ca_cert, &self.ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Opens `wss://localhost:{port}/ocpp/{id}` offering ocpp2.0.1, trusting
/// `server_pem`, with a client certificate and Basic auth when given; the
/// HTTP status of the handshake.
async fn wss(
    port: &str,
    id: &str,
    server_pem: &str,
    client: Option<&(String, String)>,
    basic: Option<&str>,
) -> Result<u16, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(server_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let mut request = format!("wss://localhost:{port}/ocpp/{id}")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "ocpp2.0.1".parse().unwrap());
    if let Some(password) = basic {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{password}"));
        request
            .headers_mut()
            .insert("authorization", format!("Basic {token}").parse().unwrap());
    }
    match tokio_tungstenite::client_async(request, tls).await {
        Ok((mut ws, response)) => {
            // Closed properly, so the server's shutdown need not wait for it.
            let _ = ws.close(None).await;
            Ok(response.status().as_u16())
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Ok(response.status().as_u16())
        }
        Err(e) => Err(format!("WebSocket: {e}")),
    }
}

/// OCPP security profile 3: a station signs in with a client certificate
/// the station CA issued for its id, over Plugway's own TLS; no certificate,
/// or one for another id, is refused; a Basic-auth charge point on the same
/// port goes on as before.
#[tokio::test]
async fn security_profile_3_takes_the_stations_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server_cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pki = Pki::new();
    let files = [
        ("cert.pem", server_cert.cert.pem()),
        ("key.pem", server_cert.key_pair.serialize_pem()),
        ("station-ca.pem", pki.ca_cert.pem()),
        ("station-ca.key", pki.ca_key.serialize_pem()),
    ];
    for (name, content) in &files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let admin = {
        let out = crate::plugway(
            &["api-key", "create", "--role", "admin", "--data-dir", "data"],
            dir.path(),
        )
        .output()
        .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_owned()
    };
    let mut server = Server::start_with_env(
        dir.path(),
        &["--tls-cert", "cert.pem", "--tls-key", "key.pem"],
        &[
            ("PLUGWAY_OCPP__CA_CERT", "station-ca.pem"),
            ("PLUGWAY_OCPP__CA_KEY", "station-ca.key"),
        ],
    );
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let https = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(server_cert.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let api = |path: &str| format!("https://localhost:{port}/api/v1{path}");
    let mut passwords = std::collections::HashMap::new();
    for id in ["CS-MTLS", "CS-BASIC"] {
        let created: serde_json::Value = https
            .post(api("/charge-points"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"id": id}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        passwords.insert(id, created["password"].as_str().unwrap().to_owned());
    }
    let set = https
        .put(api("/charge-points/CS-MTLS/security-profile"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"security_profile": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 200);
    let shown: serde_json::Value = set.json().await.unwrap();
    assert_eq!(shown["security_profile"], 3);
    let bad = https
        .put(api("/charge-points/CS-MTLS/security-profile"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"security_profile": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);

    let own = pki.issue("CS-MTLS");
    let other = pki.issue("CS-OTHER");
    let server_pem = server_cert.cert.pem();
    assert_eq!(
        wss(&port, "CS-MTLS", &server_pem, Some(&own), None)
            .await
            .unwrap(),
        101
    );
    assert_eq!(
        wss(
            &port,
            "CS-MTLS",
            &server_pem,
            None,
            Some(&passwords["CS-MTLS"])
        )
        .await
        .unwrap(),
        401,
        "its password is no longer enough"
    );
    assert_eq!(
        wss(&port, "CS-MTLS", &server_pem, Some(&other), None)
            .await
            .unwrap(),
        401
    );
    // A certificate from another CA does not get through the TLS handshake's
    // verification to be looked at at all.
    let stranger = Pki::new().issue("CS-MTLS");
    let refused = wss(&port, "CS-MTLS", &server_pem, Some(&stranger), None).await;
    assert!(
        matches!(refused, Err(_) | Ok(401)),
        "refused in the handshake or at the upgrade: {refused:?}"
    );
    // Basic auth over the same TLS port, no certificate: as before.
    assert_eq!(
        wss(
            &port,
            "CS-BASIC",
            &server_pem,
            None,
            Some(&passwords["CS-BASIC"])
        )
        .await
        .unwrap(),
        101
    );
    assert!(server.terminate().success());
}
