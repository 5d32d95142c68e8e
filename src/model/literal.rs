//! Typed literals: durations, sizes, percents, rates, core counts, plain numbers, cron.

use serde::Serialize;
use std::fmt;

/// A number with its unit, normalised (milliseconds, bytes, per hour).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "unit", content = "value", rename_all = "lowercase")]
pub enum Value {
    /// A plain number.
    Count(f64),
    /// A duration in milliseconds.
    Duration(u64),
    /// A size in bytes.
    Size(u64),
    /// A percentage, 0 to 100.
    Percent(f64),
    /// A rate, in events per hour.
    Rate(f64),
    /// CPU cores.
    Cores(f64),
    /// Money, in US dollars (`25 USD`).
    Money(f64),
    /// Tokens of a model's input or output (`2000000 tokens`).
    Tokens(f64),
}

/// The unit family of a [`Value`], used to say what a place expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A plain number.
    Count,
    /// A duration like `30s`.
    Duration,
    /// A size like `4GB`.
    Size,
    /// A percent like `80%`.
    Percent,
    /// A rate like `1000/hour`.
    Rate,
    /// Cores like `2 cores`.
    Cores,
    /// Money like `25 USD`.
    Money,
    /// Tokens like `2000000 tokens`.
    Tokens,
}

impl Kind {
    /// An example literal of this kind, for help texts.
    pub fn example(self) -> &'static str {
        match self {
            Kind::Count => "20",
            Kind::Duration => "30s",
            Kind::Size => "4GB",
            Kind::Percent => "80%",
            Kind::Rate => "1000/hour",
            Kind::Cores => "2 cores",
            Kind::Money => "25 USD",
            Kind::Tokens => "2000000 tokens",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Count => "a plain number",
            Kind::Duration => "a duration",
            Kind::Size => "a size",
            Kind::Percent => "a percent",
            Kind::Rate => "a rate",
            Kind::Cores => "a core count",
            Kind::Money => "an amount of money",
            Kind::Tokens => "a token count",
        })
    }
}

impl Value {
    /// The unit family.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Count(_) => Kind::Count,
            Value::Duration(_) => Kind::Duration,
            Value::Size(_) => Kind::Size,
            Value::Percent(_) => Kind::Percent,
            Value::Rate(_) => Kind::Rate,
            Value::Cores(_) => Kind::Cores,
            Value::Money(_) => Kind::Money,
            Value::Tokens(_) => Kind::Tokens,
        }
    }

    /// The value as a float in its normal unit (ms, bytes, percent, per hour, cores, US
    /// dollars, tokens).
    pub fn as_f64(&self) -> f64 {
        match *self {
            Value::Count(v)
            | Value::Percent(v)
            | Value::Rate(v)
            | Value::Cores(v)
            | Value::Money(v)
            | Value::Tokens(v) => v,
            Value::Duration(v) | Value::Size(v) => v as f64,
        }
    }
}

/// Why a literal is malformed, with help on what would be right.
#[derive(Debug, Clone, PartialEq)]
pub struct LiteralError {
    /// What is wrong.
    pub message: String,
    /// What would be right.
    pub help: String,
}

fn err(message: String, help: &str) -> LiteralError {
    LiteralError {
        message,
        help: help.to_string(),
    }
}

const UNITS_HELP: &str = "durations take ms, s, m, h, d or w (30s); sizes B, KB, MB, GB, TB or KiB, MiB, GiB, TiB (4GB); percents % (80%); rates /second, /minute, /hour or /day (1000/hour); cores `cores` (2 cores); money USD (25 USD); tokens `tokens` (2000000 tokens)";

/// Parses the text of a `quantity` token (`30s`, `4GB`, `80%`, `1000/hour`, `2 cores`, `20`).
///
/// # Errors
///
/// A [`LiteralError`] when the number or the unit is malformed, or the value is too large.
pub fn parse_quantity(text: &str) -> Result<Value, LiteralError> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    let number: f64 = cleaned
        .parse()
        .map_err(|_| err(format!("`{text}` is not a number"), UNITS_HELP))?;
    if !number.is_finite() || number > 1e15 {
        return Err(err(
            format!("`{digits}` is too large"),
            "use a number below 10^15",
        ));
    }
    let unit = unit.trim_start();
    let scaled = |factor: f64| -> Result<u64, LiteralError> {
        let v = number * factor;
        if v.is_finite() && v < u64::MAX as f64 {
            // In range, checked above; no literal is negative.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = v.round() as u64;
            Ok(n)
        } else {
            Err(err(format!("`{text}` is too large"), "use a smaller value"))
        }
    };
    Ok(match unit {
        "" => Value::Count(number),
        "ms" => Value::Duration(scaled(1.0)?),
        "s" | "sec" => Value::Duration(scaled(1e3)?),
        "m" | "min" => Value::Duration(scaled(60e3)?),
        "h" => Value::Duration(scaled(3_600e3)?),
        "d" => Value::Duration(scaled(86_400e3)?),
        "w" => Value::Duration(scaled(604_800e3)?),
        "B" => Value::Size(scaled(1.0)?),
        "KB" => Value::Size(scaled(1e3)?),
        "MB" => Value::Size(scaled(1e6)?),
        "GB" => Value::Size(scaled(1e9)?),
        "TB" => Value::Size(scaled(1e12)?),
        "KiB" => Value::Size(scaled(1024.0)?),
        "MiB" => Value::Size(scaled(1024.0 * 1024.0)?),
        "GiB" => Value::Size(scaled(1024.0 * 1024.0 * 1024.0)?),
        "TiB" => Value::Size(scaled(1024.0 * 1024.0 * 1024.0 * 1024.0)?),
        "%" if number <= 100.0 => Value::Percent(number),
        "%" => {
            return Err(err(
                format!("`{text}` is more than 100%"),
                "a percent is between 0% and 100%",
            ));
        }
        "cores" | "core" => Value::Cores(number),
        "USD" | "usd" => Value::Money(number),
        "tokens" | "token" => Value::Tokens(number.round()),
        rate if rate.starts_with('/') => {
            let per_hour = match &rate[1..] {
                "second" | "sec" | "s" => 3_600.0,
                "minute" | "min" | "m" => 60.0,
                "hour" | "h" => 1.0,
                "day" | "d" => 1.0 / 24.0,
                other => {
                    return Err(err(
                        format!("unknown rate period `{other}` in `{text}`"),
                        "a rate is a count per second, minute, hour or day, like 1000/hour",
                    ));
                }
            };
            Value::Rate(number * per_hour)
        }
        other => {
            let hint = match other.to_ascii_lowercase().as_str() {
                "gb" | "mb" | "kb" | "tb" => "sizes are written in capitals: 4GB, 512MB",
                _ => UNITS_HELP,
            };
            return Err(err(format!("unknown unit `{other}` in `{text}`"), hint));
        }
    })
}

const CRON_HELP: &str = "a cron expression has five fields, minute hour day-of-month month day-of-week (six with seconds first), like \"0 3 * * *\"";

/// Checks a cron expression (5 fields, or 6 with seconds), naming the field that is wrong.
///
/// # Errors
///
/// A [`LiteralError`] naming the field that is wrong, or the count of fields.
pub fn check_cron(expr: &str) -> Result<(), LiteralError> {
    // The fields with seconds first; five-field expressions start at the minute.
    const FIELDS: [(&str, u32, u32); 6] = [
        ("second", 0, 59),
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let names: &[(&str, u32, u32)] = match fields.len() {
        5 => &FIELDS[1..],
        6 => &FIELDS,
        _ if expr.trim_start().starts_with('@') => &[],
        n => {
            return Err(err(
                format!("invalid cron expression `{expr}`: {n} fields"),
                CRON_HELP,
            ));
        }
    };
    for (field, (name, lo, hi)) in fields.iter().zip(names) {
        for number in field
            .split([',', '-', '/'])
            .filter_map(|p| p.parse::<u32>().ok())
        {
            if number < *lo || number > *hi {
                return Err(err(
                    format!(
                        "invalid cron expression `{expr}`: {name} {number} is not in {lo}-{hi}"
                    ),
                    CRON_HELP,
                ));
            }
        }
    }
    expr.parse::<croner::Cron>()
        .map(|_| ())
        .map_err(|e| err(format!("invalid cron expression `{expr}`: {e}"), CRON_HELP))
}

/// Unescapes the inside of a `"..."` string (\n, \t, \", \\).
pub fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// [`human_ms`] of a duration (past 584 million years, the largest it shows).
pub fn human_duration(d: std::time::Duration) -> String {
    human_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `2d 3h`, `5m 12s`, `1h`, `150ms`: the two largest units, zero parts left out.
pub fn human_ms(ms: u64) -> String {
    let s = ms / 1000;
    let two = |big: u64, bu: &str, small: u64, su: &str| {
        if small == 0 {
            format!("{big}{bu}")
        } else {
            format!("{big}{bu} {small}{su}")
        }
    };
    match s {
        0 => format!("{ms}ms"),
        1..=59 => format!("{s}s"),
        60..=3599 => two(s / 60, "m", s % 60, "s"),
        3600..=86_399 => two(s / 3600, "h", s % 3600 / 60, "m"),
        _ => two(s / 86_400, "d", s % 86_400 / 3600, "h"),
    }
}

/// A typed value as written (`30s`, `80%`), or `?` for one that did not parse.
pub fn value_text(v: Option<Value>) -> String {
    v.map_or_else(|| "?".into(), |v| v.to_string())
}

impl fmt::Display for Value {
    /// The value as written: `30s`, `80%`, `512 B`, `12/hour`, `2 cores`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Duration(ms) => f.write_str(&human_ms(*ms)),
            Value::Percent(p) => write!(f, "{p}%"),
            Value::Size(b) => write!(f, "{b} B"),
            Value::Rate(r) => write!(f, "{r}/hour"),
            Value::Cores(c) => write!(f, "{c} cores"),
            Value::Count(c) => write!(f, "{c}"),
            Value::Money(m) => write!(f, "{m} USD"),
            Value::Tokens(t) => write!(f, "{t} tokens"),
        }
    }
}

/// A byte count for people: `4GB`, `512MB`, `1.5GB`.
pub fn human_size(bytes: u64) -> String {
    let units = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")];
    for (size, unit) in units {
        if bytes as f64 >= size {
            let v = bytes as f64 / size;
            return if v.fract() == 0.0 {
                format!("{v}{unit}")
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_normalise() {
        assert_eq!(parse_quantity("30s"), Ok(Value::Duration(30_000)));
        assert_eq!(parse_quantity("200ms"), Ok(Value::Duration(200)));
        assert_eq!(parse_quantity("5m"), Ok(Value::Duration(300_000)));
        assert_eq!(parse_quantity("1.5h"), Ok(Value::Duration(5_400_000)));
        assert_eq!(parse_quantity("4GB"), Ok(Value::Size(4_000_000_000)));
        assert_eq!(parse_quantity("1KiB"), Ok(Value::Size(1024)));
        assert_eq!(parse_quantity("80%"), Ok(Value::Percent(80.0)));
        assert_eq!(parse_quantity("1000/hour"), Ok(Value::Rate(1000.0)));
        assert_eq!(parse_quantity("2/minute"), Ok(Value::Rate(120.0)));
        assert_eq!(parse_quantity("2 cores"), Ok(Value::Cores(2.0)));
        assert_eq!(parse_quantity("2_cores"), Ok(Value::Cores(2.0)));
        assert_eq!(parse_quantity("10_000"), Ok(Value::Count(10_000.0)));
    }

    #[test]
    fn bad_literals_say_why() {
        assert!(
            parse_quantity("30x")
                .unwrap_err()
                .message
                .contains("unknown unit `x`")
        );
        assert!(parse_quantity("4gb").unwrap_err().help.contains("capitals"));
        assert!(
            parse_quantity("150%")
                .unwrap_err()
                .message
                .contains("more than 100%")
        );
        assert!(
            parse_quantity("5/fortnight")
                .unwrap_err()
                .message
                .contains("fortnight")
        );
        assert!(parse_quantity("1.2.3s").is_err());
        assert!(
            parse_quantity(&"9".repeat(400))
                .unwrap_err()
                .message
                .contains("too large")
        );
    }

    #[test]
    fn cron_is_validated() {
        assert!(check_cron("0 3 * * *").is_ok());
        assert!(check_cron("*/15 * * * 1-5").is_ok());
        assert!(check_cron("0 0 3 * * *").is_ok());
        assert!(
            check_cron("61 * * * *")
                .unwrap_err()
                .message
                .contains("minute 61 is not in 0-59")
        );
        assert!(
            check_cron("0 25 * * *")
                .unwrap_err()
                .message
                .contains("hour 25")
        );
        assert!(
            check_cron("0 3 * *")
                .unwrap_err()
                .message
                .contains("4 fields")
        );
        assert!(check_cron("every day").is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\"b\nc\\"#), "a\"b\nc\\");
    }
}
