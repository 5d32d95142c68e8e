//! Script values as bmad's own code uses them: printed, or turned into an agent's output.
//! Rust's formatting of a value recurses into it on the native stack, so a value nested
//! deeper than [`MAX_PRINTED_DEPTH`] is refused before it is printed.

use super::EvalError;
use rhai::{Array, Dynamic, Map};

/// The deepest nesting of arrays and maps bmad prints or stores.
pub(super) const MAX_PRINTED_DEPTH: usize = 256;

/// The deepest nesting (arrays, maps, closures and the values they capture) a value may
/// have to leave the evaluation that built it: deeper values are dropped on the
/// evaluation's own stack (see [`super::stack`]).
pub(super) const MAX_KEPT_DEPTH: usize = 256;

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

/// Whether `value` nests more than `left` levels deep through arrays, maps and function
/// pointers' curried values (closures' captures, shared or not). Each container is walked
/// again only with more levels left than before, so a value shared many times is not
/// walked once per path, and a value that holds itself ends the walk.
pub(super) fn nests_deeper_than(value: &Dynamic, left: usize) -> bool {
    let mut seen = std::collections::HashMap::new();
    deeper_through(value, left, &mut seen)
}

fn deeper_through(
    value: &Dynamic,
    left: usize,
    seen: &mut std::collections::HashMap<usize, usize>,
) -> bool {
    let mut first_time = |at: usize| match seen.insert(at, left) {
        Some(before) if before >= left => {
            seen.insert(at, before);
            false
        }
        _ => true,
    };
    if let Some(a) = value.read_lock::<Array>() {
        let at = std::ptr::from_ref::<Array>(&a) as usize;
        return first_time(at)
            && (left == 0 || a.iter().any(|v| deeper_through(v, left - 1, seen)));
    }
    if let Some(m) = value.read_lock::<Map>() {
        let at = std::ptr::from_ref::<Map>(&m) as usize;
        return first_time(at)
            && (left == 0 || m.values().any(|v| deeper_through(v, left - 1, seen)));
    }
    if let Some(f) = value.read_lock::<rhai::FnPtr>() {
        let at = std::ptr::from_ref::<rhai::FnPtr>(&f) as usize;
        return first_time(at)
            && f.iter_curry().next().is_some()
            && (left == 0 || f.iter_curry().any(|v| deeper_through(v, left - 1, seen)));
    }
    false
}

/// Drops, here, every value of `scope` that nests more than [`MAX_KEPT_DEPTH`] levels
/// (it becomes `()`): the scope outlives the evaluation's stack.
pub(super) fn keep_shallow(scope: &mut rhai::Scope) {
    let deep = |v: &Dynamic| nests_deeper_than(v, MAX_KEPT_DEPTH);
    if !scope.iter_raw().any(|(_, _, v)| deep(v)) {
        return;
    }
    for (name, value, _) in std::mem::take(scope) {
        let constant = value.is_read_only();
        let value = if deep(&value) { Dynamic::UNIT } else { value };
        if constant {
            scope.push_constant_dynamic(name, value);
        } else {
            scope.push_dynamic(name, value);
        }
    }
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
