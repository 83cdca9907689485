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
