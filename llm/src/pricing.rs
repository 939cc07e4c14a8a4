//! What an answer cost, from a small built-in table of list prices.
//!
//! The figures are OpenAI's published list prices per million tokens at the time of writing
//! (2025), for standard (not batch, not cached-input) processing. They go stale: override them
//! per endpoint with [`crate::OpenAiConfig::prices`]. A model not in the table — a self-hosted
//! model, another vendor's, or a dated snapshot such as `gpt-4o-2024-05-13`, whose price can
//! differ from its alias's — costs 0: a cost of 0 means "unknown", not "free".

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Price {
    pub fn cost_usd(self, tokens_in: u64, tokens_out: u64) -> f64 {
        (tokens_in as f64 * self.input_per_mtok + tokens_out as f64 * self.output_per_mtok) / 1e6
    }
}

/// (model, input, output), dollars per million tokens.
const LIST_PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("o3", 2.00, 8.00),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    ("gpt-5", 1.25, 10.00),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5-nano", 0.05, 0.40),
];

/// The built-in list price of `model`, matched exactly.
pub fn list_price(model: &str) -> Option<Price> {
    LIST_PRICES.iter().find(|(name, _, _)| *name == model).map(
        |&(_, input_per_mtok, output_per_mtok)| Price {
            input_per_mtok,
            output_per_mtok,
        },
    )
}

/// The cost of a call at list price; 0 for a model not in the table (see the module docs).
pub fn cost_usd(model: &str, tokens_in: u64, tokens_out: u64) -> f64 {
    list_price(model).map_or(0.0, |price| price.cost_usd(tokens_in, tokens_out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_at_list_price() {
        let check = |model, tokens_in, tokens_out, expect: f64| {
            let got = cost_usd(model, tokens_in, tokens_out);
            assert!((got - expect).abs() < 1e-12, "{model}: {got} != {expect}");
        };
        check("gpt-4o", 1_000_000, 1_000_000, 12.5);
        check("gpt-4o-mini", 2_000, 1_000, 0.0009);
        check("o3", 10_000, 5_000, 0.06);
        check("o3-mini", 1_000_000, 0, 1.1);
        check("o4-mini", 0, 1_000_000, 4.4);
        check("gpt-4.1", 500_000, 500_000, 5.0);
        check("gpt-4.1-mini", 1_000_000, 1_000_000, 2.0);
        check("gpt-4o-2024-05-13", 1_000_000, 1_000_000, 0.0);
        check("Qwen/Qwen2.5-Coder-32B-Instruct", 1_000_000, 1_000_000, 0.0);
        check("o3-pro", 1_000_000, 1_000_000, 0.0);
    }
}
