//! OCPP security profile 2: the same port serves HTTPS and WSS with a
//! configured certificate; plain HTTP on it gets nowhere.

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
