//! Store tests: every test body in the modules below runs on SQLite and on PostgreSQL
//! (see `harness` for how each test gets its own database).

mod harness;

mod bindings;
mod calls;
mod csv_property;
mod fixtures;
mod operators;
mod persistence;
mod queue_calls;
mod settings;
mod text;
