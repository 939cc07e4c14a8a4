//! Medal thresholds and ranks by MLE-bench's rules (`mlebench/grade_helpers.py`, after
//! kaggle.com/progression): the leaderboard is in rank order, best first; lower is better when
//! its first score is below its last.

/// A competition's leaderboard scores, best first (as in `leaderboard.csv`). A missing score
/// is NaN: it keeps its position but does not count towards the median.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaderboard {
    scores: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub gold: f64,
    pub silver: f64,
    pub bronze: f64,
    pub median: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medal {
    Gold,
    Silver,
    Bronze,
    None,
}

impl Medal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gold => "gold",
            Self::Silver => "silver",
            Self::Bronze => "bronze",
            Self::None => "none",
        }
    }
}

/// Where a score lands on a leaderboard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rank {
    pub medal: Medal,
    /// Strictly better than the median.
    pub above_median: bool,
    pub thresholds: Thresholds,
    pub lower_is_better: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LeaderboardError {
    #[error("the leaderboard has no teams")]
    Empty,
}

impl Leaderboard {
    pub fn new(scores: Vec<f64>) -> Result<Self, LeaderboardError> {
        if scores.is_empty() {
            return Err(LeaderboardError::Empty);
        }
        Ok(Self { scores })
    }

    pub fn teams(&self) -> usize {
        self.scores.len()
    }

    pub fn lower_is_better(&self) -> bool {
        self.scores[0] < self.scores[self.scores.len() - 1]
    }

    /// The score at 1-based `position`, clamped into the leaderboard.
    fn at(&self, position: usize) -> f64 {
        self.scores[position.clamp(1, self.scores.len()) - 1]
    }

    pub fn thresholds(&self) -> Thresholds {
        let n = self.scores.len();
        // `int(n * f)` in Python truncates; so does `as usize` on a non-negative float.
        let frac = |f: f64| ((n as f64) * f) as usize;
        let (gold, silver, bronze) = match n {
            1..=99 => (frac(0.1).max(1), frac(0.2).max(1), frac(0.4).max(1)),
            100..=249 => (10, frac(0.2).max(1), frac(0.4).max(1)),
            250..=999 => (10 + frac(0.002), 50, 100),
            _ => (10 + frac(0.002), frac(0.05).max(1), frac(0.1).max(1)),
        };
        Thresholds {
            gold: self.at(gold),
            silver: self.at(silver),
            bronze: self.at(bronze),
            median: median(&self.scores),
        }
    }

    /// Ranks a score; `None` (no valid submission) wins nothing.
    pub fn rank(&self, score: Option<f64>) -> Rank {
        let thresholds = self.thresholds();
        let lower = self.lower_is_better();
        let reaches = |s: f64, t: f64| if lower { s <= t } else { s >= t };
        let (medal, above_median) = match score {
            None => (Medal::None, false),
            Some(s) => {
                let medal = if reaches(s, thresholds.gold) {
                    Medal::Gold
                } else if reaches(s, thresholds.silver) {
                    Medal::Silver
                } else if reaches(s, thresholds.bronze) {
                    Medal::Bronze
                } else {
                    Medal::None
                };
                let above = if lower {
                    s < thresholds.median
                } else {
                    s > thresholds.median
                };
                (medal, above)
            }
        };
        Rank {
            medal,
            above_median,
            thresholds,
            lower_is_better: lower,
        }
    }
}

/// pandas' `Series.median()`: NaN skipped, the mean of the middle two for an even count.
fn median(scores: &[f64]) -> f64 {
    let mut v: Vec<f64> = scores.iter().copied().filter(|s| !s.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores n..1 (higher is better) or 1..n (lower is better): position p has score n-p+1
    /// or p, so thresholds read back as positions.
    fn board(n: usize, lower: bool) -> Leaderboard {
        let scores = (1..=n)
            .map(|p| if lower { p as f64 } else { (n - p + 1) as f64 })
            .collect();
        Leaderboard::new(scores).unwrap()
    }

    fn positions(n: usize) -> (usize, usize, usize) {
        let t = board(n, true).thresholds();
        (t.gold as usize, t.silver as usize, t.bronze as usize)
    }

    #[test]
    fn thresholds_follow_the_team_count_bands() {
        let cases = [
            // 1-99: 10%, 20%, 40% (at least position 1)
            (1, (1, 1, 1)),
            (5, (1, 1, 2)),
            (50, (5, 10, 20)),
            (99, (9, 19, 39)),
            // 100-249: 10th, 20%, 40%
            (100, (10, 20, 40)),
            (249, (10, 49, 99)),
            // 250-999: 10 + 0.2%, 50th, 100th
            (250, (10, 50, 100)),
            (999, (11, 50, 100)),
            // 1000+: 10 + 0.2%, 5%, 10%
            (1000, (12, 50, 100)),
            (4321, (18, 216, 432)),
        ];
        for (n, want) in cases {
            assert_eq!(positions(n), want, "{n} teams");
        }
    }

    #[test]
    fn medals_are_tie_inclusive_and_above_median_is_strict() {
        let hi = board(50, false); // gold >= 46, silver >= 41, bronze >= 31, median 25.5
        let cases = [
            (Some(50.0), Medal::Gold, true),
            (Some(46.0), Medal::Gold, true),
            (Some(45.9), Medal::Silver, true),
            (Some(41.0), Medal::Silver, true),
            (Some(31.0), Medal::Bronze, true),
            (Some(30.0), Medal::None, true),
            (Some(25.5), Medal::None, false),
            (None, Medal::None, false),
        ];
        for (score, medal, above) in cases {
            let r = hi.rank(score);
            assert_eq!((r.medal, r.above_median), (medal, above), "{score:?}");
        }
        let lo = board(50, true); // gold <= 5, silver <= 10, bronze <= 20, median 25.5
        assert!(lo.lower_is_better());
        assert_eq!(lo.rank(Some(5.0)).medal, Medal::Gold);
        assert_eq!(lo.rank(Some(5.1)).medal, Medal::Silver);
        assert_eq!(lo.rank(Some(20.0)).medal, Medal::Bronze);
        assert!(lo.rank(Some(25.4)).above_median);
        assert!(!lo.rank(Some(25.5)).above_median);
    }

    #[test]
    fn median_skips_missing_scores() {
        let b = Leaderboard::new(vec![4.0, f64::NAN, 2.0, 1.0]).unwrap();
        assert_eq!(b.thresholds().median, 2.0);
        assert_eq!(Leaderboard::new(vec![]), Err(LeaderboardError::Empty));
    }
}
