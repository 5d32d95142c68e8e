//! The bundled price table (`std.prices`), loaded and lowered once: what every workflow's
//! prices fall back to, imported or not.

use crate::model::budget::Price;
use std::sync::OnceLock;

/// The prices of `std.prices`.
pub fn bundled() -> &'static [Price] {
    static PRICES: OnceLock<Vec<Price>> = OnceLock::new();
    PRICES.get_or_init(|| {
        let loaded = crate::load::load_text("<std.prices>", "import std.prices\n", None);
        let files = loaded
            .sources
            .files()
            .map(|(_, f)| f.name.clone())
            .collect();
        let (program, _) = super::lower(loaded.modules, files);
        program.default_prices
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_table_prices_the_clis_that_report_no_cost() {
        let codex = super::bundled()
            .iter()
            .find(|p| p.model.value == "codex")
            .expect("codex has a price");
        // A million input and a million output tokens of Codex's default model.
        assert!((codex.cost(1_000_000, 1_000_000, 0) - 11.25).abs() < 1e-9);
        assert!(super::bundled().iter().any(|p| p.model.value == "gemini"));
    }
}
