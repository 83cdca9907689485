//! Feed ranges as partition names, and which ranges take over a lease whose range split.
//!
//! A partition is named by its effective-partition-key bounds in hex, `<min>..<max>` (the
//! first range starts at the empty key: `..3FFF…`): short, readable in logs and metric labels,
//! and stable across SDK versions, unlike the SDK's base64 JSON form.
//!
//! Successors: a lease's range that now spans several physical ranges (a split) is replaced
//! by its intersections with them, which together cover it exactly, so each successor resumes
//! from the lease's continuation (the SDK maps a parent's continuation onto a child's part of
//! it) and no other lease's range is touched. A range that lies inside one physical range
//! (unchanged, or merged with a neighbour) is kept: the SDK reads it as an EPK-scoped slice
//! from its own continuation, which is lossless, whereas handing a merged range's lease to
//! the merged range would restart the neighbour's part from `start_from`.

use azure_data_cosmos::feed::FeedRange;
use azure_data_cosmos_driver::models::EffectivePartitionKey;

/// What a partition name looks like, for error messages.
pub(crate) const NAME_SHAPE: &str = "feed ranges are named <min>..<max> in hex, such as ..3FFF";

/// The partition name of `range`.
pub(crate) fn name(range: &FeedRange) -> String {
    format!(
        "{}..{}",
        range.min_inclusive().to_hex(),
        range.max_exclusive().to_hex()
    )
}

/// The feed range a partition name stands for; `None` when it names none.
pub(crate) fn parse(name: &str) -> Option<FeedRange> {
    let (min, max) = name.split_once("..")?;
    let min = EffectivePartitionKey::try_from(min).ok()?;
    let max = EffectivePartitionKey::try_from(max).ok()?;
    if min >= max {
        return None;
    }
    FeedRange::new(min, max).ok()
}

/// The ranges that replace `lease` given the container's current physical ranges, in key
/// order; `None` while `lease` still lies within one of them, or when `current` does not
/// cover it without gaps (a topology read mid-change: better to ask again than to lose the
/// gap).
pub(crate) fn successors(lease: &FeedRange, current: &[FeedRange]) -> Option<Vec<FeedRange>> {
    let mut pieces: Vec<FeedRange> = current
        .iter()
        .filter(|range| range.overlaps(lease))
        .filter_map(|range| intersection(lease, range))
        .collect();
    pieces.sort_by(|a, b| a.min_inclusive().cmp(b.min_inclusive()));
    pieces.dedup();
    if pieces.len() < 2 {
        return None;
    }
    let starts_at_lease = pieces.first()?.min_inclusive() == lease.min_inclusive();
    let ends_at_lease = pieces.last()?.max_exclusive() == lease.max_exclusive();
    let contiguous = pieces
        .windows(2)
        .all(|pair| pair[0].max_exclusive() == pair[1].min_inclusive());
    (starts_at_lease && ends_at_lease && contiguous).then_some(pieces)
}

/// Of the partitions `listed` (what [`partitions`](crate::feed::ChangeSource::partitions)
/// returned), those that need a new lease given the feed's `existing` lease partitions: the
/// ones no existing lease overlaps. After a split or merge, existing leases still cover
/// their old ranges (a split one is handed over when it is next read; a merged one reads on
/// as a slice), so a lease for a listed range they overlap would read the same changes twice,
/// or, created without a checkpoint, from `start_from` instead of where they stopped.
/// Partitions that are not feed ranges are ignored.
pub fn partitions_to_create(existing: &[String], listed: &[String]) -> Vec<String> {
    let existing: Vec<FeedRange> = existing.iter().filter_map(|name| parse(name)).collect();
    listed
        .iter()
        .filter(|name| {
            parse(name).is_some_and(|range| !existing.iter().any(|e| e.overlaps(&range)))
        })
        .cloned()
        .collect()
}

/// The part of `a` that is also in `b`, if any.
fn intersection(a: &FeedRange, b: &FeedRange) -> Option<FeedRange> {
    let min = a.min_inclusive().max(b.min_inclusive()).clone();
    let max = a.max_exclusive().min(b.max_exclusive()).clone();
    if min >= max {
        return None;
    }
    FeedRange::new(min, max).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> FeedRange {
        parse(text).unwrap_or_else(|| panic!("{text} is a range"))
    }

    fn names(ranges: &[FeedRange]) -> Vec<String> {
        ranges.iter().map(name).collect()
    }

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        for text in ["..40", "40..80", "80..FF", "..FF", "05C1D0..05C1E0"] {
            assert_eq!(name(&range(text)), text);
        }
        assert_eq!(name(&FeedRange::full()), "..FF");
        assert_eq!(range("0a..0b"), range("0A..0B"), "hex is case-insensitive");
        for bad in [
            "", "0", "..", "40", "40..", "x..FF", "4..FF", "80..40", "40..40", "1/2", "0..1..2",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_split_range_is_replaced_by_its_children() {
        let current = [
            range("..20"),
            range("20..40"),
            range("40..80"),
            range("80..FF"),
        ];
        let children = successors(&range("..40"), &current).unwrap();
        assert_eq!(names(&children), ["..20", "20..40"]);
        let children = successors(&range("..FF"), &current).unwrap();
        assert_eq!(names(&children), ["..20", "20..40", "40..80", "80..FF"]);
    }

    #[test]
    fn a_range_within_one_physical_range_is_kept() {
        let current = [range("..40"), range("40..FF")];
        assert_eq!(successors(&range("..40"), &current), None, "unchanged");
        assert_eq!(successors(&range("40..80"), &current), None, "merged");
        assert_eq!(successors(&range("50..60"), &current), None, "a slice");
    }

    #[test]
    fn successors_stay_inside_the_lease_range() {
        // A split and a merge at once: the lease [20, 60) now straddles [..40) and [40..FF).
        let current = [range("..40"), range("40..FF")];
        let pieces = successors(&range("20..60"), &current).unwrap();
        assert_eq!(names(&pieces), ["20..40", "40..60"]);
    }

    #[test]
    fn only_ranges_no_lease_covers_get_new_leases() {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let listed = owned(&["..20", "20..40", "40..FF"]);
        assert_eq!(partitions_to_create(&[], &listed), listed, "a new feed");
        // [..40) split into [..20) and [20..40): its lease hands over when next read.
        assert_eq!(
            partitions_to_create(&owned(&["..40", "40..FF"]), &listed),
            Vec::<String>::new()
        );
        // [40..80) and [80..FF) merged: both leases read on.
        assert_eq!(
            partitions_to_create(
                &owned(&["..40", "40..80", "80..FF"]),
                &owned(&["..40", "40..FF"])
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            partitions_to_create(
                &owned(&["..40", "garbage"]),
                &owned(&["..40", "40..FF", "x"])
            ),
            owned(&["40..FF"])
        );
    }

    #[test]
    fn a_topology_with_gaps_replaces_nothing() {
        let current = [range("..20"), range("30..40")];
        assert_eq!(successors(&range("..40"), &current), None);
        assert_eq!(successors(&range("..40"), &[]), None);
        let current = [range("10..20"), range("20..40")];
        assert_eq!(
            successors(&range("..40"), &current),
            None,
            "gap at the start"
        );
        let current = [range("..20"), range("20..30")];
        assert_eq!(successors(&range("..40"), &current), None, "gap at the end");
    }
}
