//! Schedules: the attendant's modes, and when a paging group's background music plays.
//!
//! A schedule has rules (days of the week, a time of day range, optionally a date
//! range such as a winter timetable) and holidays (whole days). Holidays win over
//! rules; when nothing matches, the default value applies. The value is generic: the
//! attendant's rules and holidays each name a [`Mode`] (`mode:`), a background-music
//! schedule's rules mean "plays" and its holidays "silent" ([`Values::Fixed`]). Times are wall-clock
//! times in the schedule's time zone, so a rule from 08:00 keeps starting at 08:00
//! local time across daylight-saving changes.

use crate::decode::{Ctx, Fields};
use crate::node::{Node, Pos};
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Who answers outside calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The computer answers and routes callers through the menus.
    Automatic,
    /// Outside calls go straight to the operator position; menus are skipped.
    Manual,
}

impl Mode {
    pub(crate) fn from_name(name: &str) -> Option<Mode> {
        match name {
            "automatic" => Some(Mode::Automatic),
            "manual" => Some(Mode::Manual),
            _ => None,
        }
    }

    /// The name used in the YAML (`automatic` or `manual`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Automatic => "automatic",
            Mode::Manual => "manual",
        }
    }
}

/// A calendar day, either once (`2026-12-24`) or every year (`12-24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Day {
    Once(Date),
    Yearly { month: i8, day: i8 },
}

impl Day {
    fn parse(text: &str) -> Option<Day> {
        let parts: Vec<&str> = text.trim().split('-').collect();
        let num = |s: &str| s.parse::<i16>().ok();
        match parts.as_slice() {
            [y, m, d] if y.len() == 4 => {
                let date = Date::new(
                    num(y)?,
                    i8::try_from(num(m)?).ok()?,
                    i8::try_from(num(d)?).ok()?,
                )
                .ok()?;
                Some(Day::Once(date))
            }
            [m, d] => {
                let (month, day) = (i8::try_from(num(m)?).ok()?, i8::try_from(num(d)?).ok()?);
                // 2024 is a leap year, so 02-29 is accepted.
                Date::new(2024, month, day).ok()?;
                Some(Day::Yearly { month, day })
            }
            _ => None,
        }
    }

    /// Orders this day within `date`'s year for range checks (month * 100 + day).
    fn key(self) -> i32 {
        match self {
            Day::Once(d) => i32::from(d.month()) * 100 + i32::from(d.day()),
            Day::Yearly { month, day } => i32::from(month) * 100 + i32::from(day),
        }
    }

    fn matches(self, date: Date) -> bool {
        match self {
            Day::Once(d) => d == date,
            Day::Yearly { month, day } => date.month() == month && date.day() == day,
        }
    }
}

fn month_day(date: Date) -> i32 {
    i32::from(date.month()) * 100 + i32::from(date.day())
}

/// A range of days, inclusive at both ends; yearly ranges may wrap over New Year (`11-01` to `03-31`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateRange {
    pub from: Day,
    pub to: Day,
}

impl DateRange {
    fn contains(self, date: Date) -> bool {
        match (self.from, self.to) {
            (Day::Once(a), Day::Once(b)) => a <= date && date <= b,
            (from, to) => {
                let (a, b, d) = (from.key(), to.key(), month_day(date));
                if a <= b {
                    a <= d && d <= b
                } else {
                    d >= a || d <= b
                }
            }
        }
    }
}

/// One schedule rule: on these days, between these times, this value applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule<V> {
    pub pos: Pos,
    pub value: V,
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after midnight (`to` may be 1440 for 24:00); `from > to` wraps past midnight (the part after midnight
    /// belongs to the next calendar day and uses that day's weekday).
    pub from: u32,
    pub to: u32,
    pub dates: Option<DateRange>,
}

impl<V> Rule<V> {
    fn matches(&self, date: Date, minute: u32) -> bool {
        let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
        let in_dates = self.dates.is_none_or(|r| r.contains(date));
        in_dates && self.days[weekday] && minute_in(self.from, self.to, minute)
    }

    /// The time of day as one or two half-open intervals within a day.
    fn intervals(&self) -> Vec<(u32, u32)> {
        if self.from < self.to {
            vec![(self.from, self.to)]
        } else {
            vec![(self.from, 24 * 60), (0, self.to)]
        }
    }
}

fn minute_in(from: u32, to: u32, minute: u32) -> bool {
    if from < to {
        from <= minute && minute < to
    } else {
        minute >= from || minute < to
    }
}

/// A holiday: the whole day has one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holiday<V> {
    pub day: Day,
    pub value: V,
}

/// A schedule with its time zone: the attendant's (`Schedule<Mode>`) or a paging group's
/// background music (`Schedule<bool>`, true while it plays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Schedule<V> {
    pub time_zone: TimeZone,
    pub default: V,
    pub rules: Vec<Rule<V>>,
    pub holidays: Vec<Holiday<V>>,
}

impl<V: Copy> Schedule<V> {
    /// Returns the value in force at `wall`.
    pub fn at(&self, wall: jiff::Timestamp) -> V {
        let local = wall.to_zoned_datetime(self.time_zone.clone());
        let date = local.date();
        if let Some(h) = self.holidays.iter().find(|h| h.day.matches(date)) {
            return h.value;
        }
        let minute =
            u32::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        self.rules
            .iter()
            .find(|r| r.matches(date, minute))
            .map_or(self.default, |r| r.value)
    }
}

/// Where a schedule's rules and holidays get their values.
#[derive(Clone, Copy)]
pub(crate) enum Values<V> {
    /// Each rule and holiday names its value under `key` (the attendant's `mode`).
    Keyed {
        key: &'static str,
        decode: fn(&mut Ctx, &Node) -> Option<V>,
    },
    /// Rules and holidays have no value key: every rule means `rule`, every holiday
    /// `holiday` (background music: plays, silent).
    Fixed { rule: V, holiday: V },
}

impl<V: Copy> Values<V> {
    /// The value of a rule or holiday whose fields are `f` (`None` after reporting a problem).
    fn read(self, ctx: &mut Ctx, f: &Fields, what: &str, holiday: bool) -> Option<V> {
        match self {
            Values::Keyed { key, decode } => f.require(ctx, key, what).and_then(|n| decode(ctx, n)),
            Values::Fixed { rule, holiday: h } => Some(if holiday { h } else { rule }),
        }
    }

    /// The keys a rule (or a holiday) may have: `base` with the value's key at `at`.
    fn keys(self, base: &[&'static str], at: usize) -> Vec<&'static str> {
        let mut keys = base.to_vec();
        if let Values::Keyed { key, .. } = self {
            keys.insert(at.min(keys.len()), key);
        }
        keys
    }
}

/// Decodes a `schedule:` mapping.
pub(crate) fn decode<V: Copy>(
    ctx: &mut Ctx,
    node: &Node,
    default: V,
    values: Values<V>,
    default_tz: &TimeZone,
) -> Option<Schedule<V>> {
    let f = ctx.fields(node, "`schedule`", &["time_zone", "rules", "holidays"])?;
    let time_zone = match f.get("time_zone") {
        Some(n) => decode_time_zone(ctx, n)?,
        None => default_tz.clone(),
    };
    let mut rules = Vec::new();
    for item in f
        .get("rules")
        .map(|n| ctx.list(n, "`rules`"))
        .unwrap_or_default()
    {
        if let Some(rule) = decode_rule(ctx, item, values) {
            rules.push(rule);
        }
    }
    let mut holidays = Vec::new();
    for item in f
        .get("holidays")
        .map(|n| ctx.list(n, "`holidays`"))
        .unwrap_or_default()
    {
        let Some(h) = ctx.fields(item, "a holiday", &values.keys(&["date", "name"], 1)) else {
            continue;
        };
        let day = h
            .require(ctx, "date", "a holiday")
            .and_then(|n| decode_day(ctx, n));
        let value = values.read(ctx, &h, "a holiday", true);
        if let Some(n) = h.get("name") {
            ctx.text(n, "`name`");
        }
        if let (Some(day), Some(value)) = (day, value) {
            holidays.push(Holiday { day, value });
        }
    }
    check_overlaps(ctx, &rules);
    Some(Schedule {
        time_zone,
        default,
        rules,
        holidays,
    })
}

/// Decodes an IANA time zone name such as `Europe/Berlin`.
pub(crate) fn decode_time_zone(ctx: &mut Ctx, node: &Node) -> Option<TimeZone> {
    let name = ctx.text(node, "`time_zone`")?;
    match TimeZone::get(&name) {
        Ok(tz) => Some(tz),
        Err(e) => {
            ctx.report(
                node.pos,
                format!("unknown time zone `{name}` ({e})"),
                Some(
                    "an IANA time zone name such as `Europe/Berlin`, `Asia/Shanghai` or `UTC`"
                        .into(),
                ),
                None,
                None,
            );
            None
        }
    }
}

/// Decodes `automatic` or `manual`.
pub(crate) fn decode_mode(ctx: &mut Ctx, node: &Node) -> Option<Mode> {
    let text = ctx.text(node, "`mode`")?;
    let mode = Mode::from_name(&text);
    if mode.is_none() {
        let suggestion = crate::diagnostic::suggest(&text, ["automatic", "manual"]);
        ctx.report(
            node.pos,
            format!("unknown mode `{text}`"),
            Some("`automatic` or `manual`".into()),
            None,
            suggestion,
        );
    }
    mode
}

fn decode_day(ctx: &mut Ctx, node: &Node) -> Option<Day> {
    let text = ctx.text(node, "a date")?;
    let day = Day::parse(&text);
    if day.is_none() {
        ctx.report(
            node.pos,
            format!("invalid date `{text}`"),
            Some("a date such as `2026-12-24` (once) or `12-24` (every year)".into()),
            None,
            None,
        );
    }
    day
}

fn decode_rule<V: Copy>(ctx: &mut Ctx, node: &Node, values: Values<V>) -> Option<Rule<V>> {
    let f = ctx.fields(
        node,
        "a schedule rule",
        &values.keys(&["days", "from", "to", "dates"], 0),
    )?;
    let value = values.read(ctx, &f, "a schedule rule", false);
    let days = match f.get("days") {
        Some(n) => decode_days(ctx, n),
        None => Some([true; 7]),
    };
    let from = f
        .require(ctx, "from", "a schedule rule")
        .and_then(|n| decode_time(ctx, n, false));
    let to = f
        .require(ctx, "to", "a schedule rule")
        .and_then(|n| decode_time(ctx, n, true));
    let dates = match f.get("dates") {
        None => Some(None),
        Some(n) => decode_date_range(ctx, n).map(Some),
    };
    let (value, days, from, to, dates) = (value?, days?, from?, to?, dates?);
    if from == to {
        ctx.error(
            node.pos,
            "a schedule rule's `from` and `to` are the same time, so it never applies",
        );
        return None;
    }
    Some(Rule {
        pos: node.pos,
        value,
        days,
        from,
        to,
        dates,
    })
}

fn decode_date_range(ctx: &mut Ctx, node: &Node) -> Option<DateRange> {
    let f = ctx.fields(node, "`dates`", &["from", "to"])?;
    let from = f
        .require(ctx, "from", "`dates`")
        .and_then(|n| decode_day(ctx, n));
    let to = f
        .require(ctx, "to", "`dates`")
        .and_then(|n| decode_day(ctx, n));
    let (from, to) = (from?, to?);
    match (from, to) {
        (Day::Once(a), Day::Once(b)) if a > b => {
            ctx.error(node.pos, "`dates` ends before it starts");
            None
        }
        (Day::Once(_), Day::Yearly { .. }) | (Day::Yearly { .. }, Day::Once(_)) => {
            ctx.report(
                node.pos,
                "`dates` mixes a one-time date with a yearly date",
                Some("both with a year (`2026-11-01`) or both without (`11-01`)".into()),
                None,
                None,
            );
            None
        }
        _ => Some(DateRange { from, to }),
    }
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(name: &str) -> Option<usize> {
    let lower = name.trim().to_lowercase();
    let short: String = lower.chars().take(3).collect();
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let i = DAY_NAMES.iter().position(|d| *d == short)?;
    (lower == short || lower == full[i]).then_some(i)
}

/// Decodes `mon-fri`, `daily`, `weekends`, `[mon, wed, fri]` or `sat`.
fn decode_days(ctx: &mut Ctx, node: &Node) -> Option<[bool; 7]> {
    let mut days = [false; 7];
    let mut ok = true;
    for item in ctx.one_or_many(node) {
        let Some(text) = ctx.text(item, "`days`") else {
            ok = false;
            continue;
        };
        let text = text.trim().to_lowercase();
        let parsed: Option<Vec<usize>> = match text.as_str() {
            "daily" | "every day" => Some((0..7).collect()),
            "weekdays" => Some((0..5).collect()),
            "weekends" | "weekend" => Some(vec![5, 6]),
            _ => match text.split_once('-') {
                Some((a, b)) => day_index(a).zip(day_index(b)).map(|(a, b)| {
                    let mut v = vec![a];
                    let mut i = a;
                    while i != b {
                        i = (i + 1) % 7;
                        v.push(i);
                    }
                    v
                }),
                None => day_index(&text).map(|i| vec![i]),
            },
        };
        match parsed {
            Some(list) => list.into_iter().for_each(|i| days[i] = true),
            None => {
                ok = false;
                let suggestion = crate::diagnostic::suggest(&text, DAY_NAMES.iter().copied());
                ctx.report(
                    item.pos,
                    format!("unknown day `{text}`"),
                    Some("`mon` … `sun`, a range such as `mon-fri`, `weekdays`, `weekends` or `daily`".into()),
                    None,
                    suggestion,
                );
            }
        }
    }
    ok.then_some(days)
}

/// Decodes `HH:MM` as minutes after midnight; `24:00` is accepted as an end time.
fn decode_time(ctx: &mut Ctx, node: &Node, is_end: bool) -> Option<u32> {
    let text = ctx.text(node, "a time of day")?;
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let (h, m): (u32, u32) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
        let valid = (h < 24 && m < 60 && text.trim().len() >= 4) || (is_end && h == 24 && m == 0);
        valid.then_some(h * 60 + m)
    });
    if parsed.is_none() {
        ctx.report(
            node.pos,
            format!("invalid time of day `{text}`"),
            Some("a time such as `08:00` or `22:30` (quote it: \"08:00\")".into()),
            None,
            None,
        );
    }
    parsed
}

/// Reports pairs of rules that apply at the same moment.
fn check_overlaps<V>(ctx: &mut Ctx, rules: &[Rule<V>]) {
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[..i] {
            if let Some(example) = overlap(a, b) {
                ctx.report(
                    a.pos,
                    format!(
                        "this schedule rule overlaps the rule at line {} (both apply {example})",
                        b.pos.line
                    ),
                    Some("rules that never apply at the same moment".into()),
                    None,
                    None,
                );
            }
        }
    }
}

/// Finds a moment at which both rules apply and describes it.
fn overlap<V>(a: &Rule<V>, b: &Rule<V>) -> Option<String> {
    // Time intervals are compared on the same calendar day; the part after midnight of a
    // wrapping rule uses the next day's weekday, which `matches` reflects directly.
    let mut shared_minute = None;
    for (a0, a1) in a.intervals() {
        for (b0, b1) in b.intervals() {
            let (lo, hi) = (a0.max(b0), a1.min(b1));
            if lo < hi && shared_minute.is_none() {
                shared_minute = Some(lo);
            }
        }
    }
    let minute = shared_minute?;
    // Search for a date on which both rules' days and date ranges agree. 28 years cover
    // every combination of weekday and yearly date, including 29 February.
    let start = [a.dates, b.dates]
        .iter()
        .flatten()
        .filter_map(|r| match r.from {
            Day::Once(d) => Some(d),
            Day::Yearly { .. } => None,
        })
        .max()
        .unwrap_or_else(|| Date::constant(2024, 1, 1));
    let mut date = start;
    for _ in 0..(28 * 366) {
        if a.matches(date, minute) && b.matches(date, minute) {
            return Some(format!(
                "on {} {} at {:02}:{:02}",
                DAY_NAMES[usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)],
                date,
                minute / 60,
                minute % 60
            ));
        }
        date = date.tomorrow().ok()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(days: [bool; 7], from: u32, to: u32, dates: Option<DateRange>) -> Rule<Mode> {
        Rule {
            pos: Pos::default(),
            value: Mode::Manual,
            days,
            from,
            to,
            dates,
        }
    }

    #[test]
    fn overlap_needs_shared_day_time_and_date() {
        let weekdays = [true, true, true, true, true, false, false];
        let weekend = [false, false, false, false, false, true, true];
        let day = rule(weekdays, 8 * 60, 20 * 60, None);
        assert!(overlap(&day, &rule(weekdays, 19 * 60, 22 * 60, None)).is_some());
        assert!(overlap(&day, &rule(weekdays, 20 * 60, 22 * 60, None)).is_none());
        assert!(overlap(&day, &rule(weekend, 8 * 60, 20 * 60, None)).is_none());
        let winter = DateRange {
            from: Day::Yearly { month: 11, day: 1 },
            to: Day::Yearly { month: 3, day: 31 },
        };
        let summer = DateRange {
            from: Day::Yearly { month: 4, day: 1 },
            to: Day::Yearly { month: 10, day: 31 },
        };
        assert!(
            overlap(
                &rule(weekdays, 480, 1200, Some(winter)),
                &rule(weekdays, 480, 1200, Some(summer))
            )
            .is_none()
        );
        let christmas_monday = rule(
            [true, false, false, false, false, false, false],
            480,
            600,
            Some(DateRange {
                from: Day::Yearly { month: 12, day: 25 },
                to: Day::Yearly { month: 12, day: 25 },
            }),
        );
        assert!(overlap(&christmas_monday, &day).is_some());
        let night = rule([true; 7], 22 * 60, 6 * 60, None);
        assert!(overlap(&night, &rule(weekend, 5 * 60, 7 * 60, None)).is_some());
    }

    #[test]
    fn wrapping_yearly_range() {
        let winter = DateRange {
            from: Day::Yearly { month: 11, day: 1 },
            to: Day::Yearly { month: 3, day: 31 },
        };
        assert!(winter.contains(Date::constant(2026, 12, 31)));
        assert!(winter.contains(Date::constant(2027, 1, 1)));
        assert!(!winter.contains(Date::constant(2027, 4, 1)));
    }
}
