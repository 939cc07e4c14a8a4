//! Parsing of the command line's quantities: memory sizes, CPU counts, durations, GPU lists.

use std::time::Duration;

/// "2G", "512m", "1.5GiB", "1048576": binary units, as Docker reads them.
/// A size that may be zero (a reserve), else as `parse_memory`.
pub fn parse_size_or_zero(s: &str) -> Result<u64, String> {
    match s.trim() {
        "0" => Ok(0),
        _ => parse_memory(s),
    }
}

pub fn parse_memory(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (like 512M or 2G)"))?;
    let shift = match unit
        .to_ascii_lowercase()
        .trim_end_matches('b')
        .trim_end_matches('i')
    {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K, M, G or T)")),
    };
    let bytes = value * (1u64 << shift) as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("{s:?} is not a positive size"));
    }
    Ok(bytes as u64)
}

/// CPUs as millis: "1" -> 1000, "0.5" -> 500.
pub fn parse_cpus(s: &str) -> Result<u32, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a CPU count"))?;
    let millis = (v * 1000.0).round();
    if !(millis >= 1.0 && millis <= f64::from(u32::MAX)) {
        return Err(format!("{s:?} is not a positive CPU count"));
    }
    Ok(millis as u32)
}

/// "30s", "5m", "1h30m", "250ms".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration like 30s or 5m: {e}"))?;
    if d.is_zero() {
        return Err(format!("{s:?}: the duration must be positive"));
    }
    Ok(d)
}

/// "0,1,3" -> [0, 1, 3]; "" -> [].
pub fn parse_gpu_ids(s: &str) -> Result<Vec<u32>, String> {
    let mut ids: Vec<u32> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().map_err(|_| format!("{p:?} is not a GPU id")))
        .collect::<Result<_, _>>()?;
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != n {
        return Err(format!("{s:?} names a GPU twice"));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        let ok = [
            ("2G", 2u64 << 30),
            ("512m", 512 << 20),
            ("1.5GiB", 3 << 29),
            ("1024", 1024),
            ("4k", 4096),
        ];
        for (s, want) in ok {
            assert_eq!(parse_memory(s), Ok(want), "{s}");
        }
        for bad in ["", "G", "2X", "-1G", "0"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size_or_zero("0"), Ok(0));
        assert_eq!(parse_size_or_zero("2G"), Ok(2 << 30));
        assert!(parse_size_or_zero("-1").is_err());
    }

    #[test]
    fn cpus_durations_gpus() {
        assert_eq!(parse_cpus("0.5"), Ok(500));
        assert_eq!(parse_cpus("2"), Ok(2000));
        assert!(parse_cpus("0").is_err());
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_gpu_ids("1,0"), Ok(vec![0, 1]));
        assert_eq!(parse_gpu_ids(""), Ok(vec![]));
        assert!(parse_gpu_ids("0,0").is_err());
        assert!(parse_gpu_ids("a").is_err());
    }
}
