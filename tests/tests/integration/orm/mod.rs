//! batteries-orm: connecting, lookups and filters, pages, get-or-create, fixtures, migrations,
//! database faults, and batteries-cli (`manage`) end to end.

mod cli;
mod common;
mod create;
mod db;
mod db_faults;
mod filters;
mod fixtures;
mod keyset;
mod migration;
mod paginate;
