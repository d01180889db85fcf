//! The generative model: per-machine health/failure cycles and the sensor physics driven by them.
//!
//! ```text
//! Time: t_i = 2024-01-01T00:00:00Z + i * dt (UTC), dt = interval; hour-of-day phase
//! tod in [0, 1), weekly phase w in [0, 1), weekend = Saturday/Sunday.
//!
//! Health (one state h in [0, 1] per machine, independent RNG stream):
//!   cycle start : mode ~ U{bearing, overheat, leak};  h0 ~ U(0, 0.1)
//!                 T ~ LogNormal(ln M - s^2/2, s),  M = 8760 h / failure_rate,  s = 0.5
//!                 (T = target time to failure, E[T] = M = mean life)
//!   every step  : h += dt / L   (L = wear life of this cycle, see below)
//!   maintenance : with prob. p = 1%/day per machine: h = max(0, h - 0.5)
//!                 (q = -ln(1 - p) / 24 maintenances per hour)
//!   h >= 1      : failure event (with the cycle's mode), repair, next cycle
//!   L is chosen so that the expected time from h0 to 1 *including* maintenance knock-backs is
//!   T - dt/2, so the mean time between failures is M and events arrive at the requested rate.
//!   Solving the first-passage equation (T(h) = expected time to failure from h, a = 1/L)
//!       a T'(h) = q (T(h) - T(max(h - 0.5, 0))) - 1,  T(1) = 0
//!   piecewise on [0, 0.5] and [0.5, 1] gives, with beta = q L:
//!       q T(h0) = e^beta + e^(beta/2) (1 - beta/2) - 1 - e^(beta h0)
//!   (T(h0) -> (1 - h0) L as q -> 0), which is solved for beta per cycle (Newton). At t = 0 the fleet is already in steady state:
//!   each machine's health process is first run (event-driven) for 6-7 mean lives.
//!
//! Sensors, d = min(h, 1)^2 (degradation accelerates late), b = 1 if the cycle's mode is
//! bearing else 0 (same for o = overheat, l = leak). Per machine (drawn once, N clamped to
//! +-3 sd): A ~ 22 + N(0, 1), P0 ~ 6 + N(0, 0.3), V0 ~ 2 + N(0, 0.3), R0 ~ 1500 + N(0, 50),
//! Q0 ~ 40 + N(0, 5), Pt ~ N(0, 0.5). e_x = Gaussian noise with sd sigma_x.
//!   load       = 0.80 + 0.15 sin(2pi (tod - 0.25))   weekdays (peak at 12:00)
//!              = 0.65 + 0.05 sin(2pi (tod - 0.25))   weekends
//!   air        = A + 4 sin(2pi (tod - 0.375)) + 1 sin(2pi w)            (+ e, sd 0.3)
//!   process    = air* + 10 + Pt + 3 (load - 0.8) + 2 b d + 15 o d         (+ e, sd 0.3)
//!   pressure   = P0 - 2.0 l d                                             (+ e, sd 0.05)
//!   rpm*       = R0 (0.92 + 0.1 load)                                     (+ e, sd 8)
//!   torque*    = Q0 load / 0.8                                            (+ e, sd 1.0)
//!   vibration  = max(0, V0 rpm*/R0 + 6 b d + e)                           (sd 0.15)
//!   power*     = torque* rpm* 2pi / 60 / 1000 + 3 l d   [kW]              (+ e, sd 0.1)
//!   current    = 2 + 1.7 power* + 4 o d   [A, ~400 V 3-phase, pf 0.85]    (+ e, sd 0.2)
//!   (* = noise-free value; observed columns add their own noise.)
//!
//! Messiness (separate RNG stream, so it never changes the underlying values):
//!   spike   : each value independently, prob. spike_rate: value *= U(2, 4)
//!   dropout : per sensor, bursts of U{1..5} missing samples (NaN / empty field) starting with
//!             prob. m / (3 - 2m) per available sample, so the missing fraction is m.
//!
//! Label: failure_i = 1 iff the machine has an event at t_f with t_i <= t_f <= t_i + horizon
//! (events after the generated span are not known, so the final horizon is right-censored).
//! ```

use super::detmath::{exp, ln, sin_cos_turns};
use super::rng::{ln_1m, Rng};
use super::{GenOptions, MachineBlock, SENSOR_COUNT, START_EPOCH};

const HOURS_PER_YEAR: f64 = 8760.0;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const LIFE_SIGMA: f64 = 0.5;
const PM_PROB_PER_DAY: f64 = 0.01;
const WARMUP_LIVES: f64 = 6.0;
const MAX_WARMUP_EVENTS: u32 = 10_000;
const REPAIR_H_MAX: f64 = 0.1;

// Independent RNG streams per machine.
const STREAM_HEALTH: u32 = 0;
const STREAM_NOISE: u32 = 1;
const STREAM_MESS: u32 = 2;
const STREAM_BASELINE: u32 = 3;

const MODE_BEARING: u8 = 1;
const MODE_OVERHEAT: u8 = 2;
const MODE_LEAK: u8 = 3;

/// Noise standard deviation per sensor, in column order.
const NOISE_SD: [f64; SENSOR_COUNT] = [0.3, 0.3, 0.05, 0.15, 8.0, 1.0, 0.1, 0.2];

/// Health state of one machine; cloning it gives an identical future (used for look-ahead).
#[derive(Clone, Debug)]
struct Health {
    rng: Rng,
    /// Index of the sample the next `step` describes.
    index: u64,
    h: f64,
    /// Wear per hour (1/L) and per step (dt/L) of the current cycle.
    growth_per_hour: f64,
    growth: f64,
    mode: u8,
    next_pm: u64,
    dt_hours: f64,
    /// Mean life M in hours; +inf if failures are disabled.
    mean_life: f64,
    failures: bool,
    pm_rate_per_hour: f64,
    pm_log_q: f64,
}

#[derive(Clone, Copy, Debug)]
struct HealthSample {
    h: f64,
    mode: u8,
    event: bool,
}

impl Health {
    fn new(opts: &GenOptions, machine: u32) -> Self {
        let dt_hours = f64::from(opts.interval_secs) / 3600.0;
        let failures = opts.failure_rate_per_year > 0.0;
        let pm_log_day = ln_1m(PM_PROB_PER_DAY);
        let mut s = Self {
            rng: Rng::for_stream(opts.seed, machine, STREAM_HEALTH),
            index: 0,
            h: 0.0,
            growth_per_hour: 0.0,
            growth: 0.0,
            mode: MODE_BEARING,
            next_pm: 0,
            dt_hours,
            mean_life: if failures {
                HOURS_PER_YEAR / opts.failure_rate_per_year
            } else {
                f64::INFINITY
            },
            failures,
            pm_rate_per_hour: -pm_log_day / 24.0,
            pm_log_q: pm_log_day * dt_hours / 24.0,
        };
        s.warm_up();
        s.next_pm = s.rng.geometric(s.pm_log_q);
        s
    }

    /// Starts the fleet in steady state rather than freshly repaired: simulates the
    /// continuous-time health process (event-driven, so it is cheap) for a random
    /// 6-7 mean lives before t = 0.
    fn warm_up(&mut self) {
        self.begin_cycle();
        if !self.failures {
            return;
        }
        let q = self.pm_rate_per_hour;
        let mut remaining = self.mean_life * (WARMUP_LIVES + self.rng.next_f64());
        for _ in 0..MAX_WARMUP_EVENTS {
            let a = self.growth_per_hour;
            if !a.is_finite() {
                break; // fails at once, nothing to simulate
            }
            let to_pm = -ln(1.0 - self.rng.next_f64()) / q;
            let to_fail = if a > 0.0 { (1.0 - self.h) / a } else { f64::INFINITY };
            let dt = to_pm.min(to_fail);
            if dt >= remaining {
                self.h += a * remaining;
                break;
            }
            remaining -= dt;
            if to_fail <= to_pm {
                self.begin_cycle();
            } else {
                self.h = (self.h + a * dt - 0.5).max(0.0);
            }
        }
    }

    /// New failure cycle: mode, post-repair health h0 and the wear speed for this cycle.
    fn begin_cycle(&mut self) {
        self.mode = 1 + (self.rng.next_f64() * 3.0) as u8; // 1..=3
        let h0 = self.rng.uniform(0.0, REPAIR_H_MAX);
        let mu = ln(self.mean_life) - 0.5 * LIFE_SIGMA * LIFE_SIGMA;
        // Target time to failure; half a step is removed because an event is only seen at the
        // first sample with h >= 1 (on average half a step late).
        let target = (self.rng.log_normal(mu, LIFE_SIGMA) - 0.5 * self.dt_hours).max(0.0);
        self.growth_per_hour = if self.failures {
            growth_per_hour(h0, target, self.pm_rate_per_hour)
        } else {
            0.0
        };
        self.growth = self.dt_hours * self.growth_per_hour;
        self.h = h0;
    }

    /// Describes sample `self.index`, then advances to the next one.
    fn step(&mut self) -> HealthSample {
        if self.index == self.next_pm {
            self.h = (self.h - 0.5).max(0.0);
            let gap = self.rng.geometric(self.pm_log_q);
            self.next_pm = self.index.saturating_add(1).saturating_add(gap);
        }
        let sample = HealthSample {
            h: self.h.min(1.0),
            mode: self.mode,
            event: self.h >= 1.0,
        };
        if sample.event {
            self.begin_cycle(); // repaired during this interval ...
        }
        self.h += self.growth; // ... so the next sample already shows one step of wear
        self.index += 1;
        sample
    }
}

/// Wear speed a (per hour) such that the expected time for h to climb from `h0` to 1 is
/// `target` hours when maintenance arrives at rate `q` per hour and knocks h back by
/// min(h, 0.5). Solving the first-passage equation a T'(h) = q (T(h) - T(max(h - 0.5, 0))) - 1,
/// T(1) = 0 piecewise on [0, 0.5] and [0.5, 1] gives, with b = q / a (beta in the module docs),
///   q T(h0) = F(b) = e^b + e^(b/2) (1 - b/2) - 1 - e^(b h0),
/// which is increasing in b (F(b) >= (1 - h0) b), so a safeguarded Newton iteration finds b.
fn growth_per_hour(h0: f64, target: f64, q: f64) -> f64 {
    if target.is_nan() || target <= 0.0 {
        return f64::INFINITY;
    }
    if target.is_infinite() {
        return 0.0;
    }
    let y = q * target;
    if q <= 0.0 || y < 1e-8 {
        return (1.0 - h0) / target; // maintenance is negligible within one life
    }
    let f = |b: f64| exp(b) + exp(0.5 * b) * (1.0 - 0.5 * b) - 1.0 - exp(b * h0) - y;
    let df = |b: f64| exp(b) - 0.25 * b * exp(0.5 * b) - h0 * exp(b * h0);
    let (mut lo, mut hi) = (0.0, (y / (1.0 - h0)).min(700.0));
    if f(hi) < 0.0 {
        return q / hi; // astronomically long life: effectively never fails
    }
    let mut b = hi.min(ln(1.0 + y) + y / (1.0 + y));
    for _ in 0..100 {
        let fb = f(b);
        if fb.abs() <= 1e-13 * y {
            break;
        }
        if fb > 0.0 {
            hi = b;
        } else {
            lo = b;
        }
        if hi - lo <= 1e-15 * hi {
            break;
        }
        let newton = b - fb / df(b);
        b = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
    }
    q / b
}

/// sin/cos of a daily or weekly phase, memoised per sample position when the interval divides
/// the period (the values are bit-identical to computing them directly).
#[derive(Clone, Debug)]
struct Phase {
    period: i64,
    interval: i64,
    /// Empty = no memo; NaN = not computed yet.
    memo: Vec<(f64, f64)>,
}

impl Phase {
    const MAX_MEMO: i64 = 1 << 17;

    fn new(period: i64, interval: i64, samples: u64) -> Self {
        let steps = period / interval;
        let useful = period % interval == 0 && steps <= Self::MAX_MEMO && samples > steps as u64;
        Self {
            period,
            interval,
            memo: if useful {
                vec![(f64::NAN, f64::NAN); steps as usize]
            } else {
                Vec::new()
            },
        }
    }

    /// (sin, cos) of 2pi * (offset mod period) / period.
    #[inline]
    fn at(&mut self, offset: i64) -> (f64, f64) {
        let r = offset.rem_euclid(self.period);
        let direct = |r: i64| sin_cos_turns(r as f64 / self.period as f64);
        match self.memo.get_mut((r / self.interval) as usize) {
            Some(slot) => {
                if slot.0.is_nan() {
                    *slot = direct(r);
                }
                *slot
            }
            None => direct(r),
        }
    }
}

/// Per-machine constants, drawn once.
#[derive(Clone, Debug)]
struct Baseline {
    air: f64,
    process_offset: f64,
    pressure: f64,
    vibration: f64,
    rpm: f64,
    torque: f64,
}

impl Baseline {
    fn draw(rng: &mut Rng) -> Self {
        let mut n = |mean: f64, sd: f64| mean + sd * rng.normal().clamp(-3.0, 3.0);
        Self {
            air: n(22.0, 1.0),
            process_offset: n(0.0, 0.5),
            pressure: n(6.0, 0.3),
            vibration: n(2.0, 0.3),
            rpm: n(1500.0, 50.0),
            torque: n(40.0, 5.0),
        }
    }
}

/// Streaming generator for one machine: produces its samples in order, in chunks of any size.
#[derive(Clone, Debug)]
pub(super) struct MachineGen {
    equipment: u32,
    samples: u64,
    next: u64,
    interval: i64,
    horizon_steps: u64,
    health: Health,
    /// Runs ahead of `health` to find the next failure event (for the label).
    lead: Health,
    next_event: Option<u64>,
    noise: Rng,
    mess: Rng,
    base: Baseline,
    daily: Phase,
    weekly: Phase,
    spike_log_q: f64,
    miss_log_q: f64,
    spike_next: [u64; SENSOR_COUNT],
    miss_next: [u64; SENSOR_COUNT],
    miss_until: [u64; SENSOR_COUNT],
}

impl MachineGen {
    /// `machine` is the 0-based index (equipment number `machine + 1`). `None` if `opts` is invalid.
    pub(super) fn new(opts: &GenOptions, machine: u32) -> Option<Self> {
        opts.validate().ok()?;
        let health = Health::new(opts, machine);
        let mut mess = Rng::for_stream(opts.seed, machine, STREAM_MESS);
        let spike_log_q = ln_1m(opts.spike_rate);
        let m = opts.missing_rate;
        let miss_log_q = ln_1m(m / (3.0 - 2.0 * m));
        let spike_next = std::array::from_fn(|_| mess.geometric(spike_log_q));
        let miss_next = std::array::from_fn(|_| mess.geometric(miss_log_q));
        let interval = i64::from(opts.interval_secs);
        let samples = opts.samples_per_machine();
        Some(Self {
            equipment: machine.saturating_add(1),
            samples,
            next: 0,
            interval,
            horizon_steps: opts.horizon_secs / u64::from(opts.interval_secs),
            lead: health.clone(),
            health,
            next_event: None,
            noise: Rng::for_stream(opts.seed, machine, STREAM_NOISE),
            mess,
            base: Baseline::draw(&mut Rng::for_stream(opts.seed, machine, STREAM_BASELINE)),
            daily: Phase::new(DAY, interval, samples),
            weekly: Phase::new(WEEK, interval, samples),
            spike_log_q,
            miss_log_q,
            spike_next,
            miss_next,
            miss_until: [0; SENSOR_COUNT],
        })
    }

    /// Rows not generated yet.
    pub(super) fn remaining(&self) -> u64 {
        self.samples - self.next
    }

    /// Replaces `block`'s contents with the next (at most) `max_rows` samples; returns the count
    /// (0 when the machine is finished). Buffers are reused, so steady-state calls do not allocate.
    pub(super) fn fill(&mut self, block: &mut MachineBlock, max_rows: usize) -> usize {
        block.clear();
        block.equipment = self.equipment;
        let rows = usize::try_from(self.remaining()).unwrap_or(usize::MAX).min(max_rows);
        block.reserve(rows);
        for _ in 0..rows {
            let i = self.next;
            let offset = i as i64 * self.interval; // < 2^63: validated span <= 1e6 days
            let hs = self.health.step();
            let label = match self.next_event_from(i) {
                Some(e) => e - i <= self.horizon_steps,
                None => false,
            };
            let mut values = self.sensors(offset, hs);
            self.mess_up(i, &mut values);

            block.timestamps.push(START_EPOCH + offset);
            for (col, v) in block.sensors.iter_mut().zip(values) {
                col.push(v);
            }
            block.failure_event.push(u8::from(hs.event));
            block.failure_mode.push(if hs.event { hs.mode } else { 0 });
            block.failure.push(u8::from(label));
            self.next += 1;
        }
        rows
    }

    /// Index of the first failure event at or after sample `i` (within the generated span).
    fn next_event_from(&mut self, i: u64) -> Option<u64> {
        if let Some(e) = self.next_event {
            if e >= i {
                return Some(e);
            }
        }
        self.next_event = None;
        while self.lead.index < self.samples {
            let idx = self.lead.index;
            if self.lead.step().event && idx >= i {
                self.next_event = Some(idx);
                break;
            }
        }
        self.next_event
    }

    /// Noisy sensor values at `offset` seconds after the start, in column order.
    fn sensors(&mut self, offset: i64, hs: HealthSample) -> [f64; SENSOR_COUNT] {
        let weekend = offset.rem_euclid(WEEK) >= 5 * DAY; // offset 0 = Monday 2024-01-01
        let (sd, cd) = self.daily.at(offset);
        let (sw, _) = self.weekly.at(offset);
        let b = &self.base;
        // sin(2pi(tod - 0.25)) = -cos(2pi tod); sin(2pi(tod - 0.375)) = -(sin + cos) / sqrt 2
        let daily_load = -cd;
        let load = if weekend {
            0.65 + 0.05 * daily_load
        } else {
            0.80 + 0.15 * daily_load
        };
        let d = hs.h * hs.h;
        let (bearing, overheat, leak) = match hs.mode {
            MODE_BEARING => (d, 0.0, 0.0),
            MODE_OVERHEAT => (0.0, d, 0.0),
            MODE_LEAK => (0.0, 0.0, d),
            _ => (0.0, 0.0, 0.0),
        };

        let air = b.air - 4.0 * core::f64::consts::FRAC_1_SQRT_2 * (sd + cd) + sw;
        let process = air + 10.0 + b.process_offset + 3.0 * (load - 0.8) + 2.0 * bearing + 15.0 * overheat;
        let pressure = b.pressure - 2.0 * leak;
        let rpm = b.rpm * (0.92 + 0.1 * load);
        let torque = b.torque * load / 0.8;
        let vibration = b.vibration * rpm / b.rpm + 6.0 * bearing;
        let power = torque * rpm * (core::f64::consts::TAU / 60.0 / 1000.0) + 3.0 * leak;
        let current = 2.0 + 1.7 * power + 4.0 * overheat;

        let mut v = [air, process, pressure, vibration, rpm, torque, power, current];
        let mut z = [0.0; SENSOR_COUNT];
        self.noise.fill_normals(&mut z);
        for ((x, sd), z) in v.iter_mut().zip(NOISE_SD).zip(z) {
            *x += sd * z;
        }
        v[3] = v[3].max(0.0);
        v
    }

    /// Applies spikes and dropout bursts for sample `i` (skip-ahead: no per-value RNG calls).
    fn mess_up(&mut self, i: u64, values: &mut [f64; SENSOR_COUNT]) {
        for (s, v) in values.iter_mut().enumerate() {
            if i == self.spike_next[s] {
                *v *= self.mess.uniform(2.0, 4.0);
                let gap = self.mess.geometric(self.spike_log_q);
                self.spike_next[s] = i.saturating_add(1).saturating_add(gap);
            }
            if i == self.miss_next[s] {
                let len = 1 + (self.mess.next_f64() * 5.0) as u64; // 1..=5
                self.miss_until[s] = i + len;
                let gap = self.mess.geometric(self.miss_log_q);
                self.miss_next[s] = self.miss_until[s].saturating_add(gap);
            }
            if i < self.miss_until[s] {
                *v = f64::NAN;
            }
        }
    }
}

/// Generates all samples of machine `machine` (0-based index; the block's `equipment` is
/// `machine + 1`, written as `M0001` ...).
///
/// Deterministic: depends only on (options, machine index), never on threads or call order.
/// Returns an empty block if `opts` is invalid (see [`GenOptions::validate`]).
/// The whole machine is held in memory; `write_csv` streams it in chunks instead.
pub fn generate_machine(opts: &GenOptions, machine: u32) -> MachineBlock {
    let mut block = MachineBlock {
        equipment: machine.saturating_add(1),
        ..MachineBlock::default()
    };
    if let Some(mut mgen) = MachineGen::new(opts, machine) {
        let rows = usize::try_from(mgen.remaining()).unwrap_or(usize::MAX);
        mgen.fill(&mut block, rows);
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_generation_equals_one_shot() {
        let opts = GenOptions {
            equipment: 3,
            days: 20.0,
            ..GenOptions::default()
        };
        for m in 0..3 {
            let whole = generate_machine(&opts, m);
            let mut mgen = MachineGen::new(&opts, m).unwrap();
            let mut part = MachineBlock::default();
            let mut joined = MachineBlock::default();
            while mgen.fill(&mut part, 777) > 0 {
                joined.equipment = part.equipment;
                joined.timestamps.extend_from_slice(&part.timestamps);
                for (j, p) in joined.sensors.iter_mut().zip(&part.sensors) {
                    j.extend_from_slice(p);
                }
                joined.failure_event.extend_from_slice(&part.failure_event);
                joined.failure_mode.extend_from_slice(&part.failure_mode);
                joined.failure.extend_from_slice(&part.failure);
            }
            // NaN != NaN, so compare bit patterns.
            assert_eq!(format!("{whole:?}"), format!("{joined:?}"));
            assert_eq!(whole.len() as u64, opts.samples_per_machine());
        }
    }

    #[test]
    fn invalid_options_give_empty_block() {
        let opts = GenOptions {
            interval_secs: 0,
            ..GenOptions::default()
        };
        let b = generate_machine(&opts, 0);
        assert!(b.is_empty());
        assert_eq!(b.equipment, 1);
        assert!(!generate_machine(&GenOptions::default(), u32::MAX).is_empty());
    }

    #[test]
    fn growth_solver_hits_target_first_passage_time() {
        let q = -ln_1m(PM_PROB_PER_DAY) / 24.0;
        let mut rng = Rng::from_seed(99);
        for target in [5.0, 500.0, 1460.0, 8760.0, 87_600.0] {
            let h0 = 0.05;
            let a = growth_per_hour(h0, target, q);
            let b = q / a;
            let f = exp(b) + exp(0.5 * b) * (1.0 - 0.5 * b) - 1.0 - exp(b * h0);
            assert!((f / (q * target) - 1.0).abs() < 1e-9, "target {target}");
            // Monte Carlo of the continuous-time process.
            let n = 20_000;
            let mut total = 0.0;
            for _ in 0..n {
                let (mut h, mut t) = (h0, 0.0);
                loop {
                    let to_pm = -ln(1.0 - rng.next_f64()) / q;
                    let to_fail = (1.0 - h) / a;
                    if to_fail <= to_pm {
                        t += to_fail;
                        break;
                    }
                    t += to_pm;
                    h = (h + a * to_pm - 0.5).max(0.0);
                }
                total += t;
            }
            let mean = total / f64::from(n);
            assert!((mean / target - 1.0).abs() < 0.03, "{target}: {mean}");
        }
        assert_eq!(growth_per_hour(0.0, 0.0, q), f64::INFINITY);
        assert_eq!(growth_per_hour(0.0, f64::INFINITY, q), 0.0);
        assert!((growth_per_hour(0.0, 1e-12, q) - 1e12).abs() < 1.0);
        assert!(growth_per_hour(0.0, 1e300, q) > 0.0);
    }

    #[test]
    fn zero_failure_rate_means_no_events() {
        let opts = GenOptions {
            equipment: 5,
            days: 365.0,
            interval_secs: 3600,
            failure_rate_per_year: 0.0,
            ..GenOptions::default()
        };
        for m in 0..5 {
            let b = generate_machine(&opts, m);
            assert!(b.failure_event.iter().all(|&e| e == 0));
            assert!(b.failure.iter().all(|&e| e == 0));
        }
    }

    #[test]
    fn extreme_rates_do_not_break() {
        for rate in [1e-300, 1e-9, 1e6, 1e300] {
            let opts = GenOptions {
                equipment: 1,
                days: 3.0,
                failure_rate_per_year: rate,
                missing_rate: 0.999,
                spike_rate: 1.0,
                ..GenOptions::default()
            };
            let b = generate_machine(&opts, 0);
            assert_eq!(b.len() as u64, opts.samples_per_machine());
            assert!(b.sensors.iter().flatten().all(|v| !v.is_infinite()));
        }
    }
}
