//! Numbers in the units people read: a time in the unit that fits it (ns,
//! µs, ms or s) with four significant digits, bytes in binary units, large
//! counts in k and M. Every report (READMEs, comparisons, trends, list, the
//! page) formats its values here.

/// Formats a value of a measure in its unit, readably: a time in the unit
/// that fits it (`110.0 µs`, not `0.1 ms`), bytes in binary units.
pub fn format_value(value: f64, unit: &str) -> String {
    if let Some(seconds) = seconds_per(unit) {
        return format_seconds(value * seconds);
    }
    match unit {
        "B" => format_bytes(value),
        _ if value.abs() >= 1e6 => format!("{:.3}M {unit}", value / 1e6),
        _ if value.abs() >= 1e4 => format!("{:.1}k {unit}", value / 1e3),
        _ if value.fract() == 0.0 => format!("{value:.0} {unit}"),
        _ => format!("{value:.3} {unit}"),
    }
    .trim_end()
    .to_string()
}

/// Seconds in one of a time unit (`s`, `ms`, `µs` or `us`, `ns`); None
/// for any other unit.
pub fn seconds_per(unit: &str) -> Option<f64> {
    match unit {
        "s" => Some(1.0),
        "ms" => Some(1e-3),
        "µs" | "us" => Some(1e-6),
        "ns" => Some(1e-9),
        _ => None,
    }
}

/// The time unit (ns, µs, ms or s) to show `seconds` in, and its size in
/// seconds: the largest whose value is at least 1.
pub fn time_unit(seconds: f64) -> (f64, &'static str) {
    match seconds.abs() {
        s if s >= 1.0 => (1.0, "s"),
        s if s >= 1e-3 => (1e-3, "ms"),
        s if s >= 1e-6 => (1e-6, "µs"),
        _ => (1e-9, "ns"),
    }
}

/// A duration in the unit that fits it, with four significant digits
/// (`110.0 µs`, `12.35 ms`, `1.500 s`): a change of a third reads as such
/// (`160.0 µs → 110.0 µs`), where a fixed unit would round both to `0.1 ms`.
/// Rounded before the unit is chosen, so that 0.99996 s reads `1.000 s`.
pub fn format_seconds(seconds: f64) -> String {
    if !seconds.is_finite() {
        return format!("{seconds} s");
    }
    if seconds == 0.0 {
        return "0 s".into();
    }
    let digits = 10f64.powi(seconds.abs().log10().floor() as i32 - 3);
    let rounded = (seconds / digits).round() * digits;
    let (size, unit) = time_unit(rounded);
    let value = rounded / size;
    let decimals = match value.abs() {
        v if v >= 1000.0 => 0,
        v if v >= 100.0 => 1,
        v if v >= 10.0 => 2,
        _ => 3,
    };
    format!("{value:.decimals$} {unit}")
}

pub fn format_bytes(bytes: f64) -> String {
    let (divisor, unit) = byte_unit(bytes);
    if divisor == 1.0 {
        format!("{bytes:.0} B")
    } else {
        format!("{:.2} {unit}", bytes / divisor)
    }
}

/// The binary unit (B, KiB, MiB, …) to show `bytes` in, and its size.
pub fn byte_unit(bytes: f64) -> (f64, &'static str) {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes.abs() >= 1024f64.powi(unit as i32 + 1) {
        unit += 1;
    }
    (1024f64.powi(unit as i32), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_units() {
        assert_eq!(format_value(0.0123, "s"), "12.30 ms");
        assert_eq!(format_value(1.5, "s"), "1.500 s");
        assert_eq!(format_value(2048.0, "B"), "2.00 KiB");
        assert_eq!(format_value(1_532_418.0, "records/s"), "1.532M records/s");
        assert_eq!(format_value(200.0, "records"), "200 records");
        assert_eq!(format_bytes(72.05e6), "68.71 MiB");
    }

    #[test]
    fn times_in_the_unit_that_fits_with_four_significant_digits() {
        for (seconds, shown) in [
            (110e-6, "110.0 µs"),
            (160e-6, "160.0 µs"),
            (0.2, "200.0 ms"),
            (0.012345, "12.35 ms"),
            (0.0012344, "1.234 ms"),
            (5.283_371_75e-3, "5.283 ms"),
            (999.4e-6, "999.4 µs"),
            // Rounding to four digits carries into the next unit.
            (999.96e-6, "1.000 ms"),
            (0.999_96, "1.000 s"),
            (1.5, "1.500 s"),
            (12.3456, "12.35 s"),
            (1234.4, "1234 s"),
            (42e-9, "42.00 ns"),
            (0.25e-9, "0.250 ns"),
            (0.0, "0 s"),
            (-110e-6, "-110.0 µs"),
        ] {
            assert_eq!(format_seconds(seconds), shown, "{seconds}");
        }
        // Other time units are shown the same way.
        assert_eq!(format_value(110.0, "µs"), "110.0 µs");
        assert_eq!(format_value(15_000.0, "µs"), "15.00 ms");
        assert_eq!(format_value(15_000.0, "us"), "15.00 ms");
        assert_eq!(format_value(0.5, "ms"), "500.0 µs");
        assert_eq!(format_value(2500.0, "ns"), "2.500 µs");
        assert_eq!(format_value(f64::NAN, "s"), "NaN s");
        assert_eq!(time_unit(3e-7), (1e-9, "ns"));
    }
}
