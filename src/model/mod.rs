//! The language's nodes, below both the syntax tree and the IR: names, texts, quantities
//! and their literal values, the core step nodes every block is made of, and the
//! declarations that need no lowering (agents, stories, monitors, phases, ...). The parser
//! builds them, the IR holds them, the checker, the graph and the runtime read them; the
//! syntax tree adds only what is lowered (heals, maintenance, incidents, emergencies).

pub mod agent;
pub mod budget;
pub mod decl;
pub mod literal;
pub mod monitor;
pub mod step;
pub mod story;

pub use agent::*;
pub use decl::*;
pub use monitor::*;
pub use story::*;
