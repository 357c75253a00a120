//! Kubernetes resource quantities: "500m" and "1.5" CPUs, "64Mi", "1G", "128974848", "129e6"
//! bytes. Suffixes are binary (Ki Mi Gi Ti Pi Ei), decimal (k M G T P E) or milli (m).

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A quantity as written (numbers in YAML are kept as their text).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity(pub String);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a quantity such as \"500m\", 1 or \"64Mi\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Quantity, E> {
                Ok(Quantity(s.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Quantity, E> {
                Ok(Quantity(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Quantity, E> {
                Ok(Quantity(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Quantity, E> {
                Ok(Quantity(n.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The value of a quantity, scaled: `scale` 1 gives the plain value (bytes), 1e9 gives
/// billionths (nano CPUs). None when the text is not a quantity or does not fit.
fn parse(s: &str, scale: f64) -> Option<i64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    if num.is_empty() || num.starts_with('-') || !num.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let v = (n * mult * scale).ceil();
    (v.is_finite() && v >= 0.0 && v < i64::MAX as f64).then_some(v as i64)
}

impl Quantity {
    /// Bytes (memory).
    pub fn bytes(&self) -> Option<i64> {
        parse(&self.0, 1.0)
    }

    /// Billionths of a CPU (docker's NanoCpus).
    pub fn nano_cpus(&self) -> Option<i64> {
        parse(&self.0, 1e9)
    }
}

/// Writes bytes back the way people write them ("64Mi", "1Gi", or plain bytes).
pub fn format_bytes(b: i64) -> String {
    for (suffix, unit) in [("Gi", 1i64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if b >= unit && b % unit == 0 {
            return format!("{}{suffix}", b / unit);
        }
    }
    b.to_string()
}

/// Writes nano CPUs back: "1", "2" or "500m".
pub fn format_cpus(nano: i64) -> String {
    if nano % 1_000_000_000 == 0 {
        (nano / 1_000_000_000).to_string()
    } else {
        format!("{}m", (nano + 999_999) / 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity(s.into())
    }

    #[test]
    fn memory() {
        assert_eq!(q("64Mi").bytes(), Some(64 << 20));
        assert_eq!(q("1G").bytes(), Some(1_000_000_000));
        assert_eq!(q("1.5Gi").bytes(), Some(3 << 29));
        assert_eq!(q("128974848").bytes(), Some(128_974_848));
        assert_eq!(q("129e6").bytes(), Some(129_000_000));
        assert_eq!(q("12Q").bytes(), None);
        assert_eq!(q("").bytes(), None);
        assert_eq!(q("-1Mi").bytes(), None);
        assert_eq!(q("Mi").bytes(), None);
    }

    #[test]
    fn cpu() {
        assert_eq!(q("500m").nano_cpus(), Some(500_000_000));
        assert_eq!(q("1").nano_cpus(), Some(1_000_000_000));
        assert_eq!(q("0.25").nano_cpus(), Some(250_000_000));
        assert_eq!(q("2.5").nano_cpus(), Some(2_500_000_000));
        assert_eq!(q("1x").nano_cpus(), None);
    }

    #[test]
    fn formats() {
        assert_eq!(format_bytes(64 << 20), "64Mi");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(format_cpus(500_000_000), "500m");
        assert_eq!(format_cpus(2_000_000_000), "2");
    }
}
