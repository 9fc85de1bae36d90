//! Analytics: is shipping-to-announcing getting shorter? The last twelve months (or a
//! range from the query) by month: the lag, review outcomes, how much drafts were edited,
//! publications and failures per channel, AI spend; with CSV and JSON exports.

use super::page::{Layout, Signed, UiError, render};
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use covalynce_app::analytics::export::Range;
use covalynce_app::analytics::{ChannelSummary, Group, Summary};

#[derive(askama::Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    layout: Layout,
    from: String,
    to: String,
    group: &'static str,
    totals: Summary,
    /// The totals' median and 90th-percentile lag, readable.
    lag_p50: String,
    lag_p90: String,
    rows: Vec<Row>,
    channels: Vec<ChannelSummary>,
}

/// A bucket, with what the template shows: readable lag and bar widths.
struct Row {
    s: Summary,
    lag: String,
    /// The median lag as a share of the longest median shown (0–100).
    bar: u32,
}

#[derive(serde::Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
}

/// 90 s → "2 min", 5400 s → "1.5 h", 200000 s → "2.3 d".
pub fn human(seconds: Option<i64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) if s < 3600 => format!("{} min", (s as f64 / 60.0).round() as i64),
        Some(s) if s < 86_400 => format!("{:.1} h", s as f64 / 3600.0),
        Some(s) => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<RangeQuery>,
) -> Result<Response, UiError> {
    let Range { from, to, group } =
        Range::lenient(q.from.as_deref(), q.to.as_deref(), q.group.as_deref());
    let report = state
        .app()
        .analytics(&signed.acting()?, from, to, group)
        .await?;
    let longest = report
        .buckets
        .iter()
        .filter_map(|b| b.lag.p50_s)
        .max()
        .unwrap_or(0)
        .max(1);
    let rows = report
        .buckets
        .into_iter()
        .rev()
        .map(|s| Row {
            lag: human(s.lag.p50_s),
            bar: s.lag.p50_s.map_or(0, |l| (l * 100 / longest) as u32),
            s,
        })
        .collect();
    Ok(render(&AnalyticsPage {
        layout: signed.layout("analytics"),
        from: report.from,
        to: report.to,
        group: match group {
            Group::Day => "day",
            Group::Week => "week",
            Group::Month => "month",
        },
        lag_p50: human(report.totals.lag.p50_s),
        lag_p90: human(report.totals.lag.p90_s),
        totals: report.totals,
        rows,
        channels: report.channels,
    }))
}
