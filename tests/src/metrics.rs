//! Reading values out of herald's Prometheus text exposition.

/// Suffixes of series that are not gauges of current state.
const NON_GAUGE_SUFFIXES: [&str; 5] = ["_total", "_count", "_sum", "_bucket", "_created"];

/// The sum of every sample whose metric name contains `fragment` and is not a counter or
/// histogram series (`_total`, `_count`, `_sum`, `_bucket`, `_created`).
pub fn gauge_sum(exposition: &str, fragment: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = &line[..name_end];
            let is_gauge = name.contains(fragment)
                && !NON_GAUGE_SUFFIXES
                    .iter()
                    .any(|suffix| name.ends_with(suffix));
            if !is_gauge {
                return None;
            }
            // The value follows the labels; a timestamp may follow the value.
            let after_labels = match line.rfind('}') {
                Some(close) => &line[close + 1..],
                None => &line[name_end..],
            };
            after_labels.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

/// The value of the one sample named exactly `series` (name and labels as rendered, e.g.
/// `herald_long_polls_total{outcome="first"}`), or `None` when there is none.
pub fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        if !rest.starts_with(' ') {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Waits up to `seconds` for the `herald_connections` gauges of `server` to sum to 0;
/// panics with the exposition when they do not.
pub fn assert_connections_drop_to_zero(server: &crate::HeraldProcess, seconds: u64) {
    let zero = crate::wait_until(crate::wait::deadline_in(seconds), || {
        gauge_sum(&server.admin_get("/metrics").1, "herald_connections") == 0.0
    });
    assert!(
        zero,
        "herald_connections did not return to 0 within {seconds}s:\n{}",
        server.admin_get("/metrics").1
    );
}

/// The sum of every sample of the metric named exactly `name` (any labels), counters included;
/// 0 when there is none.
pub fn sum_of(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = if rest.starts_with('{') {
                &rest[rest.rfind('}')? + 1..]
            } else if rest.starts_with(' ') {
                rest
            } else {
                return None;
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}
