//! When the shipped schedules fire, minute by minute: a cron line's minute
//! field (crontab, Kubernetes CronJobs) and a systemd timer's `OnCalendar=`
//! minutes, expanded to the minutes of the hour they name. Two ticks whose
//! minute sets are disjoint never start in the same minute, whatever their
//! hour and day fields say (contrib/ keeps every tick in minutes of its own).
use crate::types::Invalid;

use std::collections::BTreeSet;

/// The minutes of the hour a cron minute field names: a comma list of `*`,
/// `N`, `A-B`, each with an optional `/step` (`N/step` runs from N to 59).
pub fn cron_minutes(field: &str) -> Result<BTreeSet<u8>, Invalid> {
    let mut out = BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, number(s, item)?),
            None => (item, 1),
        };
        if step == 0 {
            return Err(Invalid(format!("{item}: a step of 0")));
        }
        let (from, to) = match range {
            "*" => (0, 59),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a, item)?, number(b, item)?),
                None if step > 1 || item.contains('/') => (number(r, item)?, 59),
                None => {
                    let n = number(r, item)?;
                    (n, n)
                }
            },
        };
        if from > to || to > 59 {
            return Err(Invalid(format!("{item}: not minutes 0-59")));
        }
        out.extend((from..=to).step_by(usize::from(step)));
    }
    Ok(out)
}

/// The minutes of the hour a systemd `OnCalendar=` value names: its time's
/// minute component (`*:0/5`, `*-*-* *:11/15:00`, `Mon *:05`), a comma list
/// of `*`, `N`, `N/step`, `A..B`, `A..B/step`; `minutely`, `hourly`, `daily`
/// and the other shorthands.
pub fn calendar_minutes(value: &str) -> Result<BTreeSet<u8>, Invalid> {
    let v = value.trim();
    let shorthand = [
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "annually",
        "quarterly",
        "semiannually",
    ];
    if v == "minutely" {
        return Ok((0..60).collect());
    }
    if shorthand.contains(&v) {
        return Ok([0].into());
    }
    let time = v
        .split_whitespace()
        .rfind(|w| w.contains(':'))
        .ok_or_else(|| format!("{v}: no time (HH:MM) to read the minutes from"))?;
    let mut parts = time.split(':');
    let minute = match (parts.next(), parts.next()) {
        (Some(_), Some(m)) => m,
        _ => return Err(Invalid(format!("{v}: no minute in {time}"))),
    };
    let mut out = BTreeSet::new();
    for item in minute.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(number(s, item)?)),
            None => (item, None),
        };
        let (from, to) = match range {
            "*" => (0, 59),
            r => match r.split_once("..") {
                Some((a, b)) => (number(a, item)?, number(b, item)?),
                None if step.is_some() => (number(r, item)?, 59),
                None => {
                    let n = number(r, item)?;
                    (n, n)
                }
            },
        };
        let step = step.unwrap_or(1);
        if step == 0 || from > to || to > 59 {
            return Err(Invalid(format!("{item}: not minutes 0-59")));
        }
        out.extend((from..=to).step_by(usize::from(step)));
    }
    Ok(out)
}

fn number(s: &str, item: &str) -> Result<u8, Invalid> {
    s.parse()
        .map_err(|_| Invalid(format!("{item}: \"{s}\" is not a number")))
}

/// Every pair of schedules that share a minute, with the first minute they
/// share: empty when no two ever fire in the same minute.
pub fn shared_minutes(schedules: &[(String, BTreeSet<u8>)]) -> Vec<(String, String, u8)> {
    let mut out = vec![];
    for (i, (a, ma)) in schedules.iter().enumerate() {
        for (b, mb) in &schedules[i + 1..] {
            if let Some(m) = ma.intersection(mb).next() {
                out.push((a.clone(), b.clone(), *m));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u8]) -> BTreeSet<u8> {
        v.iter().copied().collect()
    }

    #[test]
    fn a_cron_minute_field_expands_to_its_minutes() {
        let table: [(&str, Result<&[u8], ()>); 10] = [
            ("*/15", Ok(&[0, 15, 30, 45])),
            (
                "2-59/5",
                Ok(&[2, 7, 12, 17, 22, 27, 32, 37, 42, 47, 52, 57]),
            ),
            ("7-59/15", Ok(&[7, 22, 37, 52])),
            ("4/15", Ok(&[4, 19, 34, 49])),
            ("5", Ok(&[5])),
            ("1,2,10-12", Ok(&[1, 2, 10, 11, 12])),
            ("0-3/2", Ok(&[0, 2])),
            ("60", Err(())),
            ("*/0", Err(())),
            ("x", Err(())),
        ];
        for (field, want) in table {
            let got = cron_minutes(field).map_err(|_| ());
            assert_eq!(got, want.map(set), "{field}");
        }
        assert_eq!(cron_minutes("*").unwrap().len(), 60);
    }

    #[test]
    fn an_on_calendar_value_expands_to_its_minutes() {
        let table: [(&str, Result<&[u8], ()>); 9] = [
            ("*:0/5", Ok(&[0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55])),
            ("*:4/15", Ok(&[4, 19, 34, 49])),
            ("*-*-* *:11/15:00", Ok(&[11, 26, 41, 56])),
            ("Mon *-*-* 03:05:00", Ok(&[5])),
            ("*:10..12,30", Ok(&[10, 11, 12, 30])),
            ("*:0..30/10", Ok(&[0, 10, 20, 30])),
            ("hourly", Ok(&[0])),
            ("*-*-*", Err(())),
            ("*:61", Err(())),
        ];
        for (value, want) in table {
            let got = calendar_minutes(value).map_err(|_| ());
            assert_eq!(got, want.map(set), "{value}");
        }
        assert_eq!(calendar_minutes("minutely").unwrap().len(), 60);
    }

    #[test]
    fn schedules_that_share_a_minute_are_named_with_the_first_one() {
        let s = |n: &str, f: &str| (n.to_string(), cron_minutes(f).unwrap());
        let shipped_before = [
            s("poll", "*/5"),
            s("watch", "2-59/5"),
            s("harvest", "7-59/15"),
            s("upgrade", "11-59/15"),
        ];
        assert_eq!(
            shared_minutes(&shipped_before),
            [("watch".to_string(), "harvest".to_string(), 7)]
        );
        let apart = [
            s("poll", "*/5"),
            s("watch", "2-59/5"),
            s("harvest", "4-59/15"),
            s("upgrade", "11-59/15"),
        ];
        assert!(shared_minutes(&apart).is_empty());
    }
}
