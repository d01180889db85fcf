//! End-to-end tests of the generator: determinism, failure statistics, labels, signal, format.

use super::*;

fn csv_bytes(opts: &GenOptions, threads: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let rows = write_csv(opts, &mut out, threads, &mut |_, _| {}).unwrap();
    assert_eq!(rows, opts.rows());
    out
}

fn small() -> GenOptions {
    GenOptions {
        equipment: 7,
        days: 30.0,
        ..GenOptions::default()
    }
}

#[test]
fn same_options_give_identical_bytes_for_any_thread_count() {
    let opts = small();
    let a = csv_bytes(&opts, 1);
    assert_eq!(a, csv_bytes(&opts, 1));
    assert_eq!(a, csv_bytes(&opts, 4));
    assert_eq!(a, csv_bytes(&opts, 2));
    let other = GenOptions { seed: 8, ..small() };
    assert_ne!(a, csv_bytes(&other, 1));
    // Machine streams do not depend on how many machines are requested.
    let fewer = GenOptions {
        equipment: 3,
        ..small()
    };
    let b = csv_bytes(&fewer, 2);
    assert_eq!(&a[..b.len()], &b[..]);
}

#[test]
fn output_is_frozen() {
    // Guards "same seed => same bytes forever": any change to the RNG, math or model shows up.
    let opts = GenOptions {
        equipment: 3,
        days: 30.0,
        ..GenOptions::default()
    };
    let bytes = csv_bytes(&opts, 1);
    let hash = bytes.iter().fold(0xCBF2_9CE4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    }); // FNV-1a
    let text = String::from_utf8(bytes).unwrap();
    let first = text.lines().nth(1).unwrap();
    assert_eq!(first, FROZEN_FIRST_ROW, "first row changed");
    assert_eq!(hash, FROZEN_FNV, "output bytes changed");
}

const FROZEN_FIRST_ROW: &str = "2024-01-01T00:00:00,M0001,18.286,28.205,4.162,1.846,1538.375,35.280,8.492,16.453,0,,0";
const FROZEN_FNV: u64 = 0xC2EA_752E_8D79_2B26;

#[test]
fn failure_rate_matches_request() {
    for rate in [6.0, 24.0] {
        let opts = GenOptions {
            equipment: 200,
            days: 365.0,
            interval_secs: 3600,
            failure_rate_per_year: rate,
            missing_rate: 0.0,
            spike_rate: 0.0,
            ..GenOptions::default()
        };
        let events: u64 = (0..opts.equipment)
            .map(|m| {
                generate_machine(&opts, m)
                    .failure_event
                    .iter()
                    .map(|&e| u64::from(e))
                    .sum::<u64>()
            })
            .sum();
        let per_machine_year = events as f64 / (f64::from(opts.equipment) * opts.days / 365.0);
        assert!(
            (per_machine_year / rate - 1.0).abs() < 0.2,
            "rate {rate}: observed {per_machine_year}"
        );
    }
}

#[test]
fn labels_match_brute_force() {
    for (horizon_secs, interval_secs) in [(24 * 3600, 600), (3 * 3600 + 1, 900), (0, 600)] {
        let opts = GenOptions {
            equipment: 4,
            days: 120.0,
            interval_secs,
            horizon_secs,
            failure_rate_per_year: 20.0,
            ..GenOptions::default()
        };
        let mut positives = 0;
        for m in 0..opts.equipment {
            let b = generate_machine(&opts, m);
            assert_eq!(b.len() as u64, opts.samples_per_machine());
            let events: Vec<i64> = (0..b.len())
                .filter(|&i| b.failure_event[i] == 1)
                .map(|i| b.timestamps[i])
                .collect();
            assert!(!events.is_empty());
            for i in 0..b.len() {
                let t = b.timestamps[i];
                let expect = events.iter().any(|&tf| tf >= t && tf - t <= horizon_secs as i64);
                assert_eq!(b.failure[i] == 1, expect, "machine {m} row {i}");
                assert_eq!(b.failure_event[i] == 1, b.failure_mode[i] != 0);
                assert!(b.failure_mode[i] <= 3);
                positives += usize::from(b.failure[i]);
            }
        }
        assert!(positives > 0);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn degradation_is_learnable() {
    let opts = GenOptions {
        equipment: 30,
        days: 180.0,
        ..GenOptions::default()
    };
    let window = (12 * 3600 / opts.interval_secs) as usize;
    // (mode, sensor column, sign, minimum mean shift)
    let checks = [(1u8, 3usize, 1.0, 1.5), (2, 1, 1.0, 5.0), (3, 2, -1.0, 0.7)];
    let mut shifts: Vec<Vec<f64>> = vec![Vec::new(); 3];
    // Modes must not leak into each other's signature sensors.
    let mut cross: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for m in 0..opts.equipment {
        let b = generate_machine(&opts, m);
        for (k, &(_, col, _, _)) in checks.iter().enumerate() {
            let vals: Vec<f64> = b.sensors[col].iter().copied().filter(|v| !v.is_nan()).collect();
            let med = median(vals);
            for i in (window..b.len()).filter(|&i| b.failure_event[i] == 1) {
                let w: Vec<f64> = b.sensors[col][i - window..i]
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .collect();
                if w.is_empty() {
                    continue;
                }
                let shift = mean(&w) - med;
                if b.failure_mode[i] == checks[k].0 {
                    shifts[k].push(shift);
                } else {
                    cross[k].push(shift);
                }
            }
        }
    }
    for (k, &(mode, _, sign, min_shift)) in checks.iter().enumerate() {
        assert!(shifts[k].len() >= 10, "mode {mode}: only {} events", shifts[k].len());
        let s = sign * mean(&shifts[k]);
        let c = sign * mean(&cross[k]);
        assert!(s > min_shift, "mode {mode}: mean shift {s}");
        assert!(c < min_shift / 2.0, "mode {mode}: other modes shift {c}");
    }
}

#[test]
fn missing_fraction_and_csv_parse_back() {
    for missing_rate in [0.01, 0.2] {
        let opts = GenOptions {
            equipment: 20,
            days: 60.0,
            missing_rate,
            ..GenOptions::default()
        };
        let text = String::from_utf8(csv_bytes(&opts, 2)).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), COLUMNS.join(","));
        let (mut values, mut missing, mut rows) = (0u64, 0u64, 0u64);
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 13, "{line}");
            let ts = f[0].as_bytes();
            assert!(ts.len() == 19 && ts[4] == b'-' && ts[10] == b'T' && ts[13] == b':');
            assert!(f[1].starts_with('M') && f[1].len() == 5);
            for v in &f[2..10] {
                values += 1;
                if v.is_empty() {
                    missing += 1;
                } else {
                    let x: f64 = v.parse().unwrap();
                    assert!(x.is_finite());
                    assert_eq!(v.split('.').nth(1).map(str::len), Some(3), "{v}");
                }
            }
            assert!(f[10] == "0" || f[10] == "1");
            assert!(["", "bearing", "overheat", "leak"].contains(&f[11]));
            assert_eq!(f[10] == "1", !f[11].is_empty());
            assert!(f[12] == "0" || f[12] == "1");
            rows += 1;
        }
        assert_eq!(rows, opts.rows());
        let frac = missing as f64 / values as f64;
        assert!(
            (frac / missing_rate - 1.0).abs() < 0.3,
            "missing fraction {frac} for rate {missing_rate}"
        );
    }
    // No missing values at all when the rate is 0.
    let opts = GenOptions {
        equipment: 2,
        days: 10.0,
        missing_rate: 0.0,
        ..GenOptions::default()
    };
    assert!(!String::from_utf8(csv_bytes(&opts, 1)).unwrap().contains(",,,"));
}

#[test]
fn timestamps_start_2024_and_step_by_interval() {
    let opts = GenOptions {
        equipment: 1,
        days: 3.0,
        interval_secs: 7,
        ..GenOptions::default()
    };
    let b = generate_machine(&opts, 0);
    assert_eq!(b.timestamps[0], START_EPOCH);
    assert!(b.timestamps.windows(2).all(|w| w[1] - w[0] == 7));
    let text = String::from_utf8(csv_bytes(&opts, 1)).unwrap();
    assert!(text.lines().nth(1).unwrap().starts_with("2024-01-01T00:00:00,M0001,"));
    assert!(text.lines().nth(2).unwrap().starts_with("2024-01-01T00:00:07,M0001,"));
}

#[test]
fn validate_rejects_bad_options() {
    let ok = GenOptions::default();
    assert_eq!(ok.validate(), Ok(()));
    assert_eq!(ok.samples_per_machine(), 12_960);
    assert_eq!(ok.rows(), 648_000);
    let cases: Vec<(GenOptions, &str)> = vec![
        (
            GenOptions {
                equipment: 0,
                ..ok.clone()
            },
            "--equipment",
        ),
        (
            GenOptions {
                days: 0.0,
                ..ok.clone()
            },
            "--days",
        ),
        (
            GenOptions {
                days: -1.0,
                ..ok.clone()
            },
            "--days",
        ),
        (
            GenOptions {
                days: f64::NAN,
                ..ok.clone()
            },
            "--days",
        ),
        (
            GenOptions {
                days: f64::INFINITY,
                ..ok.clone()
            },
            "--days",
        ),
        (
            GenOptions {
                days: 2e6,
                ..ok.clone()
            },
            "--days",
        ),
        (
            GenOptions {
                interval_secs: 0,
                ..ok.clone()
            },
            "--interval",
        ),
        (
            GenOptions {
                days: 0.001,
                ..ok.clone()
            },
            "--interval",
        ),
        (
            GenOptions {
                failure_rate_per_year: -1.0,
                ..ok.clone()
            },
            "--failure-rate",
        ),
        (
            GenOptions {
                failure_rate_per_year: f64::NAN,
                ..ok.clone()
            },
            "--failure-rate",
        ),
        (
            GenOptions {
                missing_rate: -0.1,
                ..ok.clone()
            },
            "--missing-rate",
        ),
        (
            GenOptions {
                missing_rate: 1.0,
                ..ok.clone()
            },
            "--missing-rate",
        ),
        (
            GenOptions {
                spike_rate: -0.001,
                ..ok.clone()
            },
            "--spike-rate",
        ),
        (
            GenOptions {
                spike_rate: 1.5,
                ..ok.clone()
            },
            "--spike-rate",
        ),
        (
            GenOptions {
                equipment: 200_000,
                days: 1000.0,
                interval_secs: 60,
                ..ok.clone()
            },
            "maximum",
        ),
        (
            GenOptions {
                equipment: u32::MAX,
                days: 1e6,
                interval_secs: 1,
                ..ok.clone()
            },
            "maximum",
        ),
    ];
    for (opts, needle) in cases {
        let err = opts.validate().unwrap_err();
        assert!(err.0.contains(needle), "{opts:?}: {err}");
    }
    // Exactly at the limit is fine.
    let at_limit = GenOptions {
        equipment: 20_000,
        days: 100_000.0 * 600.0 / 86_400.0,
        interval_secs: 600,
        ..ok.clone()
    };
    assert_eq!(at_limit.rows(), MAX_ROWS);
    assert_eq!(at_limit.validate(), Ok(()));
    // Accepted edge values.
    for opts in [
        GenOptions {
            failure_rate_per_year: 0.0,
            ..ok.clone()
        },
        GenOptions {
            missing_rate: 0.0,
            spike_rate: 1.0,
            ..ok.clone()
        },
        GenOptions {
            horizon_secs: u64::MAX,
            interval_secs: u32::MAX,
            days: 1e6,
            ..ok.clone()
        },
    ] {
        assert_eq!(opts.validate(), Ok(()), "{opts:?}");
    }
}
