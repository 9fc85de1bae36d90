//! Exports: cards, publications or the analytics as a table (CSV) or as records the
//! adapter writes as JSON. The ranges an analytics request may ask for are parsed here too,
//! once for the API (strict: a bad date is an error) and the page (lenient: it shows the
//! nearest sensible range).

use super::{Group, Report};
use crate::{Acting, App, AppError, Viewer};
use covalynce_domain::{PublicationStatus, now_millis, time::format_rfc3339};
use covalynce_storage::{CardRecord, PublicationRecord};

const DAY_MS: i64 = 86_400_000;
/// The longest range one request may cover.
pub const MAX_DAYS: i64 = 3 * 366;

/// Days `from..=to` (days since the epoch, UTC), grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
    pub group: Group,
}

fn day_of(s: &str) -> Option<i64> {
    let s = s.trim();
    covalynce_domain::time::parse_rfc3339_millis(&format!("{s}T00:00:00Z"))
        .filter(|_| s.len() == 10)
        .map(|ms| ms / DAY_MS)
}

fn group_of(g: &str) -> Option<Group> {
    match g {
        "day" => Some(Group::Day),
        "week" => Some(Group::Week),
        "month" => Some(Group::Month),
        _ => None,
    }
}

impl Range {
    /// A range as an API request names it (`YYYY-MM-DD` days, `day`/`week`/`month`):
    /// the last 30 days by day unless it says otherwise; anything else is an error saying
    /// what is expected.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        group: Option<&str>,
    ) -> Result<Range, AppError> {
        let day = |s: &str, field: &str| {
            day_of(s).ok_or_else(|| {
                AppError::Invalid(format!("{field} must be a date like 2026-11-23, not {s:?}"))
            })
        };
        let to = match to {
            Some(t) => day(t, "to")?,
            None => now_millis() / DAY_MS,
        };
        let from = match from {
            Some(f) => day(f, "from")?,
            None => to - 29,
        };
        if from > to {
            return Err(AppError::Invalid("from must not be after to".into()));
        }
        if to - from + 1 > MAX_DAYS {
            return Err(AppError::Invalid(format!(
                "a range covers at most {MAX_DAYS} days; ask for less"
            )));
        }
        let group = group.unwrap_or("day");
        let group = group_of(group).ok_or_else(|| {
            AppError::Invalid(format!("group must be day, week or month, not {group:?}"))
        })?;
        Ok(Range { from, to, group })
    }

    /// A range as the analytics page's form sends it: what cannot be read falls back to
    /// the last twelve months by month, and a range is clamped to what may be asked.
    pub fn lenient(from: Option<&str>, to: Option<&str>, group: Option<&str>) -> Range {
        let to = to.and_then(day_of).unwrap_or(now_millis() / DAY_MS);
        let from = from
            .and_then(day_of)
            .unwrap_or(to - 364)
            .min(to)
            .max(to - MAX_DAYS + 1);
        let group = group.and_then(group_of).unwrap_or(Group::Month);
        Range { from, to, group }
    }
}

/// What may be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Cards,
    Publications,
    Analytics,
}

impl Export {
    pub fn parse(what: &str) -> Result<Export, AppError> {
        match what {
            "cards" => Ok(Export::Cards),
            "publications" => Ok(Export::Publications),
            "analytics" => Ok(Export::Analytics),
            other => Err(AppError::NotFound(format!(
                "there is no export {other:?}: cards, publications or analytics"
            ))),
        }
    }
}

/// The records an export holds, for adapters that write them as they write them elsewhere
/// (the API's JSON views).
pub enum Records {
    Cards(Vec<(CardRecord, Vec<PublicationRecord>)>),
    Publications(Vec<PublicationRecord>),
    Analytics(Box<Report>),
}

/// An export: its table (a header and rows of text) and its records.
pub struct Exported {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub records: Records,
}

impl Exported {
    /// The table as CSV (RFC 4180, CRLF line ends).
    pub fn csv(&self) -> String {
        csv(&self.header, &self.rows)
    }
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

impl App {
    /// Cards (with their publications' counts), publications (with their channel's name
    /// and kind) or the analytics of a range, as every member may read them. The range is
    /// read only for the analytics (a bad one does not fail a cards export).
    pub async fn export_table(
        &self,
        who: &Acting<Viewer>,
        what: Export,
        range: impl FnOnce() -> Result<Range, AppError>,
    ) -> Result<Exported, AppError> {
        let time = format_rfc3339;
        Ok(match what {
            Export::Cards => {
                let cards = self.cards_with_publications(who).await?;
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
                let rows = cards
                    .iter()
                    .map(|(c, p)| {
                        let count = |s| p.iter().filter(|p| p.status == s).count();
                        vec![
                            c.id.to_string(),
                            time(c.created_at),
                            c.status.as_str().to_owned(),
                            c.category.as_str().to_owned(),
                            opt(c.risk.map(|r| r.as_str())),
                            c.title.clone(),
                            c.drafted_by.clone(),
                            count(PublicationStatus::Published).to_string(),
                            count(PublicationStatus::Failed).to_string(),
                            opt(p.iter().filter_map(|p| p.published_at).min().map(time)),
                        ]
                    })
                    .collect();
                Exported {
                    header,
                    rows,
                    records: Records::Cards(cards),
                }
            }
            Export::Publications => {
                let channels: std::collections::HashMap<_, _> = self
                    .store()
                    .list_channels(who.workspace().id)
                    .await?
                    .into_iter()
                    .map(|c| (c.id, (c.name, c.kind.to_string())))
                    .collect();
                let pubs: Vec<_> = self
                    .cards_with_publications(who)
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
                Exported {
                    header,
                    rows,
                    records: Records::Publications(pubs),
                }
            }
            Export::Analytics => {
                let range = range()?;
                let report = self
                    .analytics(who, range.from, range.to, range.group)
                    .await?;
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
                Exported {
                    header,
                    rows,
                    records: Records::Analytics(Box::new(report)),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(
            csv(&["a", "b"], &[vec!["1".into(), "x\ny".into()]]),
            "a,b\r\n1,\"x\ny\"\r\n"
        );
    }

    #[test]
    fn the_page_shows_the_nearest_sensible_range_where_the_api_says_what_is_wrong() {
        let strict = Range::parse(Some("2026-01-31"), Some("2026-01-01"), None);
        assert!(matches!(strict, Err(AppError::Invalid(m)) if m.contains("after")));
        assert!(Range::parse(Some("2026-1-1"), None, None).is_err());
        assert!(Range::parse(None, None, Some("year")).is_err());
        let day = |s| day_of(s).unwrap();
        let page = Range::lenient(Some("2026-01-31"), Some("2026-01-01"), Some("year"));
        assert_eq!(
            page,
            Range {
                from: day("2026-01-01"),
                to: day("2026-01-01"),
                group: Group::Month
            }
        );
        let long = Range::lenient(Some("2000-01-01"), Some("2026-01-01"), Some("week"));
        assert_eq!(long.to - long.from + 1, MAX_DAYS);
        assert_eq!(long.group, Group::Week);
    }
}
