//! When approved cards go out: a workspace's time zone and each channel's posting slots
//! ("mon-fri 09:00, 14:30; sat 10:00", in that zone), and the next free slot after a
//! moment. Parsed once, here; stored as their canonical text.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::fmt;

/// An IANA time zone ("Europe/Berlin", "UTC"), known to this machine's time zone database.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Zone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone named `name`, or why not.
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err("a time zone is an IANA name such as Europe/Berlin or UTC".into());
        }
        if name.eq_ignore_ascii_case("utc") {
            return Ok(Self::utc());
        }
        TimeZone::get(name)
            .map(|tz| Self {
                // The database's own spelling: "europe/berlin" is stored as Europe/Berlin.
                name: tz.iana_name().unwrap_or(name).to_owned(),
                tz,
            })
            .map_err(|_| {
                format!("{name:?} is not a time zone this server knows (an IANA name such as Europe/Berlin)")
            })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ms` as a wall-clock time in this zone ("Tue 9 Dec, 09:00").
    pub fn wall(&self, ms: i64) -> String {
        match jiff::Timestamp::from_millisecond(ms) {
            Ok(t) => t
                .to_zoned(self.tz.clone())
                .strftime("%a %-d %b, %H:%M")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// `ms` as a `datetime-local` field's value in this zone (`YYYY-MM-DDTHH:MM`).
    pub fn local_input(&self, ms: i64) -> String {
        match jiff::Timestamp::from_millisecond(ms) {
            Ok(t) => t
                .to_zoned(self.tz.clone())
                .strftime("%Y-%m-%dT%H:%M")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// A wall-clock time typed in this zone (`YYYY-MM-DDTHH:MM`, as a `datetime-local`
    /// field sends it) as Unix ms; a time the zone skips (a DST gap) moves forward.
    pub fn parse_local(&self, local: &str) -> Result<i64, String> {
        let dt: jiff::civil::DateTime = local
            .trim()
            .parse()
            .map_err(|_| format!("{local:?} is not a date and time (YYYY-MM-DD HH:MM)"))?;
        dt.to_zoned(self.tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| format!("{local:?} is not a time in {}: {e}", self.name))
    }
}

impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl serde::Serialize for Slots {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One posting time: on the days of `days` (bit 0 Monday … bit 6 Sunday) at `minute`
/// past midnight, in the workspace's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub days: u8,
    pub minute: u16,
}

/// A channel's posting times. Empty: it posts when approved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slots(Vec<Slot>);

/// At most this many posting times per channel: a schedule, not a list of every minute.
pub const MAX_SLOTS: usize = 48;

fn day_index(word: &str) -> Option<usize> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 || !w.is_ascii() {
        return None;
    }
    DAYS.iter()
        .position(|d| d.starts_with(&w[..3]) && full_day(d).starts_with(&w))
}

fn full_day(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

fn days_of(token: &str) -> Result<u8, String> {
    match token.to_ascii_lowercase().as_str() {
        "daily" | "every" | "everyday" => return Ok(0b111_1111),
        "weekdays" => return Ok(0b001_1111),
        "weekends" | "weekend" => return Ok(0b110_0000),
        _ => {}
    }
    let bad = || format!("{token:?} is not a day (mon … sun, mon-fri, weekdays, weekends, daily)");
    match token.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
            let mut mask = 0u8;
            let mut d = a;
            loop {
                mask |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
            Ok(mask)
        }
        None => day_index(token).map(|d| 1 << d).ok_or_else(bad),
    }
}

fn minute_of(token: &str) -> Option<u16> {
    let (h, m) = token.split_once(':')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !digits(h) || !digits(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl Slots {
    /// "mon-fri 09:00, 14:30; sat 10:00": groups split by `;` or new lines, each its days
    /// (none: every day) and its times (24-hour HH:MM).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut slots = Vec::new();
        for group in text.split([';', '\n', '\r']) {
            let mut days = 0u8;
            let mut times = Vec::new();
            for token in group.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
                if token.contains(':') {
                    times.push(minute_of(token).ok_or_else(|| {
                        format!("{token:?} is not a time of day (HH:MM, 24-hour)")
                    })?);
                } else {
                    days |= days_of(token)?;
                }
            }
            if times.is_empty() {
                if days != 0 {
                    return Err(format!("{:?} names days but no time", group.trim()));
                }
                continue;
            }
            let days = if days == 0 { 0b111_1111 } else { days };
            slots.extend(times.into_iter().map(|minute| Slot { days, minute }));
        }
        slots.sort_by_key(|s| (s.minute, s.days));
        slots.dedup();
        if slots.len() > MAX_SLOTS {
            return Err(format!("at most {MAX_SLOTS} posting times per channel"));
        }
        Ok(Self(slots))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn slots(&self) -> &[Slot] {
        &self.0
    }

    /// The first slot at or after `after` (Unix ms) in `zone` that is not in `taken`
    /// (the times already given to this channel's queued posts); `None` without slots, or
    /// when every slot of the next year is taken.
    pub fn next_free(&self, zone: &Zone, after: i64, taken: &[i64]) -> Option<i64> {
        if self.0.is_empty() {
            return None;
        }
        let start = jiff::Timestamp::from_millisecond(after).ok()?;
        let mut day: Date = start.to_zoned(zone.tz.clone()).date();
        for _ in 0..=366 {
            let weekday = day.weekday().to_monday_zero_offset() as u8;
            for slot in self.0.iter().filter(|s| s.days & (1 << weekday) != 0) {
                let at = day
                    .at((slot.minute / 60) as i8, (slot.minute % 60) as i8, 0, 0)
                    .to_zoned(zone.tz.clone())
                    .ok()?
                    .timestamp()
                    .as_millisecond();
                if at >= after && !taken.contains(&at) {
                    return Some(at);
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }
}

fn days_text(mask: u8) -> String {
    match mask {
        0b111_1111 => return "daily".into(),
        0b001_1111 => return "mon-fri".into(),
        0b110_0000 => return "sat-sun".into(),
        _ => {}
    }
    (0..7)
        .filter(|d| mask & (1 << d) != 0)
        .map(|d| DAYS[d])
        .collect::<Vec<_>>()
        .join(",")
}

/// The canonical text: groups by days, in the order their first time comes.
impl fmt::Display for Slots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<(u8, Vec<u16>)> = Vec::new();
        for s in &self.0 {
            match groups.iter_mut().find(|(d, _)| *d == s.days) {
                Some((_, times)) => times.push(s.minute),
                None => groups.push((s.days, vec![s.minute])),
            }
        }
        let text: Vec<String> = groups
            .iter()
            .map(|(days, times)| {
                let times: Vec<String> = times
                    .iter()
                    .map(|m| format!("{:02}:{:02}", m / 60, m % 60))
                    .collect();
                format!("{} {}", days_text(*days), times.join(", "))
            })
            .collect();
        f.write_str(&text.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(zoned: &str) -> i64 {
        let z: jiff::Zoned = zoned.parse().unwrap();
        z.timestamp().as_millisecond()
    }

    #[test]
    fn slots_read_as_a_person_writes_them_and_print_canonically() {
        let s = Slots::parse("Mon-Fri 9:00, 14:30; sat 10:00").unwrap();
        assert_eq!(s.to_string(), "mon-fri 09:00, 14:30; sat 10:00");
        assert_eq!(
            Slots::parse(&s.to_string()).unwrap(),
            s,
            "the text reads back"
        );
        assert_eq!(Slots::parse("08:15").unwrap().to_string(), "daily 08:15");
        assert_eq!(
            Slots::parse("weekends 11:00\nfri-mon 18:00")
                .unwrap()
                .to_string(),
            "sat-sun 11:00; mon,fri,sat,sun 18:00"
        );
        assert!(Slots::parse("").unwrap().is_empty());
        assert_eq!(
            Slots::parse("mon 09:00\r\ntue 10:00").unwrap().to_string(),
            "mon 09:00; tue 10:00",
            "lines from a form's text box"
        );
        for (bad, why) in [
            ("mon-fri 25:00", "not a time of day"),
            ("someday 09:00", "not a day"),
            ("mon-fri", "no time"),
            ("9:7", "not a time of day"),
            ("+9:+5", "not a time of day"),
            ("miércoles 09:00", "not a day"),
            ("mié 09:00", "not a day"),
        ] {
            let e = Slots::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn the_next_free_slot_is_in_the_workspaces_zone_and_skips_taken_ones() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let slots = Slots::parse("mon-fri 09:00, 14:30").unwrap();
        // Friday 15:00 in Berlin: the next slot is Monday 09:00 there.
        let friday = ms("2026-12-04T15:00:00[Europe/Berlin]");
        let monday = ms("2026-12-07T09:00:00[Europe/Berlin]");
        assert_eq!(slots.next_free(&berlin, friday, &[]), Some(monday));
        // Monday 09:00 is taken: 14:30 the same day.
        assert_eq!(
            slots.next_free(&berlin, friday, &[monday]),
            Some(ms("2026-12-07T14:30:00[Europe/Berlin]"))
        );
        assert_eq!(Slots::default().next_free(&berlin, friday, &[]), None);
        // A busy weekly slot: the fifth post goes five weeks out, never "now".
        let weekly = Slots::parse("mon 09:00").unwrap();
        let mut taken = Vec::new();
        for _ in 0..5 {
            let at = weekly.next_free(&berlin, friday, &taken).unwrap();
            assert!(at >= monday && !taken.contains(&at));
            taken.push(at);
        }
        assert_eq!(taken[4], ms("2027-01-04T09:00:00[Europe/Berlin]"));
        assert_eq!(berlin.wall(monday), "Mon 7 Dec, 09:00");
    }

    #[test]
    fn a_slot_in_the_spring_gap_moves_forward_not_back() {
        // 02:30 does not exist in Berlin on 29 March 2026: the post goes at 03:30.
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let slots = Slots::parse("daily 02:30").unwrap();
        let before = ms("2026-03-29T00:00:00[Europe/Berlin]");
        assert_eq!(
            slots.next_free(&berlin, before, &[]),
            Some(ms("2026-03-29T03:30:00[Europe/Berlin]"))
        );
    }

    #[test]
    fn zones_are_iana_names_this_machine_knows() {
        assert_eq!(Zone::parse("utc").unwrap().name(), "UTC");
        assert_eq!(
            Zone::parse("europe/berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert!(
            Zone::parse("Mars/Olympus")
                .unwrap_err()
                .contains("not a time zone")
        );
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(
            ny.parse_local("2026-12-07T09:00").unwrap(),
            ms("2026-12-07T09:00:00[America/New_York]")
        );
        assert!(ny.parse_local("tomorrow").is_err());
    }
}
