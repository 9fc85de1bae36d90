//! "Sign in with GitHub" against a loopback GitHub that checks what the real one does
//! (shared/research/github-and-changelogs.md §3.5): client credentials, the code, the
//! redirect URI, and the PKCE verifier against the challenge it was shown.

use crate::helpers::{TestApp, spawn_app_with};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use covalynce_storage::Backend;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLIENT_ID: &str = "Iv1.covalynce-test";
const CLIENT_SECRET: &str = "github-client-secret-never-logged";

#[derive(Default)]
struct Github {
    /// code → (challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
    tokens: HashMap<String, Value>,
    /// Who approves the next sign-in.
    next_user: Value,
    next_emails: Value,
}

type Shared = Arc<Mutex<Github>>;

async fn authorize(State(gh): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
        || q.get("code_challenge").map(String::len) != Some(43)
        || !q.contains_key("state")
    {
        return (StatusCode::BAD_REQUEST, "bad authorize request").into_response();
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    let redirect = q["redirect_uri"].clone();
    gh.lock().unwrap().codes.insert(
        code.clone(),
        (q["code_challenge"].clone(), redirect.clone()),
    );
    Redirect::to(&format!("{redirect}?code={code}&state={}", q["state"])).into_response()
}

async fn access_token(
    State(gh): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    assert_eq!(headers["accept"], "application/json");
    let mut gh = gh.lock().unwrap();
    let bad = |e: &str| {
        axum::Json(json!({"error": e, "error_description": format!("{e} (fake)")})).into_response()
    };
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return bad("incorrect_client_credentials");
    }
    let Some((challenge, redirect)) = f.get("code").and_then(|c| gh.codes.remove(c)) else {
        return bad("bad_verification_code");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if computed != challenge || f.get("redirect_uri") != Some(&redirect) {
        return bad("bad_verification_code");
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    let answer = json!({"user": gh.next_user.clone(), "emails": gh.next_emails.clone()});
    gh.tokens.insert(token.clone(), answer);
    axum::Json(
        json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}),
    )
    .into_response()
}

fn bearer<'a>(gh: &'a Github, headers: &HeaderMap) -> Option<&'a Value> {
    let t = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    gh.tokens.get(t)
}

async fn user(State(gh): State<Shared>, headers: HeaderMap) -> Response {
    let gh = gh.lock().unwrap();
    match bearer(&gh, &headers) {
        Some(v) => axum::Json(v["user"].clone()).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Bad credentials"})),
        )
            .into_response(),
    }
}

async fn emails(State(gh): State<Shared>, headers: HeaderMap) -> Response {
    let gh = gh.lock().unwrap();
    match bearer(&gh, &headers) {
        Some(v) => axum::Json(v["emails"].clone()).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Bad credentials"})),
        )
            .into_response(),
    }
}

async fn fake_github() -> (String, Shared) {
    let gh: Shared = Arc::default();
    let router = Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/user", get(user))
        .route("/user/emails", get(emails))
        .with_state(gh.clone());
    (crate::fakes::serve(router).await, gh)
}

fn cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Our redirect to GitHub, GitHub's "approve" back to us, and our callback. Returns the
/// callback's answer.
async fn sign_in(app: &TestApp, tamper_state: bool) -> reqwest::Response {
    let client = no_redirects();
    let start = client.get(app.url("/auth/github")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let pending = cookies(&start)
        .into_iter()
        .find(|c| c.starts_with("covalynce_oauth="))
        .unwrap();
    assert!(
        pending.contains("HttpOnly") && pending.contains("SameSite=Lax"),
        "{pending}"
    );
    let to_github = start.headers()["location"].to_str().unwrap().to_owned();
    let back = client.get(&to_github).send().await.unwrap();
    assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
    let mut callback = back.headers()["location"].to_str().unwrap().to_owned();
    if tamper_state {
        callback = callback.replace("state=", "state=x");
    }
    assert!(
        callback.starts_with(&app.url("/auth/github/callback")),
        "{callback}"
    );
    client
        .get(&callback)
        .header("cookie", pending.split(';').next().unwrap())
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, r: &reqwest::Response) -> Value {
    let session = cookies(r)
        .into_iter()
        .find(|c| c.starts_with("covalynce_session="))
        .expect("signed in");
    app.client
        .get(app.url("/api/v1/me"))
        .header("cookie", session.split(';').next().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_founder_signs_in_with_github_and_comes_back_to_the_same_account() {
    crate::helpers::bounded(120, async {
        let (base, gh) = fake_github().await;
        let app = spawn_app_with(Backend::Sqlite, |c| {
            c.security.github = Some(covalynce::auth::GithubOAuth {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                web_base: base.clone(),
                api_base: base.clone(),
            });
        })
        .await;
        {
            let mut g = gh.lock().unwrap();
            g.next_user = json!({"login": "Octocat", "id": 583231, "name": "The Octocat"});
            g.next_emails = json!([
                {"email": "old@example.com", "verified": true, "primary": false, "visibility": null},
                {"email": "octocat@github.com", "verified": true, "primary": true, "visibility": "public"}
            ]);
        }
        let r = sign_in(&app, false).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        assert_eq!(r.headers()["location"], "/");
        let first = me(&app, &r).await;
        assert_eq!(first["data"]["user"]["email"], "octocat@github.com");
        assert_eq!(first["data"]["user"]["github_login"], "Octocat");
        assert_eq!(first["data"]["workspaces"][0]["slug"], "octocat");
        assert_eq!(first["data"]["workspaces"][0]["role"], "owner");

        // Again: the same account, no second workspace.
        let again = me(&app, &sign_in(&app, false).await).await;
        assert_eq!(again["data"]["user"]["id"], first["data"]["user"]["id"]);
        assert_eq!(again["data"]["workspaces"].as_array().unwrap().len(), 1);

        // A forged Host header puts nothing of its own into the callback GitHub is sent to
        // (this server has no public URL configured, so it answers at the Host it was asked
        // at — only when that is a plain host name).
        let forged_host = no_redirects()
            .get(app.url("/auth/github"))
            .header("host", "evil.example/steal?to=")
            .send()
            .await
            .unwrap();
        assert_eq!(forged_host.status(), 303);
        let to_github = forged_host.headers()["location"].to_str().unwrap();
        let query: std::collections::HashMap<String, String> = reqwest::Url::parse(to_github)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(
            query["redirect_uri"], "http://localhost/auth/github/callback",
            "{to_github}"
        );

        // A callback whose state does not match what this browser started is refused.
        let forged = sign_in(&app, true).await;
        assert_eq!(forged.status(), 400);
        assert!(cookies(&forged).iter().all(|c| !c.starts_with("covalynce_session=")));

        // A stranger (no invitation, not the first person) cannot sign up this way.
        gh.lock().unwrap().next_user = json!({"login": "stranger", "id": 7, "name": null});
        gh.lock().unwrap().next_emails =
            json!([{"email": "stranger@example.com", "verified": true, "primary": true}]);
        let refused = sign_in(&app, false).await;
        assert_eq!(refused.status(), 403);
        // Nor can someone whose GitHub address is unverified take over the account
        // that has it.
        gh.lock().unwrap().next_user = json!({"login": "mallory", "id": 8, "name": null});
        gh.lock().unwrap().next_emails =
            json!([{"email": "octocat@github.com", "verified": false, "primary": true}]);
        let unverified = sign_in(&app, false).await;
        assert_eq!(unverified.status(), 403, "an unverified email never links to an account");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_github_app_configured_the_route_says_so() {
    crate::helpers::bounded(60, async {
        let app = crate::helpers::spawn_app(Backend::Sqlite).await;
        let r = no_redirects()
            .get(app.url("/auth/github"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("not configured"));
    })
    .await
}
