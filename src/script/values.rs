//! Script values as bmad's own code uses them: printed, or turned into an agent's output.
//! Rust's formatting of a value recurses into it on the native stack, so a value nested
//! deeper than [`MAX_PRINTED_DEPTH`] is refused before it is printed.

use super::EvalError;
use rhai::{Array, Dynamic, Map};

/// The deepest nesting of arrays and maps bmad prints or stores.
pub(super) const MAX_PRINTED_DEPTH: usize = 256;

/// Whether `value` nests arrays and maps more than `left` levels deep (the walk itself
/// goes at most `left` levels down).
fn deeper_than(value: &Dynamic, left: usize) -> bool {
    if value.is_array()
        && let Some(a) = value.read_lock::<Array>()
    {
        return left == 0 || a.iter().any(|v| deeper_than(v, left - 1));
    }
    if value.is_map()
        && let Some(m) = value.read_lock::<Map>()
    {
        return left == 0 || m.values().any(|v| deeper_than(v, left - 1));
    }
    false
}

/// `value` as text (strings as they are, other values as rhai prints them), refused when
/// it is nested too deeply to print safely.
///
/// # Errors
///
/// An [`EvalError`] when the value is nested too deeply.
pub fn printable(value: &Dynamic) -> Result<String, EvalError> {
    if deeper_than(value, MAX_PRINTED_DEPTH) {
        return Err(EvalError {
            message: format!(
                "the value is nested more than {MAX_PRINTED_DEPTH} levels deep: too deep to print"
            ),
            limit: None,
            position: None,
            span: None,
        });
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> Dynamic {
        let mut v = Dynamic::from(1_i64);
        for _ in 0..depth {
            v = Dynamic::from(vec![v]);
        }
        v
    }

    #[test]
    fn shallow_values_print_and_deep_ones_are_refused() {
        assert_eq!(printable(&nested(2)).unwrap(), "[[1]]");
        assert!(printable(&nested(MAX_PRINTED_DEPTH)).is_ok());
        let err = printable(&nested(MAX_PRINTED_DEPTH + 1)).unwrap_err();
        assert!(err.message.contains("too deep"), "{}", err.message);
    }
}
