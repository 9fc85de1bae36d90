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
use covalynce_app::analytics::{Group, Report};
use covalynce_domain::now_millis;
use serde::Deserialize;

const DAY_MS: i64 = 86_400_000;
/// The longest range one request may cover.
const MAX_DAYS: i64 = 3 * 366;

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

fn day_of(s: &str, field: &str) -> Result<i64, ApiError> {
    covalynce_domain::time::parse_rfc3339_millis(&format!("{}T00:00:00Z", s.trim()))
        .filter(|_| s.trim().len() == 10)
        .map(|ms| ms / DAY_MS)
        .ok_or_else(|| {
            ApiError::Validation(format!("{field} must be a date like 2026-11-23, not {s:?}"))
        })
}

impl AnalyticsQuery {
    fn range(&self) -> Result<(i64, i64, Group), ApiError> {
        let to = match &self.to {
            Some(t) => day_of(t, "to")?,
            None => now_millis() / DAY_MS,
        };
        let from = match &self.from {
            Some(f) => day_of(f, "from")?,
            None => to - 29,
        };
        if from > to {
            return Err(ApiError::Validation("from must not be after to".into()));
        }
        if to - from + 1 > MAX_DAYS {
            return Err(ApiError::Validation(format!(
                "a range covers at most {MAX_DAYS} days; ask for less"
            )));
        }
        let group = match self.group.as_deref().unwrap_or("day") {
            "day" => Group::Day,
            "week" => Group::Week,
            "month" => Group::Month,
            other => {
                return Err(ApiError::Validation(format!(
                    "group must be day, week or month, not {other:?}"
                )));
            }
        };
        Ok((from, to, group))
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
    let (from, to, group) = q.range()?;
    let report = state
        .app()
        .analytics(&auth.acting()?, from, to, group)
        .await?;
    Ok(Json(Data { data: report }))
}

/// One CSV field, quoted when it must be (RFC 4180). A leading `=`, `+`, `-` or `@` is
/// prefixed with `'` so a spreadsheet does not run it as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
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
    let time = |ms: i64| super::time(ms);
    let (header, rows, value): (Vec<&str>, Vec<Vec<String>>, serde_json::Value) =
        match what.as_str() {
            "cards" => {
                let cards = state.app().cards_with_publications(&who).await?;
                let header = vec![
                    "id",
                    "created_at",
                    "status",
                    "category",
                    "risk",
                    "title",
                    "drafted_by",
                    "published",
                    "failed",
                    "first_published_at",
                ];
                let rows: Vec<Vec<String>> = cards
                    .iter()
                    .map(|(c, p)| {
                        let published = p
                            .iter()
                            .filter(|p| p.status == covalynce_domain::PublicationStatus::Published)
                            .count();
                        let failed = p
                            .iter()
                            .filter(|p| p.status == covalynce_domain::PublicationStatus::Failed)
                            .count();
                        vec![
                            c.id.to_string(),
                            time(c.created_at),
                            c.status.as_str().to_owned(),
                            c.category.as_str().to_owned(),
                            opt(c.risk.map(|r| r.as_str())),
                            c.title.clone(),
                            c.drafted_by.clone(),
                            published.to_string(),
                            failed.to_string(),
                            opt(p.iter().filter_map(|p| p.published_at).min().map(time)),
                        ]
                    })
                    .collect();
                let value = serde_json::Value::Array(
                    cards
                        .into_iter()
                        .map(|(c, p)| {
                            let mut v = super::cards::CardView::from(c);
                            v.publications = Some(p.into_iter().map(Into::into).collect());
                            serde_json::to_value(v).unwrap_or_default()
                        })
                        .collect(),
                );
                (header, rows, value)
            }
            "publications" => {
                let channels: std::collections::HashMap<_, _> = state
                    .store()
                    .list_channels(who.workspace().id)
                    .await?
                    .into_iter()
                    .map(|c| (c.id, (c.name, c.kind.to_string())))
                    .collect();
                let pubs: Vec<_> = state
                    .app()
                    .cards_with_publications(&who)
                    .await?
                    .into_iter()
                    .flat_map(|(_, p)| p)
                    .collect();
                let header = vec![
                    "id",
                    "card_id",
                    "channel_id",
                    "channel",
                    "kind",
                    "status",
                    "url",
                    "attempts",
                    "published_at",
                    "error",
                ];
                let rows = pubs
                    .iter()
                    .map(|p| {
                        let (name, kind) = channels.get(&p.channel_id).cloned().unwrap_or_default();
                        vec![
                            p.id.to_string(),
                            p.card_id.to_string(),
                            p.channel_id.to_string(),
                            name,
                            kind,
                            p.status.as_str().to_owned(),
                            opt(p.url.clone()),
                            p.attempts.to_string(),
                            opt(p.published_at.map(time)),
                            opt(p.error.clone()),
                        ]
                    })
                    .collect();
                let value = serde_json::Value::Array(
                    pubs.into_iter()
                        .map(|p| {
                            serde_json::to_value(super::cards::PublicationView::from(p))
                                .unwrap_or_default()
                        })
                        .collect(),
                );
                (header, rows, value)
            }
            "analytics" => {
                let (from, to, group) = q.range()?;
                let report = state.app().analytics(&who, from, to, group).await?;
                let header = vec![
                    "start",
                    "drafted",
                    "approved",
                    "edited",
                    "dismissed",
                    "approval_rate",
                    "published",
                    "failed",
                    "lag_count",
                    "lag_p50_s",
                    "lag_p90_s",
                    "lag_max_s",
                    "edit_chars_per_card",
                    "edit_ratio",
                    "ai_cost_micros",
                    "ai_calls",
                    "ai_cost_per_card_micros",
                ];
                let rows = report
                    .buckets
                    .iter()
                    .map(|b| {
                        vec![
                            b.start.clone(),
                            b.drafted.to_string(),
                            b.approved.to_string(),
                            b.edited.to_string(),
                            b.dismissed.to_string(),
                            opt(b.approval_rate.map(|r| format!("{r:.4}"))),
                            b.published.to_string(),
                            b.failed.to_string(),
                            b.lag.count.to_string(),
                            opt(b.lag.p50_s),
                            opt(b.lag.p90_s),
                            opt(b.lag.max_s),
                            opt(b.edit_chars_per_card.map(|r| format!("{r:.1}"))),
                            opt(b.edit_ratio.map(|r| format!("{r:.4}"))),
                            b.ai_cost_micros.to_string(),
                            b.ai_calls.to_string(),
                            opt(b.ai_cost_per_card_micros),
                        ]
                    })
                    .collect();
                let value = serde_json::to_value(&report).unwrap_or_default();
                (header, rows, value)
            }
            other => {
                return Err(ApiError::NotFound(format!(
                    "there is no export {other:?}: cards, publications or analytics"
                )));
            }
        };
    let name = format!("covalynce-{}-{what}", who.workspace().slug);
    let (body, kind, ext) = if json {
        (
            serde_json::to_string_pretty(&serde_json::json!({ "data": value })).unwrap_or_default(),
            "application/json",
            "json",
        )
    } else {
        (csv(&header, &rows), "text/csv; charset=utf-8", "csv")
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

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(super::field("plain"), "plain");
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(
            super::csv(&["a", "b"], &[vec!["1".into(), "x\ny".into()]]),
            "a,b\r\n1,\"x\ny\"\r\n"
        );
    }
}
