//! The lessons journal's closed columns (docs/reports.md#afk-lessons) as types:
//! who recorded a lesson ([`LessonSource`]), where it is in its life
//! ([`LessonStatus`]), where its fix belongs ([`Attribution`]) and what it is
//! about ([`TargetDomain`]).
//! Each is stored, printed and serialised as its name ([`LessonStatus::as_str`]);
//! the lesson's type stays a slug, as a person may name any (the automatic
//! ones are the core's `LessonKind`).

crate::named_enum! {
    /// Who recorded a lesson: a tick (`auto`, deduplicated) or a person
    /// (`manual`, `afk lessons record`, never dropped). A `NewLesson` built
    /// field by field is automatic.
    #[derive(Default)]
    LessonSource {
        #[default]
        Auto => "auto",
        Manual => "manual",
    }
}

crate::named_enum! {
    /// Where a lesson is in its life; every lesson starts `new`. Ordered by
    /// name (closed, in_progress, new), the order `afk lessons snapshot` has
    /// always listed them in.
    LessonStatus {
        New => "new": "Recorded, nobody has looked at it yet",
        InProgress => "in_progress": "Someone is on it",
        Closed => "closed": "Dealt with",
    }
}

crate::named_enum! {
    /// Where a lesson's fix belongs.
    Attribution {
        Platform => "platform": "afk, the runner or the agent setup",
        Repo => "repo": "the repository the agent worked in",
        Both => "both": "both",
    }
}

crate::named_enum! {
    /// What a lesson is about.
    TargetDomain {
        Reliability => "reliability",
        Quality => "quality",
        Speed => "speed",
        Cost => "cost",
        Security => "security",
    }
}

impl LessonStatus {
    /// A lesson is open while it is `new` or `in_progress`
    /// (docs/reports.md#afk-lessons): what the snapshot counts as open, what
    /// `--status open` lists, what a prompt shows.
    pub fn is_open(self) -> bool {
        matches!(self, LessonStatus::New | LessonStatus::InProgress)
    }
}

impl PartialOrd for LessonStatus {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LessonStatus {
    /// By name, so a map keyed by status lists them as the text always did.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Which lessons a list wants by status: those in one status, or the open
/// ones (`afk lessons list --status open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Is(LessonStatus),
    Open,
}

impl crate::Named for StatusFilter {
    fn all() -> &'static [StatusFilter] {
        use LessonStatus::*;
        &[
            StatusFilter::Is(New),
            StatusFilter::Is(InProgress),
            StatusFilter::Is(Closed),
            StatusFilter::Open,
        ]
    }
    fn name(self) -> &'static str {
        match self {
            StatusFilter::Is(s) => s.as_str(),
            StatusFilter::Open => "open",
        }
    }
    fn help(self) -> &'static str {
        match self {
            StatusFilter::Is(s) => crate::Named::help(s),
            StatusFilter::Open => "new or in_progress (what `lessons snapshot` counts as open)",
        }
    }
}

impl StatusFilter {
    pub fn admits(self, s: LessonStatus) -> bool {
        match self {
            StatusFilter::Is(want) => s == want,
            StatusFilter::Open => s.is_open(),
        }
    }

    /// The statuses admitted, in [`LessonStatus::NAMES`] order.
    pub fn statuses(self) -> Vec<LessonStatus> {
        LessonStatus::ALL
            .iter()
            .copied()
            .filter(|s| self.admits(*s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::fmt;

    /// Checks one enum: every name parses back to its value, serialises as
    /// itself and nothing else parses; returns its names.
    fn round_trip<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + fmt::Debug + Serialize + for<'de> Deserialize<'de>,
    {
        for v in all {
            let name = as_str(*v);
            assert_eq!(parse(name), Some(*v), "{name}");
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
        }
        for bad in ["", "open", "New", "in-progress", "wontfix", " auto"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_name_round_trips_and_no_other_text_parses() {
        round_trip(LessonSource::ALL, LessonSource::as_str, LessonSource::parse);
        round_trip(LessonStatus::ALL, LessonStatus::as_str, LessonStatus::parse);
        round_trip(Attribution::ALL, Attribution::as_str, Attribution::parse);
        round_trip(TargetDomain::ALL, TargetDomain::as_str, TargetDomain::parse);
    }

    /// The names are those of docs/reports.md#afk-lessons, in its order: the
    /// CLI's errors list them so.
    #[test]
    fn the_names_are_reports_mds_in_its_order() {
        let cases: [(&[&str], &[&str]); 4] = [
            (LessonSource::NAMES, &["auto", "manual"]),
            (LessonStatus::NAMES, &["new", "in_progress", "closed"]),
            (Attribution::NAMES, &["platform", "repo", "both"]),
            (
                TargetDomain::NAMES,
                &["reliability", "quality", "speed", "cost", "security"],
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        let e = serde_json::from_str::<LessonStatus>("\"done\"").unwrap_err();
        assert!(
            e.to_string()
                .contains("\"done\" is not one of new, in_progress, closed"),
            "{e}"
        );
    }

    #[test]
    fn a_lesson_is_open_while_new_or_in_progress() {
        let cases = [
            (LessonStatus::New, true),
            (LessonStatus::InProgress, true),
            (LessonStatus::Closed, false),
        ];
        assert_eq!(cases.len(), LessonStatus::ALL.len());
        for (s, open) in cases {
            assert_eq!(s.is_open(), open, "{s}");
            assert_eq!(StatusFilter::Open.admits(s), open, "{s}");
        }
    }

    #[test]
    fn a_status_filter_admits_its_status_or_the_open_ones() {
        use LessonStatus::*;
        let cases = [
            (StatusFilter::Is(New), vec![New]),
            (StatusFilter::Is(InProgress), vec![InProgress]),
            (StatusFilter::Is(Closed), vec![Closed]),
            (StatusFilter::Open, vec![New, InProgress]),
        ];
        for (f, want) in cases {
            assert_eq!(f.statuses(), want, "{f:?}");
        }
    }

    #[test]
    fn statuses_sort_by_name_as_the_snapshot_lists_them() {
        let mut all = LessonStatus::ALL.to_vec();
        all.sort();
        let names: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["closed", "in_progress", "new"]);
    }

    #[test]
    fn a_lesson_built_field_by_field_is_automatic() {
        assert_eq!(LessonSource::default(), LessonSource::Auto);
    }
}
