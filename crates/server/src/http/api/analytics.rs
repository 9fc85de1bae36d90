//! `GET /api/v1/analytics`: the ship-to-announce lag, review outcomes, edits, publications
//! and AI spend over a range of days; `GET /api/v1/export/{what}`: cards, publications or
//! those analytics as CSV or JSON files.

use super::Data;
use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use covalynce_app::AppError;
use covalynce_app::analytics::Report;
use covalynce_app::analytics::export::{Export, Range, Records};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AnalyticsQuery {
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `to`.
    from: Option<String>,
    /// Last day, inclusive; default: today.
    to: Option<String>,
    /// day (default), week or month.
    group: Option<String>,
    /// For exports: csv (default) or json.
    format: Option<String>,
}

impl AnalyticsQuery {
    fn range(&self) -> Result<Range, AppError> {
        Range::parse(
            self.from.as_deref(),
            self.to.as_deref(),
            self.group.as_deref(),
        )
    }
}

/// The workspace's analytics for a range of days, grouped.
#[utoipa::path(get, operation_id = "analytics_get", path = "/api/v1/analytics", tag = "analytics", security(("bearer" = [])),
    params(AnalyticsQuery),
    responses(
        (status = 200, body = Data<Report>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Json<Data<Report>>, ApiError> {
    let range = q.range()?;
    let report = state
        .app()
        .analytics(&auth.acting()?, range.from, range.to, range.group)
        .await?;
    Ok(Json(Data { data: report }))
}

/// Cards, publications or analytics as a file: `format=csv` (the default) or `json`.
#[utoipa::path(get, operation_id = "export_file", path = "/api/v1/export/{what}", tag = "analytics", security(("bearer" = [])),
    params(("what" = String, Path, description = "cards, publications or analytics"), AnalyticsQuery),
    responses(
        (status = 200, description = "The file (text/csv or application/json), as an attachment"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Path(what): Path<String>,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let json = match q.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "json" => true,
        other => {
            return Err(ApiError::Validation(format!(
                "format must be csv or json, not {other:?}"
            )));
        }
    };
    let who = auth.acting()?;
    let exported = state
        .app()
        .export_table(&who, Export::parse(&what)?, || q.range())
        .await?;
    let name = format!("covalynce-{}-{what}", who.workspace().slug);
    let (body, kind, ext) = if json {
        let value = match exported.records {
            Records::Cards(cards) => serde_json::to_value(
                cards
                    .into_iter()
                    .map(|(c, p)| {
                        let mut v = super::cards::CardView::from(c);
                        v.publications = Some(p.into_iter().map(Into::into).collect());
                        v
                    })
                    .collect::<Vec<_>>(),
            ),
            Records::Publications(pubs) => serde_json::to_value(
                pubs.into_iter()
                    .map(super::cards::PublicationView::from)
                    .collect::<Vec<_>>(),
            ),
            Records::Analytics(report) => serde_json::to_value(&*report),
        }
        .unwrap_or_default();
        (
            serde_json::to_string_pretty(&serde_json::json!({ "data": value })).unwrap_or_default(),
            "application/json",
            "json",
        )
    } else {
        (exported.csv(), "text/csv; charset=utf-8", "csv")
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}
