//! What a workspace's plan allows. The founding document sells SOLO (5 cards a month, one
//! member, the offline drafter and your own AI keys); PRO and TEAM raise the limits; a
//! self-hoster may set UNLIMITED.

/// A plan, as stored (`SOLO`) and as the API and CLI spell it (`solo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plan {
    Solo,
    Pro,
    Team,
    Unlimited,
}

/// Cards a month, seats, and whether the operator's own AI provider may draft for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `None`: no limit.
    pub cards_per_period: Option<i64>,
    /// Members (and open invitations) at most; `None`: no limit.
    pub seats: Option<i64>,
    /// SOLO drafts offline or with the workspace's own keys (BYOK) only.
    pub operator_ai: bool,
}

impl Plan {
    pub const ALL: [Plan; 4] = [Plan::Solo, Plan::Pro, Plan::Team, Plan::Unlimited];

    pub fn as_stored(self) -> &'static str {
        match self {
            Plan::Solo => "SOLO",
            Plan::Pro => "PRO",
            Plan::Team => "TEAM",
            Plan::Unlimited => "UNLIMITED",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Solo => "solo",
            Plan::Pro => "pro",
            Plan::Team => "team",
            Plan::Unlimited => "unlimited",
        }
    }

    /// Either spelling, any case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn limits(self) -> Limits {
        match self {
            Plan::Solo => Limits {
                cards_per_period: Some(5),
                seats: Some(1),
                operator_ai: false,
            },
            Plan::Pro => Limits {
                cards_per_period: Some(100),
                seats: Some(3),
                operator_ai: true,
            },
            Plan::Team => Limits {
                cards_per_period: Some(500),
                seats: Some(20),
                operator_ai: true,
            },
            Plan::Unlimited => Limits {
                cards_per_period: None,
                seats: None,
                operator_ai: true,
            },
        }
    }

    /// The stored `card_limit`: unlimited is the largest count there is.
    pub fn card_limit(self) -> i64 {
        self.limits().cards_per_period.unwrap_or(i64::MAX)
    }

    pub fn seat_limit(self) -> i64 {
        self.limits().seats.unwrap_or(i64::MAX)
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_stored())
    }
}

/// When a usage period that is not a billing period (no subscription tells us) ends: the
/// start of the next calendar month, UTC, after `now`.
pub fn next_month_start(now: crate::UnixMillis) -> crate::UnixMillis {
    let days = now.div_euclid(86_400_000);
    let (y, m, _) = crate::time::civil_from_days(days);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    crate::time::days_from_civil(y, m, 1) * 86_400_000
}

/// As stored: `"SOLO"`; read back in either spelling.
impl serde::Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_stored())
    }
}

impl<'de> serde::Deserialize<'de> for Plan {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Plan::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown plan {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse_both_spellings_and_say_their_limits() {
        assert_eq!(Plan::parse("SOLO"), Some(Plan::Solo));
        assert_eq!(Plan::parse(" team "), Some(Plan::Team));
        assert_eq!(Plan::parse("enterprise"), None);
        assert_eq!(Plan::Solo.card_limit(), 5);
        assert_eq!(Plan::Solo.seat_limit(), 1);
        assert!(!Plan::Solo.limits().operator_ai);
        assert_eq!(Plan::Unlimited.card_limit(), i64::MAX);
    }

    #[test]
    fn a_period_ends_at_the_next_month() {
        // 2026-11-23T10:00:00Z → 2026-12-01; 2026-12-31T23:59Z → 2027-01-01.
        assert_eq!(next_month_start(1_795_428_000_000), 1_796_083_200_000);
        assert_eq!(next_month_start(1_798_761_540_000), 1_798_761_600_000);
    }
}
