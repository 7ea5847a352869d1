//! batteries-admin: its pages, JSON API, permissions, history, inlines, many-to-many fields,
//! export, the user admin, mounting on each framework, and the browser tests.

mod api;
mod browser;
mod browser_common;
mod browser_inlines;
mod browser_m2m;
mod browser_rawid;
mod changelist;
mod export;
mod inlines;
mod log;
mod m2m;
mod matrix;
mod mount;
mod object_perms;
mod pages;
mod users;
