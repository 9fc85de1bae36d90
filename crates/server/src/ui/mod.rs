//! The web UI: server-rendered pages (askama templates in `templates/`), our own CSS and
//! JavaScript embedded in the binary (`assets/`), one file per page or action. Every
//! action is a plain form that works without JavaScript; `app.js` adds keys, swipes,
//! undo and live updates on top.

pub mod analytics;
pub mod assets;
pub mod changelog;
pub mod channels;
pub mod editor;
pub mod history;
pub mod invite;
pub mod page;
mod pending;
pub mod queue;
pub mod review;
pub mod sends;
pub mod settings;
pub mod sign_in;
pub mod sources;
pub mod stack;
pub mod stream;

use crate::http::AppState;
use axum::Router;
use axum::routing::{get, post};

/// Every UI route, in one place.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(stack::page))
        .route("/login", get(sign_in::login_form).post(sign_in::login))
        .route("/login/link/{token}", get(sign_in::link))
        .route("/signup", get(sign_in::signup_form).post(sign_in::signup))
        .route("/logout", post(sign_in::logout))
        .route("/workspace", post(sign_in::switch_workspace))
        .route("/cards/{id}/approve", post(review::approve))
        .route("/cards/{id}/dismiss", post(review::dismiss))
        .route("/cards/{id}/undo", post(review::undo))
        .route("/cards/{id}/rotated", post(review::rotated))
        .route("/cards/{id}/fragment", get(stack::fragment))
        .route("/cards/{id}/image.png", get(stack::image))
        // A release card's image by its signed address, for platforms that fetch it.
        .route(
            "/images/{workspace}/{card}/{file}",
            get(stack::shared_image),
        )
        .route("/cards/{id}/edit", get(editor::page).post(editor::save))
        .route("/cards/{id}/refine", post(editor::refine))
        .route("/cards/{id}/refine/stream", post(editor::refine_stream))
        .route("/ui/stream", get(stream::events))
        .route("/sources", get(sources::list).post(sources::create))
        .route("/sources/github/connect", get(sources::github_connect))
        .route("/sources/github/pick", post(sources::github_pick))
        .route("/sources/{id}/remove", post(sources::remove))
        .route("/sources/{id}/gate", post(sources::gate))
        .route(
            "/auth/github/callback/connect",
            get(sources::github_callback),
        )
        .route("/channels", get(channels::list).post(channels::create))
        .route(
            "/channels/linkedin/connect",
            get(channels::linkedin_connect),
        )
        .route(
            "/channels/linkedin/callback",
            get(channels::linkedin_callback),
        )
        .route("/channels/linkedin/page", post(channels::linkedin_page))
        .route("/channels/x/connect", get(channels::x_connect))
        .route("/channels/x/callback", get(channels::x_callback))
        .route("/channels/{id}/test", post(channels::test))
        .route("/channels/{id}/disable", post(channels::disable))
        .route("/channels/{id}/enable", post(channels::enable))
        .route("/channels/{id}/delete", post(channels::delete))
        .route("/settings", get(settings::show))
        .route("/settings/stop", post(settings::stop))
        .route("/settings/resume", post(settings::resume))
        .route("/settings/voice", post(settings::voice))
        .route("/settings/time-zone", post(settings::time_zone))
        .route("/settings/changelog", post(settings::changelog))
        .route(
            "/settings/changelog/{version}/take-down",
            post(settings::take_down),
        )
        .route("/channels/{id}/slots", post(channels::slots))
        .route("/settings/trust", post(settings::trust))
        .route("/settings/ai-privacy", post(settings::ai_privacy))
        .route("/settings/ai-add", post(settings::ai_add))
        .route("/settings/invite", post(settings::invite))
        .route("/settings/token", post(settings::token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route(
            "/settings/invitations/{id}/revoke",
            post(settings::revoke_invitation),
        )
        .route("/settings/members/{id}/role", post(settings::change_role))
        .route(
            "/settings/members/{id}/remove",
            post(settings::remove_member),
        )
        .route("/settings/ai/{id}/remove", post(settings::ai_remove))
        .route("/analytics", get(analytics::show))
        .route("/history", get(history::show))
        .route("/queue", get(queue::show))
        .route("/queue/{id}/earlier", post(queue::earlier))
        .route("/queue/{id}/reschedule", post(queue::reschedule))
        .route("/queue/{id}/now", post(queue::now))
        .route("/queue/{id}/pull", post(queue::pull))
        .route("/publications/{id}/retry", post(history::retry))
        .route("/publications/{id}/confirm", post(history::confirm))
        .route("/audit", get(history::audit))
        .route("/invite/{token}", get(invite::show).post(invite::accept))
        .route("/assets/{hash}/{file}", get(assets::serve))
        // The public changelog: no session; the feeds' fixed names before `{version}`.
        .route("/changelog/{workspace}", get(changelog::page))
        .route("/changelog/{workspace}/feed.atom", get(changelog::atom))
        .route("/changelog/{workspace}/feed.json", get(changelog::json))
        .route("/changelog/{workspace}/{version}", get(changelog::entry))
        .route(
            "/changelog/{workspace}/{version}/og.png",
            get(changelog::image),
        )
}
