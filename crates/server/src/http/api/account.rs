//! People's own routes: sign up, sign in (password or GitHub), sign out (here or
//! everywhere), who am I, delete my account, create a workspace, accept an invitation.

use super::Data;
use crate::auth::{self, github};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Browser, Person};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covalynce_domain::{Email, Role, WorkspaceSlug};
use covalynce_storage::User;
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
        .app()
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
pub(crate) async fn login_limit(
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

/// Where a sign-in comes from, as the use cases record it: the address, the browser, the
/// session it came with (ended) and how long the new one lasts idle.
pub(crate) fn client(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<String>,
) -> covalynce_app::sign_in::Client {
    covalynce_app::sign_in::Client {
        ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        previous: auth::cookie(headers, auth::SESSION_COOKIE).map(str::to_owned),
        idle: super::super::session::first_idle(state),
    }
}

/// Who may sign up on this server, and new workspaces' plan.
fn policy(state: &AppState) -> covalynce_app::sign_in::SignUpPolicy {
    let config = &state.security().config;
    covalynce_app::sign_in::SignUpPolicy {
        open: config.open_signup,
        default_plan: config.billing.default_plan,
    }
}

/// The `Set-Cookie` that carries a new session.
pub(crate) fn session_cookie(
    state: &AppState,
    session: &covalynce_app::sign_in::Session,
) -> String {
    auth::set_cookie(
        auth::SESSION_COOKIE,
        &session.value,
        "/",
        super::super::session::first_idle(state),
        state.security().config.secure_cookies,
    )
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
    // A malformed address is refused before it counts against the attempt limit.
    let email = Email::parse(&body.email).map_err(|e| ApiError::Validation(e.0))?;
    login_limit(state, ip.as_deref(), Some(&email)).await?;
    let account = covalynce_app::sign_in::NewAccount {
        email: body.email,
        password: body.password,
        name: body.name,
        workspace: body.workspace,
        invitation: body.invitation,
    };
    let client = client(state, headers, ip);
    let (user, session) = state.app().sign_up(policy(state), account, &client).await?;
    Ok((user, session_cookie(state, &session), session.csrf))
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
    let client = client(state, headers, ip);
    let (user, session) = state
        .app()
        .sign_in(&body.email, &body.password, &client)
        .await?;
    Ok((user, session_cookie(state, &session), session.csrf))
}

/// Sign out of this browser.
#[utoipa::path(post, operation_id = "account_logout", path = "/api/v1/auth/logout", tag = "account",
    responses((status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, person: Person) -> Result<Response, ApiError> {
    if let Some(s) = &person.session {
        state.app().sign_out(&s.id_hash).await?;
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
    let n = state.app().sign_out_everywhere(person.user.id).await?;
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
    let redirect_uri = format!(
        "{}/auth/github/callback",
        crate::http::session::base_url(&state, &headers)
    );
    let location = github::authorize_url(&cfg, &redirect_uri, &pending);
    let cookie = auth::set_cookie(
        auth::OAUTH_COOKIE,
        &pending.seal(state.secrets()),
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
    let pending = github::Pending::open(
        auth::cookie(&headers, auth::OAUTH_COOKIE),
        state.secrets(),
        q.state.as_deref().unwrap_or_default(),
    )?;
    let code = q
        .code
        .ok_or_else(|| ApiError::BadRequest("GitHub sent no code".into()))?;
    let redirect_uri = format!(
        "{}/auth/github/callback",
        crate::http::session::base_url(&state, &headers)
    );
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
    let client = client(&state, &headers, ip);
    let (_, session) = state
        .app()
        .sign_in_with_github(policy(&state), &gh, pending.invitation.as_deref(), &client)
        .await?;
    let cookie = session_cookie(&state, &session);
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
