//! The operator console in a real headless Chromium (Debian's, through its
//! chromedriver), against a real `plugway serve` with a simulated charger:
//! sign in, see the charger come online, read its message log, reset it
//! and see the answer, watch a session's energy rise, approve a pending
//! site, sign out; a host does not see another host's charger; a form
//! posted without its CSRF token changes nothing.
//!
//! With `PLUGWAY_CONSOLE_SCREENSHOTS=DIR` the main pages are saved there as
//! PNG (docs/console/ holds the ones docs/console.md shows).

use std::io::Write as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::cluster::{call, driver_token, eventually};
use crate::{plugway, Server};

const PASSWORD: &str = "console-test-password-1";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser tools, or None (said) when this machine has none outside CI.
fn tools() -> Option<(String, String)> {
    let driver = std::env::var("PLUGWAY_TEST_CHROMEDRIVER").ok();
    let browser = std::env::var("PLUGWAY_TEST_CHROMIUM").ok();
    match (driver, browser) {
        (Some(d), Some(b)) => Some((d, b)),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the console's browser tests: PLUGWAY_TEST_CHROMEDRIVER and \
                 PLUGWAY_TEST_CHROMIUM are unset (scripts/services.sh sets them)"
            );
            eprintln!("skipped: no Chromium (run scripts/services.sh to install it)");
            None
        }
    }
}

async fn start_driver(path: &str) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http
        .get(format!("{}/status", driver.url))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

async fn browser(driver: &Driver, chromium: &str) -> Client {
    // fantoccini's client is built with rustls (it speaks plain HTTP to
    // chromedriver, but needs a provider chosen all the same).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--window-size=1280,1100", "--lang=en-US"]}),
    );
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap()
}

/// Runs a `plugway` subcommand on the server's database, `stdin` given.
fn cli(dir: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let mut child = plugway(args, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn create_person(dir: &std::path::Path, username: &str, role: &str) {
    cli(
        dir,
        &[
            "user",
            "create",
            "--data-dir",
            "data",
            "--username",
            username,
            "--role",
            role,
            "--name",
            username,
            "--email",
            &format!("{username}@example.org"),
            "--phone",
            "+97699112233",
        ],
        &format!("{PASSWORD}\n"),
    );
}

/// The text of the first element matching `css`, if there is one.
/// Clicks the element `locator` finds.
async fn click(client: &Client, locator: Locator<'_>) {
    client.find(locator).await.unwrap().click().await.unwrap();
}

async fn text_of(client: &Client, css: &str) -> Option<String> {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.ok(),
        Err(_) => None,
    }
}

async fn screenshot(client: &Client, name: &str) {
    let Ok(dir) = std::env::var("PLUGWAY_CONSOLE_SCREENSHOTS") else {
        return;
    };
    client
        .execute("window.scrollTo(0, 0)", Vec::new())
        .await
        .unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
}

async fn sign_in(client: &Client, base: &str, login: &str) {
    client.goto(&format!("{base}/console")).await.unwrap();
    client
        .find(Locator::Css("#login"))
        .await
        .unwrap()
        .send_keys(login)
        .await
        .unwrap();
    client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(client, Locator::Css(".signin button[type=submit]")).await;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form.signout"))
        .await
        .unwrap();
}

/// The network the test drives: host A's approved site with one EVSE on
/// charger CONSOLE-A, host A's second site still pending, and host B's
/// charger CONSOLE-B.
struct Network {
    evse: String,
    pending_site: String,
    password_a: String,
}

async fn build_network(http: &reqwest::Client, base: &str, admin: &str) -> Network {
    let host_token = |user: &'static str| async move {
        let reply: Value = http
            .post(format!("{base}/ocpi/cpo/api/auth/v1/login"))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["data"]["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token for {user}: {reply}"))
            .to_owned()
    };
    let host_a = host_token("host-a").await;
    let host_b = host_token("host-b").await;
    let id_of = |token: String| async move {
        let (_, me) = call(
            http,
            reqwest::Method::GET,
            format!("{base}/api/v1/host/profile"),
            &token,
            None,
        )
        .await;
        me["user_id"].as_str().unwrap().to_owned()
    };
    let a_id = id_of(host_a.clone()).await;
    let b_id = id_of(host_b.clone()).await;
    let site = |name: &'static str, lat: f64| {
        let host_a = host_a.clone();
        async move {
            let (status, site) = call(
                http,
                reqwest::Method::POST,
                format!("{base}/api/v1/host/sites"),
                &host_a,
                Some(
                    json!({"name": name, "address": "Peace Avenue 1", "city": "Ulaanbaatar",
                    "province": "Ulaanbaatar", "country_code": "mn", "latitude": lat,
                    "longitude": 106.9, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}),
                ),
            )
            .await;
            assert_eq!(status, 201, "{site}");
            site["id"].as_str().unwrap().to_owned()
        }
    };
    let live_site = site("Console Square", 47.91).await;
    let pending_site = site("Pending Plaza", 47.93).await;
    let (status, _) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/v1/admin/sites/{live_site}/approval"),
        admin,
        Some(json!({"approval": "APPROVED"})),
    )
    .await;
    assert_eq!(status, 200);
    let mut passwords = Vec::new();
    for (id, owner) in [("CONSOLE-A", &a_id), ("CONSOLE-B", &b_id)] {
        let (status, cp) = call(
            http,
            reqwest::Method::POST,
            format!("{base}/api/v1/charge-points"),
            admin,
            Some(json!({"id": id, "owner_id": owner})),
        )
        .await;
        assert_eq!(status, 201, "{cp}");
        passwords.push(cp["password"].as_str().unwrap().to_owned());
    }
    let (status, evse) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/v1/host/sites/{live_site}/evses"),
        &host_a,
        Some(
            json!({"evse_code": "E-1", "charge_point_id": "CONSOLE-A", "ocpp_connector_id": 1,
            "prices": {"per_kwh": 500.5},
            "connectors": [{"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                "max_voltage": 500, "max_amperage": 200, "max_power_kw": 50}]}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{evse}");
    let evse = evse["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/v1/admin/evses/{evse}/approval"),
        admin,
        Some(json!({"approval": "APPROVED"})),
    )
    .await;
    assert_eq!(status, 200);
    Network {
        evse,
        pending_site,
        password_a: passwords.swap_remove(0),
    }
}

#[tokio::test]
async fn an_operator_runs_the_network_from_the_console_in_a_real_browser() {
    let Some((chromedriver, chromium)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--dev"]);
    let base = server.base.clone();
    create_person(dir.path(), "ops", "admin");
    create_person(dir.path(), "host-a", "host");
    create_person(dir.path(), "host-b", "host");
    let admin_key = cli(
        dir.path(),
        &["api-key", "create", "--role", "admin", "--data-dir", "data"],
        "",
    )
    .lines()
    .last()
    .unwrap()
    .trim()
    .to_owned();
    let http = reqwest::Client::new();
    let network = build_network(&http, &base, &admin_key).await;

    let driver = start_driver(&chromedriver).await;
    let client = browser(&driver, &chromium).await;
    client.goto(&format!("{base}/console")).await.unwrap();
    screenshot(&client, "sign-in").await;
    sign_in(&client, &base, "ops").await;
    assert!(client
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/console/chargers"));

    // 1. The charger comes online while the page is open (the table refreshes).
    let row = "tr[data-charger='CONSOLE-A'] td.online";
    assert_eq!(text_of(&client, row).await.as_deref(), Some("offline"));
    let mut config = plugway_sim::SimConfig::new(
        &format!("{}/ocpp", base.replace("http", "ws")),
        "CONSOLE-A",
        Some(network.password_a.clone()),
    );
    config.connectors = 1;
    config.meter_interval = Duration::from_millis(500);
    config.power_w = 36_000;
    let charger = plugway_sim::ChargePoint::start(config).await.unwrap();
    let running = tokio::spawn(charger.run(None));
    eventually("CONSOLE-A shown online", || async {
        (text_of(&client, row).await.as_deref() == Some("online")).then_some(())
    })
    .await;
    screenshot(&client, "chargers").await;

    // 2. Its page: the message log has its BootNotification.
    click(&client, Locator::LinkText("CONSOLE-A")).await;
    eventually("the BootNotification in the log", || async {
        text_of(&client, "#log")
            .await
            .filter(|t| t.contains("BootNotification"))
    })
    .await;
    let history = text_of(&client, "table.connections")
        .await
        .unwrap_or_default();
    assert!(history.contains("connected"), "{history}");

    // 3. Reset, and the charger's answer shown in place.
    click(&client, Locator::Css("#reset")).await;
    let answer = eventually("the Reset answer", || async {
        text_of(&client, "#answer-status").await
    })
    .await;
    assert_eq!(answer, "Accepted");
    // The log filter narrows to one action.
    let filter = client
        .find(Locator::Css(".filters input[name=action]"))
        .await
        .unwrap();
    filter.send_keys("Reset").await.unwrap();
    client
        .find(Locator::Css(".filters select[name=direction]"))
        .await
        .unwrap()
        .select_by_value("out")
        .await
        .unwrap();
    eventually("the log filtered to the Reset sent", || async {
        let log = text_of(&client, "#log").await?;
        (log.contains("Reset") && !log.contains("BootNotification")).then_some(())
    })
    .await;
    screenshot(&client, "charger").await;

    // 4. A driver charges; the session's energy rises on the sessions page.
    let driver_token = driver_token(&http, &server, "+97688771009").await;
    let (status, started) = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/devices/{}/start", network.evse),
        &driver_token,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    client
        .goto(&format!("{base}/console/sessions"))
        .await
        .unwrap();
    let energy = || async {
        let cell = client
            .find(Locator::Css("#active-sessions td.energy"))
            .await
            .ok()?;
        cell.attr("data-wh").await.ok()??.parse::<i64>().ok()
    };
    let first = eventually("an active session shown", energy).await;
    eventually("the shown energy rising", || async {
        energy().await.filter(|now| *now > first)
    })
    .await;
    screenshot(&client, "sessions").await;

    // 4b. Finished: the session's page draws its meter curve.
    let (status, finished) = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/devices/{}/finish", network.evse),
        &driver_token,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{finished}");
    let session_page = eventually("the finished session listed", || async {
        client
            .goto(&format!("{base}/console/sessions"))
            .await
            .ok()?;
        let link = client
            .find(Locator::Css("section[aria-labelledby=done-title] a"))
            .await
            .ok()?;
        let href = link.attr("href").await.ok()??;
        link.click().await.ok()?;
        Some(href)
    })
    .await;
    let points = client
        .find(Locator::Css("figure.curve polyline.energy"))
        .await
        .unwrap()
        .attr("points")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        points.split(' ').count() >= 2,
        "a curve of readings: {points}"
    );
    screenshot(&client, "session").await;
    client.goto(&format!("{base}/console/money")).await.unwrap();
    click(&client, Locator::Css("#check-ledger")).await;
    let ledger = eventually("the ledger checked", || async {
        text_of(&client, "#ledger-report").await
    })
    .await;
    assert!(ledger.contains("balanced"), "{ledger}");
    let money = text_of(&client, "table.earnings").await.unwrap_or_default();
    assert!(money.contains("total"), "{money}");
    screenshot(&client, "money").await;

    // 5. The pending site, approved from the console.
    client
        .goto(&format!("{base}/console/approvals"))
        .await
        .unwrap();
    screenshot(&client, "approvals").await;
    let article = format!("article[data-site='{}']", network.pending_site);
    click(
        &client,
        Locator::Css(&format!("{article} form:has(input[value=APPROVED]) button")),
    )
    .await;
    eventually("the site gone from the queue", || async {
        let gone = client.find(Locator::Css(&article)).await.is_err();
        let on_page = client
            .current_url()
            .await
            .ok()?
            .path()
            .ends_with("/console/approvals");
        (gone && on_page).then_some(())
    })
    .await;
    let (_, approved) = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/api/v1/admin/sites?approval=APPROVED"),
        &admin_key,
        None,
    )
    .await;
    assert!(
        approved.to_string().contains(&network.pending_site),
        "{approved}"
    );

    // 6. Sign out: the console is closed to this browser again, and the
    //    old cookie, replayed, opens nothing (the session ended on the server).
    let old_cookie = client
        .get_named_cookie("plugway_console")
        .await
        .unwrap()
        .value()
        .to_owned();
    click(&client, Locator::Css("form.signout button")).await;
    client
        .wait()
        .for_element(Locator::Css("#login"))
        .await
        .unwrap();
    client
        .goto(&format!("{base}/console/chargers"))
        .await
        .unwrap();
    assert!(client.find(Locator::Css("#login")).await.is_ok());
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let replayed = no_redirects
        .get(format!("{base}/console/chargers"))
        .header("cookie", format!("plugway_console={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 303);
    assert_eq!(replayed.headers()["location"], "/console");

    // 7. Host B sees its own charger, not host A's; A's page is "not found".
    sign_in(&client, &base, "host-b").await;
    let table = text_of(&client, "#charger-table").await.unwrap_or_default();
    assert!(table.contains("CONSOLE-B"), "{table}");
    assert!(!table.contains("CONSOLE-A"), "{table}");
    client
        .goto(&format!("{base}/console/chargers/CONSOLE-A"))
        .await
        .unwrap();
    let body = text_of(&client, "main").await.unwrap_or_default();
    assert!(body.contains("no charge point"), "{body}");
    assert!(!body.contains("BootNotification"), "{body}");
    assert!(client
        .find(Locator::Css("a[href='/console/approvals']"))
        .await
        .is_err());
    // Nor any part of it: its live fragments, its commands (with host B's
    // own good CSRF token), A's finished session.
    let b_cookie = client
        .get_named_cookie("plugway_console")
        .await
        .unwrap()
        .value()
        .to_owned();
    client
        .goto(&format!("{base}/console/chargers/CONSOLE-B"))
        .await
        .unwrap();
    let b_csrf = client
        .find(Locator::Css("form input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let as_b = |request: reqwest::RequestBuilder| {
        request
            .header("cookie", format!("plugway_console={b_cookie}"))
            .header("hx-request", "true")
    };
    for path in ["chargers/CONSOLE-A/state", "chargers/CONSOLE-A/log"] {
        let response = as_b(no_redirects.get(format!("{base}/console/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let response = as_b(no_redirects.post(format!("{base}/console/chargers/CONSOLE-A/commands")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("command=reset&hard=true&csrf={b_csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = no_redirects
        .get(format!("{base}{session_page}"))
        .header("cookie", format!("plugway_console={b_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "{session_page}");

    // 8. A form posted without (or with a wrong) CSRF token is refused and
    //    sends nothing to the charger.
    let cookie = client
        .get_named_cookie("plugway_console")
        .await
        .unwrap()
        .value()
        .to_owned();
    for form in [
        "command=reset&hard=true".to_owned(),
        "command=reset&hard=true&csrf=0000".to_owned(),
    ] {
        let response = http
            .post(format!("{base}/console/chargers/CONSOLE-B/commands"))
            .header("cookie", format!("plugway_console={cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        assert!(response.text().await.unwrap().contains("CSRF"));
    }
    let (_, log) = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/api/v1/charge-points/CONSOLE-B/messages"),
        &admin_key,
        None,
    )
    .await;
    assert_eq!(log, json!([]), "nothing went to CONSOLE-B");
    // And the sign-in form itself is refused without its own token.
    let response = http
        .post(format!("{base}/console/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login=ops&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none_or(|c| !c
        .to_str()
        .unwrap_or_default()
        .starts_with("plugway_console=")));

    client.close().await.unwrap();
    running.abort();
    drop(server);
}
