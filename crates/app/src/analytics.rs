//! Analytics: does Covalynce shorten the time from shipping to announcing? Per UTC day,
//! from the raw tables (`AnalyticsStore::day_facts`): cards drafted, approved, edited and
//! dismissed, the approval rate, how much people changed drafts (edit distance between the
//! draft and what was approved), publications per channel and failures, the
//! ship-to-announce lag of each card first published that day, and AI spend. A settled day
//! (two days past) is computed once and kept (`analytics_daily`), so a year is 365 small
//! reads; recent days are computed live.

pub mod export;

use covalynce_domain::{UnixMillis, WorkspaceId};
use covalynce_storage::{CardFilter, CardRecord, DayFacts, PublicationRecord, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
/// Days older than this are settled: nothing later changes what they counted.
const SETTLED_AFTER_MS: i64 = 2 * DAY_MS;
/// Lags kept per day: enough for exact percentiles at any plausible volume.
const MAX_LAGS_PER_DAY: usize = 2000;

/// One day, rolled up (what `analytics_daily.data` holds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Day {
    pub drafted: i64,
    pub approved: i64,
    pub edited: i64,
    pub dismissed: i64,
    /// Channel name → (kind, published, failed).
    pub channels: BTreeMap<String, (String, i64, i64)>,
    /// Ship-to-announce lag of each card first published this day, seconds.
    pub lags_s: Vec<i64>,
    /// Characters changed between draft and approved text, summed over those cards.
    pub edit_chars: i64,
    /// Characters of the approved texts, summed (edit_chars / this is how much was changed).
    pub approved_chars: i64,
    pub ai_cost_micros: i64,
    pub ai_calls: i64,
    pub ai_cards: i64,
}

/// Levenshtein distance in characters (two rows; the texts are posts, a few KB at most).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() || b.is_empty() {
        return a.len().max(b.len());
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

impl Day {
    pub fn from_facts(f: DayFacts) -> Self {
        let mut day = Day {
            drafted: f.drafted,
            approved: f.approved,
            edited: f.edited,
            dismissed: f.dismissed,
            channels: f
                .channels
                .into_iter()
                .map(|(name, kind, published, failed)| (name, (kind, published, failed)))
                .collect(),
            ai_cost_micros: f.ai_cost_micros,
            ai_calls: f.ai_calls,
            ai_cards: f.ai_cards,
            ..Day::default()
        };
        for p in f.first_published.iter().take(MAX_LAGS_PER_DAY) {
            day.lags_s
                .push(((p.published_at - p.shipped_at) / 1000).max(0));
            let drafted: BTreeMap<String, String> =
                serde_json::from_str(&p.drafted).unwrap_or_default();
            let approved: BTreeMap<String, String> =
                serde_json::from_str(&p.approved).unwrap_or_default();
            for (channel, text) in &approved {
                let before = drafted.get(channel).map(String::as_str).unwrap_or_default();
                day.edit_chars += edit_distance(before, text) as i64;
                day.approved_chars += text.chars().count() as i64;
            }
        }
        day
    }

    fn add(&mut self, other: &Day) {
        self.drafted += other.drafted;
        self.approved += other.approved;
        self.edited += other.edited;
        self.dismissed += other.dismissed;
        for (name, (kind, published, failed)) in &other.channels {
            let e = self
                .channels
                .entry(name.clone())
                .or_insert_with(|| (kind.clone(), 0, 0));
            e.1 += published;
            e.2 += failed;
        }
        self.lags_s.extend(&other.lags_s);
        self.edit_chars += other.edit_chars;
        self.approved_chars += other.approved_chars;
        self.ai_cost_micros += other.ai_cost_micros;
        self.ai_calls += other.ai_calls;
        self.ai_cards += other.ai_cards;
    }
}

/// A day's numbers: the stored roll-up of a settled day (computed and kept the first time
/// it is asked for), or a live count of a recent one.
pub async fn day(
    store: &dyn Store,
    ws: WorkspaceId,
    day: i64,
    stored: Option<&str>,
    now: UnixMillis,
) -> Result<Day, StoreError> {
    if let Some(d) = stored.and_then(|s| serde_json::from_str(s).ok()) {
        return Ok(d);
    }
    let (from, to) = (day * DAY_MS, (day + 1) * DAY_MS);
    let computed = Day::from_facts(store.day_facts(ws, from, to).await?);
    if to + SETTLED_AFTER_MS <= now {
        let json = serde_json::to_string(&computed).unwrap_or_default();
        store.put_rollup(ws, day, &json).await?;
    }
    Ok(computed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Day,
    Week,
    Month,
}

/// The numbers of a period (a bucket, or the whole range).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// The bucket's first day (`YYYY-MM-DD`); the range's first day for totals.
    pub start: String,
    pub drafted: i64,
    pub approved: i64,
    pub edited: i64,
    pub dismissed: i64,
    /// approved / (approved + dismissed); null when neither happened.
    pub approval_rate: Option<f64>,
    pub published: i64,
    pub failed: i64,
    pub lag: Lag,
    /// Characters changed between draft and approved text, per first-published card.
    pub edit_chars_per_card: Option<f64>,
    /// Share of the approved text that people changed (0–1).
    pub edit_ratio: Option<f64>,
    pub ai_cost_micros: i64,
    pub ai_calls: i64,
    /// AI spend per card the AI worked on, micro-dollars.
    pub ai_cost_per_card_micros: Option<i64>,
}

/// The ship-to-announce lag distribution: from the commit or release time to the card's
/// first publication, in seconds.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Lag {
    pub count: usize,
    pub p50_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub max_s: Option<i64>,
    /// How many fell under 1 h, 1 h–1 d, 1–7 d, over 7 d.
    pub histogram: [usize; 4],
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

impl Summary {
    fn of(start: String, d: &Day) -> Self {
        let mut lags = d.lags_s.clone();
        lags.sort_unstable();
        let mut histogram = [0; 4];
        for l in &lags {
            let i = match *l {
                l if l < 3600 => 0,
                l if l < 86_400 => 1,
                l if l < 7 * 86_400 => 2,
                _ => 3,
            };
            histogram[i] += 1;
        }
        let decided = d.approved + d.dismissed;
        let first = d.lags_s.len() as f64;
        Summary {
            start,
            drafted: d.drafted,
            approved: d.approved,
            edited: d.edited,
            dismissed: d.dismissed,
            approval_rate: (decided > 0).then(|| d.approved as f64 / decided as f64),
            published: d.channels.values().map(|c| c.1).sum(),
            failed: d.channels.values().map(|c| c.2).sum(),
            lag: Lag {
                count: lags.len(),
                p50_s: percentile(&lags, 0.5),
                p90_s: percentile(&lags, 0.9),
                max_s: lags.last().copied(),
                histogram,
            },
            edit_chars_per_card: (first > 0.0).then(|| d.edit_chars as f64 / first),
            edit_ratio: (d.approved_chars > 0)
                .then(|| (d.edit_chars as f64 / d.approved_chars as f64).min(1.0)),
            ai_cost_micros: d.ai_cost_micros,
            ai_calls: d.ai_calls,
            ai_cost_per_card_micros: (d.ai_cards > 0).then(|| d.ai_cost_micros / d.ai_cards),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelSummary {
    pub channel: String,
    pub kind: String,
    pub published: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub from: String,
    pub to: String,
    #[schema(value_type = String, example = "month")]
    pub group: Group,
    pub totals: Summary,
    pub buckets: Vec<Summary>,
    pub channels: Vec<ChannelSummary>,
}

impl Serialize for Group {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Group::Day => "day",
            Group::Week => "week",
            Group::Month => "month",
        })
    }
}

/// `YYYY-MM-DD` of a day number.
pub fn date(day: i64) -> String {
    covalynce_domain::time::format_rfc3339(day * DAY_MS)[..10].to_owned()
}

/// The first day of the bucket `day` falls in.
fn bucket_start(day: i64, group: Group) -> i64 {
    match group {
        Group::Day => day,
        // ISO weeks start on Monday; 1970-01-01 was a Thursday.
        Group::Week => day - (day + 3).rem_euclid(7),
        Group::Month => {
            let d = date(day);
            covalynce_domain::time::parse_rfc3339_millis(&format!("{}-01T00:00:00Z", &d[..7]))
                .map_or(day, |ms| ms / DAY_MS)
        }
    }
}

/// Days `from_day..=to_day`, grouped.
pub async fn report(
    store: &dyn Store,
    ws: WorkspaceId,
    from_day: i64,
    to_day: i64,
    group: Group,
    now: UnixMillis,
) -> Result<Report, StoreError> {
    let stored: BTreeMap<i64, String> = store
        .rollups(ws, from_day, to_day)
        .await?
        .into_iter()
        .collect();
    // Days not rolled up yet are counted a few at a time: each is several small queries,
    // and the read pool has connections to spare.
    use futures_util::StreamExt as _;
    let days: Vec<Day> = futures_util::stream::iter(from_day..=to_day)
        .map(|d| day(store, ws, d, stored.get(&d).map(String::as_str), now))
        .buffered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut buckets: BTreeMap<i64, Day> = BTreeMap::new();
    let mut total = Day::default();
    for (d, numbers) in (from_day..=to_day).zip(days) {
        buckets
            .entry(bucket_start(d, group))
            .or_default()
            .add(&numbers);
        total.add(&numbers);
    }
    Ok(Report {
        from: date(from_day),
        to: date(to_day),
        group,
        totals: Summary::of(date(from_day), &total),
        buckets: buckets
            .iter()
            .map(|(start, d)| Summary::of(date((*start).max(from_day)), d))
            .collect(),
        channels: total
            .channels
            .iter()
            .map(|(name, (kind, published, failed))| ChannelSummary {
                channel: name.clone(),
                kind: kind.clone(),
                published: *published,
                failed: *failed,
            })
            .collect(),
    })
}

impl crate::App {
    /// The workspace's analytics for days `from_day..=to_day` (days since the epoch,
    /// UTC), grouped: what every member may read.
    pub async fn analytics(
        &self,
        who: &crate::Acting<crate::Viewer>,
        from_day: i64,
        to_day: i64,
        group: Group,
    ) -> Result<Report, crate::AppError> {
        let ws = who.workspace().id;
        let now = covalynce_domain::now_millis();
        Ok(report(self.store(), ws, from_day, to_day, group, now).await?)
    }

    /// Every card of the workspace, newest first, each with its publications: what
    /// exports read, a page of 500 at a time.
    pub async fn cards_with_publications(
        &self,
        who: &crate::Acting<crate::Viewer>,
    ) -> Result<Vec<(CardRecord, Vec<PublicationRecord>)>, crate::AppError> {
        let ws = who.workspace().id;
        let store = self.store();
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let filter = CardFilter {
                status: None,
                before,
                limit: 500,
            };
            let page = store.list_cards(ws, &filter).await?;
            let done = page.len() < 500;
            before = page.last().map(|c| c.id);
            let ids: Vec<_> = page.iter().map(|c| c.id).collect();
            let mut publications: std::collections::HashMap<_, Vec<_>> = Default::default();
            for p in store.publications_of_cards(ws, &ids).await? {
                publications.entry(p.card_id).or_default().push(p);
            }
            for card in page {
                let mine = publications.remove(&card.id).unwrap_or_default();
                out.push((card, mine));
            }
            if done {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_characters_changed() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("café", "cafe"), 1);
    }

    #[test]
    fn lags_become_percentiles_and_a_histogram() {
        let day = Day {
            lags_s: vec![600, 7200, 90_000, 700_000, 3000],
            approved: 3,
            dismissed: 1,
            ..Day::default()
        };
        let s = Summary::of("2026-11-01".into(), &day);
        assert_eq!(s.lag.count, 5);
        assert_eq!(s.lag.p50_s, Some(7200));
        assert_eq!(s.lag.p90_s, Some(700_000));
        assert_eq!(s.lag.histogram, [2, 1, 1, 1]);
        assert_eq!(s.approval_rate, Some(0.75));
    }

    #[test]
    fn buckets_start_on_mondays_and_first_days() {
        // 2026-11-23 is a Monday; 2026-11-25 a Wednesday.
        let monday = 1_795_392_000_000 / DAY_MS;
        assert_eq!(date(monday), "2026-11-23");
        assert_eq!(bucket_start(monday + 2, Group::Week), monday);
        assert_eq!(date(bucket_start(monday + 2, Group::Month)), "2026-11-01");
    }
}
