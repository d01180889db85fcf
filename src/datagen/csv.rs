//! Fast CSV encoding of machine blocks: hand-written fixed-point floats and cached dates, no `format!`.

use std::io::{self, Write};

use super::detmath::round_i64;
use super::{MachineBlock, COLUMNS, FAILURE_MODES, SENSOR_COUNT};

/// Rows encoded between two writes to the output (~250 KB of CSV).
const ROWS_PER_WRITE: usize = 2048;

/// "00" "01" ... "99".
static DIGITS2: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Two digits of `v` (< 100).
#[inline]
fn push2(buf: &mut Vec<u8>, v: u64) {
    let i = (v % 100) as usize * 2;
    buf.extend_from_slice(&DIGITS2[i..i + 2]);
}

/// Decimal digits of `v`, no padding.
#[inline]
fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut pos = tmp.len();
    while v >= 100 {
        let i = (v % 100) as usize * 2;
        v /= 100;
        pos -= 2;
        tmp[pos..pos + 2].copy_from_slice(&DIGITS2[i..i + 2]);
    }
    if v >= 10 {
        let i = v as usize * 2;
        pos -= 2;
        tmp[pos..pos + 2].copy_from_slice(&DIGITS2[i..i + 2]);
    } else {
        pos -= 1;
        tmp[pos] = b'0' + v as u8;
    }
    buf.extend_from_slice(&tmp[pos..]);
}

/// Decimal digits of `v`, with fixed-size copies for the common short cases.
#[inline]
fn push_small(buf: &mut Vec<u8>, v: u64) {
    if v < 10 {
        buf.push(b'0' + v as u8);
    } else if v < 100 {
        push2(buf, v);
    } else if v < 1000 {
        buf.push(b'0' + (v / 100) as u8);
        push2(buf, v % 100);
    } else if v < 10_000 {
        push2(buf, v / 100);
        push2(buf, v % 100);
    } else {
        push_u64(buf, v);
    }
}

/// Appends `x` with exactly 3 decimals: `round(x * 1000)` (the f64 product, rounded half away
/// from zero), so 1.2345 -> "1.235" and 0.0005 -> "0.001". Values that round to zero are
/// written "0.000" (never "-0.000"). NaN appends nothing (an empty field = missing).
#[inline]
pub(super) fn push_fixed3(buf: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        return;
    }
    let scaled = x * 1000.0;
    if scaled.abs() >= 1e18 {
        push_fixed3_slow(buf, x);
        return;
    }
    let v = round_i64(scaled);
    if v < 0 {
        buf.push(b'-');
    }
    let u = v.unsigned_abs();
    push_small(buf, u / 1000);
    let f = u % 1000;
    buf.push(b'.');
    buf.push(b'0' + (f / 100) as u8);
    push2(buf, f % 100);
}

/// |x| >= 1e15 or infinite: never produced by the generator, handled for completeness.
#[cold]
fn push_fixed3_slow(buf: &mut Vec<u8>, x: f64) {
    if x.is_infinite() {
        buf.extend_from_slice(if x > 0.0 { b"inf" } else { b"-inf" });
    } else {
        // Writing into a Vec cannot fail.
        let _ = write!(buf, "{x:.3}");
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant).
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468; // |days| <= i64::MAX / 86400, no overflow
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m as u64, d as u64)
}

/// Encodes rows of a block; remembers the last date prefix ("YYYY-MM-DDT") between rows.
pub(super) struct Encoder {
    day: Option<i64>,
    date: Vec<u8>,
    id: Vec<u8>,
}

impl Encoder {
    pub(super) fn new() -> Self {
        Self {
            day: None,
            date: Vec::with_capacity(32),
            id: Vec::with_capacity(16),
        }
    }

    fn set_day(&mut self, day: i64) {
        let (y, m, d) = civil_from_days(day);
        let date = &mut self.date;
        date.clear();
        if (0..=9999).contains(&y) {
            push2(date, y as u64 / 100);
            push2(date, y as u64 % 100);
        } else {
            if y < 0 {
                date.push(b'-');
            }
            push_u64(date, y.unsigned_abs());
        }
        date.push(b'-');
        push2(date, m);
        date.push(b'-');
        push2(date, d);
        date.push(b'T');
        self.day = Some(day);
    }

    /// Appends rows `range` of `block` (already checked by [`check_block`]) to `buf`.
    pub(super) fn encode_rows(&mut self, block: &MachineBlock, range: std::ops::Range<usize>, buf: &mut Vec<u8>) {
        self.id.clear();
        self.id.push(b'M');
        if block.equipment < 10_000 {
            push2(&mut self.id, u64::from(block.equipment) / 100);
            push2(&mut self.id, u64::from(block.equipment) % 100);
        } else {
            push_u64(&mut self.id, u64::from(block.equipment));
        }
        let sensors: [&[f64]; SENSOR_COUNT] = std::array::from_fn(|s| &block.sensors[s][..]);
        for i in range {
            let t = block.timestamps[i];
            let day = t.div_euclid(86_400);
            let sod = t.rem_euclid(86_400) as u64;
            if self.day != Some(day) {
                self.set_day(day);
            }
            match self.date.len() {
                11 => buf.extend_from_slice(&self.date[..11]), // fixed size: no memcpy call
                _ => buf.extend_from_slice(&self.date),
            }
            push2(buf, sod / 3600);
            buf.push(b':');
            push2(buf, sod / 60 % 60);
            buf.push(b':');
            push2(buf, sod % 60);
            buf.push(b',');
            match self.id.len() {
                5 => buf.extend_from_slice(&self.id[..5]),
                _ => buf.extend_from_slice(&self.id),
            }
            for col in &sensors {
                buf.push(b',');
                push_fixed3(buf, col[i]);
            }
            buf.push(b',');
            push_small(buf, u64::from(block.failure_event[i]));
            buf.push(b',');
            if let Some(name) = usize::from(block.failure_mode[i])
                .checked_sub(1)
                .and_then(|k| FAILURE_MODES.get(k))
            {
                buf.extend_from_slice(name.as_bytes());
            }
            buf.push(b',');
            push_small(buf, u64::from(block.failure[i]));
            buf.push(b'\n');
        }
    }
}

/// Checks that all columns have the same length and that failure modes are 0..=3.
pub(super) fn check_block(block: &MachineBlock) -> io::Result<usize> {
    let n = block.timestamps.len();
    let same = block.sensors.iter().all(|s| s.len() == n)
        && block.failure_event.len() == n
        && block.failure_mode.len() == n
        && block.failure.len() == n;
    if !same {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "machine block columns have different lengths",
        ));
    }
    if let Some(bad) = block
        .failure_mode
        .iter()
        .find(|&&m| usize::from(m) > FAILURE_MODES.len())
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid failure_mode code {bad} (expected 0-3)"),
        ));
    }
    Ok(n)
}

/// Writes the header line.
pub fn write_csv_header(out: &mut impl Write) -> io::Result<()> {
    let mut line = COLUMNS.join(",");
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// Writes the rows of `block` (no header): numbers with 3 decimals, missing values as empty
/// fields. Rejects blocks whose columns differ in length or that hold unknown failure modes
/// (nothing is written then).
pub fn write_csv_block(out: &mut impl Write, block: &MachineBlock) -> io::Result<()> {
    let n = check_block(block)?;
    let mut enc = Encoder::new();
    let mut buf = Vec::with_capacity(ROWS_PER_WRITE * 160);
    let mut start = 0;
    while start < n {
        let end = n.min(start + ROWS_PER_WRITE);
        buf.clear();
        enc.encode_rows(block, start..end, &mut buf);
        out.write_all(&buf)?;
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(x: f64) -> String {
        let mut b = Vec::new();
        push_fixed3(&mut b, x);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn fixed_point_formatting() {
        assert_eq!(fixed(0.0), "0.000");
        assert_eq!(fixed(-0.0), "0.000");
        assert_eq!(fixed(-0.0004), "0.000"); // no negative zero
        assert_eq!(fixed(-0.0005), "-0.001"); // half away from zero
        assert_eq!(fixed(0.0005), "0.001");
        // 1.2345 is 1.23449999999999993... but 1.2345 * 1000.0 == 1234.5 exactly in f64,
        // which rounds half away from zero: "1.235" (std's `{:.3}` gives "1.234").
        assert_eq!(1.2345 * 1000.0, 1234.5);
        assert_eq!(fixed(1.2345), "1.235");
        assert_eq!(fixed(-1.2345), "-1.235");
        assert_eq!(fixed(1.2344), "1.234");
        assert_eq!(fixed(1e9), "1000000000.000");
        assert_eq!(fixed(-1e9), "-1000000000.000");
        assert_eq!(fixed(-3.25), "-3.250");
        assert_eq!(fixed(-12.0071), "-12.007");
        assert_eq!(fixed(0.05), "0.050");
        assert_eq!(fixed(1499.9996), "1500.000");
        assert_eq!(fixed(99.999), "99.999");
        assert_eq!(fixed(f64::NAN), "");
        assert_eq!(fixed(f64::INFINITY), "inf");
        assert_eq!(fixed(f64::NEG_INFINITY), "-inf");
        assert_eq!(fixed(1e16), "10000000000000000.000");
        assert_eq!(fixed(-1e300).len(), 306);
        assert_eq!(fixed(9.22e15), "9220000000000000.000");
    }

    #[test]
    fn integers_and_dates() {
        for v in [0u64, 7, 10, 99, 100, 999, 1000, 9999, 10_000, 12345, u64::MAX] {
            let mut b = Vec::new();
            push_u64(&mut b, v);
            push_small(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), format!("{v}{v}"));
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_723 + 59), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // Extreme timestamps must not panic.
        let _ = civil_from_days(i64::MAX / 86_400);
        let _ = civil_from_days(i64::MIN / 86_400 - 1);
    }

    #[test]
    fn block_rows_and_rejections() {
        let mut b = MachineBlock {
            equipment: 12,
            timestamps: vec![1_704_067_200, 1_704_067_200 + 86_400 + 3_723, -1],
            ..MachineBlock::default()
        };
        for (k, s) in b.sensors.iter_mut().enumerate() {
            *s = vec![k as f64, -0.5, f64::NAN];
        }
        b.failure_event = vec![0, 1, 0];
        b.failure_mode = vec![0, 3, 0];
        b.failure = vec![1, 1, 0];
        let mut out = Vec::new();
        write_csv_header(&mut out).unwrap();
        write_csv_block(&mut out, &b).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "2024-01-01T00:00:00,M0012,0.000,1.000,2.000,3.000,4.000,5.000,6.000,7.000,0,,1"
        );
        assert_eq!(
            lines[2],
            "2024-01-02T01:02:03,M0012,-0.500,-0.500,-0.500,-0.500,-0.500,-0.500,-0.500,-0.500,1,leak,1"
        );
        assert_eq!(lines[3], "1969-12-31T23:59:59,M0012,,,,,,,,,0,,0");

        b.equipment = 123_456;
        b.timestamps[0] = i64::MAX;
        let mut out = Vec::new();
        write_csv_block(&mut out, &b).unwrap();
        assert!(String::from_utf8(out).unwrap().contains(",M123456,"));

        let mut bad = b.clone();
        bad.failure_mode[0] = 4;
        let mut out = Vec::new();
        assert!(write_csv_block(&mut out, &bad).is_err());
        assert!(out.is_empty());
        let mut bad = b.clone();
        bad.sensors[5].pop();
        assert!(write_csv_block(&mut Vec::new(), &bad).is_err());
    }
}
