//! People's own routes: sign up, sign in (password or GitHub), sign out (here or
//! everywhere), who am I, delete my account, create a workspace, accept an invitation.

use super::Data;
use crate::auth::{self, github};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Browser, Person};
use crate::http::problem::{ApiError, Problem};
use crate::tokens;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covalynce_domain::{Email, Role, UserId, WorkspaceSlug, now_millis};
use covalynce_storage::{Acceptance, NewAudit, NewSession, NewUser, User};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub github_login: Option<String>,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            name: u.name.clone(),
            github_login: u.github_login.clone(),
            created_at: super::time(u.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MembershipView {
    pub id: String,
    pub slug: String,
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeView {
    pub user: UserView,
    /// Oldest first; browser requests act in the first unless they name one in
    /// `X-Covalynce-Workspace`.
    pub workspaces: Vec<MembershipView>,
    /// Send this as `X-CSRF-Token` with every browser request that changes something.
    /// Absent when the request came with a token.
    pub csrf_token: Option<String>,
}

async fn me_view(state: &AppState, user: &User, csrf: Option<String>) -> Result<MeView, ApiError> {
    let workspaces = state
        .store()
        .memberships(user.id)
        .await?
        .into_iter()
        .map(|m| MembershipView {
            id: m.workspace.id.to_string(),
            slug: m.workspace.slug.to_string(),
            role: m.role,
        })
        .collect();
    Ok(MeView {
        user: user.into(),
        workspaces,
        csrf_token: csrf,
    })
}

/// Counts a sign-in attempt against the client address, and against the (account,
/// address) pair when an email is given. Never against the account alone: then anyone
/// could keep its owner out by failing from a few addresses of their own. The owner's
/// correct password from an address that has not been failing always gets in; guessing
/// from many addresses meets each address's own limit and argon2id's cost per guess.
async fn login_limit(
    state: &AppState,
    ip: Option<&str>,
    email: Option<&Email>,
) -> Result<(), ApiError> {
    let limiter = &state.security().login_limit;
    let ip = ip.unwrap_or("unknown");
    let keys = [
        Some(format!("ip:{ip}")),
        email.map(|e| format!("account:{e}|ip:{ip}")),
    ];
    for key in keys.into_iter().flatten() {
        limiter
            .check(&key)
            .await
            .map_err(|retry_after| ApiError::TooManyRequests {
                detail: format!("too many sign-in attempts; retry in {retry_after} s"),
                retry_after,
            })?;
    }
    Ok(())
}

/// Starts a fresh session (a new id every sign-in: a session fixed before sign-in is
/// worth nothing after), ending the one the browser came with.
pub(crate) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    ip: Option<String>,
) -> Result<(String, String), ApiError> {
    if let Some(old) = auth::cookie(headers, auth::SESSION_COOKIE) {
        state.store().delete_session(&tokens::hash(old)).await?;
    }
    let value = auth::random_token();
    let csrf = auth::random_token();
    let idle = state.security().config.session_idle;
    state
        .store()
        .create_session(&NewSession {
            id_hash: tokens::hash(&value),
            user_id: user.id,
            csrf_token: csrf.clone(),
            expires_at: now_millis() + idle.as_millis() as i64,
            ip,
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
        })
        .await?;
    let cookie = auth::set_cookie(
        auth::SESSION_COOKIE,
        &value,
        "/",
        idle,
        state.security().config.secure_cookies,
    );
    Ok((cookie, csrf))
}

pub(crate) async fn account_event(
    state: &AppState,
    user: Option<UserId>,
    action: &str,
    ip: Option<String>,
    detail: serde_json::Value,
) {
    let entry = NewAudit {
        workspace_id: None,
        user_id: user,
        actor: user.map_or_else(|| "anonymous".to_owned(), |u| format!("user:{u}")),
        action: action.to_owned(),
        target: None,
        detail,
        ip,
    };
    if let Err(e) = state.store().audit(&entry).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}

/// The `Set-Cookie` that ends the browser's session.
pub(crate) fn signed_out(state: &AppState) -> String {
    auth::clear_cookie(
        auth::SESSION_COOKIE,
        "/",
        state.security().config.secure_cookies,
    )
}

fn with_cookie<T: IntoResponse>(cookie: &str, status: StatusCode, body: T) -> Response {
    let mut r = (status, body).into_response();
    auth::append_cookie(&mut r, cookie);
    r
}

/// A free workspace slug from a wish or an email: `ada`, else `ada-2f9c`.
async fn free_slug(state: &AppState, wish: &str) -> Result<WorkspaceSlug, ApiError> {
    let base: String = wish
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .chars()
        .take(30)
        .collect();
    let base = if base.is_empty() {
        "workspace".to_owned()
    } else {
        base
    };
    for attempt in 0..5 {
        let candidate = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}-{}", &hex::encode(rand::random::<[u8; 2]>()))
        };
        if let Ok(slug) = WorkspaceSlug::parse(&candidate)
            && state.store().workspace_by_slug(&slug).await?.is_none()
        {
            return Ok(slug);
        }
    }
    Err(ApiError::Conflict(
        "could not find a free workspace name; choose one".into(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignUp {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The new workspace's slug (default: from the email). Ignored with an invitation.
    #[serde(default)]
    pub workspace: Option<String>,
    /// An invitation token: join that workspace instead of creating one.
    #[serde(default)]
    pub invitation: Option<String>,
}

/// Create an account. Open to the first person on a new server, to anyone holding an
/// invitation, and to everyone when the server runs with `--open-signup`.
#[utoipa::path(post, operation_id = "account_signup", path = "/api/v1/auth/signup", tag = "account",
    request_body = SignUp,
    responses((status = 201, body = Data<MeView>, description = "Signed up and in; the session cookie is set"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn signup(
    State(state): State<AppState>,
    Browser { headers, ip }: Browser,
    ApiJson(body): ApiJson<SignUp>,
) -> Result<Response, ApiError> {
    let (user, cookie, csrf) = sign_up_with_password(&state, &headers, ip, body).await?;
    let me = me_view(&state, &user, Some(csrf)).await?;
    Ok(with_cookie(
        &cookie,
        StatusCode::CREATED,
        Json(Data { data: me }),
    ))
}

/// Creates an account with a password and signs it in: (the person, the session's
/// `Set-Cookie`, its CSRF token). The API's sign-up and the UI's both come here.
pub(crate) async fn sign_up_with_password(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<String>,
    body: SignUp,
) -> Result<(User, String, String), ApiError> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::Validation(e.0))?;
    login_limit(state, ip.as_deref(), Some(&email)).await?;
    auth::password::check_new(&body.password, email.as_str()).map_err(ApiError::Validation)?;
    let first = !state.store().has_users().await?;
    if !(first || state.security().config.open_signup || body.invitation.is_some()) {
        return Err(ApiError::Forbidden(
            "sign-up on this server is by invitation: ask a workspace owner for a link".into(),
        ));
    }
    let hash = auth::password::hash(body.password).await?;
    let user = state
        .store()
        .create_user(&NewUser {
            id: UserId::new(),
            email: email.clone(),
            name: body.name.unwrap_or_default().chars().take(100).collect(),
            password_hash: Some(hash),
            github_id: None,
            github_login: None,
        })
        .await?
        .ok_or_else(|| {
            ApiError::Conflict("an account with this email exists: sign in instead".into())
        })?;
    join_or_create(
        state,
        &user,
        body.invitation.as_deref(),
        body.workspace.as_deref(),
    )
    .await?;
    account_event(
        state,
        Some(user.id),
        "auth.signup",
        ip.clone(),
        serde_json::json!({"method": "password"}),
    )
    .await;
    let (cookie, csrf) = start_session(state, headers, &user, ip).await?;
    Ok((user, cookie, csrf))
}

/// A new account's first workspace: the invitation's, or one of their own.
async fn join_or_create(
    state: &AppState,
    user: &User,
    invitation: Option<&str>,
    wish: Option<&str>,
) -> Result<(), ApiError> {
    match invitation {
        Some(token) => match state
            .store()
            .accept_invitation(&tokens::hash(token), user.id, now_millis())
            .await?
        {
            Acceptance::Joined { .. } => Ok(()),
            Acceptance::Full { plan, seats } => {
                let slug =
                    free_slug(state, user.email.as_str().split('@').next().unwrap_or("me")).await?;
                new_workspace(state, &slug, user).await?;
                Err(ApiError::PlanLimit(format!(
                    "the account was created, but the workspace's {plan} plan has no seat left ({seats} in all); ask its owner to upgrade"
                )))
            }
            Acceptance::Invalid => {
                // The account exists now; without a valid link it starts with its own.
                let slug =
                    free_slug(state, user.email.as_str().split('@').next().unwrap_or("me")).await?;
                new_workspace(state, &slug, user).await?;
                Err(ApiError::Conflict(
                    "the account was created, but the invitation is unknown, used or expired; ask for a new link".into(),
                ))
            }
        },
        None => {
            let slug = match wish {
                Some(w) => WorkspaceSlug::parse(w).map_err(|e| ApiError::Validation(e.0))?,
                None => {
                    free_slug(state, user.email.as_str().split('@').next().unwrap_or("me")).await?
                }
            };
            new_workspace(state, &slug, user)
                .await?
                .ok_or_else(|| ApiError::Conflict(format!("the workspace name {slug} is taken")))?;
            Ok(())
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// Sign in with email and password. A wrong email and a wrong password get the same
/// answer in the same time.
#[utoipa::path(post, operation_id = "account_login", path = "/api/v1/auth/login", tag = "account",
    request_body = SignIn,
    responses((status = 200, body = Data<MeView>, description = "Signed in; the session cookie is set"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(state): State<AppState>,
    Browser { headers, ip }: Browser,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let (user, cookie, csrf) = sign_in_with_password(&state, &headers, ip, body).await?;
    let me = me_view(&state, &user, Some(csrf)).await?;
    Ok(with_cookie(
        &cookie,
        StatusCode::OK,
        Json(Data { data: me }),
    ))
}

/// Checks a password sign-in and starts a session: (the person, the session's
/// `Set-Cookie`, its CSRF token). A wrong email and a wrong password fail alike.
pub(crate) async fn sign_in_with_password(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<String>,
    body: SignIn,
) -> Result<(User, String, String), ApiError> {
    let email = Email::parse(&body.email).ok();
    login_limit(state, ip.as_deref(), email.as_ref()).await?;
    let user = match &email {
        Some(e) => state.store().user_by_email(e).await?,
        None => None,
    };
    let password = body
        .password
        .chars()
        .take(auth::password::MAX_LEN)
        .collect();
    let ok = auth::password::verify(
        password,
        user.as_ref().and_then(|u| u.password_hash.clone()),
    )
    .await;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        (_, user) => {
            if let Some(u) = user {
                account_event(
                    state,
                    Some(u.id),
                    "auth.login_failed",
                    ip,
                    serde_json::json!({}),
                )
                .await;
            }
            return Err(ApiError::Unauthorized(
                "the email or password is wrong".into(),
            ));
        }
    };
    let (cookie, csrf) = start_session(state, headers, &user, ip.clone()).await?;
    account_event(
        state,
        Some(user.id),
        "auth.login",
        ip,
        serde_json::json!({"method": "password"}),
    )
    .await;
    Ok((user, cookie, csrf))
}

/// Sign out of this browser.
#[utoipa::path(post, operation_id = "account_logout", path = "/api/v1/auth/logout", tag = "account",
    responses((status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, person: Person) -> Result<Response, ApiError> {
    if let Some(s) = &person.session {
        state.store().delete_session(&s.id_hash).await?;
    }
    let clear = signed_out(&state);
    Ok(with_cookie(&clear, StatusCode::NO_CONTENT, ()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ended {
    pub sessions_ended: u64,
}

/// Sign out everywhere: every session of this person ends (API tokens are revoked
/// separately).
#[utoipa::path(post, operation_id = "account_logout_all", path = "/api/v1/auth/logout-all", tag = "account",
    responses((status = 200, body = Data<Ended>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn logout_all(
    State(state): State<AppState>,
    person: Person,
) -> Result<Response, ApiError> {
    let n = state.store().delete_user_sessions(person.user.id).await?;
    let clear = signed_out(&state);
    Ok(with_cookie(
        &clear,
        StatusCode::OK,
        Json(Data {
            data: Ended { sessions_ended: n },
        }),
    ))
}

/// Who is signed in, their workspaces and roles, and the session's CSRF token.
#[utoipa::path(get, operation_id = "account_me", path = "/api/v1/me", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = Data<MeView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn me(
    State(state): State<AppState>,
    person: Person,
) -> Result<Json<Data<MeView>>, ApiError> {
    let csrf = person.session.as_ref().map(|s| s.csrf_token.clone());
    Ok(Json(Data {
        data: me_view(&state, &person.user, csrf).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeleteAccount {
    /// The account's email, typed again.
    pub confirm: String,
}

/// Delete my account and everything of mine: sessions, tokens, memberships, my account
/// events, and the workspaces nobody else is in. Refused while I am the only owner of a
/// workspace others are in (make someone else owner first).
#[utoipa::path(delete, operation_id = "account_delete", path = "/api/v1/me", tag = "account", security(("bearer" = [])),
    request_body = DeleteAccount,
    responses((status = 204), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_me(
    State(state): State<AppState>,
    person: Person,
    ApiJson(req): ApiJson<DeleteAccount>,
) -> Result<Response, ApiError> {
    state
        .app()
        .delete_account(&person.user, &req.confirm)
        .await?;
    let clear = signed_out(&state);
    Ok(with_cookie(&clear, StatusCode::NO_CONTENT, ()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewWorkspace {
    pub slug: String,
}

/// Create another workspace, with me as its owner.
#[utoipa::path(post, operation_id = "account_create_workspace", path = "/api/v1/workspaces", tag = "account", security(("bearer" = [])),
    request_body = NewWorkspace,
    responses((status = 201, body = Data<MembershipView>), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_workspace(
    State(state): State<AppState>,
    person: Person,
    ApiJson(req): ApiJson<NewWorkspace>,
) -> Result<(StatusCode, Json<Data<MembershipView>>), ApiError> {
    let slug = WorkspaceSlug::parse(&req.slug).map_err(|e| ApiError::Validation(e.0))?;
    let ws = new_workspace(&state, &slug, &person.user)
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("the workspace name {slug} is taken")))?;
    person.acting_in(Some(ws.id));
    Ok((
        StatusCode::CREATED,
        Json(Data {
            data: MembershipView {
                id: ws.id.to_string(),
                slug: ws.slug.to_string(),
                role: Role::Owner,
            },
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AcceptInvitation {
    pub token: String,
}

/// Join a workspace with an invitation link's token (once; links expire).
#[utoipa::path(post, operation_id = "account_accept_invitation", path = "/api/v1/invitations/accept", tag = "account", security(("bearer" = [])),
    request_body = AcceptInvitation,
    responses((status = 200, body = Data<MembershipView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    person: Person,
    ApiJson(req): ApiJson<AcceptInvitation>,
) -> Result<Json<Data<MembershipView>>, ApiError> {
    let joined = state
        .app()
        .accept_invitation(&person.user, &req.token)
        .await?;
    person.acting_in(Some(joined.workspace.id));
    Ok(Json(Data {
        data: MembershipView {
            id: joined.workspace.id.to_string(),
            slug: joined.workspace.slug.to_string(),
            role: joined.role,
        },
    }))
}

/// A new workspace owned by `owner`, on the operator's default plan.
async fn new_workspace(
    state: &AppState,
    slug: &covalynce_domain::WorkspaceSlug,
    owner: &covalynce_storage::User,
) -> Result<Option<covalynce_storage::Workspace>, ApiError> {
    let plan = state.security().config.billing.default_plan;
    Ok(state.app().create_workspace(owner, slug, plan).await?)
}

/// This server as browsers and platforms reach it: the public URL when configured, else
/// the Host the request came to (OAuth redirect URIs, webhook URLs shown to copy).
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    match &state.security().config.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1")
        ),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct GithubStart {
    /// An invitation token to accept once signed in.
    pub invitation: Option<String>,
}

/// Sign in with GitHub: redirects to GitHub's consent page (OAuth with state and PKCE).
#[utoipa::path(get, operation_id = "account_github_start", path = "/auth/github", tag = "account",
    params(GithubStart),
    responses((status = 303, description = "To GitHub"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn github_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<GithubStart>,
) -> Result<Response, ApiError> {
    let cfg = state.security().config.github.clone().ok_or_else(|| {
        ApiError::NotFound("GitHub sign-in is not configured on this server".into())
    })?;
    let pending = github::Pending::new(q.invitation);
    let redirect_uri = format!("{}/auth/github/callback", base_url(&state, &headers));
    let location = github::authorize_url(&cfg, &redirect_uri, &pending);
    let sealed = state
        .secrets()
        .seal(&serde_json::to_vec(&pending).map_err(anyhow::Error::from)?);
    use base64::Engine;
    let cookie = auth::set_cookie(
        auth::OAUTH_COOKIE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed),
        "/auth/github",
        github::PENDING_TTL,
        state.security().config.secure_cookies,
    );
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct GithubCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where GitHub sends the browser back: checks `state`, trades the code (with the PKCE
/// verifier), signs the GitHub account's person in (creating or linking the account by
/// verified email) and redirects to `/`.
#[utoipa::path(get, operation_id = "account_github_callback", path = "/auth/github/callback", tag = "account",
    params(GithubCallback),
    responses((status = 303, description = "Signed in; to /"), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn github_callback(
    State(state): State<AppState>,
    Browser { headers, ip }: Browser,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    login_limit(&state, ip.as_deref(), None).await?;
    let cfg = state.security().config.github.clone().ok_or_else(|| {
        ApiError::NotFound("GitHub sign-in is not configured on this server".into())
    })?;
    let Query(q) = Query::<GithubCallback>::try_from_uri(&uri)
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if let Some(err) = q.error {
        return Err(ApiError::BadRequest(format!(
            "GitHub did not sign you in: {}",
            q.error_description.unwrap_or(err)
        )));
    }
    let expired = || {
        ApiError::BadRequest(
            "the sign-in took too long or started in another browser; start again".into(),
        )
    };
    use base64::Engine;
    let pending: github::Pending = auth::cookie(&headers, auth::OAUTH_COOKIE)
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
        })
        .and_then(|sealed| state.secrets().open(&sealed).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(expired)?;
    if now_millis() - pending.issued_at > github::PENDING_TTL.as_millis() as i64 {
        return Err(expired());
    }
    use subtle::ConstantTimeEq;
    let given = q.state.unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(ApiError::BadRequest(
            "the sign-in's state does not match: start again".into(),
        ));
    }
    let code = q
        .code
        .ok_or_else(|| ApiError::BadRequest("GitHub sent no code".into()))?;
    let redirect_uri = format!("{}/auth/github/callback", base_url(&state, &headers));
    let gh = github::exchange(&cfg, &code, &redirect_uri, &pending.verifier)
        .await
        .map_err(|e| match e {
            github::OAuthError::Refused(m) => {
                ApiError::BadRequest(format!("GitHub refused the sign-in: {m}"))
            }
            github::OAuthError::Upstream(m) => {
                ApiError::Unavailable(format!("GitHub could not be reached: {m}"))
            }
        })?;
    let mut created = false;
    let user = match state.store().user_by_github(gh.id).await? {
        Some(u) => u,
        None => {
            let email = gh
                .verified_email
                .as_deref()
                .and_then(|e| Email::parse(e).ok())
                .ok_or_else(|| {
                    ApiError::Forbidden(
                        "your GitHub account has no verified primary email; verify one on GitHub and try again".into(),
                    )
                })?;
            match state.store().user_by_email(&email).await? {
                // The same verified address: the same person.
                Some(existing) => {
                    state
                        .store()
                        .link_github(existing.id, gh.id, &gh.login)
                        .await?;
                    existing
                }
                None => {
                    let first = !state.store().has_users().await?;
                    if !(first
                        || state.security().config.open_signup
                        || pending.invitation.is_some())
                    {
                        return Err(ApiError::Forbidden(
                            "sign-up on this server is by invitation: ask a workspace owner for a link".into(),
                        ));
                    }
                    let user = state
                        .store()
                        .create_user(&NewUser {
                            id: UserId::new(),
                            email,
                            name: gh.name.clone().unwrap_or_else(|| gh.login.clone()),
                            password_hash: None,
                            github_id: Some(gh.id),
                            github_login: Some(gh.login.clone()),
                        })
                        .await?
                        .ok_or_else(|| {
                            ApiError::Conflict("this GitHub account is already linked".into())
                        })?;
                    let wish = free_slug(&state, &gh.login).await?;
                    join_or_create(
                        &state,
                        &user,
                        pending.invitation.as_deref(),
                        Some(wish.as_str()),
                    )
                    .await?;
                    account_event(
                        &state,
                        Some(user.id),
                        "auth.signup",
                        ip.clone(),
                        serde_json::json!({"method": "github"}),
                    )
                    .await;
                    created = true;
                    user
                }
            }
        }
    };
    if !created && let Some(token) = pending.invitation.as_deref() {
        // Best effort: a stale link should not stop a known person signing in.
        let _ = state
            .store()
            .accept_invitation(&tokens::hash(token), user.id, now_millis())
            .await?;
    }
    let (cookie, _) = start_session(&state, &headers, &user, ip.clone()).await?;
    account_event(
        &state,
        Some(user.id),
        "auth.login",
        ip,
        serde_json::json!({"method": "github", "github_login": gh.login}),
    )
    .await;
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    for c in [
        cookie,
        auth::clear_cookie(
            auth::OAUTH_COOKIE,
            "/auth/github",
            state.security().config.secure_cookies,
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}
