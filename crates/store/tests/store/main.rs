//! Store tests: every test body in the modules below runs on SQLite and on PostgreSQL
//! (see `harness` for how each test gets its own database).

mod harness;

mod bindings;
mod calls;
mod csv_property;
mod fixtures;
mod guests;
mod guests_property;
mod guests_race;
mod lines;
mod logbook;
mod operators;
mod persistence;
mod queue_calls;
mod settings;
mod text;
