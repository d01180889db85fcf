//! Durations as pipelines write them: `30s`, `10m`, `6h`, `1d`, `2w`.

/// `30s`, `10m`, `6h`, `1d`, `2w` in milliseconds.
pub fn duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("6h"), Some(6 * 3_600_000));
        assert_eq!(duration_ms("30m"), Some(1_800_000));
        assert_eq!(duration_ms("1d"), Some(86_400_000));
        assert_eq!(duration_ms("0h"), None);
        assert_eq!(duration_ms("6x"), None);
        assert_eq!(duration_ms("h"), None);
        assert_eq!(duration_ms("99999999999999999999d"), None);
    }
}
