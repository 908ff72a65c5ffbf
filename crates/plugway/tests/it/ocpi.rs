//! `plugway ocpi invite` and `plugway ocpi connect`, as CONTRACTS.md
//! writes them: two real servers, each with its own database; the token A
//! printed by `invite` on one lets `connect` on the other complete the
//! credentials handshake over HTTP while both servers run.

use std::process::Output;

use crate::{plugway, Server};

fn run(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> Output {
    plugway(args, dir)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[tokio::test]
async fn invite_then_connect_registers_two_platforms() {
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let a_env = [
        ("PLUGWAY_OCPI__PARTY_ID", "PWA"),
        ("PLUGWAY_OCPI__COUNTRY_CODE", "MN"),
    ];
    // A token A beginning with '-' (one in 32 do) must still be taken as
    // `--token`'s value.
    let dashed = run(
        &[
            "ocpi",
            "connect",
            "--versions-url",
            "http://127.0.0.1:9/ocpi/versions",
            "--token",
            "-abc",
            "--data-dir",
            "data",
        ],
        b_dir.path(),
        &[],
    );
    assert!(
        String::from_utf8_lossy(&dashed.stderr).contains("could not be reached"),
        "{}",
        String::from_utf8_lossy(&dashed.stderr)
    );
    let invited = run(
        &[
            "ocpi",
            "invite",
            "--name",
            "platform B",
            "--data-dir",
            "data",
        ],
        a_dir.path(),
        &a_env,
    );
    assert!(
        invited.status.success(),
        "{}",
        String::from_utf8_lossy(&invited.stderr)
    );
    let stdout = String::from_utf8(invited.stdout).unwrap();
    let token_a = stdout.lines().last().unwrap().trim().to_owned();
    assert!(
        token_a.len() >= 40 && !token_a.contains(' '),
        "the token alone on the last line: {stdout}"
    );

    let mut a = Server::start_with_env(a_dir.path(), &[], &a_env);
    let b_env = [
        ("PLUGWAY_OCPI__PARTY_ID", "PWB"),
        ("PLUGWAY_OCPI__COUNTRY_CODE", "MN"),
    ];
    let mut b = Server::start_with_env(b_dir.path(), &[], &b_env);
    let a_versions = format!("{}/ocpi/versions", a.base);

    // Unreachable: a clear failure, nothing usable left.
    let refused = run(
        &[
            "ocpi",
            "connect",
            "--versions-url",
            "http://127.0.0.1:9/ocpi/versions",
            "--token",
            "x",
            "--data-dir",
            "data",
        ],
        b_dir.path(),
        &b_env,
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("could not be reached"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // B's CLI registers B with A; A calls B's running server back.
    let b_public = [
        b_env[0],
        b_env[1],
        ("PLUGWAY_OCPI__PUBLIC_URL", b.base.as_str()),
    ];
    let connected = run(
        &[
            "ocpi",
            "connect",
            "--versions-url",
            &a_versions,
            "--token",
            &token_a,
            "--name",
            "A",
            "--data-dir",
            "data",
        ],
        b_dir.path(),
        &b_public,
    );
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );
    let said = String::from_utf8_lossy(&connected.stdout);
    assert!(
        said.contains("CPO MN/PWA") && said.contains("EMSP MN/PWA"),
        "{said}"
    );

    // Token A was used up by the handshake.
    // (Sent raw, which OCPI 2.2.1 receivers accept beside base64.)
    let reply = reqwest::Client::new()
        .get(&a_versions)
        .header("authorization", format!("Token {token_a}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 401);
    let again = run(
        &[
            "ocpi",
            "connect",
            "--versions-url",
            &a_versions,
            "--token",
            &token_a,
            "--data-dir",
            "data",
        ],
        b_dir.path(),
        &b_public,
    );
    assert!(!again.status.success(), "a used token A opens nothing");
    assert!(a.terminate().success());
    assert!(b.terminate().success());
}
