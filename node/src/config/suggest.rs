//! "Did you mean ...?" for misspelt keys and variables.

use super::error::Suggestion;

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Suggestion {
    let limit = (name.chars().count() / 4).clamp(1, 3);
    Suggestion(
        candidates
            .map(|c| (distance(name, c), c))
            .filter(|(d, _)| *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| c.to_owned()),
    )
}

/// Levenshtein distance, counting an adjacent swap as one edit (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, distance};

    #[test]
    fn distances() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("HERALD_LISTNE", "HERALD_LISTEN"), 1);
    }

    #[test]
    fn suggests_only_near_misses() {
        let names = ["HERALD_LISTEN", "HERALD_ADMIN_LISTEN", "HERALD_HUBS"];
        assert_eq!(
            closest("HERALD_LISTNE", names.into_iter()).0.as_deref(),
            Some("HERALD_LISTEN")
        );
        assert_eq!(
            closest("HERALD_HUB", names.into_iter()).0.as_deref(),
            Some("HERALD_HUBS")
        );
        assert_eq!(closest("HERALD_REDIS_URL", names.into_iter()).0, None);
    }
}
