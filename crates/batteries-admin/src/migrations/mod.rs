//! TEMPORARY stub; replaced by the admin-log branch.
#![allow(missing_docs)]
pub fn migrations() -> batteries_orm::migration::MigrationSet {
    batteries_orm::migration::MigrationSet::new("batteries-admin")
}
