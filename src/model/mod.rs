//! The language's nodes, below both the syntax tree and the IR: names, texts, quantities
//! and their literal values, and the core step nodes every block is made of. The parser
//! builds them, the IR holds them, the checker, the graph and the runtime read them.

pub mod literal;
pub mod step;
