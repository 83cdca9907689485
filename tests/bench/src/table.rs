//! The results table: one row per figure with a column per server, the Herald/peer and
//! Herald/floor ratios, the target for that figure and whether it is met. Figures of
//! several runs are reduced to their median cell by cell.

use serde::Serialize;
use std::fmt::Write as _;

/// A target a row is checked against.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Check {
    /// Herald ≤ x × peer.
    PeerAtMost(f64),
    /// Herald ≥ x × peer.
    PeerAtLeast(f64),
    /// Herald ≤ x × floor.
    FloorAtMost(f64),
    /// Herald ≥ x × floor.
    FloorAtLeast(f64),
    /// Herald ≤ x.
    AtMost(f64),
    /// Herald ≥ x.
    AtLeast(f64),
    /// |Herald − x| ≤ 0.01.
    Equals(f64),
}

impl Check {
    fn text(self) -> String {
        let n = |x: f64| {
            let text = format!("{x:.2}");
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        };
        match self {
            Check::PeerAtMost(x) => format!("≤{}×peer", n(x)),
            Check::PeerAtLeast(x) => format!("≥{}×peer", n(x)),
            Check::FloorAtMost(x) => format!("≤{}×floor", n(x)),
            Check::FloorAtLeast(x) => format!("≥{}×floor", n(x)),
            Check::AtMost(x) => format!("≤{}", n(x)),
            Check::AtLeast(x) => format!("≥{}", n(x)),
            Check::Equals(x) => format!("={}", n(x)),
        }
    }

    fn holds(self, [herald, peer, floor]: [Option<f64>; 3]) -> Option<bool> {
        let h = herald?;
        Some(match self {
            Check::PeerAtMost(x) => h <= x * peer?,
            Check::PeerAtLeast(x) => h >= x * peer?,
            Check::FloorAtMost(x) => h <= x * floor?,
            Check::FloorAtLeast(x) => h >= x * floor?,
            Check::AtMost(x) => h <= x,
            Check::AtLeast(x) => h >= x,
            Check::Equals(x) => (h - x).abs() <= 0.01,
        })
    }
}

/// One figure for Herald, the socket.io peer and the floor.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What is measured, with its unit.
    pub metric: String,
    /// Herald, peer, floor (None: not measured for that server).
    pub values: [Option<f64>; 3],
    /// The targets.
    pub checks: Vec<Check>,
}

impl Row {
    /// A row.
    pub fn new(metric: impl Into<String>, values: [Option<f64>; 3], checks: Vec<Check>) -> Self {
        Self {
            metric: metric.into(),
            values,
            checks,
        }
    }

    fn ratio(&self, other: usize) -> Option<f64> {
        let (h, o) = (self.values[0]?, self.values[other]?);
        (o != 0.0).then(|| h / o)
    }

    /// `met`, `MISSED` or empty (no target or not measured).
    pub fn status(&self) -> &'static str {
        let results: Vec<Option<bool>> = self.checks.iter().map(|c| c.holds(self.values)).collect();
        if results.is_empty() || results.iter().any(Option::is_none) {
            ""
        } else if results.iter().all(|r| *r == Some(true)) {
            "met"
        } else {
            "MISSED"
        }
    }
}

/// The cell-by-cell median of the same rows from several runs.
pub fn median(runs: &[Vec<Row>]) -> Vec<Row> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut values = [None; 3];
            for (col, value) in values.iter_mut().enumerate() {
                let mut cells: Vec<f64> = runs
                    .iter()
                    .filter_map(|run| run.get(i).and_then(|r| r.values[col]))
                    .collect();
                cells.sort_by(f64::total_cmp);
                *value = cells.get(cells.len() / 2).copied();
            }
            Row {
                values,
                ..row.clone()
            }
        })
        .collect()
}

fn cell(value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn ratio_cell(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

/// The table as Markdown.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| metric | herald | socket.io | floor | herald/peer | herald/floor | target | status |\n|---|---:|---:|---:|---:|---:|---|---|\n",
    );
    for row in rows {
        let targets: Vec<String> = row.checks.iter().map(|c| c.text()).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.metric,
            cell(row.values[0]),
            cell(row.values[1]),
            cell(row.values[2]),
            ratio_cell(row.ratio(1)),
            ratio_cell(row.ratio(2)),
            targets.join(", "),
            row.status()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_ratios() {
        let row = Row::new(
            "x",
            [Some(10.0), Some(20.0), Some(9.0)],
            vec![Check::PeerAtMost(0.65), Check::FloorAtMost(1.15)],
        );
        assert_eq!(row.status(), "met");
        assert_eq!(row.ratio(1), Some(0.5));
        let missed = Row::new(
            "y",
            [Some(10.0), None, Some(5.0)],
            vec![Check::FloorAtMost(1.15)],
        );
        assert_eq!(missed.status(), "MISSED");
        let unknown = Row::new("z", [None, None, None], vec![Check::AtLeast(1.0)]);
        assert_eq!(unknown.status(), "");
    }

    #[test]
    fn median_per_cell() {
        let run = |h: f64| vec![Row::new("x", [Some(h), None, Some(1.0)], vec![])];
        let rows = median(&[run(3.0), run(1.0), run(2.0)]);
        assert_eq!(rows[0].values, [Some(2.0), None, Some(1.0)]);
        assert!(render(&rows).contains("| x | 2.00 | - | 1.00 | - | 2.00 |"));
    }
}
